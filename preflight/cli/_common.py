"""What every command shares: the outcome a command returns, the one exit-code decision, and
small option helpers."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preflight._version import __version__
from preflight.errors import SubmitError
from preflight.metastudio import EDITIONS, REGION_NAMES, SLOT_NAMES

if TYPE_CHECKING:
    from preflight.model import Report
    from preflight.report import RenderOptions
    from preflight.rules.cache import ResultCache

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_SUBMIT = 0, 1, 2, 3
#: `--format` values of `check` (kept literal so that --help stays cheap; a test compares them
#: with preflight.report.format_names()).
FORMATS = ("text", "json", "sarif", "junit", "github", "html", "auto")
#: Environment variable that forces serial batch checks (preflight.workflows.batch.SERIAL_ENV).
SERIAL_ENV = "PREFLIGHT_SERIAL"

edition_choice = click.Choice(EDITIONS)
slot_choice = click.Choice(SLOT_NAMES)
region_choice = click.Choice(REGION_NAMES)


@dataclass(frozen=True)
class Outcome:
    """What a command did, for `exit_code`: a check report (judged with `strict`), findings of
    another kind (a stale package, a refused commit), targets that could not be checked, or a
    job the service failed."""

    report: Report | None = None
    strict: bool = False
    findings: bool = False
    unchecked: bool = False
    service_failed: bool = False
    exit_zero: bool = False


def exit_code(outcome: Outcome | None = None, *, error: BaseException | None = None) -> int:
    """The one place that decides the process exit code.

    0 nothing wrong; 1 error findings (or warnings with --strict); 2 usage or local failure
    (including targets that could not be checked); 3 the service or the network failed after
    sending began.
    """
    if error is not None:
        return EXIT_SUBMIT if isinstance(error, SubmitError) else EXIT_USAGE
    if outcome is None:
        return EXIT_OK
    if outcome.service_failed:
        return EXIT_SUBMIT
    if outcome.unchecked:
        return EXIT_USAGE
    if outcome.exit_zero:  # report findings, never fail on them (ruff/flake8 --exit-zero)
        return EXIT_OK
    report = outcome.report
    if outcome.findings or (report is not None and (
            report.errors or (outcome.strict and report.warnings))):
        return EXIT_FINDINGS
    return EXIT_OK


def split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated, repeatable option values as one tuple."""
    return tuple(v.strip() for raw in values for v in raw.split(",") if v.strip())


def use_color() -> bool:
    """Colour only on a terminal, and never with NO_COLOR."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def resolve_format(fmt: str, output: str | None) -> tuple[str, bool]:
    """The concrete format and whether to colour it (`auto` looks at the environment)."""
    if fmt == "auto":
        from preflight.report import resolve_auto

        return resolve_auto(os.environ, sys.stdout.isatty() and not output)
    return fmt, fmt == "text" and use_color() and not output


def render_options(*, color: bool = False, quiet: bool = False,
                   root: str | None = None) -> RenderOptions:
    """Render options with this version and the rule descriptions the formatters need."""
    from preflight.report import RenderOptions
    from preflight.rules import rule_infos

    return RenderOptions(color=color, quiet=quiet, version=__version__, root=root,
                         rules=rule_infos())


def show_findings(report: Report, *, quiet: bool = True) -> None:
    """Print a report as text (errors only when `quiet`)."""
    from preflight.report import render

    click.echo(render(report, "text", render_options(color=use_color(), quiet=quiet)), nl=False)


def result_cache(no_cache: bool, cache_dir: str | None, near: Path | None) -> ResultCache | None:
    """The result cache for a check: --cache-dir, else .preflight_cache next to the spec / here."""
    if no_cache:
        return None
    from preflight.rules.cache import ResultCache, default_dir, refusal

    folder = Path(cache_dir) if cache_dir else default_dir(near)
    problem = refusal(folder)
    if problem is not None:  # checked afresh: the cache only ever saves time
        click.echo(f"preflight: warning: not using {folder} as the result cache: {problem}",
                   err=True)
        return None
    return ResultCache(folder)


def count_option(value: str | None, hint: str) -> int | str | None:
    """A part count option: an integer, "auto", or None."""
    if value is None or value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("expected a part count (1–1000) or auto",
                                 param_hint=hint) from None


def warn_outside(spec_path: str | None) -> None:
    """Name every media path of the spec that lies outside its folder (allowed, but it is read
    and uploaded: worth a look), as `check` does. A spec that does not load says nothing here:
    the command reports it."""
    if not spec_path:
        return
    from preflight.errors import PreflightError
    from preflight.report.text import visible
    from preflight.spec.loader import load_spec, outside_warnings

    try:
        spec = load_spec(spec_path)
    except PreflightError:
        return
    for line in outside_warnings(spec, spec_path):
        click.echo(visible(line), err=True)
