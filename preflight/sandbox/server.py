"""A MetaStudio-compatible stand-in service for loopback use (tests, demos, benchmarks).

Built on the standard library's ``ThreadingHTTPServer``: no dependency, one thread per
connection with HTTP/1.1 keep-alive, direct access to the socket (needed to drop a connection
half-way through a body for fault injection) and to ``rfile`` (bodies are streamed to disk in
1 MiB chunks, never held in memory).

What it implements (dossier §1, §2, §3.6, §4, §5), one module each: the API routes
(`preflight.sandbox.api`: create / command / show / list / update / delete with the documented
field names, enums and error bodies, SDK-HMAC-SHA256 signature checks and a configured token),
commands (`~.commands`), the job store and its state machine, advanced on a timer after
SUBMITVERIFYING (`~.store`), single-use upload URLs with MD5 ETags (`~.uploads`), the automatic
review (`~.review`), a JSON-lines journal of every request, fault injection (`~.faults`) and an
authenticated shutdown request (``POST /_sandbox/shutdown``) that `preflight sandbox --stop`
sends. ``docs/sandbox.md`` lists what it enforces where the documents are silent.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from preflight.sandbox.api import ApiHandler
from preflight.sandbox.config import SandboxConfig, check_loopback
from preflight.sandbox.store import SandboxState
from preflight.sandbox.uploads import UPLOAD_RE, UploadHandler

#: The path of the shutdown request and the header carrying its secret.
SHUTDOWN_PATH = "/_sandbox/shutdown"
SHUTDOWN_HEADER = "X-Sandbox-Shutdown"


class Handler(ApiHandler, UploadHandler):
    """One connection; requests dispatched by path."""

    def _dispatch(self) -> None:
        self.request_id = uuid.uuid4().hex
        path = urlsplit(self.path).path
        slow = self.sandbox.config.faults.slow_ms
        if slow:
            time.sleep(slow / 1000)
        if path == SHUTDOWN_PATH:
            self._shutdown()
            return
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

    def _shutdown(self) -> None:
        """Stop the server when the request carries the configured secret (constant-time
        comparison); 403 otherwise, and 404 when no secret is configured."""
        self.close_connection = True
        length = self._length()
        if length:
            self._drain(min(length, 1 << 16))
        secret = self.sandbox.config.shutdown_token
        given = self.headers.get(SHUTDOWN_HEADER) or ""
        if secret is None or self.command != "POST":
            self._xml_error(404, "NoSuchKey", "not found")
            return
        if not hmac.compare_digest(given.encode(), secret.encode()):
            self.sandbox.log(kind="shutdown", accepted=False, request_id=self.request_id)
            self._xml_error(403, "AccessDenied", "the shutdown secret does not match")
            return
        self.sandbox.log(kind="shutdown", accepted=True, request_id=self.request_id)
        self._send(202, b"", "text/plain")
        # shutdown() waits for serve_forever to return, so it cannot run on this thread's
        # request; a helper thread asks the loop to end once this answer is out.
        threading.Thread(target=self.server.shutdown, name="preflight-sandbox-stop",
                         daemon=True).start()


class SandboxServer(ThreadingHTTPServer):
    """The HTTP server; worker threads are daemons so a stuck client cannot block shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


__all__ = ["SHUTDOWN_HEADER", "SHUTDOWN_PATH", "UPLOAD_RE", "Handler", "SandboxConfig",
           "SandboxServer", "SandboxState", "check_loopback"]
