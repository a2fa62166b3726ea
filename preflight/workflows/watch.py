"""Watch a folder and judge every take once it is complete (`preflight watch`).

The watcher keeps one `Take` per media file in the folder (recursively). File-system events
(`watchdog`) or a periodic rescan (the polling fallback: network shares, or when native events
cannot start) mark paths to look at; each `step` stats them. A file is judged only once it is
complete: its size and modification time unchanged for a quiet window, and, where the platform
can tell, no process holding it open for writing. Until then it is "copying…" with its age.
A judged file that changes again (a replaced take) is judged again; a file renamed or deleted
leaves the list. Only the newest `keep_views` takes keep their pictures.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from preflight.metastudio import MEDIA_EXTENSIONS
from preflight.rules.cache import CACHE_DIRNAME
from preflight.workflows.watch_judge import JobState, Judge, Verdict

#: Seconds a file's size and modification time must stay unchanged before it is judged.
QUIET_SECONDS = 1.0
#: Seconds between two rescans of the folder when polling.
POLL_SECONDS = 1.0
#: Takes that keep their pictures (frames) on the page; older ones keep a table row.
KEEP_VIEWS = 50
#: Folders never looked into (besides hidden ones).
SKIP_DIRS = frozenset({CACHE_DIRNAME, "__pycache__", "node_modules"})


def ignored(path: Path, root: Path, outputs: Iterable[Path] = ()) -> bool:
    """Whether the watcher leaves `path` alone: not media, hidden (any part of its path under
    the root starts with a dot, macOS ``._*`` companions included), inside the tool's cache,
    or one of its own outputs."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    if not parts or any(p.startswith(".") or p in SKIP_DIRS for p in parts):
        return True
    if path.suffix.lower() not in MEDIA_EXTENSIONS:
        return True
    return any(path == o for o in outputs)


def open_for_writing(path: Path) -> bool | None:
    """Whether a process still holds `path` open for writing: True/False where the platform
    can tell (Linux: the open files of this user's processes; Windows: an open file cannot be
    renamed), None elsewhere."""
    if sys.platform.startswith("linux"):
        return _linux_writer(path)
    if sys.platform == "win32":
        try:
            os.replace(path, path)
        except PermissionError:
            return True
        except OSError:
            return None
        return False
    return None


def _linux_writer(path: Path) -> bool | None:
    try:
        target = os.path.realpath(path)
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # another user's process, or gone
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") != target:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as info:
                    flags = next((ln.split()[1] for ln in info if ln.startswith("flags:")), "0")
            except (OSError, IndexError):
                continue
            if int(flags, 8) & (os.O_WRONLY | os.O_RDWR):
                return True
    return False


@dataclass
class Take:
    """One media file in the watched folder."""

    path: Path
    shown: str
    size: int
    mtime_ns: int
    #: When (wall clock) the file was first seen, and when it last changed.
    seen_at: float
    changed_at: float
    #: When the file was last looked at.
    looked_at: float = 0.0
    verdict: Verdict | None = None
    #: Order of the latest verdict (higher is newer).
    seq: int = 0
    #: The verdict is for the file as it was when judged (size, mtime).
    judged: tuple[int, int] | None = None

    @property
    def state(self) -> Literal["copying", "judged"]:
        """"judged" when the verdict is for the file as it is now, else "copying"."""
        if self.verdict is not None and self.judged == (self.size, self.mtime_ns):
            return "judged"
        return "copying"

    def age(self, now: float | None = None) -> float:
        """Seconds since the file was first seen."""
        return max(0.0, (time.time() if now is None else now) - self.seen_at)


@dataclass(frozen=True)
class WatchEvent:
    """Something the watcher noticed: a new verdict, a file being copied, one gone."""

    kind: Literal["verdict", "copying", "gone", "job"]
    take: Take | None = None
    #: The take's key before it left the list (for "gone").
    key: str = ""
    #: The job of the spec as it stands (for "job").
    job: JobState | None = None
    #: A verdict listed on start (from the result cache or a fresh check).
    listing: bool = False


@dataclass
class WatchOptions:
    """How to watch: the quiet window, polling, and what to leave out."""

    quiet: float = QUIET_SECONDS
    poll: bool = False
    poll_interval: float = POLL_SECONDS
    keep_views: int = KEEP_VIEWS
    outputs: tuple[Path, ...] = ()


@dataclass
class Watcher:
    """The state of a watched folder; `step` advances it and says what changed."""

    root: Path
    judge: Judge
    options: WatchOptions = field(default_factory=WatchOptions)
    takes: dict[str, Take] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    #: How the folder is watched: "events", "polling", or "polling (why)".
    mode: str = "polling"
    _dirty: set[str] = field(default_factory=set)
    _rescan: bool = True
    _seq: int = 0
    _spec_stamp: tuple[int, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.root = self.root.absolute()
        self.options.outputs = tuple(p.absolute() for p in self.options.outputs)

    # ---- input --------------------------------------------------------------------------

    def touched(self, *paths: str) -> None:
        """Note paths an event named (thread-safe); a folder event rescans the whole tree."""
        with self._lock:
            for p in paths:
                if Path(p).suffix.lower() in MEDIA_EXTENSIONS:
                    self._dirty.add(p)
                else:
                    self._rescan = True
        self.wake.set()

    def rescan(self) -> None:
        """Look at every file again on the next step (polling)."""
        with self._lock:
            self._rescan = True
        self.wake.set()

    def _walk(self) -> Iterator[Path]:
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for e in entries:
                if e.name.startswith(".") or e.name in SKIP_DIRS:
                    continue
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif e.is_file():
                        yield Path(e.path)
                except OSError:
                    continue

    # ---- the step -----------------------------------------------------------------------

    def start(self) -> list[WatchEvent]:
        """The first look: every complete take already there, listed (from the result cache
        where it knows the file); the rest is "copying…"."""
        return self.step(listing=True)

    def step(self, listing: bool = False) -> list[WatchEvent]:
        """Look at what changed, judge what is complete; the events, in order."""
        with self._lock:
            rescan, dirty = self._rescan, set(self._dirty)
            self._rescan = False
            self._dirty.clear()
        paths: set[str] = set(dirty) | {k for k, t in self.takes.items() if t.state != "judged"}
        if rescan:
            found = {str(p) for p in self._walk()}
            paths |= found | set(self.takes)
        events: list[WatchEvent] = []
        for key in sorted(paths):
            events.extend(self._look(key, listing))
        return events

    def _look(self, key: str, listing: bool) -> list[WatchEvent]:
        path = Path(key)
        take = self.takes.get(key)
        if ignored(path, self.root, self.options.outputs):
            return []
        try:
            st = path.stat()
            if not path.is_file():
                raise FileNotFoundError(key)
        except OSError:
            if take is None:
                return []
            del self.takes[key]
            return [WatchEvent("gone", take, key=key)]
        now = self.clock()
        if take is None:
            changed = min(st.st_mtime, now)
            take = Take(path, path.relative_to(self.root).as_posix(), st.st_size, st.st_mtime_ns,
                        now, changed, looked_at=now)
            self.takes[key] = take
            return self._settle(take, now, listing, new=True)
        looked, take.looked_at = take.looked_at, now
        if (st.st_size, st.st_mtime_ns) != (take.size, take.mtime_ns):
            was = take.state
            # The last write happened after the previous look, at its mtime when the clocks
            # agree (a network share's may not: never before that look, never in the future).
            take.changed_at = max(looked, min(st.st_mtime, now))
            take.size, take.mtime_ns = st.st_size, st.st_mtime_ns
            return [WatchEvent("copying", take)] if was == "judged" else []
        return self._settle(take, now, listing, new=False)

    def _settle(self, take: Take, now: float, listing: bool, new: bool) -> list[WatchEvent]:
        """Judge a take that has been quiet long enough and is not open for writing."""
        if take.state == "judged":
            return []
        if now - take.changed_at < self.options.quiet:
            return [WatchEvent("copying", take)] if new else []
        if open_for_writing(take.path):
            take.changed_at = now  # still being written: asked again after another window
            return [WatchEvent("copying", take)] if new else []
        stamp = (take.size, take.mtime_ns)
        verdict = self.judge(take.path, listing=listing)
        try:
            st = take.path.stat()
        except OSError:
            return []  # gone while judged: the next step says so
        if (st.st_size, st.st_mtime_ns) != stamp:
            take.size, take.mtime_ns, take.changed_at = st.st_size, st.st_mtime_ns, self.clock()
            return []  # changed while judged: judged again once quiet
        self._seq += 1
        take.verdict, take.judged, take.seq = verdict, stamp, self._seq
        self._trim()
        return [WatchEvent("verdict", take, listing=listing)]

    def _trim(self) -> None:
        """Keep the pictures of the newest `keep_views` takes only (memory stays bounded)."""
        judged = sorted((t for t in self.takes.values() if t.verdict is not None),
                        key=lambda t: t.seq, reverse=True)
        for t in judged[self.options.keep_views:]:
            assert t.verdict is not None
            t.verdict = t.verdict.without_view()

    # ---- views --------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Takes ready, not ready and still copying."""
        out = {"ready": 0, "not_ready": 0, "copying": 0}
        for t in self.takes.values():
            if t.state != "judged":
                out["copying"] += 1
            elif t.verdict is not None and t.verdict.ready:
                out["ready"] += 1
            else:
                out["not_ready"] += 1
        return out

    # ---- running ------------------------------------------------------------------------

    def observe(self) -> Any:
        """Start native file-system events (or a polling observer when `poll` is set or
        native events cannot start); returns the running observer (call ``stop()``)."""
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                paths = [event.src_path, getattr(event, "dest_path", "") or ""]
                watcher.touched(*(os.fsdecode(p) for p in paths if p))

        observer: Any = None
        if not self.options.poll:
            try:
                observer = Observer()
                observer.schedule(_Handler(), str(self.root), recursive=True)
                observer.start()
                self.mode = "events"
                return observer
            except Exception as exc:
                self.mode = f"polling ({type(exc).__name__}: {exc})"
        observer = PollingObserver(timeout=self.options.poll_interval)
        observer.schedule(_Handler(), str(self.root), recursive=True)
        observer.start()
        if self.mode == "events":
            self.mode = "polling"
        return observer

    def job_events(self) -> list[WatchEvent]:
        """The job of the spec as it stands, when the spec file changed since last asked."""
        spec = self.judge.spec_path
        if spec is None:
            return []
        try:
            st = spec.stat()
            stamp: tuple[int, int] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (-1, -1)
        if stamp == self._spec_stamp:
            return []
        self._spec_stamp = stamp
        return [WatchEvent("job", job=self.judge.job_state())]

    def run(self, on_event: Callable[[WatchEvent], None], stop: threading.Event,
            on_ready: Callable[[str], None] | None = None) -> None:
        """Watch until `stop` is set, calling `on_event` for every event, in order, and
        `on_ready` with the watching mode once events are flowing. The observer starts before
        the first look, so a file that lands between the two is seen by one or the other."""
        observer = self.observe()
        if on_ready is not None:
            on_ready(self.mode)
        try:
            for ev in [*self.job_events(), *self.start()]:
                on_event(ev)
            tick = min(self.options.quiet / 4, 0.25)
            while not stop.is_set():
                self.wake.wait(tick)
                self.wake.clear()
                events = self.step()
                if any(ev.kind == "verdict" for ev in events):
                    self._spec_stamp = None  # a take may be a file the spec names
                for ev in [*events, *self.job_events()]:
                    on_event(ev)
        finally:
            observer.stop()
            observer.join(timeout=5)
