"""The local state store: one SQLite file, every change a committed transaction.

It remembers, per submission key (spec + media + endpoint + project), the job id, every upload
URL and what happened to it, so a rerun after a crash or ``kill -9`` continues the same job.
URLs are stored as received (they are needed to resume) and redacted whenever shown.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.errors import SetupError
from preflight.safeio import make_private, open_fd
from preflight.submitter.redact import redact_url

SCHEMA_VERSION = 1
FILE_NAME = "preflight-state.sqlite"

# part status: pending (never sent), sending (a PUT was started), done (proof: a matching ETag,
# the multipart listing or a download URL in Show), unproven (the URL is spent by a try of ours
# but the service offers no way to prove the bytes arrived)
PENDING, SENDING, DONE, UNPROVEN = "pending", "sending", "done", "unproven"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT NOT NULL, job_id TEXT, endpoint TEXT NOT NULL, project_id TEXT NOT NULL,
    spec_path TEXT NOT NULL, name TEXT NOT NULL, phase TEXT NOT NULL,
    started REAL NOT NULL, updated REAL NOT NULL, state TEXT,
    seq INTEGER PRIMARY KEY AUTOINCREMENT
);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs(key);
CREATE TABLE IF NOT EXISTS parts (
    job_id TEXT NOT NULL, slot TEXT NOT NULL, part_number INTEGER NOT NULL,
    url TEXT NOT NULL, status TEXT NOT NULL, etag TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL, PRIMARY KEY (job_id, slot, part_number)
);
CREATE TABLE IF NOT EXISTS steps (
    job_id TEXT NOT NULL, step TEXT NOT NULL, done REAL NOT NULL, PRIMARY KEY (job_id, step)
);
CREATE TABLE IF NOT EXISTS sent (job_id TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


@dataclass(frozen=True)
class JobRow:
    """One submission attempt: ``phase`` is creating, created, submitted or final."""

    seq: int
    key: str
    job_id: str | None
    endpoint: str
    project_id: str
    spec_path: str
    name: str
    phase: str
    started: float
    state: str | None


@dataclass(frozen=True)
class PartRow:
    """One upload URL and its fate."""

    job_id: str
    slot: str
    part_number: int
    url: str
    status: str
    etag: str | None
    attempts: int


def _open_private(path: Path) -> None:
    """Create or open `path` as an owner-only regular file, never through a symbolic link.

    :raises OSError: a link, or not a regular file, at `path` or at one of SQLite's side files.
    """
    for side in ("-wal", "-shm", "-journal"):
        aux = path.with_name(path.name + side)
        if aux.is_symlink() or (aux.exists() and not aux.is_file()):
            raise OSError(errno.ELOOP, f"{aux} is a link or not a regular file; refusing to "
                          "use it", str(aux))
    fd = open_fd(path, os.O_CREAT | os.O_RDWR, 0o600, follow=False)
    try:
        make_private(path, fd)
    finally:
        os.close(fd)


class StateStore:
    """Thread-safe wrapper over one SQLite connection (WAL, synchronous=FULL)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The store holds single-use upload URLs: readable by the owner only. SQLite gives
            # its -wal/-shm files the database file's permissions. A link in its place (or in
            # the place of its -wal/-shm/-journal files) is refused: following it would create
            # the store, or change the mode of a file, elsewhere.
            _open_private(path)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                       timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_DDL)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                             (str(SCHEMA_VERSION),))
        except (sqlite3.Error, OSError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            # a local problem, found before anything is sent: exit 2, not 3
            raise SetupError(f"cannot open the state store {path}: {why}") from None

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (BEGIN IMMEDIATE ... COMMIT, rollback on error)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- jobs ----------------------------------------------------------------------------------

    def _job(self, row: Sequence[Any] | None) -> JobRow | None:
        if row is None:
            return None
        (key, job_id, endpoint, project_id, spec_path, name, phase, started, _updated, state,
         seq) = row
        return JobRow(seq, key, job_id, endpoint, project_id, spec_path, name, phase, started,
                      state)

    def latest(self, key: str) -> JobRow | None:
        """The newest attempt for a submission key."""
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE key=? ORDER BY seq DESC LIMIT 1",
                                   (key,)).fetchone()
        return self._job(row)

    def jobs(self) -> list[JobRow]:
        """Every attempt, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY seq DESC").fetchall()
        return [j for j in (self._job(r) for r in rows) if j]

    def begin_create(self, key: str, endpoint: str, project_id: str, spec_path: str,
                     name: str) -> int:
        """Record that a create call is about to be sent (before it is sent)."""
        now = time.time()
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO jobs (key, job_id, endpoint, project_id, spec_path, name, phase, "
                "started, updated, state) VALUES (?, NULL, ?, ?, ?, ?, 'creating', ?, ?, NULL)",
                (key, endpoint, project_id, spec_path, name, now, now))
            return int(cur.lastrowid or 0)

    def begin_update(self, key: str, endpoint: str, project_id: str, spec_path: str,
                     name: str, job_id: str) -> int:
        """Record that an update (fresh URLs for a failed job) is about to be sent."""
        now = time.time()
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO jobs (key, job_id, endpoint, project_id, spec_path, name, phase, "
                "started, updated, state) VALUES (?, ?, ?, ?, ?, ?, 'updating', ?, ?, NULL)",
                (key, job_id, endpoint, project_id, spec_path, name, now, now))
            return int(cur.lastrowid or 0)

    def record_updated(self, seq: int, job_id: str, urls: Sequence[tuple[str, int, str]],
                       body: Mapping[str, Any] | None = None) -> None:
        """Replace a job's URLs and forget its steps (a new round of uploads), and merge the
        update's body fields into what the job got, atomically."""
        now = time.time()
        with self.tx() as db:
            if body is not None:
                self._merge_sent(db, job_id, body)
            db.execute("UPDATE jobs SET phase='created', updated=? WHERE seq=?", (now, seq))
            db.execute("DELETE FROM parts WHERE job_id=?", (job_id,))
            db.execute("DELETE FROM steps WHERE job_id=?", (job_id,))
            db.executemany(
                "INSERT INTO parts (job_id, slot, part_number, url, status, etag, attempts, "
                "updated) VALUES (?, ?, ?, ?, 'pending', NULL, 0, ?)",
                [(job_id, slot, n, url, now) for slot, n, url in urls])

    def abandon(self, seq: int, reason: str) -> None:
        """Mark an attempt as replaced (e.g. ``--new-job``) or failed before a job existed."""
        with self.tx() as db:
            db.execute("UPDATE jobs SET phase=?, updated=? WHERE seq=?",
                       (f"abandoned:{reason}", time.time(), seq))

    def record_created(self, seq: int, job_id: str, urls: Sequence[tuple[str, int, str]],
                       body: Mapping[str, Any] | None = None) -> None:
        """Store the job id, every (slot, part_number, url) and the body sent, in one
        transaction."""
        now = time.time()
        with self.tx() as db:
            if body is not None:
                db.execute("INSERT OR REPLACE INTO sent VALUES (?, ?)",
                           (job_id, json.dumps(dict(body), sort_keys=True)))
            db.execute("UPDATE jobs SET job_id=?, phase='created', updated=? WHERE seq=?",
                       (job_id, now, seq))
            db.executemany(
                "INSERT OR REPLACE INTO parts (job_id, slot, part_number, url, status, etag, "
                "attempts, updated) VALUES (?, ?, ?, ?, 'pending', NULL, 0, ?)",
                [(job_id, slot, n, url, now) for slot, n, url in urls])

    def set_phase(self, job_id: str, phase: str, state: str | None = None) -> None:
        """Advance the job's newest attempt (created → submitted → final) and remember the
        last state seen."""
        with self.tx() as db:
            db.execute("UPDATE jobs SET phase=?, state=COALESCE(?, state), updated=? "
                       "WHERE seq=(SELECT MAX(seq) FROM jobs WHERE job_id=?)",
                       (phase, state, time.time(), job_id))

    @staticmethod
    def _merge_sent(db: sqlite3.Connection, job_id: str, body: Mapping[str, Any]) -> None:
        row = db.execute("SELECT body FROM sent WHERE job_id=?", (job_id,)).fetchone()
        merged = {**(json.loads(row[0]) if row else {}), **body}
        db.execute("INSERT OR REPLACE INTO sent VALUES (?, ?)",
                   (job_id, json.dumps(merged, sort_keys=True)))

    def sent_body(self, job_id: str) -> dict[str, Any] | None:
        """The body fields a job got (its create body with every update merged in); None when
        not recorded (a store written before bodies were kept)."""
        with self._lock:
            row = self._db.execute("SELECT body FROM sent WHERE job_id=?", (job_id,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return data if isinstance(data, dict) else None

    # -- parts ---------------------------------------------------------------------------------

    def parts(self, job_id: str) -> list[PartRow]:
        """Every URL of a job."""
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, slot, part_number, url, status, etag, attempts FROM parts "
                "WHERE job_id=? ORDER BY slot, part_number", (job_id,)).fetchall()
        return [PartRow(*r) for r in rows]

    def mark(self, job_id: str, slot: str, part_number: int, status: str,
             etag: str | None = None, *, attempt: bool = False) -> None:
        """Change one part's status (committed before returning)."""
        with self.tx() as db:
            db.execute(
                "UPDATE parts SET status=?, etag=COALESCE(?, etag), updated=?, "
                "attempts=attempts+? WHERE job_id=? AND slot=? AND part_number=?",
                (status, etag, time.time(), 1 if attempt else 0, job_id, slot, part_number))

    # -- steps ---------------------------------------------------------------------------------

    def step_done(self, job_id: str, step: str) -> bool:
        """Whether a command (e.g. CONFIRM_MULTIPART_UPLOADED) was already acknowledged."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM steps WHERE job_id=? AND step=?",
                                    (job_id, step)).fetchone() is not None

    def forget_step(self, job_id: str, step: str) -> None:
        """Drop a step marker."""
        with self.tx() as db:
            db.execute("DELETE FROM steps WHERE job_id=? AND step=?", (job_id, step))

    def record_step(self, job_id: str, step: str) -> None:
        """Remember an acknowledged command."""
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO steps VALUES (?, ?, ?)", (job_id, step, time.time()))

    # -- display -------------------------------------------------------------------------------

    def dump(self) -> list[dict[str, Any]]:
        """A readable dump with every URL redacted."""
        out = []
        for j in self.jobs():
            out.append({
                "job_id": j.job_id, "phase": j.phase, "state": j.state, "spec": j.spec_path,
                "endpoint": j.endpoint, "name": j.name,
                "parts": [{"slot": p.slot, "part_number": p.part_number,
                           "url": redact_url(p.url), "status": p.status, "etag": p.etag,
                           "attempts": p.attempts}
                          for p in (self.parts(j.job_id) if j.job_id else [])],
            })
        return out
