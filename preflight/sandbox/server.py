"""A MetaStudio-compatible stand-in service for loopback use (tests, demos, benchmarks).

Built on the standard library's ``ThreadingHTTPServer``: no dependency, one thread per
connection with HTTP/1.1 keep-alive, direct access to the socket (needed to drop a connection
half-way through a body for fault injection) and to ``rfile`` (bodies are streamed to disk in
1 MiB chunks, never held in memory).

What it implements (dossier §1, §2, §3.6, §4, §5): create / command / show / list / delete with
the documented field names, enums and error bodies; SDK-HMAC-SHA256 signature checks (and a
configured token); single-use upload URLs that check a signature-like query string and the
Content-Type, return MD5 ETags and refuse reuse; the job state machine, advanced on a timer
after SUBMITVERIFYING; a JSON-lines journal of every request; fault injection.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from preflight.errors import ConfigError
from preflight.metastudio import (
    ACKNOWLEDGE_COMMANDS,
    ALLOWED_SIZES,
    AUTO_VERIFY_FAILED,
    AUTO_VERIFYING,
    COMMAND_FAILED,
    COMMAND_OK,
    COMMANDS,
    CONFIRM_GRANT_COMMAND,
    DELETABLE_STATES,
    ID_DOCUMENT_SLOTS,
    JOB_SUCCESS,
    JOBS_PATH,
    MULTIPART_CONFIRM,
    MULTIPART_QUERY,
    NA_ONLY_COMMANDS,
    REQUIRED_SLOT,
    RESOLUTION_REJECTED,
    SLOTS,
    SUCCESS_STATES,
    UPDATABLE_STATES,
    UPDATE_VIDEO,
    WAIT_FILE_UPLOAD,
    chinese_characters,
    signer,
)
from preflight.sandbox.faults import FaultPlan
from preflight.sandbox.validate import body_problem, update_problem

API_RE = re.compile("^" + re.escape(JOBS_PATH).replace(re.escape("{project_id}"), "(?P<pid>[^/]+)")
                    + r"(?:/(?P<job>[^/]+)(?P<cmd>/command)?)?/?$")
UPLOAD_RE = re.compile(r"^/upload/(?P<token>[0-9a-f]{32})$")
CHUNK = 1 << 20
MAX_API_BODY = 1 << 20
SKEW_LIMIT = 15 * 60

#: What a submitted job goes through, one step per ``advance_seconds`` (dossier §2.3).
PROGRESSION = (AUTO_VERIFYING, "MANUAL_VERIFYING", "TRAINING", JOB_SUCCESS)


def rfc3339(t: float) -> str:
    """``2020-07-30T10:43:17Z``."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class UploadSlot:
    """One issued upload URL."""

    token: str
    job_id: str
    slot: str
    part_number: int
    content_type: str
    expires: int
    used: bool = False
    busy: bool = False
    etag: str | None = None
    size: int = 0
    path: str | None = None


@dataclass
class Job:
    """One training job held by the sandbox."""

    job_id: str
    body: dict[str, Any]
    app_user_id: str | None
    created: float
    state: str = WAIT_FILE_UPLOAD
    updated: float = 0.0
    submitted_at: float | None = None
    confirmed: set[str] = field(default_factory=set)
    tokens: list[str] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    #: The automatic review's verdict on the confirmed training video (None = accepted).
    rejection: str | None = None


class _ErrorAnswer(Exception):
    """An error answer: HTTP status and the documented error body."""

    def __init__(self, status: int, code: str, msg: str):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


@dataclass
class SandboxConfig:
    """How the sandbox behaves. Credentials are whatever the client will use."""

    ak: str
    sk: str
    project_id: str
    token: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path | None = None
    journal: Path | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    advance_seconds: float = 0.5
    url_ttl: int = 24 * 3600
    #: ``all``: upload URLs for every slot; ``requested``: only for what the body asks for
    #: (training video; action video when counted; audio for AUDIO; ID cards and letter).
    urls: str = "all"


URL_MODES = ("all", "requested")
#: Slots a ``requested`` stand-in always issues URLs for (the review needs them, §1.3 R10).
ALWAYS_REQUESTED = (REQUIRED_SLOT, *ID_DOCUMENT_SLOTS)


def check_loopback(host: str) -> None:
    """:raises ConfigError: the host is not a loopback address."""
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"the sandbox listens on loopback only (127.0.0.1, ::1), not {host!r}")


class SandboxState:
    """Jobs, upload URLs, counters and the journal, shared by all handler threads."""

    def __init__(self, config: SandboxConfig, data_dir: Path):
        self.config = config
        self.data_dir = data_dir
        self.lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        self.deleted: set[str] = set()
        self.uploads: dict[str, UploadSlot] = {}
        self.url_secret = secrets.token_bytes(32)
        self.api_calls = 0
        self.puts = 0
        self.base_url = ""
        self.journal_path = config.journal or data_dir / "journal.jsonl"
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self._journal = self.journal_path.open("a", encoding="utf-8")

    def log(self, **entry: Any) -> None:
        """Append one journal line (flushed)."""
        entry = {"t": round(time.time(), 6), **entry}
        with self.lock:
            self._journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._journal.flush()

    def close(self) -> None:
        """Close the journal."""
        with self.lock:
            self._journal.close()

    # -- upload URLs -----------------------------------------------------------------------------

    def url_signature(self, token: str, expires: int) -> str:
        """HMAC of the token and expiry with a per-run secret."""
        msg = f"PUT\n{token}\n{expires}".encode()
        return hmac.new(self.url_secret, msg, hashlib.sha256).hexdigest()

    def issue(self, job: Job, slot: str, part: int, content_type: str) -> str:
        """A new single-use URL."""
        token = uuid.uuid4().hex
        expires = int(time.time()) + self.config.url_ttl
        self.uploads[token] = UploadSlot(token, job.job_id, slot, part, content_type, expires)
        job.tokens.append(token)
        sig = self.url_signature(token, expires)
        return (f"{self.base_url}/upload/{token}?AccessKeyId=SANDBOXSTORAGE&Expires={expires}"
                f"&Signature={sig}")

    # -- state machine ---------------------------------------------------------------------------

    def advance(self, job: Job) -> None:
        """Move a submitted job along on the timer."""
        if job.submitted_at is None or job.state in SUCCESS_STATES:
            return
        if job.state not in PROGRESSION:
            return
        step = self.config.advance_seconds
        elapsed = time.time() - job.submitted_at
        index = min(len(PROGRESSION) - 1, int(elapsed / step) if step > 0 else len(PROGRESSION))
        if job.rejection is not None and index >= 1:
            self._transition(job, AUTO_VERIFY_FAILED, "SYSTEM", job.submitted_at + step,
                             error_code=RESOLUTION_REJECTED, description=job.rejection)
            return
        target = PROGRESSION[index]
        while job.state != target:
            nxt = PROGRESSION[PROGRESSION.index(job.state) + 1]
            when = job.submitted_at + step * (PROGRESSION.index(nxt))
            self._transition(job, nxt, "SYSTEM", when)

    def _transition(self, job: Job, state: str, who: str, when: float | None = None, *,
                    error_code: str | None = None, description: str | None = None) -> None:
        t = when or time.time()
        entry = {"operate_time": rfc3339(t), "log_type": state,
                 "log_description": description or f"{job.state} -> {state}",
                 "operate_user": who}
        if error_code:
            entry["error_code"] = error_code
        job.logs.append(entry)
        self.log(event="state", job_id=job.job_id, old=job.state, new=state)
        job.state = state
        job.updated = t

    def issue_all(self, job: Job, body: Mapping[str, Any]) -> dict[str, Any]:
        """Fresh upload URLs for a (created or updated) job, per the ``urls`` mode."""
        out: dict[str, Any] = {}
        requested = self.config.urls == "requested"
        for slot in SLOTS.values():
            if slot.count_field is None:
                if requested and slot.name not in ALWAYS_REQUESTED and not (
                        slot.name == "audio" and body.get("audio_source_type") == "AUDIO"):
                    continue
                out[slot.upload_field] = self.issue(job, slot.name, 1, slot.content_type)
            elif slot.name == "training_video" or slot.count_field in body:
                # The training video always has parts; the action video only when counted.
                out[slot.upload_field] = [
                    self.issue(job, slot.name, i, slot.content_type)
                    for i in range(1, int(body.get(slot.count_field, 1)) + 1)]
        return out

    def review(self, job: Job) -> str | None:
        """The automatic review of the confirmed training video: its displayed size, read
        with pymediainfo, must be one of the four accepted ones (dossier §2.3, 44005901).
        Bytes that are no readable video are not judged (tests upload synthetic bytes)."""
        parts = [u for u in self.parts(job, "training_video") if u.used and u.path]
        if not parts:
            return None
        whole = self.data_dir / "uploads" / job.job_id / "training_video.mp4"
        with whole.open("wb") as out:
            for u in parts:
                with open(str(u.path), "rb") as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
        try:
            from pymediainfo import MediaInfo

            info = MediaInfo.parse(str(whole))
        except Exception:  # an unreadable file is simply not judged
            return None
        video = next((t for t in info.tracks if t.track_type == "Video"), None)
        if video is None or not video.width or not video.height:
            return None
        w, h = int(video.width), int(video.height)
        try:
            rotation = round(float(video.rotation or 0)) % 180
        except (TypeError, ValueError):
            rotation = 0
        if rotation == 90:
            w, h = h, w
        if (w, h) in ALLOWED_SIZES:
            return None
        sizes = ", ".join(f"{a}x{b}" for a, b in ALLOWED_SIZES)
        return (f"video resolution {w}x{h} is not accepted; only {sizes} are accepted "
                "(视频分辨率不符合要求)")

    def parts(self, job: Job, slot: str) -> list[UploadSlot]:
        """Upload URLs of a slot in part order."""
        return sorted((self.uploads[t] for t in job.tokens if self.uploads[t].slot == slot),
                      key=lambda u: u.part_number)


def _validate_create(body: Any) -> dict[str, Any]:
    """Validate a create body like the API does (dossier §1.2), raising 400 MSS.00000003."""
    problem = body_problem(body)
    if problem is not None:
        code = "MSS.00000003" if isinstance(body, dict) else "MSS.00000002"
        raise _ErrorAnswer(400, code, problem)
    return dict(body)


class Handler(BaseHTTPRequestHandler):
    """One connection; requests dispatched by path."""

    protocol_version = "HTTP/1.1"
    server_version = "MetaStudioSandbox/1"
    disable_nagle_algorithm = True  # answers are small; no 40 ms delayed-ACK stalls
    wbufsize = 1 << 16  # status line, headers and body leave in one write
    sandbox: SandboxState  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr access log (the journal records everything)."""

    # -- helpers ---------------------------------------------------------------------------------

    def _send(self, status: int, payload: bytes, content_type: str,
              headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", self.request_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def _json(self, status: int, data: Mapping[str, Any] | None) -> None:
        payload = b"" if data is None else json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, payload, "application/json;charset=UTF-8")

    def _error(self, err: _ErrorAnswer) -> None:
        self._json(err.status, {"error_code": err.code, "error_msg": err.msg})

    def _xml_error(self, status: int, code: str, msg: str) -> None:
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                f"<Message>{msg}</Message><RequestId>{self.request_id}</RequestId></Error>")
        self._send(status, body.encode("utf-8"), "application/xml")

    def _length(self) -> int | None:
        value = self.headers.get("Content-Length")
        if value is None:
            return None
        try:
            n = int(value)
        except ValueError:
            return None
        return n if n >= 0 else None

    def _drain(self, n: int) -> int:
        got = 0
        while got < n:
            chunk = self.rfile.read(min(CHUNK, n - got))
            if not chunk:
                break
            got += len(chunk)
        return got

    def _dispatch(self) -> None:
        self.request_id = uuid.uuid4().hex
        path = urlsplit(self.path).path
        slow = self.sandbox.config.faults.slow_ms
        if slow:
            time.sleep(slow / 1000)
        if UPLOAD_RE.match(path):
            if self.command != "PUT":
                self.close_connection = True
                self.sandbox.log(kind="put", method=self.command, path=path, status=405,
                                 accepted=False, error_code="MethodNotAllowed",
                                 request_id=self.request_id)
                self._xml_error(405, "MethodNotAllowed", "only PUT is allowed on upload URLs")
                return
            self._upload()
            return
        self._api()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch

    # -- API -------------------------------------------------------------------------------------

    def _api(self) -> None:
        sb = self.sandbox
        parts = urlsplit(self.path)
        length = self._length() or 0
        if length > MAX_API_BODY:
            self.close_connection = True
            self._error(_ErrorAnswer(413, "MSS.00000002", "Invalid body: too large"))
            return
        raw = self.rfile.read(length) if length else b""
        with sb.lock:
            sb.api_calls += 1
            n = sb.api_calls
        entry: dict[str, Any] = {"kind": "api", "n": n, "method": self.command,
                                 "path": parts.path, "request_id": self.request_id}
        try:
            fault = sb.config.faults.api_fault(n)
            if fault == "throttle":
                entry["fault"] = fault
                raise _ErrorAnswer(429, "APIGW.0308", "The throttling threshold has been reached")
            if fault == "fail_api":
                entry["fault"] = fault
                raise _ErrorAnswer(500, "MSS.00000004", "Internal service error (injected)")
            m = API_RE.match(parts.path)
            if m is None:
                raise _ErrorAnswer(404, "MSS.00010003", "SR.api not found")
            self._authenticate(parts.path, parts.query, raw, m.group("pid"))
            status, data = self._route(m, parts.query, raw, entry)
        except _ErrorAnswer as err:
            entry.update(status=err.status, error_code=err.code)
            sb.log(**entry)
            self._error(err)
            return
        entry["status"] = status
        op = str(entry.get("command") or entry.get("op") or "")
        with sb.lock:
            lose = sb.config.faults.take("lose_answer", op)
        if lose:
            entry.update(fault="lose_answer", answered=False)
            sb.log(**entry)
            self.close_connection = True
            self._abort()
            return
        sb.log(**entry)
        self._json(status, data)

    def _authenticate(self, path: str, query: str, body: bytes, pid: str) -> None:
        cfg = self.sandbox.config
        if unquote(pid) != cfg.project_id:
            raise _ErrorAnswer(400, "MSS.00010009", "urlTenantId is not equal tokenTenantId")
        token = self.headers.get("X-Auth-Token")
        if token is not None:
            if cfg.token and hmac.compare_digest(token, cfg.token):
                return
            raise _ErrorAnswer(401, "APIG.0307", "The token must be updated")
        auth = signer.parse_authorization(self.headers.get("Authorization", ""))
        if auth is None:
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                           "Authorization header missing or not SDK-HMAC-SHA256")
        if self.headers.get("X-Project-Id") is None:
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                               "X-Project-Id is required with AK/SK authentication")
        if not hmac.compare_digest(auth.access, cfg.ak):
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                           "unknown access key")
        date = self.headers.get(signer.HEADER_DATE, "")
        try:
            when = datetime.strptime(date, signer.DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                           "X-Sdk-Date missing or malformed") from None
        if abs(time.time() - when.timestamp()) > SKEW_LIMIT:
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                           "verify aksk signature fail, the request time differs from the "
                           "server time by more than 15 minutes")
        if "x-sdk-date" not in auth.signed_headers:
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                           "x-sdk-date must be signed")
        headers = {k: v for k, v in self.headers.items()}
        pairs = parse_qsl(query, keep_blank_values=True)
        if not signer.verify(self.command, path, pairs, headers, body, sk=cfg.sk, auth=auth,
                             date=date):
            raise _ErrorAnswer(401, "APIG.0301", "Incorrect IAM authentication information: "
                           "verify aksk signature fail")
        xpid = self.headers.get("X-Project-Id")
        if xpid != cfg.project_id:
            raise _ErrorAnswer(400, "MSS.00010009", "urlTenantId is not equal tokenTenantId")

    def _json_body(self, raw: bytes) -> Any:
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/json"):
            raise _ErrorAnswer(400, "MSS.10000002", "Request JSON exception: check Content-Type")
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise _ErrorAnswer(400, "MSS.00000002", "Invalid body") from None

    def _app_user_id(self) -> str | None:
        value = self.headers.get("X-App-UserId")
        if value is not None and chinese_characters(value):
            raise _ErrorAnswer(400, "MSS.00000003", "Invalid parameter: X-App-UserId must not "
                           "contain Chinese characters")
        return value

    def _route(self, m: re.Match[str], query: str, raw: bytes,
               entry: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        job_id, cmd = m.group("job"), m.group("cmd")
        method = self.command
        if job_id is None:
            if method == "POST":
                entry["op"] = "create"
                return self._create(raw, entry)
            if method == "GET":
                entry["op"] = "list"
                return 200, self._list(query)
            raise _ErrorAnswer(400, "MSS.00010004", "SR.method not allowed")
        job_id = unquote(job_id)
        entry["job_id"] = job_id
        job = self._job(job_id)
        if cmd:
            if method != "POST":
                raise _ErrorAnswer(400, "MSS.00010004", "SR.method not allowed")
            entry["op"] = "command"
            return self._command(job, raw, entry)
        if method == "GET":
            entry["op"] = "show"
            return 200, self._show(job)
        if method == "DELETE":
            entry["op"] = "delete"
            return self._delete(job)
        if method == "PUT":
            entry["op"] = "update"
            return self._update(job, raw, entry)
        raise _ErrorAnswer(400, "MSS.00010004", "SR.method not allowed")

    def _update(self, job: Job, raw: bytes,
                entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Update2dModelTrainingJob: only after a failed review (dossier §2.4). With
        command_message UPDATE_VIDEO the old upload URLs die and fresh ones are issued."""
        sb = self.sandbox
        body = self._json_body(raw)
        problem = update_problem(body)
        if problem is not None:
            raise _ErrorAnswer(400, "MSS.00000003", problem)
        with sb.lock:
            if job.state not in UPDATABLE_STATES:
                raise _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: a job in state "
                                   f"{job.state} cannot be updated (only "
                                   f"{', '.join(sorted(UPDATABLE_STATES))})")
            merged = {**job.body, **{k: v for k, v in body.items() if k != "command_message"}}
            out: dict[str, Any] = {"job_id": job.job_id}
            if body.get("command_message") == UPDATE_VIDEO:
                for token in job.tokens:
                    sb.uploads[token].used = True  # the old URLs are spent
                job.tokens = []
                job.confirmed = set()
                job.rejection = None
                job.submitted_at = None
                job.body = merged
                out.update(sb.issue_all(job, merged))
                sb._transition(job, WAIT_FILE_UPLOAD, "USER",
                               description="job updated: fresh upload URLs (UPDATE_VIDEO)")
            else:
                job.body = merged
            entry.update(urls=len(job.tokens), body=body)
        return 200, out

    def _job(self, job_id: str) -> Job:
        sb = self.sandbox
        with sb.lock:
            job = sb.jobs.get(job_id)
            if job is None:
                raise _ErrorAnswer(404, "MSS.00000003",
                                   f"Invalid parameter: job {job_id} not found")
            sb.advance(job)
            return job

    def _create(self, raw: bytes, entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sb = self.sandbox
        body = _validate_create(self._json_body(raw))
        app_user_id = self._app_user_id()
        now = time.time()
        job = Job(uuid.uuid4().hex, body, app_user_id, now, updated=now)
        out: dict[str, Any] = {"job_id": job.job_id}
        with sb.lock:
            sb.jobs[job.job_id] = job
            out.update(sb.issue_all(job, body))
            job.logs.append({"operate_time": rfc3339(now), "log_type": "CREATE",
                             "log_description": "job created", "operate_user": "USER"})
        entry.update(job_id=job.job_id, body=body, app_user_id=app_user_id,
                     urls=len(job.tokens))
        return 200, out

    def _multipart(self, job: Job, slot: str) -> list[dict[str, str]]:
        return [{"part_number": str(u.part_number), "etag": u.etag or ""}
                for u in self.sandbox.parts(job, slot) if u.used]

    def _command(self, job: Job, raw: bytes,
                 entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sb = self.sandbox
        body = self._json_body(raw)
        if not isinstance(body, dict) or not isinstance(body.get("command"), str):
            raise _ErrorAnswer(400, "MSS.00000003", "Invalid parameter: 'command' is required")
        extra = set(body) - {"command", "command_message", "comment_data", "operation_reason"}
        if extra:
            raise _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: unknown field "
                           f"'{sorted(extra)[0]}'")
        command = body["command"]
        entry["command"] = command
        if command not in COMMANDS:
            raise _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: unknown command {command}")
        ok: dict[str, Any] = {"commond_result": COMMAND_OK}

        def failed(msg: str) -> tuple[int, dict[str, Any]]:
            entry["result"] = COMMAND_FAILED
            return 200, {"commond_result": COMMAND_FAILED, "excute_failed_msg": msg,
                         "error_info": {"error_code": "MSS.00000003", "error_msg": msg}}

        with sb.lock:
            for slot, query in MULTIPART_QUERY.items():
                if command == query:
                    return 200, {**ok, "multipart_data": self._multipart(job, slot)}
            if command in NA_ONLY_COMMANDS:
                raise _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: {command} is only "
                               "available to NA-whitelisted users")
            if command in ACKNOWLEDGE_COMMANDS:
                return 200, ok
            if job.state != WAIT_FILE_UPLOAD:
                raise _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: job state "
                               f"{job.state} does not accept {command}")
            if sb.config.faults.take("fail_command", command):
                entry["fault"] = "fail_command"
                return failed(f"{command} could not be executed (injected)")
            confirmed = [s for s, c in MULTIPART_CONFIRM.items() if c == command]
            if confirmed:
                slot = confirmed[0]
                missing = [u.part_number for u in sb.parts(job, slot) if not u.used]
                if not sb.parts(job, slot):
                    return failed(f"no {slot} parts were requested")
                if missing:
                    return failed(f"{slot} parts not uploaded: {missing}")
                job.confirmed.add(slot)
                if slot == "training_video":
                    job.rejection = sb.review(job)
                return 200, ok
            if command == CONFIRM_GRANT_COMMAND:
                if not any(u.used for u in sb.parts(job, "grant_file")):
                    return failed("the authorization letter has not been uploaded")
                job.confirmed.add("grant_file")
                return 200, ok
            # SUBMITVERIFYING
            if "training_video" not in job.confirmed:
                return failed("training video parts not confirmed "
                              "(CONFIRM_MULTIPART_UPLOADED)")
            job.submitted_at = time.time()
            sb._transition(job, AUTO_VERIFYING, "USER", job.submitted_at)
            return 200, ok

    def _show(self, job: Job) -> dict[str, Any]:
        sb = self.sandbox
        b = job.body
        out: dict[str, Any] = {
            "job_id": job.job_id, "name": b.get("name"), "state": job.state,
            "create_time": rfc3339(job.created), "last_update_time": rfc3339(job.updated),
            "contact": b.get("contact"), "batch_name": b.get("batch_name"),
            "tags": b.get("tags"), "model_version": b.get("model_version", "V3.2"),
            "matting_type": "AI", "model_resolution": "1080P",
            "app_user_id": job.app_user_id, "project_id": sb.config.project_id,
            "is_background_replacement": b.get("is_background_replacement", True),
            "is_flexus": b.get("is_flexus", False), "is_fast_flexus": b.get("is_fast_flexus"),
            "is_live_copy": b.get("is_live_copy"),
            "is_only_human_model": b.get("is_only_human_model", False),
            "audio_source_type": b.get("audio_source_type"),
            "supported_service": b.get("supported_service"),
            "voice_properties": b.get("voice_properties"),
            "operation_logs": list(job.logs),
        }
        if job.state == JOB_SUCCESS:
            out["asset_id"] = "asset-" + job.job_id[:16]
        for slot in SLOTS.values():
            used = [u for u in sb.parts(job, slot.name) if u.used]
            if used and slot.download_fields and (not slot.multipart
                                                  or slot.name in job.confirmed):
                out[slot.download_fields[0]] = f"{sb.base_url}/download/{job.job_id}/{slot.name}"
        return {k: v for k, v in out.items() if v is not None}

    def _list(self, query: str) -> dict[str, Any]:
        sb = self.sandbox
        q: dict[str, str] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            q.setdefault(k, v)
        try:
            offset = int(q.get("offset", "0"))
            limit = int(q.get("limit", "10"))
        except ValueError:
            raise _ErrorAnswer(400, "MSS.00000003", "Invalid parameter: offset/limit") from None
        if not (0 <= offset <= 2147483647 and 1 <= limit <= 100):
            raise _ErrorAnswer(400, "MSS.00000003", "Invalid parameter: offset 0~2147483647, "
                           "limit 1~100")
        states = set(q["state"].split(",")) if q.get("state") else None
        with sb.lock:
            for job in sb.jobs.values():
                sb.advance(job)
            jobs = [j for j in sb.jobs.values()
                    if (states is None or j.state in states)
                    and (not q.get("name") or j.body.get("name") == q["name"])
                    and (not q.get("job_id") or j.job_id == q["job_id"])
                    and (not q.get("batch_name") or j.body.get("batch_name") == q["batch_name"])]
            reverse = q.get("sort_dir") == "desc"
            jobs.sort(key=lambda j: j.updated if q.get("sort_key") == "update_time"
                      else j.created, reverse=reverse)
            page = [{"job_id": j.job_id, "name": j.body.get("name"), "state": j.state,
                     "create_time": rfc3339(j.created), "last_update_time": rfc3339(j.updated),
                     "app_user_id": j.app_user_id, "batch_name": j.body.get("batch_name")}
                    for j in jobs[offset:offset + limit]]
        return {"count": len(jobs), "jobs": [{k: v for k, v in p.items() if v is not None}
                                             for p in page]}

    def _delete(self, job: Job) -> tuple[int, None]:
        sb = self.sandbox
        with sb.lock:
            if job.state not in DELETABLE_STATES:
                raise _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: a job in state "
                               f"{job.state} cannot be deleted")
            del sb.jobs[job.job_id]
            sb.deleted.add(job.job_id)
        return 204, None

    # -- uploads ---------------------------------------------------------------------------------

    def _upload(self) -> None:
        sb = self.sandbox
        parts = urlsplit(self.path)
        m = UPLOAD_RE.match(parts.path)
        assert m is not None
        token = m.group("token")
        q = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = self._length()
        with sb.lock:
            sb.puts += 1
            n = sb.puts
            up = sb.uploads.get(token)
        entry: dict[str, Any] = {"kind": "put", "n": n, "token": token,
                                 "request_id": self.request_id}
        if up is not None:
            entry.update(job_id=up.job_id, slot=up.slot, part_number=up.part_number)

        def refuse(status: int, code: str, msg: str) -> None:
            if length is not None:
                self._drain(length)
            else:
                self.close_connection = True
            entry.update(status=status, accepted=False, error_code=code)
            sb.log(**entry)
            self._xml_error(status, code, msg)

        if length is None:
            refuse(411, "MissingContentLength", "Content-Length is required")
            return
        if up is None:
            refuse(404, "NoSuchUpload", "unknown upload URL")
            return
        try:
            expires = int(q.get("Expires", ""))
        except ValueError:
            expires = -1
        if expires != up.expires or not hmac.compare_digest(
                q.get("Signature", ""), sb.url_signature(token, up.expires)):
            refuse(403, "SignatureDoesNotMatch", "the upload URL signature does not match")
            return
        if time.time() > up.expires:
            refuse(403, "AccessDenied", "the upload URL has expired")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != up.content_type:
            refuse(403, "SignatureDoesNotMatch", f"Content-Type must be {up.content_type} "
                   "for this URL")
            return
        with sb.lock:
            if up.used:
                spent = True
            elif up.busy:
                spent = False
                busy = True
            else:
                spent = busy = False
                up.busy = True
        if spent:
            refuse(403, "AccessDenied", "the upload URL has already been used")
            return
        if busy:
            refuse(409, "OperationAborted", "another upload to this URL is in progress")
            return
        try:
            self._store(up, length, n, entry)
        finally:
            with sb.lock:
                up.busy = False

    def _store(self, up: UploadSlot, length: int, n: int, entry: dict[str, Any]) -> None:
        sb = self.sandbox
        fault = sb.config.faults.put_fault(n)
        job_dir = sb.data_dir / "uploads" / up.job_id
        job_dir.mkdir(parents=True, exist_ok=True)
        final = job_dir / f"{up.slot}.part{up.part_number:04d}"
        tmp = final.with_name(final.name + f".{n}.tmp")
        md5 = hashlib.md5(usedforsecurity=False)
        got = 0
        limit = length // 2 if fault == "drop_put" else length
        try:
            with tmp.open("wb") as fh:
                while got < limit:
                    chunk = self.rfile.read(min(CHUNK, limit - got))
                    if not chunk:
                        break
                    md5.update(chunk)
                    fh.write(chunk)
                    got += len(chunk)
        except OSError:
            pass
        entry.update(bytes=got, length=length)
        if fault == "drop_put" or got < length:
            tmp.unlink(missing_ok=True)
            entry.update(accepted=False, fault=fault or "short-body", status=None)
            sb.log(**entry)
            self.close_connection = True
            self._abort()
            return
        if fault == "fail_put":
            tmp.unlink(missing_ok=True)
            entry.update(accepted=False, fault=fault, status=500)
            sb.log(**entry)
            self._xml_error(500, "InternalError", "injected failure")
            return
        etag = md5.hexdigest()
        with sb.lock:
            if up.used:
                tmp.unlink(missing_ok=True)
                entry.update(accepted=False, status=403, error_code="AccessDenied")
                sb.log(**entry)
                self._xml_error(403, "AccessDenied", "the upload URL has already been used")
                return
            os.replace(tmp, final)
            up.used, up.etag, up.size, up.path = True, etag, got, str(final)
            job = sb.jobs.get(up.job_id)
            if job is not None:
                job.updated = time.time()
        entry.update(accepted=True, md5=etag, status=200)
        if fault == "lose_put":
            entry.update(fault=fault, status=None)
            sb.log(**entry)
            self.close_connection = True
            self._abort()
            return
        sb.log(**entry)
        self._send(200, b"", "application/xml", {"ETag": f'"{etag}"'})

    def _abort(self) -> None:
        """Close the socket without an answer (RST), as a broken network would."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SandboxServer(ThreadingHTTPServer):
    """The HTTP server; worker threads are daemons so a stuck client cannot block shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
