"""Concurrent, resumable PUTs of byte ranges to single-use upload URLs.

Each part: mark ``sending`` (committed) → PUT streamed from the source → compare the ETag with
the part's MD5 → mark ``done`` (committed). After a failed or interrupted PUT the service is
asked whether it recorded the part before the same URL is tried again; a URL the service
recorded is never PUT again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx

from preflight.errors import SubmitError, UploadRefused
from preflight.submitter.client import MetaStudioClient, network_cause
from preflight.submitter.progress import ProgressEvent, ProgressSink
from preflight.submitter.retry import certificate_problem, is_retryable_status
from preflight.submitter.state import DONE, SENDING, UNPROVEN, StateStore


@dataclass(frozen=True)
class PartTask:
    """One PUT to do."""

    job_id: str
    slot: str
    part_number: int
    url: str
    source: str
    offset: int
    length: int
    md5: str
    content_type: str
    status: str  # status in the store when planned (pending or sending)


#: Asks the service whether a part arrived: True (yes, ETag matches), False (no), None (unknown).
Verifier = Callable[[PartTask], bool | None]


def etag_matches(etag: str | None, md5: str) -> bool | None:
    """True/False when the ETag is a plain MD5, None when it is absent or another format."""
    if not etag:
        return None
    value = etag.strip().removeprefix("W/").strip('"').lower()
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return value == md5.lower()
    return None


class _Counter:
    """Counts the bytes of one try and reports them."""

    def __init__(self, owner: Uploader, task: PartTask):
        self.owner, self.task, self.sent = owner, task, 0

    def __call__(self, n: int) -> None:
        o = self.owner
        if o._stop.is_set():
            raise SubmitError("upload stopped after another part failed")
        self.sent += n
        with o._lock:
            o.sent_bytes += n
        o.sink.emit(ProgressEvent("bytes", nbytes=n, slot=self.task.slot,
                                  part_number=self.task.part_number))


class Uploader:
    """Runs part tasks on ``jobs`` threads sharing one client (one connection pool)."""

    def __init__(self, client: MetaStudioClient, store: StateStore, verifier: Verifier,
                 sink: ProgressSink, *, jobs: int = 4):
        self.client = client
        self.store = store
        self.verifier = verifier
        self.sink = sink
        self.jobs = max(1, jobs)
        self._stop = threading.Event()
        self.sent_bytes = 0
        self._lock = threading.Lock()

    def run(self, tasks: list[PartTask]) -> None:
        """Upload every task; the first hard failure stops the rest and is raised."""
        if not tasks:
            return
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(tasks)),
                                thread_name_prefix="upload") as pool:
            futures = [pool.submit(self._one, t) for t in tasks]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                self._stop.set()
                wait(futures)
                exc = failed[0].exception()
                assert exc is not None
                raise exc

    def _bytes(self, task: PartTask) -> _Counter:
        return _Counter(self, task)

    def _finish(self, task: PartTask, etag: str | None, how: str) -> None:
        self.store.mark(task.job_id, task.slot, task.part_number, DONE, etag)
        self.sink.emit(ProgressEvent("part", slot=task.slot, part_number=task.part_number,
                                     nbytes=task.length, message=how))

    def _unproven(self, task: PartTask, how: str) -> None:
        self.store.mark(task.job_id, task.slot, task.part_number, UNPROVEN)
        self.sink.emit(ProgressEvent("part", slot=task.slot, part_number=task.part_number,
                                     nbytes=task.length, message=how))

    def _verify(self, task: PartTask) -> bool | None:
        return self.verifier(task)

    def _one(self, task: PartTask) -> None:
        if self._stop.is_set():
            return
        label = f"{task.slot} part {task.part_number}"
        ambiguous = task.status == SENDING  # a previous run may have delivered it
        if ambiguous and self._verify(task):
            self._finish(task, None, "recorded by the service before this run")
            return
        policy = self.client.retry
        last = ""
        for attempt in range(1, policy.attempts + 1):
            if self._stop.is_set():
                return
            was_ambiguous = ambiguous
            self.store.mark(task.job_id, task.slot, task.part_number, SENDING, attempt=True)
            counter = self._bytes(task)
            try:
                resp = self.client.put_once(task.url, task.source, task.offset, task.length,
                                            task.content_type, counter)
            except httpx.TransportError as exc:
                tls = certificate_problem(exc)
                if tls:
                    raise SubmitError(f"{label}: {tls} (not retried)") from None
                self._rewind(task, counter.sent)
                ambiguous = True
                last = network_cause(exc)
                if self._verify(task):
                    self._finish(task, None, "recorded by the service despite the error")
                    return
                self._retrying(task, attempt, last)
                continue
            except httpx.HTTPError as exc:  # not a network failure: a malformed URL or request
                raise SubmitError(f"{label}: cannot send the upload ({type(exc).__name__}); "
                                  "the stored upload URL is unusable — rerun with --new-job"
                                  ) from None
            except OSError as exc:
                raise SubmitError(f"{label}: cannot read {task.source}: "
                                  f"{exc.strerror or exc}") from None
            status = resp.status_code
            if status < 300:
                match = etag_matches(resp.headers.get("ETag"), task.md5)
                if match is False:
                    raise SubmitError(
                        f"{label}: the service stored different bytes (ETag "
                        f"{resp.headers.get('ETag')} ≠ MD5 {task.md5}); the URL is spent — "
                        "rerun with --new-job")
                if match or self._verify(task):
                    self._finish(task, task.md5 if match else None, "uploaded")
                else:
                    self._unproven(task, "accepted without an ETag; the service cannot "
                                         "confirm it")
                return
            self._rewind(task, counter.sent)
            ambiguous = True
            last = f"HTTP {status}"
            if is_retryable_status(status):
                if self._verify(task):
                    self._finish(task, None, "recorded by the service despite the error")
                    return
                self._retrying(task, attempt, last, resp.headers.get("Retry-After"))
                continue
            verdict = self._verify(task)
            if verdict:
                self._finish(task, None, "recorded by the service (URL already used)")
                return
            if verdict is None and was_ambiguous:
                # an earlier try of ours spent the URL (nobody else holds it), but nothing proves
                # the bytes arrived: say so instead of assuming
                self._unproven(task, "URL spent by an earlier try; no proof of arrival")
                return
            raise UploadRefused(
                f"{label}: the upload URL refused the PUT (HTTP {status}) and the service has "
                "not recorded the part: the URL is spent or expired (single-use URLs, "
                "docs/constraints.md §3.6); rerun with --new-job to get fresh URLs", status=status)
        raise SubmitError(f"{label}: gave up after {policy.attempts} tries ({last})")

    def _rewind(self, task: PartTask, sent: int) -> None:
        if sent:
            with self._lock:
                self.sent_bytes -= sent
            self.sink.emit(ProgressEvent("bytes", nbytes=-sent, slot=task.slot,
                                         part_number=task.part_number))

    def _retrying(self, task: PartTask, attempt: int, why: str,
                  retry_after: str | None = None) -> None:
        policy = self.client.retry
        if attempt >= policy.attempts:
            return
        delay = policy.delay(attempt, retry_after)
        self.sink.emit(ProgressEvent("retry", slot=task.slot, part_number=task.part_number,
                                     message=f"upload: {why}; retrying in {delay:.1f} s"))
        policy.sleep(delay)
