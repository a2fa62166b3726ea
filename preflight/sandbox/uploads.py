"""Object uploads: PUTs to the single-use URLs the stand-in issues (dossier §1.4, §3.6).

A URL carries its own authorization in the query string; the stand-in checks it like an object
store checks a pre-signed URL, plus what a strict store enforces where the documents are silent
(``docs/sandbox.md`` lists each such choice): a ``Content-MD5`` that does not match the body
refuses the PUT and leaves the URL unused; an ``Authorization`` header beside the signed query is
refused; a body sent with ``Transfer-Encoding: chunked`` is accepted like one with a length.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from preflight.sandbox.handler import BaseHandler
from preflight.sandbox.store import CHUNK, UploadSlot

UPLOAD_RE = re.compile(r"^/upload/(?P<token>[0-9a-f]{32})$")
#: Longest chunk-size or trailer line accepted in a chunked body.
MAX_CHUNK_LINE = 1024
_CHUNK_SIZE = re.compile(rb"^[0-9a-fA-F]{1,16}$")


class _BadBody(ValueError):
    """A chunked body that does not follow the chunked coding."""


class UploadHandler(BaseHandler):
    """The upload route of the stand-in's handler."""

    def _upload(self) -> None:
        sb = self.sandbox
        parts = urlsplit(self.path)
        m = UPLOAD_RE.match(parts.path)
        assert m is not None
        token = m.group("token")
        q = dict(parse_qsl(parts.query, keep_blank_values=True))
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        length = None if chunked else self._length()
        with sb.lock:
            sb.puts += 1
            n = sb.puts
            up = sb.uploads.get(token)
        entry: dict[str, Any] = {"kind": "put", "n": n, "token": token,
                                 "request_id": self.request_id, "chunked": chunked}
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

        if length is None and not chunked:
            refuse(411, "MissingContentLength", "Content-Length (or a chunked body) is required")
            return
        if up is None:
            refuse(404, "NoSuchUpload", "unknown upload URL")
            return
        if self.headers.get("Authorization") is not None:
            refuse(400, "InvalidArgument", "only one authorization mechanism is allowed: the "
                   "upload URL is signed in its query string, send no Authorization header")
            return
        expected_md5: str | None = None
        digest = self.headers.get("Content-MD5")
        if digest is not None:
            expected_md5 = _md5_hex(digest)
            if expected_md5 is None:
                refuse(400, "InvalidDigest", "Content-MD5 is not the base64 of a 16-byte MD5")
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
            spent, busy = up.used, up.busy
            if not spent and not busy:
                up.busy = True
        if spent:
            refuse(403, "AccessDenied", "the upload URL has already been used")
            return
        if busy:
            refuse(409, "OperationAborted", "another upload to this URL is in progress")
            return
        try:
            self._store(up, length, n, entry, expected_md5)
        finally:
            with sb.lock:
                up.busy = False

    def _chunks(self) -> Iterator[bytes]:
        """The data of a chunked body (RFC 9112 §7.1).

        :raises _BadBody: the coding is broken. :raises EOFError: the body ends early.
        """
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            if not line:
                raise EOFError
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.match(size_text):
                raise _BadBody("malformed chunk-size line")
            left = int(size_text, 16)
            if left == 0:
                break
            while left:
                data = self.rfile.read(min(CHUNK, left))
                if not data:
                    raise EOFError
                left -= len(data)
                yield data
            end = self.rfile.readline(MAX_CHUNK_LINE + 1)
            if not end:
                raise EOFError
            if end not in (b"\r\n", b"\n"):
                raise _BadBody("chunk data longer than its size")
        while True:  # trailer fields, up to the empty line
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            if not line:
                raise EOFError
            if line in (b"\r\n", b"\n"):
                return
            if not line.endswith(b"\n"):
                raise _BadBody("trailer line too long")

    def _copy(self, fh: IO[bytes], md5: Any, length: int | None,
              limit: int | None) -> tuple[int, bool]:
        """Copy the body into `fh` (at most `limit` bytes); (bytes, whether it was complete).

        :raises _BadBody: a broken chunked coding.
        """
        got = 0
        try:
            if length is not None:
                stop = length if limit is None else limit
                while got < stop:
                    chunk = self.rfile.read(min(CHUNK, stop - got))
                    if not chunk:
                        break
                    md5.update(chunk)
                    fh.write(chunk)
                    got += len(chunk)
                return got, got == length
            for chunk in self._chunks():
                md5.update(chunk)
                fh.write(chunk)
                got += len(chunk)
                if limit is not None and got >= limit:
                    return got, False
            return got, True
        except (OSError, EOFError):
            return got, False

    def _store(self, up: UploadSlot, length: int | None, n: int, entry: dict[str, Any],
               expected_md5: str | None) -> None:
        sb = self.sandbox
        fault = sb.config.faults.put_fault(n)
        job_dir = sb.data_dir / "uploads" / up.job_id
        job_dir.mkdir(parents=True, exist_ok=True)
        final = job_dir / f"{up.slot}.part{up.part_number:04d}"
        tmp = final.with_name(final.name + f".{n}.tmp")
        md5 = hashlib.md5(usedforsecurity=False)
        limit = None
        if fault == "drop_put":
            limit = length // 2 if length is not None else 1
        try:
            with tmp.open("wb") as fh:
                got, complete = self._copy(fh, md5, length, limit)
        except _BadBody as exc:
            tmp.unlink(missing_ok=True)
            self.close_connection = True
            entry.update(accepted=False, status=400, error_code="IncompleteBody")
            sb.log(**entry)
            self._xml_error(400, "IncompleteBody", f"the chunked body is broken: {exc}")
            return
        entry.update(bytes=got, length=length)
        if fault == "drop_put" or not complete:
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
        if expected_md5 is not None and expected_md5 != etag:
            tmp.unlink(missing_ok=True)  # refused before storing: the URL stays unused
            entry.update(accepted=False, status=400, error_code="BadDigest", md5=etag)
            sb.log(**entry)
            self._xml_error(400, "BadDigest", "the Content-MD5 you specified did not match "
                            "what was received")
            return
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


def _md5_hex(header: str) -> str | None:
    """The hex MD5 a ``Content-MD5`` header states, or None when it is not base64 of 16 bytes."""
    try:
        raw = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None
