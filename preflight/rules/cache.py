"""Result cache: the findings of one file under one rule configuration, kept in SQLite.

A re-check of an unchanged file is served from here without opening the media: the key is
built from ``stat`` (path, size, mtime, ctime, inode), a fingerprint of the content (the first
and last 64 KiB plus 16 blocks of 4 KiB spread evenly between them), the slot, the job body,
edition and mode the file rules can read, the effective settings (severity and options) of
every rule that runs on that slot, the tool version and the rule modules themselves. Changing
the file, the rules, the configuration or the tool makes a new key.

An edit that keeps the size and puts the old mtime back (``touch -r``) still changes the ctime,
which only the kernel sets; the sampled blocks catch same-size rewrites even where the ctime
is unreliable (some network file systems, restored backups). Not covered: an edit of the same
size, outside every sampled block, on a file system without a trustworthy ctime, with the
mtime put back — `preflight check --no-cache` (or `preflight cache clear`) judges afresh.

The database lives in ``.preflight_cache/results.sqlite3`` (WAL journal, busy timeout), so
several runs may share it at once. A cache that cannot be read or written is skipped, never an
error: it only ever saves time. The folder carries a ``.gitignore`` of ``*`` (git never offers
it) and a ``CACHEDIR.TAG`` (backup tools skip it; `remove` recognises a cache by it).

A cache folder is only used when it is a real folder (not a symbolic link) that is new, empty,
or tagged by preflight; no file in it is opened through a link; and `remove` deletes only the
files preflight writes there, each only if it is preflight's (a user's own ``.gitignore`` in a
folder given as ``--cache-dir .`` stays).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from preflight._version import __version__
from preflight.model import Finding, Severity
from preflight.safeio import change_time_ns, create_own, open_regular, read_own

if TYPE_CHECKING:
    from preflight.rules import FileContext, Rule
    from preflight.rules.config import RuleSetting

#: Folder name used when no cache directory is given.
CACHE_DIRNAME = ".preflight_cache"
DB_NAME = "results.sqlite3"
#: Bytes read from each end of a file for its fingerprint.
FINGERPRINT_BYTES = 64 * 1024
#: Blocks (of `SAMPLE_BYTES`) sampled evenly between the two ends.
SAMPLES, SAMPLE_BYTES = 16, 4096
_SCHEMA = 3
_BUSY_MS = 10_000
#: The Cache Directory Tagging Specification's first line (https://bford.info/cachedir/).
CACHEDIR_TAG = "CACHEDIR.TAG"
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
_TAG_TEXT = (f"{TAG_SIGNATURE}\n# This file is a cache directory tag created by preflight "
             "(metastudio-preflight).\n# For information about cache directory tags see "
             "https://bford.info/cachedir/\n")
_GITIGNORE_TEXT = "# created by preflight\n*\n"
#: Every file a cache folder holds (the database, its WAL journal, the two markers).
_CACHE_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal",
                ".gitignore", CACHEDIR_TAG)
#: The files among them a user may have of their own (removed only when they are preflight's).
_MARKERS = frozenset({".gitignore", CACHEDIR_TAG})


def default_dir(near: Path | None = None) -> Path:
    """``.preflight_cache`` in `near` (a folder; the current directory when None)."""
    return (near or Path.cwd()) / CACHE_DIRNAME


def dir_for(target: str | Path) -> Path:
    """The cache a check of `target` uses by default: a spec's is next to it, a folder's is
    in it (``preflight check`` run there, or the repository top of ``preflight hook``); a
    folder that is itself a preflight cache is its own."""
    p = Path(target)
    if p.is_dir():
        return p if is_cache_dir(p) else p / CACHE_DIRNAME
    return p.absolute().parent / CACHE_DIRNAME


def _ours(name: str, text: str | None) -> bool:
    """Whether a marker's text is the one preflight writes."""
    if text is None:
        return False
    if name == CACHEDIR_TAG:
        return text.startswith(TAG_SIGNATURE) and "preflight" in text
    return text == _GITIGNORE_TEXT


def is_cache_dir(directory: str | Path) -> bool:
    """Whether `directory` is a preflight result cache: a folder (not a link) with
    preflight's ``CACHEDIR.TAG``, or (caches written before the tag) the ``.gitignore``
    preflight writes next to ``results.sqlite3``."""
    d = Path(directory)
    try:
        if not stat.S_ISDIR(os.lstat(d).st_mode):
            return False
        tag = read_marker(d / CACHEDIR_TAG)
        if tag is not None:
            return _ours(CACHEDIR_TAG, tag)
        return _ours(".gitignore", read_marker(d / ".gitignore")) and _regular(d / DB_NAME)
    except OSError:
        return False


def _regular(path: Path) -> bool:
    """Whether `path` is a regular file itself (not a link to one)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_marker(path: Path) -> str | None:
    """A small marker file's text, or None when there is none (never read through a link).

    :raises OSError: it exists but cannot be read, or is a link or not a regular file.
    """
    if not os.path.lexists(path):
        return None
    return read_own(path).decode("utf-8", "replace")


def refusal(directory: str | Path) -> str | None:
    """Why `directory` must not be used as a result cache, or None: it is a symbolic link or
    not a folder, it holds files but is not a preflight cache (``--cache-dir .``), or one
    of the files a cache keeps there is a link or not a regular file."""
    d = Path(directory)
    try:
        st = os.lstat(d)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link (a cache is written only into a real folder)"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    try:
        with os.scandir(d) as entries:
            used = any(True for _ in entries)
    except OSError as exc:
        return exc.strerror or str(exc)
    if used and not is_cache_dir(d):
        return (f"it holds files but is not a preflight cache (no {CACHEDIR_TAG} of "
                "preflight's); give a new or empty folder")
    for name in _CACHE_FILES:
        if os.path.lexists(d / name) and not _regular(d / name):
            return f"{name} in it is a link or not a regular file"
    return None


def count(directory: str | Path) -> int:
    """How many results the cache in `directory` holds (0 when it cannot be read)."""
    db = Path(directory) / DB_NAME
    if not _regular(db):
        return 0
    try:
        conn = sqlite3.connect(db, timeout=_BUSY_MS / 1000)
        try:
            (n,) = conn.execute("SELECT COUNT(*) FROM results").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return int(n)


def remove(directory: str | Path) -> int | None:
    """Delete the cache folder `directory` (only the files a cache holds; a folder with
    anything else in it is kept, emptied of those). Returns how many results it held, or
    None when there is no such folder.

    :raises PreflightError: `directory` is not a preflight cache (nothing is touched), or a
        file of it cannot be removed.
    """
    from preflight.errors import PreflightError

    d = Path(directory)
    if not os.path.lexists(d):
        return None
    if d.is_symlink() or not d.is_dir() or not is_cache_dir(d):
        raise PreflightError(f"{d} is not a preflight result cache (no {CACHEDIR_TAG} or "
                             f"{DB_NAME} of preflight's); not touching it")
    n = count(d)
    try:
        for name in _CACHE_FILES:
            if name in _MARKERS and not _marker_is_ours(d / name):
                continue  # e.g. the user's own .gitignore of a folder used as --cache-dir
            (d / name).unlink(missing_ok=True)  # a link is removed, never followed
        if not any(d.iterdir()):
            d.rmdir()
    except OSError as exc:
        raise PreflightError(f"cannot remove the cache {d}: {exc.strerror or exc}") from None
    return n


def _marker_is_ours(path: Path) -> bool:
    """Whether a marker file is the one preflight writes (a link or another text is not)."""
    try:
        return _ours(path.name, read_marker(path))
    except OSError:
        return False


def fingerprint(path: Path, size: int) -> str:
    """BLAKE2b of the first and last `FINGERPRINT_BYTES` and of `SAMPLES` blocks spread
    evenly between them (about 200 KiB read, whatever the size of the file).

    :raises OSError: the file cannot be read (or is not a regular file).
    """
    h = hashlib.blake2b(digest_size=16)
    with open_regular(path) as fh:
        h.update(fh.read(FINGERPRINT_BYTES))
        middle = size - 2 * FINGERPRINT_BYTES
        if middle > 0:
            step = middle / SAMPLES
            for i in range(SAMPLES):
                fh.seek(FINGERPRINT_BYTES + int(i * step + step / 2))
                h.update(fh.read(SAMPLE_BYTES))
        if size > FINGERPRINT_BYTES:
            fh.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            h.update(fh.read(FINGERPRINT_BYTES))
    return h.hexdigest()


def _file_key(path: Path) -> list[Any]:
    """What identifies another file a rule reads (an ID card compared with the video)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return [str(path), "not a regular file"]
        return [str(path.resolve()), st.st_size, st.st_mtime_ns, fingerprint(path, st.st_size)]
    except OSError as exc:
        return [str(path), exc.errno]


def _rules_signature(rules: Iterable[Rule]) -> list[Any]:
    """Where each rule's code lives and when that file changed (catches edited rules)."""
    out: list[Any] = []
    for mod_name in sorted({r.check.__module__ for r in rules}):
        module = sys.modules.get(mod_name)
        file = getattr(module, "__file__", None)
        try:
            st = os.stat(file) if file else None
        except OSError:
            st = None
        out.append([mod_name, st.st_size if st else None, st.st_mtime_ns if st else None])
    return out


def _json_default(value: object) -> Any:
    if isinstance(value, MappingProxyType):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Severity):
        return value.value
    raise TypeError(f"not cacheable: {type(value).__name__}")


def _column(path: Path) -> str:
    """A path as SQLite text: a non-UTF-8 name (surrogate-escaped) keeps its bytes as
    backslash escapes, so it can be stored and still differs from every other name."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def encode(findings: Iterable[Finding]) -> str:
    """Findings as compact JSON.

    :raises TypeError: a finding carries a detail that is not plain data.
    """
    return _dumps([f.to_dict() for f in findings])


def decode(text: str) -> list[Finding]:
    """Findings back from `encode`."""
    return [
        Finding(
            code=d["code"], name=d["name"], severity=Severity(d["severity"]),
            message=d["message"], source=d["source"], path=d["path"], slot=d["slot"],
            fix=d["fix"], details=d["details"], line=d.get("line"), column=d.get("column"),
        )
        for d in json.loads(text)
    ]


@dataclass
class CacheStats:
    """What the cache did during one run."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    failures: int = 0


class ResultCache:
    """Findings per file keyed by file identity and effective rule configuration.

    Thread-safe (one connection behind a lock) and safe across processes (SQLite WAL).
    Nothing is created on disk until the first write.
    """

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else default_dir()
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        #: Why the folder is not used as a cache (see `refusal`), once that was found.
        self.problem: str | None = None

    @property
    def db_path(self) -> Path:
        """The SQLite file."""
        return self.directory / DB_NAME

    # ---- keys -------------------------------------------------------------------------------

    def key(self, ctx: FileContext, rules: Iterable[Rule],
            settings: Mapping[str, RuleSetting]) -> str | None:
        """The cache key for this file as the given rules would judge it, or None when the
        file cannot be stat'ed/read (then it is not cached: its gate will say why)."""
        path = ctx.path
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                return None  # never open a FIFO or device: it could block
            fp = fingerprint(path, st.st_size)
        except OSError:
            return None
        rule_list = list(rules)
        config = [
            [r.code, s.severity.value if s.severity else None, dict(s.options)]
            for r in rule_list
            for s in (settings[r.code],)
        ]
        peers = sorted({s for r in rule_list if settings[r.code].severity for s in r.peers})
        material = [
            # The path as shown too: findings (and fix commands) name the file that way.
            _SCHEMA, __version__, _column(path.resolve()), _column(path), st.st_size,
            st.st_mtime_ns,
            change_time_ns(path, st), st.st_ino, fp,
            ctx.slot, ctx.job.edition, ctx.job.whole_spec, dict(ctx.job.body), config,
            _rules_signature(rule_list),
            [[s, [_file_key(p) for p in ctx.job.files.get(s, ())]] for s in peers],
        ]
        try:
            return hashlib.sha256(_dumps(material).encode("utf-8")).hexdigest()
        except TypeError:
            return None

    # ---- storage ----------------------------------------------------------------------------

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None or self._broken:
            return self._conn
        if not create and not self.db_path.exists():
            return None
        try:
            if self._refused(create):
                return None
            conn = sqlite3.connect(self.db_path, timeout=_BUSY_MS / 1000,
                                   check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS results ("
                " key TEXT PRIMARY KEY, path TEXT NOT NULL, findings TEXT NOT NULL,"
                " created REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS results_path ON results(path)")
        except (sqlite3.Error, OSError):
            self._broken = True
            self.stats.failures += 1
            return None
        self._conn = conn
        return conn

    def _refused(self, create: bool) -> bool:
        """Check the folder (see `refusal`) and, when `create`, make it and its files without
        following links (the tag first, so a concurrent run recognises the folder). True when
        it must not be used (`problem` says why).

        :raises OSError: the folder or a file cannot be created.
        """
        problem = refusal(self.directory)
        if problem is None and create:
            self.directory.mkdir(parents=True, exist_ok=True)
            problem = refusal(self.directory)
            if problem is None:
                for name, text in ((CACHEDIR_TAG, _TAG_TEXT), (".gitignore", _GITIGNORE_TEXT)):
                    create_own(self.directory / name, text.encode("utf-8"))
                create_own(self.db_path, mode=0o644)
                problem = refusal(self.directory)
        if problem is not None:
            self.problem = problem
            self._broken = True
            self.stats.failures += 1
        return problem is not None

    def get(self, key: str) -> list[Finding] | None:
        """Cached findings for `key`, or None."""
        with self._lock:
            conn = self._connect(create=False)
            row = None
            if conn is not None:
                try:
                    row = conn.execute("SELECT findings FROM results WHERE key = ?",
                                       (key,)).fetchone()
                except sqlite3.Error:
                    self.stats.failures += 1
            if row is None:
                self.stats.misses += 1
                return None
            try:
                found = decode(row[0])
            except (ValueError, KeyError, TypeError):
                self.stats.misses += 1
                return None
            self.stats.hits += 1
            return found

    def put(self, key: str, path: Path, findings: Iterable[Finding]) -> None:
        """Store findings; older entries for the same path are dropped (one per file stays
        per configuration in use, so the database does not grow without bound)."""
        try:
            payload = encode(findings)
        except TypeError:
            return
        with self._lock:
            conn = self._connect(create=True)
            if conn is None:
                return
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "DELETE FROM results WHERE path = ? AND key != ? AND created < ?",
                        (_column(path), key, time.time() - 7 * 86400),
                    )
                    conn.execute(
                        "INSERT OR REPLACE INTO results (key, path, findings, created)"
                        " VALUES (?, ?, ?, ?)", (key, _column(path), payload, time.time()),
                    )
                self.stats.writes += 1
            except sqlite3.Error:
                self.stats.failures += 1

    def clear(self) -> int:
        """Remove every entry; returns how many there were. The folder stays."""
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return 0
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    (n,) = conn.execute("SELECT COUNT(*) FROM results").fetchone()
                    conn.execute("DELETE FROM results")
                conn.execute("VACUUM")
            except sqlite3.Error as exc:
                from preflight.errors import PreflightError

                raise PreflightError(f"cannot clear the cache {self.db_path}: {exc}") from None
            return int(n)

    def close(self) -> None:
        """Close the database connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CACHEDIR_TAG", "CACHE_DIRNAME", "CacheStats", "ResultCache", "count", "decode",
           "default_dir", "dir_for", "encode", "fingerprint", "is_cache_dir", "refusal",
           "remove"]
