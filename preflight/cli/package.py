"""`preflight package`: build (or verify) the upload package of a spec."""

from __future__ import annotations

import os

import click

from preflight.cli._common import (
    Outcome,
    count_option,
    edition_choice,
    show_findings,
    warn_outside,
)
from preflight.cli.progress import Bars
from preflight.errors import PackageRefused

#: Files smaller than this get no progress bar.
BAR_THRESHOLD = 256 * 1024**2


def _verify(verify_dir: str, full: bool) -> Outcome:
    from preflight.packager.builder import verify

    with Bars(BAR_THRESHOLD) as bars:
        result = verify(verify_dir, full=full, progress=bars.update)
    for note in result.notes:
        click.echo(f"note: {note}")
    for ch in result.changes:
        click.echo(f"CHANGED {ch.slot}: {ch.path}: {ch.what}")
    how = "checksums" if full else "size and mtime"
    if result.ok:
        click.echo(f"package {verify_dir} is current: every source is unchanged ({how})")
        return Outcome()
    click.echo(f"package {verify_dir} is stale: {len(result.changes)} change(s) ({how}); "
               "package again")
    return Outcome(findings=True)


@click.command("package")
@click.argument("spec", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str),
              help="Package folder: manifest.json, audio.zip and (with --materialize) parts/.")
@click.option("--parts", metavar="N|auto",
              help="Training-video part count; overrides video_multipart_count.")
@click.option("--action-parts", metavar="N|auto",
              help="Action-video part count; overrides action_video_multipart_count.")
@click.option("--materialize", is_flag=True,
              help="Also write every video part as a file (kernel copy, no re-read in Python).")
@click.option("--force", is_flag=True,
              help="Package even when the check finds errors (the manifest says forced).")
@click.option("--edition", type=edition_choice,
              help="Force the edition pack (default: from the body flags).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest preflight.toml or pyproject.toml).")
@click.option("--verify", "verify_dir", metavar="DIR", type=click.Path(path_type=str),
              help="Check that the sources of the package in DIR are unchanged (exit 1 if not).")
@click.option("--full", is_flag=True, help="With --verify: re-hash the sources, not just stat.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print only errors and one line per package (no warnings, no upload list).")
def package_cmd(spec: str | None, out_dir: str | None, parts: str | None,
                action_parts: str | None, materialize: bool, force: bool, edition: str | None,
                config_path: str | None, verify_dir: str | None, full: bool,
                quiet: bool) -> Outcome:
    """Build the upload package of a job spec: part plan, checksums, audio zip, manifest.

    \b
    preflight package avatar.toml --out pkg
    preflight package avatar.toml --out pkg --parts auto --materialize
    preflight package --verify pkg [--full]
    """
    from preflight.parts import human
    from preflight.workflows.pipeline import package

    if verify_dir is not None:
        if spec or out_dir:
            raise click.UsageError("--verify DIR takes no spec and no --out")
        return _verify(verify_dir, full)
    if not spec or not out_dir:
        raise click.UsageError("give a spec and --out DIR (or --verify DIR)")
    warn_outside(spec)
    try:
        with Bars(BAR_THRESHOLD) as bars:
            pkg = package(spec, out_dir, parts=count_option(parts, "--parts"),
                          action_parts=count_option(action_parts, "--action-parts"),
                          edition=edition, config=config_path, force=force,
                          materialize=materialize, progress=bars.update)
    except PackageRefused as exc:
        show_findings(exc.report, quiet=quiet)
        click.echo(f"preflight: {exc}", err=True)
        return Outcome(report=exc.report)
    report = pkg.report
    if report.errors or (report.findings and not quiet):
        show_findings(report, quiet=quiet)
    if pkg.forced:
        click.secho(f"WARNING: --force: packaged DESPITE {len(report.errors)} ERROR(S); the "
                    "review will likely reject this job. The manifest is marked \"forced\".",
                    fg="red", bold=True, err=True)
    click.echo(f"packaged {spec} -> {pkg.manifest_path} (edition {pkg.manifest.edition})")
    if quiet:
        return Outcome()
    for up in pkg.manifest.uploads:
        n = len(up.parts)
        what = (f"{n} parts of {human(up.parts[0].length)}" if n > 1 else "1 part")
        if up.inputs:
            what += f", zip of {len(up.inputs)} file(s)"
        made = pkg.materialized.get(up.slot)
        if made:
            what += f", written to {os.path.dirname(made[0])}"
        click.echo(f"  {up.slot:<18} {human(up.size):>10}  {what}  sha256 {up.sha256[:12]}")
    return Outcome()
