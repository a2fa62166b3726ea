"""``submit``: check → package → create → record → upload → confirm → SUBMITVERIFYING → poll.

Every step is resumable from the state store (see :mod:`preflight.submitter.state`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from preflight.errors import (
    CommandFailed,
    NetworkError,
    PackagingError,
    ServiceError,
    SetupError,
    SubmitError,
)
from preflight.manifest import Manifest, Upload
from preflight.metastudio import (
    BODY_FIELDS,
    CONFIRM_GRANT_COMMAND,
    COUNT_FIELDS,
    MULTIPART_CONFIRM,
    MULTIPART_QUERY,
    REQUIRED_SLOT,
    SLOTS,
    SUBMIT_COMMAND,
    SUCCESS_STATES,
    UPDATABLE_STATES,
    UPDATE_VIDEO,
    WAIT_FILE_UPLOAD,
    is_failed,
    is_final,
)
from preflight.metastudio.credentials import Credentials, resolve_endpoint
from preflight.submitter.client import MetaStudioClient, Response
from preflight.submitter.progress import ProgressCallback, ProgressEvent, ProgressSink
from preflight.submitter.redact import redact_url
from preflight.submitter.retry import THROTTLE_CODES, RetryPolicy, is_retryable_status
from preflight.submitter.state import DONE, FILE_NAME, SENDING, UNPROVEN, StateStore
from preflight.submitter.uploader import PartTask, Uploader, etag_matches


@dataclass
class SubmitResult:
    """What happened. ``success`` is None while the review is still running."""

    job_id: str
    state: str | None
    endpoint: str
    state_path: str
    created: bool = False
    resumed: bool = False
    #: The failed job was updated with fresh URLs (UPDATE_VIDEO) and submitted again.
    updated: bool = False
    submitted_now: bool = False
    parts_total: int = 0
    parts_uploaded: int = 0
    parts_skipped: int = 0
    bytes_sent: int = 0
    bytes_total: int = 0
    seconds: float = 0.0
    commands: list[str] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    operation_logs: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds spent uploading (parts only) and waiting for the review (polling).
    upload_seconds: float = 0.0
    wait_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: (slot, part) uploads whose arrival the service cannot prove.
    unproven: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool | None:
        """True in a success state, False in a failed/stopped one, None while in progress."""
        if self.state in SUCCESS_STATES:
            return True
        if is_failed(self.state):
            return False
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no secrets: URLs are not included)."""
        return {
            "job_id": self.job_id, "state": self.state, "success": self.success,
            "endpoint": self.endpoint, "state_store": self.state_path, "created": self.created,
            "resumed": self.resumed, "updated": self.updated, "submitted_now": self.submitted_now,
            "parts": {"total": self.parts_total, "uploaded": self.parts_uploaded,
                      "skipped": self.parts_skipped},
            "bytes": {"sent": self.bytes_sent, "total": self.bytes_total},
            "seconds": round(self.seconds, 3), "upload_seconds": round(self.upload_seconds, 3),
            "wait_seconds": round(self.wait_seconds, 3), "commands": self.commands,
            "uploads": self.uploads, "operation_logs": self.operation_logs,
            "warnings": self.warnings, "unproven": self.unproven,
        }


@dataclass
class DryRun:
    """The requests ``submit`` would send, secrets redacted, and the part plan."""

    requests: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    key: str
    #: The recorded job a rerun would continue (no create), with its phase; None for new.
    resume_job: str | None = None
    resume_phase: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dry_run": True, "submission_key": self.key, "requests": self.requests,
                "parts": self.parts, "resume": None if self.resume_job is None else
                {"job_id": self.resume_job, "phase": self.resume_phase}}


def create_body(manifest: Manifest) -> dict[str, Any]:
    """The create body: only API fields, multipart counts matching the planned parts."""
    body = {k: v for k, v in manifest.job.items() if k in BODY_FIELDS}
    video = manifest.upload("training_video")
    if video is not None and (len(video.parts) > 1 or "video_multipart_count" in body):
        body["video_multipart_count"] = len(video.parts)
    action = manifest.upload("action_video")
    if action is not None:
        body["action_video_multipart_count"] = len(action.parts)
    return body


def submission_key(manifest: Manifest, endpoint: str, project_id: str,
                   app_user_id: str | None) -> str:
    """Same spec + same media + same service/project/user ⇒ same key ⇒ same job on rerun."""
    doc = {
        "endpoint": endpoint, "project_id": project_id, "app_user_id": app_user_id or "",
        "spec_sha256": manifest.spec_sha256, "body": create_body(manifest),
        "uploads": [[u.slot, u.sha256, u.content_type,
                     [[p.part_number, p.offset, p.length, p.md5] for p in u.parts]]
                    for u in sorted(manifest.uploads, key=lambda u: u.slot)],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()


def default_state_path(spec_path: str | Path | None, state_dir: str | Path | None) -> Path:
    """``--state-dir/preflight-state.sqlite`` or ``.preflight/`` next to the spec."""
    if state_dir is not None:
        return Path(state_dir) / FILE_NAME
    base = Path(spec_path).absolute().parent if spec_path else Path.cwd()
    return base / ".preflight" / FILE_NAME


def _urls_for(upload: Upload, data: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    value = data.get(upload.url_field)
    urls: list[str]
    if isinstance(value, str) and value:
        urls = [value]
    elif isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        urls = list(value)
    else:
        raise SubmitError(f"the service returned no {upload.url_field} for the {upload.slot} "
                          "upload")
    for u in urls:
        if any(ord(c) < 33 or c == "\x7f" for c in u) or not u.startswith(("https://",
                                                                              "http://")):
            raise SubmitError(f"the service returned an unusable URL in {upload.url_field} "
                              "(not an http(s) URL, or with spaces or control characters)")
    if len(urls) != len(upload.parts):
        raise SubmitError(f"the service returned {len(urls)} URL(s) in {upload.url_field} for "
                          f"{len(upload.parts)} planned part(s) of {upload.slot}")
    return [(upload.slot, p.part_number, u) for p, u in zip(upload.parts, urls, strict=True)]


def _parse_time(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _multipart(data: Mapping[str, Any]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    items = data.get("multipart_data")
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            n = int(str(item.get("part_number", "")).strip())
        except ValueError:
            continue
        etag = item.get("etag")
        out[n] = str(etag) if etag is not None else None
    return out


def action_answer(data: Mapping[str, Any]) -> tuple[list[str], dict[int, str | None]]:
    """Both shapes a GET_ACTION_VIDEO_MULTIPART_UPLOADED answer may take: a list of upload
    URLs (any list of strings in the answer, as its doc text says "upload addresses"), or
    uploaded-part data in ``multipart_data`` like GET_MULTIPART_UPLOADED's."""
    urls: list[str] = []
    for key, value in data.items():
        if key != "multipart_data" and isinstance(value, list) and value and all(
                isinstance(v, str) for v in value):
            urls.extend(value)
    return urls, _multipart(data)


class Submission:
    """One run of the submit flow against one client and one state store."""

    def __init__(self, manifest: Manifest, client: MetaStudioClient, store: StateStore, *,
                 spec_path: str, jobs: int = 4, new_job: bool = False,
                 progress: ProgressCallback | None = None, poll_interval: float = 5.0,
                 wait_timeout: float | None = None, sleep: Callable[[float], None] = time.sleep):
        self.manifest = manifest
        self.client = client
        self.store = store
        self.spec_path = spec_path
        self.jobs = jobs
        self.new_job = new_job
        self.sink = ProgressSink(progress)
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self.sleep = sleep
        self.key = submission_key(manifest, client.endpoint, client.credentials.project_id,
                                  client.app_user_id)
        client.on_retry = lambda text: self.sink.emit(ProgressEvent("retry", message=text))

    def _phase(self, message: str, **kw: Any) -> None:
        self.sink.emit(ProgressEvent("phase", message=message, **kw))

    # -- create --------------------------------------------------------------------------------

    def _remove_orphans(self, row_name: str, started: float) -> None:
        """A create whose answer was lost (crash between send and record) left a job we have no
        URLs for; delete it so exactly one job remains."""
        try:
            data = self.client.list(name=row_name, state=WAIT_FILE_UPLOAD, limit=100).data
        except SubmitError:
            self.sink.emit(ProgressEvent("note", message="could not list jobs to clean up an "
                                         "interrupted create"))
            return
        jobs = data.get("jobs") or data.get("job_list") or []
        known = {j.job_id for j in self.store.jobs() if j.job_id}
        for job in jobs if isinstance(jobs, list) else []:
            if not isinstance(job, dict):
                continue
            created = _parse_time(job.get("create_time"))
            jid = job.get("job_id")
            if (not jid or jid in known or job.get("name") != row_name
                    or job.get("state", WAIT_FILE_UPLOAD) != WAIT_FILE_UPLOAD
                    or created is None or created < started - 5):
                continue
            if self.client.app_user_id and job.get("app_user_id") not in (
                    None, self.client.app_user_id):
                continue
            try:
                self.client.delete(str(jid))
                self.sink.emit(ProgressEvent("note", job_id=str(jid), message=(
                    f"deleted job {jid}: created by an interrupted run whose upload URLs "
                    "were never received")))
            except SubmitError:
                pass

    def _create_call(self, body: Mapping[str, Any], name: str, seq: int) -> Response:
        """Create with retries. Throttling and refused connections are retried as is; after a
        5xx or a lost answer, a job the service may have made is looked for and deleted first,
        so at most one job remains."""
        policy = self.client.retry
        started = time.time()
        for attempt in range(1, policy.attempts + 1):
            try:
                return self.client.create(body)
            except ServiceError as exc:
                if not (exc.status and is_retryable_status(exc.status, exc.error_code)) \
                        or attempt == policy.attempts:
                    self.store.abandon(seq, "create refused")
                    raise
                ambiguous = not (exc.status == 429 or exc.error_code in THROTTLE_CODES)
                why = f"HTTP {exc.status} {exc.error_code or ''}".strip()
            except NetworkError as exc:
                if attempt == policy.attempts:
                    raise
                ambiguous = exc.maybe_sent
                why = exc.cause
            if ambiguous:
                self._remove_orphans(name, started)
            delay = policy.delay(attempt)
            self.sink.emit(ProgressEvent("retry", message=f"create: {why}; retrying in "
                                         f"{delay:.1f} s"))
            policy.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(self) -> str:
        body = create_body(self.manifest)
        name = str(body.get("name", ""))
        seq = self.store.begin_create(self.key, self.client.endpoint,
                                      self.client.credentials.project_id, self.spec_path, name)
        self._phase("creating the job")
        resp = self._create_call(body, name, seq)
        job_id = resp.data.get("job_id")
        if not isinstance(job_id, str) or not job_id:
            self.store.abandon(seq, "no job id")
            raise SubmitError("the service accepted the job but returned no job_id",
                              request_id=resp.request_id)
        urls: list[tuple[str, int, str]] = []
        try:
            for upload in self.manifest.uploads:
                urls.extend(_urls_for(upload, resp.data))
        except SubmitError as exc:
            self._discard(seq, job_id, str(exc), resp.request_id)
        self.store.record_created(seq, job_id, urls)
        self.sink.emit(ProgressEvent("note", job_id=job_id,
                                     message=f"created job {job_id} ({len(urls)} upload URLs "
                                     "recorded)"))
        return job_id

    def _discard(self, seq: int, job_id: str, why: str, request_id: str | None) -> None:
        """The job just created cannot be completed (an upload URL field is missing for a slot
        that has a file): delete it so that no orphan is left, then fail."""
        try:
            self.client.delete(job_id)
        except SubmitError as exc:
            self.store.record_created(seq, job_id, [])
            raise SubmitError(f"{why}; deleting job {job_id} failed too ({exc}): delete it in "
                              "the console", request_id=request_id) from None
        self.store.abandon(seq, "upload URL missing")
        raise SubmitError(f"{why}; job {job_id} was deleted again, so nothing is left behind",
                          request_id=request_id)

    # -- update a failed job ---------------------------------------------------------------------

    def _earlier_job(self) -> str | None:
        """The newest job recorded for this spec on this service under another key (the media
        changed since). A failed review is updated in place; a job still in review or training
        is never touched; anything else gets a new job as before."""
        for j in self.store.jobs():
            if (j.key == self.key or j.job_id is None or j.phase.startswith("abandoned")
                    or j.spec_path != self.spec_path or j.endpoint != self.client.endpoint
                    or j.project_id != self.client.credentials.project_id):
                continue
            try:
                state = self.client.show(j.job_id).data.get("state")
            except ServiceError as exc:
                if exc.status == 404:
                    return None
                raise
            state = str(state) if state is not None else None
            if state in UPDATABLE_STATES:
                return j.job_id
            if state is not None and state != WAIT_FILE_UPLOAD and not is_final(state):
                raise SetupError(
                    f"job {j.job_id} from this spec is in {state} (review or training): it is "
                    "never touched while it runs; follow it with `preflight status`, or pass "
                    "--new-job to create another job")
            return None
        return None

    def _updatable(self, job_id: str, seq: int) -> str:
        """An update whose answer never arrived (crash or lost answer): send it again only
        while the job is still in a failed state, which Show tells."""
        state = self.client.show(job_id).data.get("state")
        if state in UPDATABLE_STATES:
            self.store.abandon(seq, "interrupted update")
            return job_id
        self.store.abandon(seq, "update answer lost")
        raise SubmitError(f"job {job_id} was updated but the answer with its fresh upload URLs "
                          f"never arrived; it now waits in {state} for files whose URLs only "
                          "the service knows: rerun with --new-job")

    def _update(self, job_id: str) -> str:
        """Update2dModelTrainingJob with UPDATE_VIDEO and the new part count(s): fresh URLs
        for the same job, recorded before the first upload (dossier §2.4)."""
        full = create_body(self.manifest)
        video = self.manifest.upload(REQUIRED_SLOT)
        assert video is not None  # run() refuses a package without one
        body: dict[str, Any] = {"command_message": UPDATE_VIDEO,
                                "video_multipart_count": len(video.parts)}
        if "action_video_multipart_count" in full:
            body["action_video_multipart_count"] = full["action_video_multipart_count"]
        seq = self.store.begin_update(self.key, self.client.endpoint,
                                      self.client.credentials.project_id, self.spec_path,
                                      str(full.get("name", "")), job_id)
        self._phase(f"updating failed job {job_id} with the new files (UPDATE_VIDEO)")
        policy = self.client.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                resp = self.client.update(job_id, body)
                break
            except ServiceError as exc:
                if not (exc.status and is_retryable_status(exc.status, exc.error_code)) \
                        or attempt == policy.attempts:
                    self.store.abandon(seq, "update refused")
                    raise
                why = f"HTTP {exc.status}" + (f" {exc.error_code}" if exc.error_code else "")
                lost = not (exc.status == 429 or exc.error_code in THROTTLE_CODES)
            except NetworkError as exc:
                if attempt == policy.attempts:
                    raise
                why, lost = exc.cause, exc.maybe_sent
            if lost:
                self._updatable(job_id, seq)  # raises unless the job still waits for an update
                seq = self.store.begin_update(self.key, self.client.endpoint,
                                              self.client.credentials.project_id,
                                              self.spec_path, str(full.get("name", "")), job_id)
            delay = policy.delay(attempt)
            self.sink.emit(ProgressEvent("retry", message=f"update job: {why}; retrying in "
                                         f"{delay:.1f} s"))
            policy.sleep(delay)
        urls: list[tuple[str, int, str]] = []
        try:
            for upload in self.manifest.uploads:
                urls.extend(_urls_for(upload, resp.data))
        except SubmitError as exc:
            self.store.abandon(seq, "update without URLs")
            raise SubmitError(f"{exc} (update of job {job_id})",
                              request_id=resp.request_id) from None
        self.store.record_updated(seq, job_id, urls)
        self._note(job_id, f"updated job {job_id}: {len(urls)} fresh upload URLs recorded")
        return job_id

    # -- verify --------------------------------------------------------------------------------

    def _verifier(self, job_id: str) -> Callable[[PartTask], bool | None]:
        def verify(task: PartTask) -> bool | None:
            query = MULTIPART_QUERY.get(task.slot)
            if task.slot == "action_video":
                self._action_listing(job_id, task)
                return self._verify_show(job_id, task.slot)
            if query is not None:
                try:
                    parts = _multipart(self.client.command(job_id, query).data)
                except ServiceError:
                    parts = {}
                    if task.slot != "training_video":
                        return self._verify_show(job_id, task.slot)
                if task.part_number not in parts:
                    return False if task.slot == "training_video" else None
                match = etag_matches(parts[task.part_number], task.md5)
                if match is False:
                    raise SubmitError(f"{task.slot} part {task.part_number}: the service holds "
                                      f"different bytes (ETag {parts[task.part_number]} ≠ MD5 "
                                      f"{task.md5}); rerun with --new-job")
                return True
            return self._verify_show(job_id, task.slot)
        return verify

    def _action_listing(self, job_id: str, task: PartTask) -> None:
        """Ask GET_ACTION_VIDEO_MULTIPART_UPLOADED. Its answer is documented as "the action
        video's part upload addresses" (unlike GET_MULTIPART_UPLOADED's "uploaded part info"),
        so it may be a URL list or part data: never proof that a part arrived. Part data with a
        different ETag still means the service holds other bytes."""
        try:
            data = self.client.command(job_id, MULTIPART_QUERY["action_video"]).data
        except ServiceError:
            return
        _urls, parts = action_answer(data)  # URLs are never used: only ours are recorded
        etag = parts.get(task.part_number)
        if etag_matches(etag, task.md5) is False:
            raise SubmitError(f"action_video part {task.part_number}: the service holds "
                              f"different bytes (ETag {etag} ≠ MD5 {task.md5}); rerun with "
                              "--new-job")

    def _verify_show(self, job_id: str, slot: str) -> bool | None:
        fields = SLOTS[slot].download_fields if slot in SLOTS else None
        if not fields:
            return None
        data = self.client.show(job_id).data
        return True if any(data.get(f) for f in fields) else None

    # -- upload --------------------------------------------------------------------------------

    def _tasks(self, job_id: str, result: SubmitResult) -> list[PartTask]:
        rows = {(p.slot, p.part_number): p for p in self.store.parts(job_id)}
        tasks: list[PartTask] = []
        listed: dict[str, dict[int, str | None]] = {}
        for upload in self.manifest.uploads:
            for part in upload.parts:
                row = rows.get((upload.slot, part.part_number))
                if row is None:
                    raise SubmitError(f"the state store has no URL for {upload.slot} part "
                                      f"{part.part_number}; rerun with --new-job")
                result.parts_total += 1
                result.bytes_total += part.length
                if row.status in (DONE, UNPROVEN):
                    result.parts_skipped += 1
                    continue
                query = MULTIPART_QUERY.get(upload.slot) if upload.slot == REQUIRED_SLOT \
                    else None
                if query is not None and row.status == SENDING:
                    if upload.slot not in listed:
                        try:
                            listed[upload.slot] = _multipart(
                                self.client.command(job_id, query).data)
                        except ServiceError:
                            listed[upload.slot] = {}
                    etag = listed[upload.slot].get(part.part_number, "")
                    if part.part_number in listed[upload.slot] and etag_matches(
                            etag, part.md5) is not False:
                        self.store.mark(job_id, upload.slot, part.part_number, DONE, etag)
                        result.parts_skipped += 1
                        continue
                tasks.append(PartTask(job_id, upload.slot, part.part_number, row.url,
                                      upload.source, part.offset, part.length, part.md5,
                                      upload.content_type, row.status))
        return tasks

    def _check_sources(self) -> None:
        for upload in self.manifest.uploads:
            path = Path(upload.source)
            try:
                st = path.stat()
            except OSError:
                raise PackagingError(f"{upload.slot}: {path} is missing; package again") from None
            if st.st_size != upload.size or st.st_mtime_ns != upload.mtime_ns:
                raise PackagingError(f"{upload.slot}: {path} changed after packaging (size or "
                                     "modification time differs); package again")

    def _upload(self, job_id: str, result: SubmitResult) -> None:
        tasks = self._tasks(job_id, result)
        done_bytes = result.bytes_total - sum(t.length for t in tasks)
        self.sink.emit(ProgressEvent("plan", total_bytes=result.bytes_total,
                                     total_parts=result.parts_total, done_bytes=done_bytes,
                                     done_parts=result.parts_total - len(tasks), job_id=job_id))
        if not tasks:
            return
        self._phase(f"uploading {len(tasks)} part(s) with {self.jobs} connection(s)")
        uploader = Uploader(self.client, self.store, self._verifier(job_id), self.sink,
                            jobs=self.jobs)
        try:
            uploader.run(tasks)
        finally:
            result.bytes_sent = uploader.sent_bytes
        result.parts_uploaded = len(tasks)

    # -- confirm and submit --------------------------------------------------------------------

    def _took_effect(self, job_id: str, command: str) -> bool:
        """After a lost answer (or an interrupted run): does Show say the command took effect?
        A job past WAIT_FILE_UPLOAD accepts none of these commands any more, so it counts as
        done; a confirm is proven by the slot's download URL. Otherwise resending is allowed
        (the job still waits for its files)."""
        data = self.client.show(job_id).data
        state = data.get("state")
        if state is not None and state != WAIT_FILE_UPLOAD:
            return True
        for slot, confirm in MULTIPART_CONFIRM.items():
            if command == confirm:
                return any(data.get(f) for f in SLOTS[slot].download_fields)
        return False

    def _send(self, job_id: str, command: str, result: SubmitResult) -> None:
        """Send a non-idempotent command (CONFIRM_*, SUBMITVERIFYING). Throttling and refused
        connections are retried as is; after a 5xx or a lost answer the job is shown first
        and the command is only sent again when Show says it did not take effect."""
        policy = self.client.retry
        marker = f"{command}:sent"
        if self.store.step_done(job_id, marker) and self._took_effect(job_id, command):
            self._note(job_id, f"{command}: sent by an interrupted run and already in effect")
            return
        for attempt in range(1, policy.attempts + 1):
            self.store.record_step(job_id, marker)
            try:
                self.client.command(job_id, command, retry=False)
                return
            except CommandFailed:
                raise
            except ServiceError as exc:
                if not (exc.status and is_retryable_status(exc.status, exc.error_code)) \
                        or attempt == policy.attempts:
                    raise
                lost = not (exc.status == 429 or exc.error_code in THROTTLE_CODES)
                why = f"HTTP {exc.status}" + (f" {exc.error_code}" if exc.error_code else "")
            except NetworkError as exc:
                if attempt == policy.attempts:
                    raise
                lost, why = exc.maybe_sent, exc.cause
            if lost and self._took_effect(job_id, command):
                self._note(job_id, f"{command}: the answer was lost ({why}); the job shows it "
                           "took effect, so it is not sent again")
                return
            delay = policy.delay(attempt)
            checked = " (the job shows it did not take effect)" if lost else ""
            self.sink.emit(ProgressEvent("retry", message=f"{command}: {why}{checked}; "
                                         f"retrying in {delay:.1f} s"))
            policy.sleep(delay)

    def _note(self, job_id: str, message: str) -> None:
        self.sink.emit(ProgressEvent("note", job_id=job_id, message=message))

    def _command_once(self, job_id: str, command: str, result: SubmitResult) -> None:
        if self.store.step_done(job_id, command):
            return
        self._phase(command)
        self._send(job_id, command, result)
        self.store.record_step(job_id, command)
        result.commands.append(command)

    def _confirm(self, job_id: str, result: SubmitResult) -> None:
        video = self.manifest.upload("training_video")
        if video is not None:
            if not self.store.step_done(job_id, MULTIPART_CONFIRM["training_video"]):
                query = MULTIPART_QUERY["training_video"]
                listed = _multipart(self.client.command(job_id, query).data)
                if listed:
                    missing = [p.part_number for p in video.parts if p.part_number not in listed]
                    wrong = [p.part_number for p in video.parts
                             if etag_matches(listed.get(p.part_number), p.md5) is False]
                    if missing or wrong:
                        raise SubmitError(f"the service is missing training-video parts "
                                          f"{missing} or holds wrong bytes for {wrong}")
            self._command_once(job_id, MULTIPART_CONFIRM["training_video"], result)
        if self.manifest.upload("action_video") is not None:
            self._command_once(job_id, MULTIPART_CONFIRM["action_video"], result)
        if self.manifest.upload("grant_file") is not None:
            try:
                self._command_once(job_id, CONFIRM_GRANT_COMMAND, result)
            except CommandFailed as exc:
                # when this confirmation is required is undocumented (dossier §2.1): report the
                # service's reason and go on to SUBMITVERIFYING
                msg = (f"{CONFIRM_GRANT_COMMAND} answered EXCUTE_FAILED: "
                       f"{exc.error_msg or exc}; when it is required is undocumented, so the "
                       "submission goes on")
                result.warnings.append(msg)
                self.sink.emit(ProgressEvent("warning", job_id=job_id, message=msg))
                self.store.record_step(job_id, CONFIRM_GRANT_COMMAND)

    def _show(self, job_id: str, result: SubmitResult) -> str | None:
        data = self.client.show(job_id).data
        state = data.get("state")
        result.state = str(state) if state is not None else None
        logs = data.get("operation_logs")
        result.operation_logs = [x for x in logs if isinstance(x, dict)] if isinstance(
            logs, list) else []
        self.sink.emit(ProgressEvent("state", job_id=job_id, state=result.state))
        return result.state

    def _poll(self, job_id: str, result: SubmitResult) -> None:
        self._phase("waiting for the review")
        deadline = None if self.wait_timeout is None else time.monotonic() + self.wait_timeout
        last = None
        while True:
            state = self._show(job_id, result)
            if state != last:
                last = state
            if is_final(state):
                self.store.set_phase(job_id, "final", state)
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            self.sleep(self.poll_interval)

    def run(self, *, wait: bool = False) -> SubmitResult:
        """Do (or continue) the submission.

        :raises SetupError: the package has no training video (nothing is sent).
        """
        started = time.monotonic()
        if self.manifest.upload(REQUIRED_SLOT) is None:
            raise SetupError("the package has no training video: a job without one can never "
                             "be submitted, so nothing is sent (REQ034)")
        row = None if self.new_job else self.store.latest(self.key)
        if row is None or row.phase not in ("submitted", "final"):
            self._check_sources()  # a submitted job needs no media any more: it is only polled
        if row is not None and row.phase == "creating":
            self._remove_orphans(row.name, row.started)
            self.store.abandon(row.seq, "interrupted create")
            row = None
        elif row is not None and row.phase.startswith("abandoned"):
            row = None
        result = SubmitResult(job_id="", state=None, endpoint=self.client.endpoint,
                              state_path=str(self.store.path))
        failed_job = None
        if row is not None and row.phase == "updating" and row.job_id is not None:
            failed_job = self._updatable(row.job_id, row.seq)
            row = None
        elif row is None and not self.new_job:
            failed_job = self._earlier_job()
        if failed_job is not None:
            job_id = self._update(failed_job)
            result.updated = True
        elif row is None or row.job_id is None:
            job_id = self._create()
            result.created = True
        else:
            job_id = row.job_id
            result.resumed = True
            self.sink.emit(ProgressEvent("note", job_id=job_id,
                                         message=f"continuing job {job_id}"))
        result.job_id = job_id
        submitted = row is not None and row.phase in ("submitted", "final")
        if not submitted and result.resumed:
            try:
                state = self._show(job_id, result)
            except ServiceError as exc:
                if exc.status == 404:
                    raise SubmitError(f"job {job_id} no longer exists on the service; rerun "
                                      "with --new-job", status=404, error_code=exc.error_code,
                                      request_id=exc.request_id) from None
                raise
            submitted = state is not None and state != WAIT_FILE_UPLOAD
            if submitted:
                self.store.set_phase(job_id, "submitted", state)
        if not submitted:
            upload_started = time.monotonic()
            self._upload(job_id, result)
            result.upload_seconds = time.monotonic() - upload_started
            self._confirm(job_id, result)
            self._phase(SUBMIT_COMMAND)
            self._send(job_id, SUBMIT_COMMAND, result)
            result.commands.append(SUBMIT_COMMAND)
            result.submitted_now = True
            self.store.set_phase(job_id, "submitted")
        if wait:
            wait_started = time.monotonic()
            self._poll(job_id, result)
            result.wait_seconds = time.monotonic() - wait_started
        else:
            state = self._show(job_id, result)
            self.store.set_phase(job_id, "final" if is_final(state) else "submitted", state)
        result.uploads = [{"slot": u.slot, "source": u.source, "size": u.size,
                           "parts": len(u.parts), "content_type": u.content_type}
                          for u in self.manifest.uploads]
        result.unproven = self._unproven(job_id)
        result.seconds = time.monotonic() - started
        return result

    def _unproven(self, job_id: str) -> list[str]:
        """Uploads the service cannot confirm: parts marked unproven, and slots without a
        download field in Show whose PUT answer carried no matching ETag."""
        out = []
        for p in self.store.parts(job_id):
            slot = SLOTS.get(p.slot)
            if p.status == UNPROVEN:
                out.append(f"{p.slot} part {p.part_number}: URL spent, arrival not provable")
            elif p.status == DONE and slot is not None and not slot.download_fields \
                    and not p.etag:
                out.append(f"{p.slot}: the service shows no download URL for it, and the "
                           "upload answer carried no ETag: arrival not provable")
        return out

    def _resume_plan(self, row: Any) -> DryRun:
        """What a rerun would send for a recorded job: Show, the parts not yet uploaded (to
        their recorded URLs), the commands not yet acknowledged, polling. No create."""
        c = self.client
        job_id = str(row.job_id)
        path = f"{c.base_path}/{job_id}"
        reqs = [c.prepare("GET", path).redacted()]
        parts: list[dict[str, Any]] = []
        if row.phase not in ("submitted", "final"):
            for p in self.store.parts(job_id):
                if p.status in (DONE, UNPROVEN):
                    continue
                parts.append({"slot": p.slot, "part_number": p.part_number,
                              "url": redact_url(p.url), "status": p.status})
                reqs.append({"method": "PUT", "url": redact_url(p.url), "headers": {},
                             "body": f"<{p.slot} part {p.part_number}>"})
            for cmd in self._commands():
                if not self.store.step_done(job_id, cmd):
                    reqs.append(c.prepare("POST", f"{path}/command",
                                          body={"command": cmd}).redacted())
        reqs.append(c.prepare("GET", path).redacted())
        return DryRun(reqs, parts, self.key, resume_job=job_id, resume_phase=row.phase)

    def _commands(self) -> list[str]:
        out = []
        if self.manifest.upload("training_video"):
            out.append(MULTIPART_CONFIRM["training_video"])
        if self.manifest.upload("action_video"):
            out.append(MULTIPART_CONFIRM["action_video"])
        if self.manifest.upload("grant_file"):
            out.append(CONFIRM_GRANT_COMMAND)
        out.append(SUBMIT_COMMAND)
        return out

    def dry_run(self) -> DryRun:
        """The requests that would be sent, with secrets redacted; nothing is sent. For a job
        already recorded for this spec and media, the resume plan (no create)."""
        row = None if self.new_job else self.store.latest(self.key)
        if row is not None and row.job_id and not row.phase.startswith("abandoned"):
            return self._resume_plan(row)
        body = create_body(self.manifest)
        c = self.client
        reqs = [c.prepare("POST", c.base_path, body=body).redacted()]
        parts: list[dict[str, Any]] = []
        for u in self.manifest.uploads:
            for p in u.parts:
                parts.append({"slot": u.slot, "url_field": u.url_field,
                              "part_number": p.part_number, "source": u.source,
                              "offset": p.offset, "length": p.length, "md5": p.md5,
                              "content_type": u.content_type})
                reqs.append({"method": "PUT", "url": f"<{u.url_field}"
                             + (f"[{p.part_number - 1}]" if u.slot in COUNT_FIELDS else "")
                             + ">", "headers": {"Content-Type": u.content_type,
                                                "Content-Length": str(p.length)},
                             "body": f"<{p.length} bytes of {Path(u.source).name} at "
                                     f"{p.offset}>"})
        commands = []
        if self.manifest.upload("training_video"):
            commands += [MULTIPART_QUERY["training_video"], MULTIPART_CONFIRM["training_video"]]
        if self.manifest.upload("action_video"):
            commands.append(MULTIPART_CONFIRM["action_video"])
        if self.manifest.upload("grant_file"):
            commands.append(CONFIRM_GRANT_COMMAND)
        commands.append(SUBMIT_COMMAND)
        for cmd in commands:
            reqs.append(c.prepare("POST", f"{c.base_path}/{{job_id}}/command",
                                  body={"command": cmd}).redacted())
        reqs.append(c.prepare("GET", f"{c.base_path}/{{job_id}}").redacted())
        return DryRun(reqs, parts, self.key)


def make_client(*, region: str | None = None, endpoint: str | None = None,
                credentials: Credentials | None = None, app_user_id: str | None = None,
                transport: httpx.BaseTransport | None = None, http: httpx.Client | None = None,
                retry: RetryPolicy | None = None, jobs: int = 4,
                timeout: float = 60.0, insecure_http: bool = False) -> MetaStudioClient:
    """A client for ``--region``/``--endpoint`` with environment credentials by default."""
    base = resolve_endpoint(region, endpoint, insecure_http=insecure_http)
    creds = credentials or Credentials.from_env()
    return MetaStudioClient(base, creds, app_user_id=app_user_id, client=http,
                            transport=transport, retry=retry, max_connections=jobs + 2,
                            timeout=timeout)


def redacted_parts(store: StateStore, job_id: str) -> list[dict[str, Any]]:
    """Parts of a job for display (URLs without their query)."""
    return [{"slot": p.slot, "part_number": p.part_number, "url": redact_url(p.url),
             "status": p.status, "etag": p.etag} for p in store.parts(job_id)]
