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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="preflight")


if __name__ == "__main__":
    main()
