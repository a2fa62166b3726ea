"""Checksums in one streamed pass: per-part MD5 and SHA-256 plus the whole-file SHA-256.

The calling thread reads the file sequentially into a small pool of large buffers; three
worker threads hash each buffer (whole-file SHA-256, part MD5, part SHA-256). hashlib
releases the GIL on large updates, so the three digests run in parallel and the pass costs
about as much as the slowest one (MD5) alone. Memory is the buffer pool, whatever the size
of the file.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.errors import PackagingError
from preflight.parts import Range
from preflight.safeio import open_regular

#: Read size and number of buffers in flight (4 x 4 MiB = 16 MiB, whatever the file size).
CHUNK = 4 * 1024 * 1024
BUFFERS = 4

#: progress(done_bytes, total_bytes), called from the calling thread.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Digests:
    """Whole-file SHA-256 and (md5, sha256) hex digests per part, in part order."""

    sha256: str
    parts: tuple[tuple[str, str], ...]


class _Buffer:
    """A reusable read buffer shared by the hashers until all of them are done with it."""

    def __init__(self, pool: queue.Queue[_Buffer], size: int):
        self.data = bytearray(size)
        self.view = memoryview(self.data)
        self.length = 0
        self.part = 0
        self.last = False
        self._pending = 0
        self._lock = threading.Lock()
        self._pool = pool

    def hand_out(self, users: int) -> None:
        self._pending = users

    def release(self) -> None:
        with self._lock:
            self._pending -= 1
            done = self._pending == 0
        if done:
            self._pool.put(self)


def _worker(q: queue.Queue[_Buffer | None], make: Callable[[], Any], per_part: bool,
            out: list[str], errors: list[BaseException]) -> None:
    """Hash buffers in order until the stop marker; on failure keep releasing buffers."""
    h = make()
    while True:
        buf = q.get()
        if buf is None:
            break
        try:
            if not errors:
                h.update(buf.view[: buf.length])
                if per_part and buf.last:
                    out.append(h.hexdigest())
                    h = make()
        except BaseException as exc:  # handed to the reading thread
            errors.append(exc)
        finally:
            buf.release()
    if not per_part:
        out.append(h.hexdigest())


def hash_ranges(path: Path, parts: Sequence[Range], progress: Progress | None = None,
                *, chunk: int = CHUNK, buffers: int = BUFFERS) -> Digests:
    """Hash ``path`` once: per-part MD5 + SHA-256 and the whole-file SHA-256.

    ``parts`` must tile the file in order (as `plan_parts` makes them).

    :raises PackagingError: the file cannot be read or is shorter than the plan.
    """
    total = parts[-1].end if parts else 0
    pool: queue.Queue[_Buffer] = queue.Queue()
    for _ in range(max(2, buffers)):
        pool.put(_Buffer(pool, chunk))
    queues: list[queue.Queue[_Buffer | None]] = [queue.Queue() for _ in range(3)]
    whole: list[str] = []
    md5s: list[str] = []
    shas: list[str] = []
    errors: list[BaseException] = []
    specs: list[tuple[Callable[[], Any], bool, list[str]]] = [
        (hashlib.sha256, False, whole),
        (lambda: hashlib.md5(usedforsecurity=False), True, md5s),
        (hashlib.sha256, True, shas),
    ]
    threads = [
        threading.Thread(target=_worker, args=(q, make, per_part, out, errors), daemon=True,
                         name=f"preflight-hash-{i}")
        for i, (q, (make, per_part, out)) in enumerate(zip(queues, specs, strict=True))
    ]
    for t in threads:
        t.start()
    done = 0
    try:
        with open_regular(path) as fh:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            fh.seek(parts[0].offset if parts else 0)
            for rng in parts:
                left = rng.length
                while True:
                    if errors:
                        raise errors[0]
                    buf = pool.get()
                    want = min(chunk, left)
                    n = fh.readinto(buf.view[:want]) if want else 0
                    if want and not n:
                        pool.put(buf)
                        raise PackagingError(
                            f"{path}: file ended at byte {done}, expected {total} bytes "
                            "(changed while packaging?)")
                    buf.length, buf.part = n, rng.part_number
                    left -= n
                    buf.last = left == 0
                    buf.hand_out(len(queues))
                    for q in queues:
                        q.put(buf)
                    done += n
                    if progress is not None and n:
                        progress(done, total)
                    if buf.last:
                        break
    except OSError as exc:
        raise PackagingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        for q in queues:
            q.put(None)
        for t in threads:
            t.join()
    if errors:
        raise PackagingError(f"{path}: hashing failed: {errors[0]}")
    return Digests(whole[0], tuple(zip(md5s, shas, strict=True)))


def sha256_file(path: Path, chunk: int = CHUNK) -> str:
    """SHA-256 of a whole (small) file.

    :raises OSError: not a regular file (a FIFO or device is never read).
    """
    h = hashlib.sha256()
    with open_regular(path) as fh:
        buf = bytearray(chunk)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()
