"""`preflight check`: a spec, loose media files, or whole folders."""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preflight.cli._common import (
    FORMATS,
    SERIAL_ENV,
    Outcome,
    edition_choice,
    render_options,
    resolve_format,
    result_cache,
    slot_choice,
    split,
)
from preflight.errors import PreflightError

if TYPE_CHECKING:
    from preflight.model import Report
    from preflight.report import RenderOptions
    from preflight.workflows.check import CheckRun


#: The inputs of this check (targets, the files their specs name), set by `_refuse_outputs`.
_INPUTS: ContextVar[tuple[str, ...]] = ContextVar("preflight_check_inputs", default=())


def _write(text: str, output: str | None) -> None:
    """The report to `output` through the safe writer, else to standard output (UTF-8: a
    byte of a name that is not UTF-8 as ``\\xff``)."""
    from preflight.report.text import unpaired
    from preflight.safeio import write_output

    if output:
        try:
            write_output(output, unpaired(text).encode("utf-8"), _INPUTS.get())
        except (OSError, UnicodeEncodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise PreflightError(f"cannot write the report to {output}: {why}") from None
    else:
        click.echo(unpaired(text), nl=False)


def _refuse_outputs(targets: tuple[str, ...], *outputs: str | None) -> None:
    """Refuse, before checking, an output that is an input of the check or a link, FIFO,
    device or folder (`preflight.workflows.outputs`); note the inputs for `_write`."""
    from preflight.workflows.outputs import inputs_of, refuse

    _INPUTS.set(inputs_of(targets))
    for out in filter(None, outputs):
        refuse(out, targets, _INPUTS.get())


def _finding_lines(report: Report, options: RenderOptions) -> list[str]:
    """Text lines of a report's findings (no summary), as the text report prints them."""
    from preflight.model import Severity
    from preflight.report.text import fix_line, line

    out = []
    for f in report.findings:
        if options.quiet and f.severity is not Severity.ERROR:
            continue
        out.append(line(f, options.color))
        if f.fix and not options.quiet:
            out.append(fix_line(f))
    return out


def _check_many(run: CheckRun, *, fmt: str, options: RenderOptions, output: str | None,
                strict: bool) -> Outcome:
    """Batch check: stream text findings in input order, or render one merged report; then
    the summary table (after a text report, on stderr otherwise)."""
    from preflight.report import render
    from preflight.workflows import batch

    summary = batch.Summary()
    stream = fmt == "text" and not output
    kept: list[batch.Outcome] = []
    for outcome in run:
        summary.add(outcome)
        if outcome.error is not None:
            for text_line in batch.problem_lines(outcome, outcome.target.label):
                click.echo(text_line, err=True)
            if stream and outcome.report is not None:  # what a broken spec's body shows
                for text_line in _finding_lines(outcome.report, options):
                    click.echo(text_line)
            continue
        kept.append(outcome)
        if stream and outcome.report is not None:
            for text_line in _finding_lines(outcome.report, options):
                click.echo(text_line)
    report = batch.merge(kept, run.edition)
    cache = run.cache
    table = batch.summary_table(summary, cache.stats.hits if cache is not None else None,
                                skipped=run.skipped.files)
    if stream:
        click.echo(table, nl=False)
    else:
        _write(render(report, fmt, options), output)
        click.echo(table, nl=False, err=True)
    return Outcome(report=report, strict=strict, unchecked=bool(summary.failed))


def _to_terminal() -> bool:
    """Whether standard output is a terminal (an HTML page is not written there)."""
    return sys.stdout.isatty()


def _check_html(run: CheckRun, *, options: RenderOptions, output: str | None,
                strict: bool, exit_zero: bool) -> Outcome:
    """The HTML report: every job with its body, files, findings and pictures."""
    from preflight.report.html import render_jobs
    from preflight.workflows.check import viewed

    seen = viewed(run, run)
    failed = [o for o in seen.outcomes if o.error is not None]
    for o in failed:
        click.echo(f"{o.target.label}: error: {o.error}", err=True)
    _write(render_jobs(seen.jobs, options), output)
    if output:
        click.echo(f"HTML report written to {output}", err=True)
    return Outcome(report=seen.report, strict=strict, unchecked=bool(failed),
                   exit_zero=exit_zero)


@click.command("check")
@click.argument("targets", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--slot", type=slot_choice,
              help="Check loose files as this upload (default: guessed from the extension).")
@click.option("--job-json", metavar="JSON",
              help="Job body (JSON object) for checking loose files, e.g. '{\"is_flexus\": true}'.")
@click.option("--edition", type=edition_choice,
              help="Force the edition pack (default: from is_flexus/is_fast_flexus/is_live_copy).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format; auto = github under GitHub Actions, else text. html is one "
              "self-contained page (pictures included): give -o FILE, or pipe it; it is "
              "not written to a terminal.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these rules (codes, names or families like VID; comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest preflight.toml or pyproject.toml).")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when findings are reported (usage errors still exit 2).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the summary.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True,
                                                path_type=str),
              help="Write the report to a new or regular file (never an input, link, FIFO or "
              "device; - is standard output).")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help=f"Files checked at once, in folders and within a spec (default: CPU count; "
              f"{SERIAL_ENV}=1: one).")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip files matching this .gitignore-style pattern in folders (repeatable; "
              "adds to the configuration's exclude).")
@click.option("--no-respect-gitignore", "respect_gitignore", is_flag=True, default=True,
              flag_value=False, help="Also check the files git ignores inside folders (a path "
              "named here is always checked).")
@click.option("--no-cache", is_flag=True, help="Check every file afresh (ignore the result cache).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Result cache folder (default: .preflight_cache next to the spec, or here).")
@click.option("--contact-sheet", type=click.Path(dir_okay=False, path_type=str), metavar="PNG",
              help="Also write the sampled video frames with the green mask to this PNG.")
def check_cmd(targets: tuple[str, ...], slot: str | None, job_json: str | None,
              edition: str | None, fmt: str, select: tuple[str, ...], ignore: tuple[str, ...],
              config_path: str | None, strict: bool, exit_zero: bool, quiet: bool,
              output: str | None, jobs: int | None, exclude: tuple[str, ...],
              respect_gitignore: bool, no_cache: bool, cache_dir: str | None,
              contact_sheet: str | None) -> Outcome:
    """Check a job spec (avatar.toml), loose media files, or whole folders before submitting.

    \b
    preflight check avatar.toml
    preflight check take3.mp4 --job-json '{"is_flexus": true}'
    preflight check footage/ --jobs 4 --format sarif -o preflight.sarif
    """
    from preflight.report import render
    from preflight.rules.config import config_for
    from preflight.workflows.check import CheckOptions, classify, parse_job_json, start

    output = None if output == "-" else output  # -o - is standard output
    _refuse_outputs(targets, output, contact_sheet)
    kind = classify(targets)
    if kind == "mixed":
        raise click.UsageError("give either spec files or media files, not both")
    if kind == "batch" and contact_sheet:
        raise click.UsageError("--contact-sheet applies to one spec or video, not to folders")
    if kind == "spec" and (slot or job_json):
        raise click.UsageError("--slot and --job-json apply to media files, not to a spec")
    fmt, color = resolve_format(fmt, output)
    if fmt == "html":
        if not output and _to_terminal():
            raise click.UsageError("--format html writes a whole web page: add -o report.html "
                                   "(or redirect the output to a file)")
        if contact_sheet:
            raise click.UsageError("--contact-sheet: the HTML report already shows the frames "
                                   "with the green mask; use one or the other")
    first = Path(targets[0]).absolute()
    config = config_for(config_path, first).with_cli(split(select), split(ignore), edition)
    # A spec's cache sits next to it, one folder's in it (so `cache clear FOLDER` finds it).
    home = first.parent if kind == "spec" else (
        Path(targets[0]) if len(targets) == 1 and Path(targets[0]).is_dir() else None)
    cache = None if fmt == "html" or contact_sheet else result_cache(no_cache, cache_dir, home)
    options = render_options(color=color, quiet=quiet, root=os.getcwd())
    job = parse_job_json(job_json) if job_json else None
    run = start(targets, CheckOptions(edition, config, slot, job, cache,
                                      1 if contact_sheet else jobs, exclude,
                                      respect_gitignore, views=fmt == "html"))
    for note in () if quiet else run.notes(os.getcwd()):
        click.echo(f"preflight: {note}", err=True)
    if fmt == "html":
        return _check_html(run, options=options, output=output, strict=strict,
                           exit_zero=exit_zero)
    if kind == "batch":
        outcome = _check_many(run, fmt=fmt, options=options, output=output, strict=strict)
        return replace(outcome, exit_zero=exit_zero)
    if contact_sheet:
        from preflight.workflows.contact_sheet import checked_with_sheet

        report = checked_with_sheet(run.report, Path(contact_sheet), run.config)
    else:
        outcomes = list(run)
        for o in outcomes:  # a broken spec: what its body still shows, before the error
            if o.error is not None and o.report is not None:
                for text_line in _finding_lines(o.report, options):
                    click.echo(text_line, err=True)
        report = run.report(outcomes)
    _write(render(report, fmt, options), output)
    if contact_sheet:
        click.echo(f"contact sheet written to {contact_sheet}", err=True)
    return Outcome(report=report, strict=strict, exit_zero=exit_zero)
