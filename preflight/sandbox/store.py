"""The stand-in's job store: jobs, upload URLs, the state machine and the journal, shared by
all handler threads under one lock."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preflight.metastudio import (
    AUTO_VERIFY_FAILED,
    AUTO_VERIFYING,
    JOB_SUCCESS,
    MANUAL_VERIFYING,
    SLOTS,
    SUCCESS_STATES,
    TRAINING,
    WAIT_FILE_UPLOAD,
)
from preflight.sandbox.config import ALWAYS_REQUESTED, SandboxConfig

#: Bytes read or written at a time (bodies are streamed, never held in memory).
CHUNK = 1 << 20
#: What a submitted job goes through, one step per ``advance_seconds`` (dossier §2.3).
PROGRESSION = (AUTO_VERIFYING, MANUAL_VERIFYING, TRAINING, JOB_SUCCESS)


def rfc3339(t: float) -> str:
    """``2020-07-30T10:43:17Z``."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Rejection:
    """Why the automatic review fails a job: the operation-log reason and its error code (None
    where the service's code is not documented)."""

    description: str
    error_code: str | None = None


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
    #: The automatic review's verdict, judged at SUBMITVERIFYING (None = accepted).
    rejection: Rejection | None = None



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
            self.transition(job, AUTO_VERIFY_FAILED, "SYSTEM", job.submitted_at + step,
                            error_code=job.rejection.error_code,
                            description=job.rejection.description)
            return
        target = PROGRESSION[index]
        while job.state != target:
            nxt = PROGRESSION[PROGRESSION.index(job.state) + 1]
            when = job.submitted_at + step * (PROGRESSION.index(nxt))
            self.transition(job, nxt, "SYSTEM", when)

    def transition(self, job: Job, state: str, who: str, when: float | None = None, *,
                   error_code: str | None = None, description: str | None = None) -> None:
        """Move `job` to `state`, with an operation-log entry and a journal line."""
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

    def parts(self, job: Job, slot: str) -> list[UploadSlot]:
        """Upload URLs of a slot in part order."""
        return sorted((self.uploads[t] for t in job.tokens if self.uploads[t].slot == slot),
                      key=lambda u: u.part_number)

    def uploaded(self, job: Job, slot: str) -> bool:
        """Whether at least one URL of the slot received its upload."""
        return any(u.used for u in self.parts(job, slot))
