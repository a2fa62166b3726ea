"""The stand-in's API routes: create / command / show / list / update / delete under the
documented jobs path (`preflight.metastudio.JOBS_PATH`) with SDK-HMAC-SHA256 (or token)
authentication, the documented error bodies and fault injection (dossier §1, §2, §4, §5)."""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from preflight.metastudio import (
    DELETABLE_STATES,
    JOB_SUCCESS,
    JOBS_PATH,
    SLOTS,
    UPDATABLE_STATES,
    UPDATE_VIDEO,
    WAIT_FILE_UPLOAD,
    chinese_characters,
    signer,
)
from preflight.sandbox.commands import execute
from preflight.sandbox.handler import BaseHandler, _ErrorAnswer
from preflight.sandbox.store import Job, rfc3339
from preflight.sandbox.validate import body_problem, update_problem

API_RE = re.compile("^" + re.escape(JOBS_PATH).replace(re.escape("{project_id}"), "(?P<pid>[^/]+)")
                    + r"(?:/(?P<job>[^/]+)(?P<cmd>/command)?)?/?$")
MAX_API_BODY = 1 << 20
SKEW_LIMIT = 15 * 60


def _utf8(value: str) -> str:
    """A header value as the client wrote it: the standard library reads header bytes as
    Latin-1; UTF-8 text (a Chinese X-App-UserId) is decoded as such."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _validate_create(body: Any) -> dict[str, Any]:
    """Validate a create body like the API does (dossier §1.2), raising 400 MSS.00000003."""
    problem = body_problem(body)
    if problem is not None:
        code = "MSS.00000003" if isinstance(body, dict) else "MSS.00000002"
        raise _ErrorAnswer(400, code, problem)
    return dict(body)


class ApiHandler(BaseHandler):
    """The API routes of the stand-in's handler."""

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
        headers = {k: _utf8(v) for k, v in self.headers.items()}
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
        raw = self.headers.get("X-App-UserId")
        value = None if raw is None else _utf8(raw)
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
                sb.transition(job, WAIT_FILE_UPLOAD, "USER",
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

    def _command(self, job: Job, raw: bytes,
                 entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return execute(self.sandbox, job, self._json_body(raw), entry)

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
