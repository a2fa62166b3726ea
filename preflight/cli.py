"""The `preflight` command. The only module that prints or exits."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from preflight._version import __version__
from preflight.errors import PreflightError, SubmitError

if TYPE_CHECKING:
    from preflight.cache import ResultCache
    from preflight.config import Config
    from preflight.model import Report
    from preflight.report import RenderOptions

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_SUBMIT = 0, 1, 2, 3
EDITIONS = ("standard", "flexus", "fast-flexus", "live-copy")
#: `--format` values (preflight.report.format_names(); kept literal so --help stays cheap).
FORMATS = ("text", "json", "sarif", "junit", "github", "auto")
#: Environment variable that forces serial batch checks (preflight.batch.SERIAL_ENV).
SERIAL_ENV = "PREFLIGHT_SERIAL"
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


def _resolve_format(fmt: str, output: str | None) -> tuple[str, bool]:
    """The concrete format and whether to colour it (`auto` looks at the environment)."""
    if fmt == "auto":
        from preflight.report import resolve_auto

        return resolve_auto(os.environ, sys.stdout.isatty() and not output)
    return fmt, fmt == "text" and _use_color() and not output


def _result_cache(no_cache: bool, cache_dir: str | None, near: Path | None) -> ResultCache | None:
    """The result cache for a check: --cache-dir, else .preflight_cache next to the spec / here."""
    if no_cache:
        return None
    from preflight.cache import ResultCache, default_dir

    return ResultCache(Path(cache_dir) if cache_dir else default_dir(near))


def _finding_lines(report: Report, options: RenderOptions) -> list[str]:
    """Text lines of a report's findings (no summary), as the text report prints them."""
    from preflight.model import Severity
    from preflight.report.text import line

    out = []
    for f in report.findings:
        if options.quiet and f.severity is not Severity.ERROR:
            continue
        out.append(line(f, options.color))
        if f.fix and not options.quiet:
            out.append(f"    fix: {f.fix}")
    return out


def _check_many(targets: tuple[str, ...], config: Config, *, edition: str | None,
                slot: str | None, job: dict[str, Any] | None, cache: ResultCache | None,
                jobs: int | None, exclude: tuple[str, ...], fmt: str, options: RenderOptions,
                output: str | None, strict: bool) -> None:
    """Batch check: stream text findings in input order, or render one merged report; then
    the summary table (after a text report, on stderr otherwise). Exits."""
    from preflight import batch
    from preflight.report import render

    found = batch.discover(targets, exclude=exclude, slot=slot, job=job)
    if not found:
        click.echo("preflight: warning: no job specs or media files found", err=True)
    checker = batch.Checker(config, edition=edition, cache=cache)
    summary = batch.Summary()
    stream = fmt == "text" and not output
    kept: list[batch.Outcome] = []
    for outcome in batch.run(found, checker, jobs):
        summary.add(outcome)
        if outcome.error is not None:
            click.echo(f"{outcome.target.path}: error: {outcome.error}", err=True)
            continue
        kept.append(outcome)
        if stream and outcome.report is not None:
            for text_line in _finding_lines(outcome.report, options):
                click.echo(text_line)
    report = batch.merge(kept, edition)
    table = batch.summary_table(summary, cache.stats.hits if cache is not None else None)
    if stream:
        click.echo(table, nl=False)
    else:
        text = render(report, fmt, options)
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
        click.echo(table, nl=False, err=True)
    if summary.failed:
        raise SystemExit(EXIT_USAGE)
    raise SystemExit(exit_code(report, strict=strict))


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
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format; auto = github under GitHub Actions, else text.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these rules (codes, names or families like VID; comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest preflight.toml or pyproject.toml).")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the summary.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=str),
              help="Write the report to a file instead of standard output.")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help=f"Files checked at once in folders (default: CPU count; {SERIAL_ENV}=1: one).")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip files matching this .gitignore-style pattern in folders (repeatable).")
@click.option("--no-cache", is_flag=True, help="Check every file afresh (ignore the result cache).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Result cache folder (default: .preflight_cache next to the spec, or here).")
@click.option("--contact-sheet", type=click.Path(dir_okay=False, path_type=str), metavar="PNG",
              help="Also write the sampled video frames with the green mask to this PNG.")
@handle_errors
def check(targets: tuple[str, ...], slot: str | None, job_json: str | None, edition: str | None,
          fmt: str, select: tuple[str, ...], ignore: tuple[str, ...], config_path: str | None,
          strict: bool, quiet: bool, output: str | None, jobs: int | None,
          exclude: tuple[str, ...], no_cache: bool, cache_dir: str | None,
          contact_sheet: str | None) -> None:
    """Check a job spec (avatar.toml), loose media files, or whole folders before submitting.

    \b
    preflight check avatar.toml
    preflight check take3.mp4 --job-json '{"is_flexus": true}'
    preflight check footage/ --jobs 4 --format sarif -o preflight.sarif
    """
    from preflight.api import check as run_check
    from preflight.api import is_spec_path, parse_job_json
    from preflight.config import Config, find_config, load_config
    from preflight.report import RenderOptions, render

    specs = [t for t in targets if is_spec_path(t)]
    from preflight.batch import is_folder

    folders = any(is_folder(t) for t in targets)
    if specs and len(specs) < len(targets) and not folders:
        raise click.UsageError("give either spec files or media files, not both")
    many = folders or len(specs) > 1
    if many and contact_sheet:
        raise click.UsageError("--contact-sheet applies to one spec or video, not to folders")
    if specs and not many and (slot or job_json):
        raise click.UsageError("--slot and --job-json apply to media files, not to a spec")
    near = Path(targets[0]).absolute().parent
    found = Path(config_path) if config_path else find_config(near)
    config = (load_config(found) if found else Config()).with_cli(
        _split(select), _split(ignore), edition
    )
    cache = _result_cache(no_cache, cache_dir, Path(specs[0]).absolute().parent
                          if len(specs) == 1 and not many else None)
    fmt, color = _resolve_format(fmt, output)
    options = RenderOptions(color=color, quiet=quiet, version=__version__, root=os.getcwd())
    job = parse_job_json(job_json) if job_json else None
    if many:
        _check_many(targets, config, edition=edition, slot=slot, job=job, cache=cache,
                    jobs=jobs, exclude=exclude, fmt=fmt, options=options, output=output,
                    strict=strict)
    if specs:
        report = run_check(specs[0], config=config, edition=edition, cache=cache,
                           contact_sheet=contact_sheet)
    else:
        report = run_check(list(targets), config=config, edition=edition, slot=slot, job=job,
                           cache=cache, contact_sheet=contact_sheet)
    text = render(report, fmt, options)
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
    click.echo(f"wrote {result.dst}; re-check with the VID rules:")
    assert result.report is not None
    click.echo(render(result.report, "text", RenderOptions(color=_use_color(),
                                                           version=__version__)), nl=False)
    raise SystemExit(exit_code(result.report))


class _SubmitDisplay:
    """Renders submit progress events: a rich bar (bytes, parts, rate, ETA) on a terminal,
    plain lines otherwise. Never shows URLs or credentials (events carry none)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.progress: Any = None
        self.task: Any = None
        self.parts_done = 0
        self.parts_total = 0

    def __enter__(self) -> _SubmitDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)
        elif not self.quiet:
            click.echo(text, err=True)

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind in ("phase", "note"):
            self._line(f"· {event.message}")
        elif kind == "retry":
            self._line(f"  retry {event.slot} part {event.part_number}: {event.message}")
        elif kind == "state":
            if event.state != getattr(self, "last_state", None):
                self.last_state = event.state
                self._line(f"  job {event.job_id}: {event.state}")
        elif kind == "plan":
            self.parts_total, self.parts_done = event.total_parts, event.done_parts
            if event.done_parts:
                self._line(f"  {event.done_parts}/{event.total_parts} part(s) already uploaded "
                           "(skipped)")
            if self.tty and not self.quiet and event.total_bytes > event.done_bytes:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )

                self.progress = Progress(
                    TextColumn("upload"), BarColumn(), DownloadColumn(),
                    TextColumn("{task.fields[parts]}"), TransferSpeedColumn(),
                    TimeRemainingColumn(), transient=True,
                    console=Console(stderr=True))
                self.progress.start()
                self.task = self.progress.add_task(
                    "upload", total=event.total_bytes, completed=event.done_bytes,
                    parts=f"{self.parts_done}/{self.parts_total} parts")
        elif kind == "bytes" and self.progress is not None:
            self.progress.update(self.task, advance=event.nbytes)
        elif kind == "part":
            self.parts_done += 1
            if self.progress is not None:
                self.progress.update(self.task, parts=f"{self.parts_done}/{self.parts_total} "
                                     "parts")
            elif not self.quiet:
                self._line(f"  {event.slot} part {event.part_number} {event.message} "
                           f"({self.parts_done}/{self.parts_total})")


@cli.command("submit")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=str))
@click.option("--region", type=click.Choice(["cn-north-4", "cn-east-3", "ap-southeast-3"]),
              help="Service region (endpoint metastudio.REGION.myhuaweicloud.com).")
@click.option("--endpoint", metavar="URL", help="Service base URL instead of a region "
              "(e.g. a `preflight sandbox`).")
@click.option("--sandbox", "use_sandbox", is_flag=True,
              help="Start a local stand-in service in-process and submit to it (no account "
              "or credentials needed).")
@click.option("--app-user-id", metavar="ID", help="X-App-UserId header (default: "
              "[account] app_user_id of the spec).")
@click.option("--package-dir", type=click.Path(file_okay=False, path_type=str),
              help="Package folder: reused when it holds a current manifest for this spec, "
              "else packaged into (default .preflight/package next to the spec).")
@click.option("--parts", metavar="N|auto", help="Training-video part count for packaging.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where the resume state lives (default .preflight next to the spec).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
              envvar="PREFLIGHT_UPLOAD_JOBS", help="Concurrent uploads.")
@click.option("--new-job", is_flag=True, help="Create a new job even if this spec and media "
              "were already submitted.")
@click.option("--wait", is_flag=True, help="Poll the job until a final state.")
@click.option("--poll-interval", type=click.FloatRange(0.05), default=10.0, show_default=True,
              help="Seconds between polls with --wait.")
@click.option("--timeout", "wait_timeout", type=click.FloatRange(0), default=None,
              help="Stop waiting after this many seconds (the job goes on).")
@click.option("--force", is_flag=True, help="Package even when the check finds errors.")
@click.option("--dry-run", is_flag=True, help="Print the requests that would be sent "
              "(secrets redacted) and send nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Summary format.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines, only the summary.")
@handle_errors
def submit_cmd(spec: str, region: str | None, endpoint: str | None, use_sandbox: bool,
               app_user_id: str | None, package_dir: str | None, parts: str | None,
               state_dir: str | None, jobs: int, new_job: bool, wait: bool,
               poll_interval: float, wait_timeout: float | None, force: bool, dry_run: bool,
               fmt: str, quiet: bool) -> None:
    """Check, package, upload and submit a job; rerun to resume after any interruption.

    Credentials come from the environment: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and
    HUAWEICLOUD_SDK_PROJECT_ID (or HUAWEICLOUD_SDK_TOKEN with the project id).
    Exit 3 when the service or the network refuses the submission.

    \b
    preflight submit avatar.toml --region cn-north-4 --wait
    preflight submit avatar.toml --sandbox --wait
    preflight submit avatar.toml --region cn-north-4 --dry-run
    """
    import json as _json

    from preflight.package.builder import PackageRefused
    from preflight.report import RenderOptions, render
    from preflight.submit.api import submit
    from preflight.submit.flow import DryRun

    if use_sandbox and (region or endpoint):
        raise click.UsageError("--sandbox replaces --region/--endpoint")
    if not (use_sandbox or region or endpoint or dry_run):
        raise click.UsageError("give --region, --endpoint URL or --sandbox")
    try:
        with _SubmitDisplay(quiet or fmt == "json") as display:
            result = submit(spec, region=region, endpoint=endpoint, sandbox=use_sandbox,
                            app_user_id=app_user_id, package_dir=package_dir,
                            parts=_count_option(parts, "--parts"), state_dir=state_dir,
                            jobs=jobs, new_job=new_job, wait=wait, poll_interval=poll_interval,
                            wait_timeout=wait_timeout, force=force, dry_run=dry_run,
                            progress=display)
    except PackageRefused as exc:
        click.echo(render(exc.report, "text", RenderOptions(color=_use_color(), quiet=True,
                                                             version=__version__)), nl=False)
        click.echo(f"preflight: {exc}", err=True)
        raise SystemExit(exit_code(exc.report)) from None
    if isinstance(result, DryRun):
        data = result.to_dict()
        if fmt == "json":
            click.echo(_json.dumps(data, indent=2, ensure_ascii=False))
        else:
            click.echo("dry run: nothing is sent. Requests, in order:")
            for req in data["requests"]:
                click.echo(f"\n{req['method']} {req['url']}")
                for k, v in req["headers"].items():
                    click.echo(f"  {k}: {v}")
                if req.get("body") is not None:
                    body = req["body"]
                    click.echo("  " + (body if isinstance(body, str)
                                       else _json.dumps(body, ensure_ascii=False)))
        raise SystemExit(EXIT_OK)
    from preflight.package.plan import human

    summary = result.to_dict()
    if fmt == "json":
        click.echo(_json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        how = "created" if result.created else "resumed"
        click.echo(f"job {result.job_id} ({how}) state {result.state}")
        click.echo(f"  sent {result.parts_uploaded} part(s), "
                   f"{human(result.bytes_sent)} in {result.seconds:.1f} s; "
                   f"{result.parts_skipped} part(s) already there; "
                   f"{result.parts_total} in total ({human(result.bytes_total)})")
        for up in summary["uploads"]:
            click.echo(f"  {up['slot']:<18} {human(up['size']):>10}  {up['parts']} "
                       f"part(s)  {up['content_type']}")
        if result.commands:
            click.echo(f"  commands: {', '.join(result.commands)}")
        for log in result.operation_logs[-3:] if result.success is False else []:
            click.echo(f"  {log.get('operate_time', '')} {log.get('log_type', '')}: "
                       f"{log.get('log_description', '')} {log.get('error_code', '') or ''}")
        click.echo(f"  state store: {result.state_path}")
    if result.success is False:
        click.echo(f"preflight: job {result.job_id} ended in {result.state}", err=True)
        raise SystemExit(EXIT_SUBMIT)
    raise SystemExit(EXIT_OK)


@cli.command("status")
@click.argument("target", required=False, metavar="[SPEC|JOB_ID]")
@click.option("--region", type=click.Choice(["cn-north-4", "cn-east-3", "ap-southeast-3"]),
              help="Service region (default: the endpoint recorded when submitting).")
@click.option("--endpoint", metavar="URL", help="Service base URL.")
@click.option("--app-user-id", metavar="ID", help="X-App-UserId header.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where the resume state lives (default .preflight next to the spec).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def status_cmd(target: str | None, region: str | None, endpoint: str | None,
               app_user_id: str | None, state_dir: str | None, fmt: str) -> None:
    """Show a job's state and history from the service.

    \b
    preflight status avatar.toml        # the job submitted from this spec
    preflight status 3f2a...            # any job id (give --region or --endpoint)
    """
    import json as _json

    from preflight.submit.api import status

    results = status(target, region=region, endpoint=endpoint, app_user_id=app_user_id,
                     state_dir=state_dir)
    if fmt == "json":
        click.echo(_json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
        raise SystemExit(EXIT_OK)
    for r in results:
        click.echo(f"job {r.job_id}  {r.name or ''}  state {r.state}"
                   + ("  (final)" if r.final else ""))
        for log in r.history:
            code = f" error_code={log['error_code']}" if log.get("error_code") else ""
            click.echo(f"  {log.get('operate_time', ''):<22} {log.get('operate_user', ''):<6} "
                       f"{log.get('log_type', '')}: {log.get('log_description', '')}{code}")
        if r.local:
            parts = r.local.get("parts", [])
            done = sum(1 for p in parts if p["status"] == "done")
            click.echo(f"  local: {r.local['phase']}, {done}/{len(parts)} upload(s) done")
    raise SystemExit(EXIT_OK)


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to bind (127.0.0.1, ::1 or localhost only).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port (0 = any free port; the bound URL is printed).")
@click.option("--project-id", envvar="HUAWEICLOUD_SDK_PROJECT_ID", help="Project id to accept "
              "(default: $HUAWEICLOUD_SDK_PROJECT_ID or a random one).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where uploads, the journal and generated credentials go (default: a temp "
              "folder).")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=str),
              help="JSON-lines journal of every request (default DATA_DIR/journal.jsonl).")
@click.option("--advance-seconds", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Seconds per state step after SUBMITVERIFYING.")
@click.option("--fail-put", multiple=True, type=click.IntRange(1), metavar="N",
              help="Answer the N-th upload PUT with HTTP 500.")
@click.option("--drop-put", multiple=True, type=click.IntRange(1), metavar="N",
              help="Drop the connection half-way through the N-th PUT body.")
@click.option("--lose-put", multiple=True, type=click.IntRange(1), metavar="N",
              help="Store the N-th PUT but drop the connection before answering.")
@click.option("--throttle", multiple=True, type=click.IntRange(1), metavar="N",
              help="Answer the N-th API call with 429 APIGW.0308.")
@click.option("--fail-api", multiple=True, type=click.IntRange(1), metavar="N",
              help="Answer the N-th API call with 500 MSS.00000004.")
@click.option("--slow", "slow_ms", type=click.IntRange(0), default=0, metavar="MS",
              help="Delay every response by MS milliseconds.")
@click.option("--faults", "faults_file", type=click.Path(dir_okay=False, path_type=str),
              help="JSON file of faults, e.g. {\"fail_put\": [3], \"throttle\": [1]}.")
@handle_errors
def sandbox_cmd(host: str, port: int, project_id: str | None, data_dir: str | None,
                journal: str | None, advance_seconds: float, fail_put: tuple[int, ...],
                drop_put: tuple[int, ...], lose_put: tuple[int, ...], throttle: tuple[int, ...],
                fail_api: tuple[int, ...], slow_ms: int, faults_file: str | None) -> None:
    """Run a local MetaStudio-compatible service for trying `preflight submit`.

    It accepts AK/SK signatures for $HUAWEICLOUD_SDK_AK / $HUAWEICLOUD_SDK_SK (and the token in
    $HUAWEICLOUD_SDK_TOKEN); when they are unset it makes throwaway ones and writes them to
    DATA_DIR/credentials.env (never printed). Stop with Ctrl-C.

    \b
    preflight sandbox --port 8765 --data-dir /tmp/sbx
    . /tmp/sbx/credentials.env
    preflight submit avatar.toml --endpoint http://127.0.0.1:8765 --wait
    """
    import secrets as _secrets
    import tempfile

    from preflight.sandbox import FaultPlan, Sandbox, SandboxConfig

    plan = FaultPlan.load(Path(faults_file)) if faults_file else FaultPlan()
    plan.fail_put.update(fail_put)
    plan.drop_put.update(drop_put)
    plan.lose_put.update(lose_put)
    plan.throttle.update(throttle)
    plan.fail_api.update(fail_api)
    plan.slow_ms = slow_ms or plan.slow_ms
    folder = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="preflight-sandbox-"))
    folder.mkdir(parents=True, exist_ok=True)
    ak = os.environ.get("HUAWEICLOUD_SDK_AK", "").strip()
    sk = os.environ.get("HUAWEICLOUD_SDK_SK", "").strip()
    pid = project_id or _secrets.token_hex(16)
    generated = not (ak and sk)
    if generated:
        ak, sk = "SBX" + _secrets.token_hex(8).upper(), _secrets.token_urlsafe(30)
    config = SandboxConfig(ak=ak, sk=sk, project_id=pid,
                           token=os.environ.get("HUAWEICLOUD_SDK_TOKEN") or None, host=host,
                           port=port, data_dir=folder,
                           journal=Path(journal) if journal else None, faults=plan,
                           advance_seconds=advance_seconds)
    sb = Sandbox(config)
    if generated:
        cred = folder / "credentials.env"
        fd = os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"export HUAWEICLOUD_SDK_AK={ak}\nexport HUAWEICLOUD_SDK_SK={sk}\n"
                     f"export HUAWEICLOUD_SDK_PROJECT_ID={pid}\n")
        click.echo(f"credentials: . {cred}")
    click.echo(f"project id: {pid}")
    click.echo(f"journal: {sb.journal_path}")
    click.echo(f"sandbox listening on {sb.url}", nl=True)
    sys.stdout.flush()
    try:
        sb.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    raise SystemExit(EXIT_OK)


@cli.group("cache")
def cache_group() -> None:
    """Manage the result cache (.preflight_cache)."""


@cache_group.command("clear")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Cache folder (default: .preflight_cache here).")
@handle_errors
def cache_clear(cache_dir: str | None) -> None:
    """Forget every cached result."""
    from preflight.cache import ResultCache, default_dir

    with ResultCache(Path(cache_dir) if cache_dir else default_dir()) as rc:
        n = rc.clear()
    click.echo(f"preflight: removed {n} cached result{'' if n == 1 else 's'} from {rc.directory}")
    raise SystemExit(EXIT_OK)


@cli.group("hook")
def hook_group() -> None:
    """The git pre-commit hook: run it, or install it without the pre-commit framework."""


@hook_group.command("run")
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@click.option("--staged", is_flag=True, help="Check the files staged in git (default when no "
              "FILES are given).")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help=f"Files checked at once (default: CPU count; {SERIAL_ENV}=1: one).")
@click.option("--no-cache", is_flag=True, help="Check every file afresh.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Result cache folder (default: .preflight_cache at the repository top).")
@handle_errors
def hook_run(files: tuple[str, ...], staged: bool, jobs: int | None, no_cache: bool,
             cache_dir: str | None) -> None:
    """Check staged media and job specs; exit 1 (refusing the commit) on any error finding.

    Used by the pre-commit framework (hook id `preflight`, which passes FILES) and by the
    hook `preflight hook install` writes (which passes --staged).
    """
    from preflight import hook

    root = hook.repo_root()
    chosen = hook.selected(hook.staged_files(root)) if staged or not files else [
        Path(f) for f in files]
    result = hook.run(chosen, root=root, jobs=jobs, use_cache=not no_cache,
                      cache_dir=Path(cache_dir) if cache_dir else None)
    if result.outcomes:
        click.echo("\n".join(hook.short_report(result, root)))
    if result.summary.failed:
        raise SystemExit(EXIT_USAGE)
    raise SystemExit(EXIT_FINDINGS if result.failed else EXIT_OK)


@hook_group.command("install")
@click.option("--force", is_flag=True, help="Replace a pre-commit hook preflight did not write "
              "(it is kept as pre-commit.preflight-backup).")
@handle_errors
def hook_install(force: bool) -> None:
    """Write .git/hooks/pre-commit so that every commit checks its staged media and specs."""
    from preflight import hook

    path, backup = hook.install(hook.repo_root(), force=force)
    if backup is not None:
        click.echo(f"preflight: kept the previous hook as {backup}")
    click.echo(f"preflight: installed {path}")
    raise SystemExit(EXIT_OK)


@hook_group.command("uninstall")
@handle_errors
def hook_uninstall() -> None:
    """Remove the pre-commit hook `preflight hook install` wrote (never another one)."""
    from preflight import hook

    removed, restored = hook.uninstall(hook.repo_root())
    if removed is None:
        click.echo("preflight: no pre-commit hook installed")
    elif restored is not None:
        click.echo(f"preflight: removed the hook; restored the previous one at {restored}")
    else:
        click.echo(f"preflight: removed {removed}")
    raise SystemExit(EXIT_OK)

def main() -> None:
    """Console-script entry point."""
    cli(prog_name="preflight")


if __name__ == "__main__":
    main()
