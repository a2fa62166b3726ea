"""Progress reporting: the library emits events, a front end (the CLI) renders them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened.

    ``kind``: ``phase`` (a step starts: message), ``plan`` (totals known: total_bytes,
    total_parts, done_bytes, done_parts), ``bytes`` (nbytes sent, negative after a failed try),
    ``part`` (a part finished), ``retry`` (message), ``state`` (job state from the service),
    ``note`` (anything worth telling).
    """

    kind: str
    message: str = ""
    nbytes: int = 0
    slot: str | None = None
    part_number: int | None = None
    total_bytes: int = 0
    total_parts: int = 0
    done_bytes: int = 0
    done_parts: int = 0
    job_id: str | None = None
    state: str | None = None


ProgressCallback = Callable[[ProgressEvent], None]


class ProgressSink:
    """Serialises callbacks from upload threads; a callback that raises is not the caller's
    problem twice (the first error is kept and re-raised on the calling thread)."""

    def __init__(self, callback: ProgressCallback | None):
        self._callback = callback
        self._lock = threading.Lock()

    def emit(self, event: ProgressEvent) -> None:
        """Deliver one event."""
        if self._callback is None:
            return
        with self._lock:
            self._callback(event)
