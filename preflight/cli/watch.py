"""`preflight watch`: a verdict for every take seconds after it lands in a folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from preflight.cli._common import edition_choice, result_cache
from preflight.errors import ConfigError, TargetNotFound

if TYPE_CHECKING:
    from preflight.workflows.watch import Watcher, WatchEvent

#: Findings named on a verdict line.
TOP_FINDINGS = 3
#: Default port of the live page (0: any free port).
DEFAULT_PORT = 8765


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def verdict_line(event: WatchEvent) -> str | None:
    """The terminal line of an event (None: nothing to say)."""
    from preflight.report.text import visible

    take = event.take
    if event.kind == "job" and event.job is not None:
        job = event.job.verdict
        return visible(f"{_clock(job.at)}  job {event.job.title}: would "
                       f"{'pass' if job.ready else 'NOT pass'}" + _tops(job))
    if take is None:
        return None
    if event.kind == "gone":
        return visible(f"{_clock(time.time())}  {take.shown}  left the folder")
    if event.kind == "copying":
        return visible(f"{_clock(time.time())}  {take.shown}  copying…")
    v = take.verdict
    if v is None:
        return None
    text = f"{_clock(v.at)}  {take.shown}  {v.word}" + _tops(v)
    if v.commands:
        text += f"  fix: {v.commands[0]}"
    return visible(text + ("  (cached)" if v.cached else ""))


def _tops(v: Any) -> str:
    if v.error:
        return f"  {v.error}"
    tops = [f"{f.code} {f.message}" for f in v.findings[:TOP_FINDINGS]]
    more = len(v.findings) - len(tops)
    return ("  " + "; ".join(tops) + (f" (+{more} more)" if more > 0 else "")) if tops else ""


def summary_line(watcher: Watcher) -> str:
    """The line printed when watching stops."""
    c = watcher.counts()
    total = sum(c.values())
    return (f"watched {total} take{'' if total == 1 else 's'}: {c['ready']} READY, "
            f"{c['not_ready']} NOT READY, {c['copying']} still copying")


@click.command("watch")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--spec", "spec", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Judge each take as the training video of this job spec (body, edition, "
                   "ID photos, identity) and show the job as it stands.")
@click.option("--edition", type=edition_choice, help="Judge against this edition.")
@click.option("--job-json", metavar="JSON", help="The job body for takes checked alone.")
@click.option("--serve", is_flag=True, help="Serve a live page on 127.0.0.1.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port of the live page (0: any free port).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Rewrite this self-contained page after each verdict.")
@click.option("--poll", is_flag=True, help="Poll the folder (network shares) instead of "
                                           "native file-system events.")
@click.option("--quiet-window", "quiet", type=click.FloatRange(0.0, 600.0), default=1.0,
              show_default=True, help="Seconds a file must stay unchanged before it is judged.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file.")
@click.option("--no-cache", is_flag=True, help="Check every take afresh.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Result cache folder.")
def watch_cmd(folder: Path, spec: Path | None, edition: str | None, job_json: str | None,
              serve: bool, port: int, html_out: Path | None, poll: bool, quiet: float,
              config_path: str | None, no_cache: bool, cache_dir: str | None) -> None:
    """Watch FOLDER and judge every media file once it is complete: one line per verdict
    (READY / NOT READY, top findings, the fix), a summary on Ctrl-C."""
    from preflight.rules.config import config_for
    from preflight.workflows.check import parse_job_json
    from preflight.workflows.watch import Watcher, WatchOptions
    from preflight.workflows.watch_judge import Judge

    if not folder.exists():
        raise TargetNotFound(folder)
    if not folder.is_dir():
        raise ConfigError("is not a folder: watch a folder (check judges a single file)",
                          path=folder)
    if spec is not None and job_json is not None:
        raise ConfigError("--spec and --job-json cannot be used together (the spec is the job)")
    job = parse_job_json(job_json) if job_json is not None else None
    cache = result_cache(no_cache, cache_dir, folder.absolute())
    judge = Judge(config_for(config_path, folder.absolute()), edition, job, cache,
                  spec.absolute() if spec else None)
    outputs = tuple(p for p in (html_out,) if p is not None)
    watcher = Watcher(folder, judge, WatchOptions(quiet=quiet, poll=poll, outputs=outputs))
    _watch(watcher, serve, port, html_out)


def _watch(watcher: Watcher, serve: bool, port: int, html_out: Path | None) -> None:
    from preflight.workflows.watch_page import Board

    board = Board(watcher, html_out)
    server = board.serve(port) if serve else None
    stop = threading.Event()

    def on_event(event: WatchEvent) -> None:
        line = verdict_line(event)
        if line is not None:
            click.echo(line)
        board.update(event)

    click.echo(f"watching {watcher.root} (quiet window {watcher.options.quiet:g} s); "
               "Ctrl-C stops", err=True)
    if server is not None:
        click.echo(f"live page: {server.url}", err=True)
    try:
        watcher.run(on_event, stop,
                    on_ready=lambda mode: click.echo(f"file-system events: {mode}", err=True))
    except KeyboardInterrupt:
        stop.set()
    finally:
        if server is not None:
            server.close()
        if watcher.judge.cache is not None:
            watcher.judge.cache.close()
    click.echo(summary_line(watcher))
