"""What every step of a submission works with: the package, the client, the local record, the
progress sink and the result being filled."""

from __future__ import annotations

from dataclasses import dataclass

from preflight.manifest import Manifest
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.progress import ProgressEvent, ProgressSink
from preflight.submitter.result import SubmitResult
from preflight.submitter.state import StateStore


@dataclass(frozen=True)
class Unanswered:
    """What a step returns when its request got no usable answer (5xx, throttling, a dropped
    connection): the run waits and decides again; ``error`` is raised once the tries are used
    up."""

    error: Exception
    why: str


@dataclass
class Context:
    """One submission's working set."""

    manifest: Manifest
    client: MetaStudioClient
    store: StateStore
    sink: ProgressSink
    key: str
    spec_path: str
    result: SubmitResult
    jobs: int = 4

    def phase(self, message: str) -> None:
        """A step starts."""
        self.sink.emit(ProgressEvent("phase", message=message))

    def note(self, job_id: str | None, message: str) -> None:
        """Something worth telling."""
        self.sink.emit(ProgressEvent("note", job_id=job_id, message=message))

    def warn(self, job_id: str | None, message: str) -> None:
        """A warning, also kept in the result."""
        self.result.warnings.append(message)
        self.sink.emit(ProgressEvent("warning", job_id=job_id, message=message))

    def retrying(self, message: str) -> None:
        """A retry, with its cause and delay."""
        self.sink.emit(ProgressEvent("retry", message=message))
