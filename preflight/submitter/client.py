"""A small MetaStudio client: signed JSON calls (dossier §1, §2) and PUTs to single-use upload URLs.

One ``httpx.Client`` (one connection pool) per instance; pass ``transport=`` (e.g.
``httpx.MockTransport``) or a ready ``client=`` to control the wire in tests.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from preflight._version import __version__
from preflight.errors import CommandFailed, NetworkError, ServiceError, SubmitError
from preflight.metastudio import (
    COMMAND_FAILED,
    COMMAND_FAILED_REASON,
    COMMAND_OK,
    COMMAND_RESULT,
    JOBS_PATH,
    LIST_PAGE_MAX,
)
from preflight.metastudio.credentials import Credentials
from preflight.metastudio.signer import query_value, sign
from preflight.safeio import open_regular
from preflight.submitter.redact import redact_headers, redact_url, scrub
from preflight.submitter.retry import (
    RetryPolicy,
    certificate_problem,
    is_retryable_error,
    is_retryable_status,
)

USER_AGENT = f"metastudio-preflight/{__version__}"
CHUNK = 1 << 20
CLOCK_SKEW_LIMIT = 15 * 60


@dataclass(frozen=True)
class PreparedCall:
    """A signed request as it would be sent (for ``--dry-run`` and logs use ``redacted()``)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def redacted(self) -> dict[str, Any]:
        """Display form: no signature, no token, no presigned query."""
        body: Any = None
        if self.body:
            try:
                body = json.loads(self.body)
            except ValueError:
                body = f"<{len(self.body)} bytes>"
        return {"method": self.method, "url": redact_url(self.url) if "Signature" in self.url
                else self.url, "headers": redact_headers(self.headers), "body": body}


@dataclass
class Response:
    """A decoded API response: JSON body (``{}`` when empty) and the request id."""

    status: int
    data: dict[str, Any]
    request_id: str | None
    headers: Mapping[str, str] = field(default_factory=dict)


def network_cause(exc: BaseException) -> str:
    """A short cause for a transport error: "connection refused", "timed out"..."""
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        return "connection refused" if "refused" in text else "cannot connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection dropped"
    return f"network error ({type(exc).__name__})"


def _error_fields(data: Any) -> tuple[str | None, str | None]:
    if not isinstance(data, dict):
        return None, None
    code, msg = data.get("error_code"), data.get("error_msg")
    inner = data.get("error")
    if code is None and isinstance(inner, dict):  # API-gateway style {"error": {"code", "message"}}
        code, msg = inner.get("code"), inner.get("message")
    info = data.get("error_info")
    if code is None and isinstance(info, dict):
        code, msg = info.get("error_code"), info.get("error_msg")
    return (str(code) if code is not None else None), (str(msg) if msg is not None else None)


def _decode(resp: httpx.Response) -> dict[str, Any]:
    if not resp.content:
        return {}
    try:
        data = json.loads(resp.content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"_": data}


def _skew_hint(resp: httpx.Response) -> str:
    date = resp.headers.get("Date")
    if not date:
        return ""
    try:
        server = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return ""
    skew = abs((datetime.now(UTC) - server).total_seconds())
    if skew > CLOCK_SKEW_LIMIT:
        return (f" (local clock differs from the service's by {int(skew // 60)} min; signed "
                "requests are refused beyond 15 min — fix the system clock; "
                "docs/constraints.md §3.6)")
    return ""


class MetaStudioClient:
    """Signed calls to one MetaStudio endpoint for one project."""

    def __init__(self, endpoint: str, credentials: Credentials, *, app_user_id: str | None = None,
                 client: httpx.Client | None = None, transport: httpx.BaseTransport | None = None,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 max_connections: int = 8, chunk_size: int = CHUNK,
                 now: Callable[[], datetime] | None = None):
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credentials
        self.app_user_id = app_user_id
        self.retry = retry or RetryPolicy()
        self.chunk_size = chunk_size
        self._now = now
        self._owned = client is None
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        if transport is None and client is None:
            transport = httpx.HTTPTransport(
                limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self.http = client or httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            limits=limits,
            trust_env=False,
        )
        #: Told about every retry of an API call ("create job: connection refused; retrying
        #: in 0.3 s"); the submit flow shows it as progress.
        self.on_retry: Callable[[str], None] | None = None
        self.base_path = JOBS_PATH.format(project_id=quote(credentials.project_id, safe=""))

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool if this instance created it."""
        if self._owned:
            self.http.close()

    def __enter__(self) -> MetaStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _secrets(self) -> list[str]:
        return self.credentials.secrets()

    def prepare(self, method: str, path: str, *, query: Sequence[tuple[str, Any]] = (),
                body: Mapping[str, Any] | None = None) -> PreparedCall:
        """Build and sign one API request (fresh ``X-Sdk-Date`` each time)."""
        parts = urlsplit(self.endpoint)
        host = parts.netloc
        raw = (json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
               if body is not None else b"")
        headers: dict[str, str] = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                                   "Host": host}
        if self.app_user_id:
            headers["X-App-UserId"] = self.app_user_id
        pairs = [(k, query_value(v)) for k, v in query]
        creds = self.credentials
        if creds.kind == "aksk":
            assert creds.ak and creds.sk
            headers["X-Project-Id"] = creds.project_id
            if creds.security_token:
                headers["X-Security-Token"] = creds.security_token
            signed = sign(method, host, path, pairs, headers, raw, ak=creds.ak, sk=creds.sk,
                          now=self._now() if self._now else None)
            headers, qs = signed.headers, signed.query
        else:
            assert creds.token
            headers["X-Auth-Token"] = creds.token
            from preflight.metastudio.signer import canonical_query

            qs = canonical_query(pairs)
        url = f"{self.endpoint}{path}" + (f"?{qs}" if qs else "")
        return PreparedCall(method.upper(), url, headers, raw)

    def call(self, method: str, path: str, *, query: Sequence[tuple[str, Any]] = (),
             body: Mapping[str, Any] | None = None, what: str = "call",
             retry: bool = True, command_answer: bool = False) -> Response:
        """Send an API request with retries for transient failures. With ``command_answer``,
        an answer whose body carries ``commond_result`` is returned whatever its HTTP status:
        the body, not the status, says whether a command ran (dossier §2.1).

        :raises ServiceError: the service answered with an error (after retries if transient).
        :raises SubmitError: the network failed on every try.
        """
        attempts = self.retry.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            prepared = self.prepare(method, path, query=query, body=body)
            try:
                resp = self.http.request(prepared.method, prepared.url, headers=prepared.headers,
                                         content=prepared.body)
            except httpx.HTTPError as exc:
                if is_retryable_error(exc) and attempt < attempts:
                    self._retrying(what, network_cause(exc), attempt)
                    continue
                tls = certificate_problem(exc)
                if tls:
                    raise NetworkError(f"{what}: {scrub(tls, self._secrets())} (not retried: "
                                       "check the endpoint's certificate or the CA bundle)",
                                       maybe_sent=False) from None
                raise NetworkError(f"{what}: {network_cause(exc)}: {type(exc).__name__}: "
                                   f"{scrub(str(exc), self._secrets())}",
                                   maybe_sent=not isinstance(exc, httpx.ConnectError),
                                   cause=network_cause(exc)) from None
            data = _decode(resp)
            request_id = resp.headers.get("X-Request-Id")
            if resp.status_code < 400 or (command_answer and COMMAND_RESULT in data):
                return Response(resp.status_code, data, request_id, resp.headers)
            code, msg = _error_fields(data)
            if is_retryable_status(resp.status_code, code) and attempt < attempts:
                cause = f"HTTP {resp.status_code}" + (f" {code}" if code else "")
                self._retrying(what, cause, attempt, resp.headers.get("Retry-After"))
                continue
            hint = _skew_hint(resp) if resp.status_code in (400, 401, 403) else ""
            auth = " (authentication refused: check the AK/SK or token and the project id)" \
                if resp.status_code in (401, 403) else ""
            text = scrub(msg or resp.reason_phrase or "error", self._secrets())
            raise ServiceError(f"{what} failed: {text}{auth}{hint}", status=resp.status_code,
                               error_code=code,
                               error_msg=scrub(msg, self._secrets()) if msg is not None else None,
                               request_id=request_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retrying(self, what: str, cause: str, attempt: int,
                  retry_after: str | None = None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        if self.on_retry is not None:
            self.on_retry(f"{what}: {cause}; retrying in {delay:.1f} s")
        self.retry.sleep(delay)

    # -- API ---------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> Response:
        """Create2dModelTrainingJob (§1), one try: the caller decides about retrying, since a
        lost answer may have created a job."""
        return self.call("POST", self.base_path, body=body, what="create job", retry=False)

    def command(self, job_id: str, command: str, *, retry: bool = True,
                **fields: Any) -> Response:
        """Execute2dModelTrainingCommandByUser (§2.1). ``EXCUTE_FAILED`` raises `CommandFailed`
        whatever the HTTP status (the service answers some refusals 400 + EXCUTE_FAILED).
        ``retry=False`` sends once: the caller resolves a lost answer (non-idempotent commands).
        """
        body = {"command": command, **fields}
        resp = self.call("POST", f"{self.base_path}/{quote(job_id, safe='')}/command", body=body,
                         what=command, retry=retry, command_answer=True)
        result = resp.data.get(COMMAND_RESULT)
        if result == COMMAND_FAILED:
            code, msg = _error_fields(resp.data)
            reason = resp.data.get(COMMAND_FAILED_REASON) or msg or "no reason given"
            reason = scrub(str(reason), self._secrets())
            raise CommandFailed(f"{command} failed: {reason}", status=resp.status,
                                error_code=code, error_msg=reason,
                                request_id=resp.request_id)
        if resp.status >= 400 and result != COMMAND_OK:
            code, msg = _error_fields(resp.data)
            text = scrub(msg or f"{COMMAND_RESULT} {result}", self._secrets())
            raise ServiceError(f"{command} failed: {text}", status=resp.status, error_code=code,
                               error_msg=text, request_id=resp.request_id)
        return resp

    def show(self, job_id: str) -> Response:
        """Show2dModelTrainingJob (§2.3)."""
        return self.call("GET", f"{self.base_path}/{quote(job_id, safe='')}", what="show job")

    def list(self, **query: Any) -> Response:
        """List2dModelTrainingJob (§2.4): one page."""
        pairs = [(k, v) for k, v in query.items() if v is not None]
        return self.call("GET", self.base_path, query=pairs, what="list jobs")

    def list_all(self, *, page_size: int = LIST_PAGE_MAX, max_pages: int = 10_000,
                 **query: Any) -> Iterator[dict[str, Any]]:
        """Every job List2dModelTrainingJob returns, page by page (``offset``/``limit``, at
        most 100 a page, §2.4), until ``count`` is reached or a page comes back empty, short,
        or with nothing new (a service that ignores ``offset``)."""
        offset, seen = 0, set[str]()
        for _ in range(max_pages):
            data = self.list(offset=offset, limit=page_size, **query).data
            jobs = data.get("jobs") if isinstance(data.get("jobs"), list) else data.get(
                "job_list")
            page = [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []
            fresh = [j for j in page if str(j.get("job_id")) not in seen]
            yield from fresh
            seen.update(str(j.get("job_id")) for j in page)
            offset += len(page)
            count = data.get("count")
            total = count if isinstance(count, int) and not isinstance(count, bool) else None
            if not fresh or len(page) < page_size or (total is not None and offset >= total):
                return

    def update(self, job_id: str, body: Mapping[str, Any]) -> Response:
        """Update2dModelTrainingJob (§2.4), one try: a lost answer may have issued URLs."""
        return self.call("PUT", f"{self.base_path}/{quote(job_id, safe='')}", body=body,
                         what="update job", retry=False)

    def delete(self, job_id: str) -> Response:
        """Delete2dModelTrainingJob (§2.4)."""
        return self.call("DELETE", f"{self.base_path}/{quote(job_id, safe='')}",
                         what="delete job")

    # -- uploads -----------------------------------------------------------------------------

    def _range(self, source: str, offset: int, length: int,
               on_bytes: Callable[[int], None] | None) -> Iterator[bytes]:
        with open_regular(source) as fh:
            fh.seek(offset)
            left = length
            while left > 0:
                chunk = fh.read(min(self.chunk_size, left))
                if not chunk:
                    raise SubmitError(f"{os.path.basename(source)} is shorter than planned: "
                                      "it changed after packaging; package it again")
                left -= len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
                yield chunk

    def put_once(self, url: str, source: str, offset: int, length: int, content_type: str,
                 on_bytes: Callable[[int], None] | None = None) -> httpx.Response:
        """One PUT of a byte range to an upload URL (no auth headers: the URL is presigned).

        Transport errors propagate as ``httpx`` exceptions; the caller decides what to do.
        """
        headers = {"Content-Type": content_type, "Content-Length": str(length),
                   "User-Agent": USER_AGENT}
        return self.http.request("PUT", url, headers=headers,
                                 content=self._range(source, offset, length, on_bytes))
