"""The `preflight` command: the only code that prints or exits.

Every command returns an `Outcome` (or None); `exit_code` turns it, or the error that stopped
the command, into the process exit code, in one place. `main(argv) -> int` is the entry point
(like pre-commit-hooks' ``main``); the console script exits with its value.
"""

from __future__ import annotations

import codecs
import io
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from preflight._version import __version__
from preflight.cli._common import Outcome, exit_code
from preflight.cli.cache import cache_group
from preflight.cli.check import check_cmd
from preflight.cli.fix import fix_cmd
from preflight.cli.hook import hook_group
from preflight.cli.info import info_cmd
from preflight.cli.init import init_cmd
from preflight.cli.package import package_cmd
from preflight.cli.rule import rule_cmd
from preflight.cli.rules import rules_cmd
from preflight.cli.sandbox import sandbox_cmd
from preflight.cli.schema import schema_cmd
from preflight.cli.status import status_cmd
from preflight.cli.submit import submit_cmd
from preflight.cli.watch import watch_cmd
from preflight.errors import PreflightError

__all__ = ["Outcome", "cli", "exit_code", "main", "run"]


def _fail(message: str, error: BaseException) -> NoReturn:
    from preflight.report.text import visible  # a name cannot drive the terminal

    click.echo("preflight: " + "\n".join(map(visible, message.split("\n"))), err=True)
    sys.exit(exit_code(error=error))


class _Preflight(click.Group):
    """The command group: runs a command, then exits with the code its outcome decides; a
    library error becomes a one-line message, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            outcome = super().invoke(ctx)
        except PreflightError as exc:
            _fail(f"error: {exc}", exc)
        except KeyboardInterrupt as exc:
            _fail("interrupted", exc)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort,
                SystemExit):
            raise
        except Exception as exc:
            _fail(f"internal error: {type(exc).__name__}: {exc} "
                  "(please report it with the command line you ran)", exc)
        ctx.exit(exit_code(outcome if isinstance(outcome, Outcome) else None))


@click.group(cls=_Preflight, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="preflight")
def cli() -> None:
    """Check, package and submit Huawei Cloud MetaStudio avatar-training jobs."""


for _command in (check_cmd, rule_cmd, rules_cmd, package_cmd, fix_cmd, submit_cmd, status_cmd,
                 sandbox_cmd, cache_group, hook_group, info_cmd, schema_cmd,
                 init_cmd, watch_cmd):
    cli.add_command(_command)


#: Plain stand-ins for symbols a legacy code page (cp1252, cp437: Windows pipes and consoles)
#: cannot encode; any other such character is written as a ``\\uXXXX`` escape.
PLAIN = {"≥": ">=", "≤": "<=", "≠": "!=", "→": "->", "←": "<-", "↔": "<->", "…": "...",
         "—": "-", "–": "-", "×": "x", "±": "+/-", "≈": "~", "✓": "ok", "✗": "x", "•": "*",
         "µ": "u", "°": " deg"}
STREAM_ERRORS = "preflight-plain"


def _plain(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    return "".join(PLAIN.get(c) or c.encode("ascii", "backslashreplace").decode("ascii")
                   for c in text), exc.end


codecs.register_error(STREAM_ERRORS, _plain)


def safe_streams() -> None:
    """Make standard output and error unable to fail on a character: a stream whose encoding
    is not UTF-8 (a Windows pipe or file in cp1252, ``PYTHONIOENCODING=cp1252``) keeps its
    encoding, which is what its reader expects, and writes `PLAIN` stand-ins for what that
    encoding lacks (``>=`` for ``≥``). A stream given an error handler of its own keeps it."""
    for stream in (sys.stdout, sys.stderr):
        if (isinstance(stream, io.TextIOWrapper) and stream.errors == "strict"
                and codecs.lookup(stream.encoding).name != "utf-8"):
            stream.reconfigure(errors=STREAM_ERRORS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: ``sys.argv[1:]``) and return its exit code."""
    safe_streams()
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C, so temporary outputs are removed on the way out.
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="preflight",
                 standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
