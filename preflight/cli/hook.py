"""`preflight hook`: the git pre-commit hook."""

from __future__ import annotations

from pathlib import Path

import click

from preflight.cli._common import SERIAL_ENV, Outcome, edition_choice, split


@click.group("hook")
def hook_group() -> None:
    """The git pre-commit hook: run it, or install it without the pre-commit framework."""


@hook_group.command("run")
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@click.option("--staged", is_flag=True, help="Check the files staged in git (default when no "
              "FILES are given).")
@click.option("--strict", is_flag=True, help="Warnings refuse the commit too.")
@click.option("--edition", type=edition_choice,
              help="Force the edition pack (default: from each job's body).")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these rules (codes, names or families like VID; comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules.")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip files matching this .gitignore-style pattern, relative to the "
              "repository top (repeatable; adds to the configuration's exclude).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: preflight.toml or pyproject.toml at the "
              "repository top).")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help=f"Files checked at once (default: CPU count; {SERIAL_ENV}=1: one).")
@click.option("--no-cache", is_flag=True, help="Check every file afresh.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Result cache folder (default: .preflight_cache at the repository top).")
def hook_run(files: tuple[str, ...], staged: bool, strict: bool, edition: str | None,
             select: tuple[str, ...], ignore: tuple[str, ...], exclude: tuple[str, ...],
             config_path: str | None, jobs: int | None, no_cache: bool,
             cache_dir: str | None) -> Outcome:
    """Check staged media and job specs; exit 1 (refusing the commit) on any error finding
    or broken spec (with --strict, on warnings too). No media among the files: exit 0.

    Used by the pre-commit framework (hook id `preflight`, which passes FILES; tune it with
    `args:`, e.g. [--strict, --ignore, GRN003]) and by the hook `preflight hook install`
    writes (which passes --staged).
    """
    from preflight.workflows import hook

    root = hook.repo_root()
    chosen = hook.selected(hook.staged_files(root)) if staged or not files else [
        Path(f) for f in files]
    result = hook.run(chosen, root=root, jobs=jobs, use_cache=not no_cache,
                      cache_dir=Path(cache_dir) if cache_dir else None, edition=edition,
                      select=split(select), ignore=split(ignore), exclude=exclude,
                      strict=strict, config=config_path)
    if result.outcomes:
        click.echo("\n".join(hook.short_report(result, root)))
    return Outcome(findings=result.failed and not result.problems,
                   unchecked=bool(result.problems))


@hook_group.command("install")
@click.option("--force", is_flag=True, help="Replace a pre-commit hook preflight did not write "
              "(it is kept as pre-commit.preflight-backup).")
def hook_install(force: bool) -> None:
    """Write .git/hooks/pre-commit so that every commit checks its staged media and specs."""
    from preflight.workflows import hook

    path, backup = hook.install(hook.repo_root(), force=force)
    if backup is not None:
        click.echo(f"preflight: kept the previous hook as {backup}")
    click.echo(f"preflight: installed {path}")


@hook_group.command("uninstall")
def hook_uninstall() -> None:
    """Remove the pre-commit hook `preflight hook install` wrote (never another one)."""
    from preflight.workflows import hook

    removed, restored = hook.uninstall(hook.repo_root())
    if removed is None:
        click.echo("preflight: no pre-commit hook installed")
    elif restored is not None:
        click.echo(f"preflight: removed the hook; restored the previous one at {restored}")
    else:
        click.echo(f"preflight: removed {removed}")
