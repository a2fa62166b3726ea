"""The `preflight` command. The only module that prints or exits."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from preflight._version import __version__
from preflight.errors import PreflightError, SubmitError

if TYPE_CHECKING:
    from preflight.model import Report

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_SUBMIT = 0, 1, 2, 3
EDITIONS = ("standard", "flexus", "fast-flexus", "live-copy")
SLOT_NAMES = (
    "training_video", "action_video", "audio", "cover", "id_card_front", "id_card_back",
    "grant_file", "pre_beauty_image", "post_beauty_image",
)


def exit_code(report: Report | None = None, *, strict: bool = False,
              error: BaseException | None = None) -> int:
    """The one place that decides the process exit code."""
    if error is not None:
        return EXIT_SUBMIT if isinstance(error, SubmitError) else EXIT_USAGE
    if report is None:
        return EXIT_OK
    if report.errors or (strict and report.warnings):
        return EXIT_FINDINGS
    return EXIT_OK


def _fail(message: str, error: BaseException) -> None:
    click.echo(f"preflight: {message}", err=True)
    raise SystemExit(exit_code(error=error))


def handle_errors(fn: F) -> F:
    """Turn library exceptions into a one-line message and exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PreflightError as exc:
            _fail(f"error: {exc}", exc)
        except KeyboardInterrupt as exc:
            _fail("interrupted", exc)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as exc:
            _fail(f"internal error: {type(exc).__name__}: {exc} "
                  "(please report it with the command line you ran)", exc)
        return None

    return wrapper  # type: ignore[return-value]


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for raw in values for v in raw.split(",") if v.strip())


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="preflight")
def cli() -> None:
    """Check, package and submit Huawei Cloud MetaStudio avatar-training jobs."""


@cli.command()
@click.argument("targets", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--slot", type=click.Choice(SLOT_NAMES),
              help="Check loose files as this upload (default: guessed from the extension).")
@click.option("--job-json", metavar="JSON",
              help="Job body (JSON object) for checking loose files, e.g. '{\"is_flexus\": true}'.")
@click.option("--edition", type=click.Choice(EDITIONS),
              help="Force the edition pack (default: from is_flexus/is_fast_flexus/is_live_copy).")
@click.option("--format", "fmt", default="text", show_default=True,
              help="Report format: text or json.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these rules (codes, names or families like VID; comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest preflight.toml or pyproject.toml).")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the summary.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=str),
              help="Write the report to a file instead of standard output.")
@handle_errors
def check(targets: tuple[str, ...], slot: str | None, job_json: str | None, edition: str | None,
          fmt: str, select: tuple[str, ...], ignore: tuple[str, ...], config_path: str | None,
          strict: bool, quiet: bool, output: str | None) -> None:
    """Check a job spec (avatar.toml) or loose media files before submitting.

    \b
    preflight check avatar.toml
    preflight check take3.mp4 --job-json '{"is_flexus": true}'
    """
    from preflight.api import check as run_check
    from preflight.api import is_spec_path, parse_job_json
    from preflight.config import Config, find_config, load_config
    from preflight.report import RenderOptions, formatters, render

    if fmt not in formatters():
        raise click.BadParameter(f"expected one of {', '.join(formatters())}",
                                 param_hint="--format")
    specs = [t for t in targets if is_spec_path(t)]
    if specs and (len(targets) > 1):
        raise click.UsageError("give either one spec file or media files, not both")
    if specs and (slot or job_json):
        raise click.UsageError("--slot and --job-json apply to media files, not to a spec")
    from pathlib import Path

    near = Path(targets[0]).absolute().parent
    found = Path(config_path) if config_path else find_config(near)
    config = (load_config(found) if found else Config()).with_cli(
        _split(select), _split(ignore), edition
    )
    if specs:
        report = run_check(specs[0], config=config, edition=edition)
    else:
        job = parse_job_json(job_json) if job_json else None
        report = run_check(list(targets), config=config, edition=edition, slot=slot, job=job)
    text = render(report, fmt, RenderOptions(color=_use_color() and not output, quiet=quiet,
                                             version=__version__))
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    raise SystemExit(exit_code(report, strict=strict))


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@handle_errors
def rules_cmd(fmt: str) -> None:
    """List every rule: code, name, severity per edition, summary and source."""
    from preflight.catalog import render_rules

    click.echo(render_rules(fmt), nl=False)


def _count_option(value: str | None, hint: str) -> int | str | None:
    if value is None or value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("expected a part count (1–1000) or auto",
                                 param_hint=hint) from None


class _Bars:
    """Rich progress bars on standard error, shown only for work above `threshold`."""

    def __init__(self, threshold: float, *, seconds: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn()]
        columns += ([TimeRemainingColumn()] if seconds
                    else [DownloadColumn(binary_units=True), TransferSpeedColumn()])
        self.threshold = threshold
        self.progress = Progress(*columns, console=Console(stderr=True), transient=True)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, label: str, done: float, total: float) -> None:
        if total < self.threshold:
            return
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[label], completed=done)


@cli.command("package")
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
@click.option("--edition", type=click.Choice(EDITIONS),
              help="Force the edition pack (default: from the body flags).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest preflight.toml or pyproject.toml).")
@click.option("--verify", "verify_dir", metavar="DIR", type=click.Path(path_type=str),
              help="Check that the sources of the package in DIR are unchanged (exit 1 if not).")
@click.option("--full", is_flag=True, help="With --verify: re-hash the sources, not just stat.")
@handle_errors
def package_cmd(spec: str | None, out_dir: str | None, parts: str | None,
                action_parts: str | None, materialize: bool, force: bool, edition: str | None,
                config_path: str | None, verify_dir: str | None, full: bool) -> None:
    """Build the upload package of a job spec: part plan, checksums, audio zip, manifest.

    \b
    preflight package avatar.toml --out pkg
    preflight package avatar.toml --out pkg --parts auto --materialize
    preflight package --verify pkg [--full]
    """
    from preflight.package.builder import PackageRefused, package, verify
    from preflight.package.plan import human
    from preflight.report import RenderOptions, render

    if verify_dir is not None:
        if spec or out_dir:
            raise click.UsageError("--verify DIR takes no spec and no --out")
        with _Bars(256 * 1024**2) as bars:
            result = verify(verify_dir, full=full, progress=bars.update)
        for note in result.notes:
            click.echo(f"note: {note}")
        for ch in result.changes:
            click.echo(f"CHANGED {ch.slot}: {ch.path}: {ch.what}")
        how = "checksums" if full else "size and mtime"
        if result.ok:
            click.echo(f"package {verify_dir} is current: every source is unchanged ({how})")
            raise SystemExit(EXIT_OK)
        click.echo(f"package {verify_dir} is stale: {len(result.changes)} change(s) ({how}); "
                   "package again")
        raise SystemExit(EXIT_FINDINGS)
    if not spec or not out_dir:
        raise click.UsageError("give a spec and --out DIR (or --verify DIR)")
    color = _use_color()
    try:
        with _Bars(256 * 1024**2) as bars:
            pkg = package(spec, out_dir, parts=_count_option(parts, "--parts"),
                          action_parts=_count_option(action_parts, "--action-parts"),
                          edition=edition, config=config_path, force=force,
                          materialize=materialize, progress=bars.update)
    except PackageRefused as exc:
        click.echo(render(exc.report, "text", RenderOptions(color=color, quiet=True,
                                                             version=__version__)), nl=False)
        click.echo(f"preflight: {exc}", err=True)
        raise SystemExit(exit_code(exc.report)) from None
    report = pkg.report
    if report.findings:
        click.echo(render(report, "text", RenderOptions(color=color, quiet=True,
                                                        version=__version__)), nl=False)
    if pkg.forced:
        click.secho(f"WARNING: --force: packaged DESPITE {len(report.errors)} ERROR(S); the "
                    "review will likely reject this job. The manifest is marked \"forced\".",
                    fg="red", bold=True, err=True)
    click.echo(f"packaged {spec} -> {pkg.manifest_path} (edition {pkg.manifest.edition})")
    for up in pkg.manifest.uploads:
        n = len(up.parts)
        what = (f"{n} parts of {human(up.parts[0].length)}" if n > 1 else "1 part")
        if up.inputs:
            what += f", zip of {len(up.inputs)} file(s)"
        made = pkg.materialized.get(up.slot)
        if made:
            what += f", written to {os.path.dirname(made[0])}"
        click.echo(f"  {up.slot:<18} {human(up.size):>10}  {what}  sha256 {up.sha256[:12]}")
    raise SystemExit(EXIT_OK)


@cli.command("fix")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Where to write the conforming copy (never the input).")
@click.option("--edition", type=click.Choice(EDITIONS), default="standard", show_default=True,
              help="Edition whose limits apply (duration: standard 3–10 min, Flexus 1–5 min).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the command; run nothing.")
@handle_errors
def fix_cmd(file: str, output: str, edition: str, overwrite: bool, dry_run: bool) -> None:
    """Make a conforming MP4 copy of a training video with the bundled ffmpeg.

    Remuxes without re-encoding when the codecs allow, scales and pads to the nearest
    accepted size (keeping orientation), trims to the edition's maximum duration, converts
    to 25 fps when slower, then re-checks the output.

    \b
    preflight fix take.mov -o take.fixed.mp4
    """
    from preflight.fix import prepare, run
    from preflight.report import RenderOptions, render

    job = prepare(file, output, edition=edition, overwrite=overwrite)
    if job.plan.unfixable:
        for problem in job.plan.unfixable:
            click.secho(f"cannot fix: {problem}", fg="yellow", err=True)
    if not job.plan.needed:
        click.echo(f"{file} already meets the container/size/duration/frame-rate limits; "
                   "nothing to do")
        raise SystemExit(EXIT_FINDINGS if job.plan.unfixable else EXIT_OK)
    click.echo(f"fixing {file} -> {output} (edition {edition}):")
    for reason in job.plan.reasons:
        click.echo(f"  - {reason}")
    click.echo(f"$ {job.command_line}")
    if dry_run:
        raise SystemExit(EXIT_OK)
    with _Bars(0.0, seconds=True) as bars:
        result = run(job, progress=lambda done, total: bars.update("ffmpeg", done, total))
    click.echo(f"wrote {result.dst}; re-check:")
    assert result.report is not None
    click.echo(render(result.report, "text", RenderOptions(color=_use_color(),
                                                           version=__version__)), nl=False)
    raise SystemExit(exit_code(result.report))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="preflight")


if __name__ == "__main__":
    main()
