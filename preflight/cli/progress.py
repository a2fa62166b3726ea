"""Progress displays on standard error: byte bars for packaging and fixing, and the submit
display (a rich bar on a terminal, plain lines otherwise). They never show URLs or credentials
(the events they get carry none)."""

from __future__ import annotations

import sys
from typing import Any

import click


class Bars:
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

    def __enter__(self) -> Bars:
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


class SubmitDisplay:
    """Renders submit progress events: a rich bar (bytes, parts, rate, ETA) on a terminal,
    plain lines otherwise. Never shows URLs or credentials (events carry none)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.progress: Any = None
        self.task: Any = None
        self.parts_done = 0
        self.parts_total = 0

    def __enter__(self) -> SubmitDisplay:
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
        if kind == "phase" and self.progress is not None:
            # uploads are over: leave the bar and move on to confirm → submit → review
            self.progress.stop()
            self.progress = None
        if kind in ("phase", "note"):
            self._line(f"· {event.message}")
        elif kind == "warning":
            self._line(f"! warning: {event.message}")
        elif kind == "retry":
            where = f"{event.slot} part {event.part_number}: " if event.slot else ""
            self._line(f"  retry {where}{event.message}")
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
                )

                self.progress = Progress(
                    TextColumn("upload"), BarColumn(), DownloadColumn(binary_units=True),
                    TextColumn("{task.fields[parts]}"),
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
