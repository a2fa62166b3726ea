"""The stand-in's HTTP plumbing shared by its API and upload routes: answers, error bodies,
request-body reading and dropping a connection."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from preflight.sandbox.store import CHUNK, SandboxState


class _ErrorAnswer(Exception):
    """An error answer: HTTP status and the documented error body (plus any extra fields)."""

    def __init__(self, status: int, code: str, msg: str, **extra: Any):
        super().__init__(msg)
        self.status, self.code, self.msg, self.extra = status, code, msg, extra


class BaseHandler(BaseHTTPRequestHandler):
    """One connection's helpers; `sandbox` is set on the subclass made per server."""

    protocol_version = "HTTP/1.1"
    server_version = "MetaStudioSandbox/1"
    disable_nagle_algorithm = True  # answers are small; no 40 ms delayed-ACK stalls
    wbufsize = 1 << 16  # status line, headers and body leave in one write
    sandbox: SandboxState
    request_id: str = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr access log (the journal records everything)."""

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
        self._json(err.status, {"error_code": err.code, "error_msg": err.msg, **err.extra})

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

    def _abort(self) -> None:
        """Close the socket without an answer (RST), as a broken network would."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

