"""Write parts as files (``--materialize``) with the kernel's copy path where there is one:
``os.copy_file_range`` (Linux, FreeBSD: in-kernel, may share extents on CoW filesystems),
falling back to ``os.sendfile`` where the filesystem pair does not support it (only Linux's
copies file to file: macOS's sends to sockets only) and to a buffered copy (`shutil`'s 1 MiB
buffers, no per-byte Python loop) on the systems with neither (Windows, macOS). Several parts
are copied at once.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from preflight.errors import PackagingError
from preflight.parts import Range
from preflight.safeio import check_output, open_fd, open_regular, replace_file

#: Bytes per system call (the kernel may copy less; the loop continues where it stopped).
STEP = 1 << 30
#: Buffer of the copy where the kernel has no file-to-file path.
BUFFER = 1 << 20
_FALLBACK = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}
#: Kernel copies from file to file: ``copy_file_range``, then ``sendfile`` on Linux only
#: (None where missing).
COPY_FILE_RANGE: Callable[[int, int, int, int, int], int] | None = getattr(
    os, "copy_file_range", None)
SENDFILE: Callable[[int, int, int, int], int] | None = (
    getattr(os, "sendfile", None) if sys.platform.startswith("linux") else None)
_PREAD: Callable[[int, int, int], bytes] | None = getattr(os, "pread", None)


def _short(length: int, done: int) -> PackagingError:
    return PackagingError(f"source ended {length - done} bytes early (changed meanwhile?)")


def _copy_buffered(src_fd: int, dst_fd: int, offset: int, length: int, done: int) -> None:
    """Copy with positioned reads (the source descriptor is shared by the copying threads)."""
    os.lseek(dst_fd, done, os.SEEK_SET)
    while done < length:
        chunk = _pread(src_fd, min(BUFFER, length - done), offset + done)
        if not chunk:
            raise _short(length, done)
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst_fd, view):]
        done += len(chunk)


_seek_lock = threading.Lock()


def _pread(fd: int, count: int, offset: int) -> bytes:
    """``os.pread`` where it exists; elsewhere (Windows) a seek and a read under one lock, so
    the position one thread sets is never moved by another's."""
    if _PREAD is not None:
        return _PREAD(fd, count, offset)
    with _seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, count)


def _copy_range(src_fd: int, dst_fd: int, offset: int, length: int) -> None:
    done = 0
    cfr, sendfile = COPY_FILE_RANGE, SENDFILE
    while done < length:
        count = min(STEP, length - done)
        if cfr is not None:
            try:
                n = cfr(src_fd, dst_fd, count, offset + done, done)
            except OSError as exc:
                if exc.errno not in _FALLBACK or done:
                    raise
                cfr = None
                continue
        elif sendfile is not None:
            os.lseek(dst_fd, done, os.SEEK_SET)
            n = sendfile(dst_fd, src_fd, offset + done, count)
        else:
            _copy_buffered(src_fd, dst_fd, offset, length, done)
            return
        if n == 0:
            raise _short(length, done)
        done += n


def _write_part(src_fd: int, rng: Range, dst: Path) -> Path:
    tmp = dst.with_name(dst.name + ".tmp")
    check_output(tmp)
    dst_fd = open_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, follow=False)
    try:
        try:
            _copy_range(src_fd, dst_fd, rng.offset, rng.length)
        finally:
            os.close(dst_fd)
        replace_file(tmp, dst)
    except BaseException:  # a full disk or an interruption leaves no half-written part
        tmp.unlink(missing_ok=True)
        raise
    return dst


def _open_source(src: Path) -> int:
    """A descriptor of `src`, a regular file (a FIFO or device is refused, never read)."""
    with open_regular(src) as fh:
        return os.dup(fh.fileno())


def materialize(src: Path, parts: Sequence[Range], out_dir: Path, stem: str,
                progress: Callable[[int, int], None] | None = None,
                workers: int | None = None) -> list[Path]:
    """Write each part of ``src`` to ``out_dir/<stem>.partNNNN``; returns the paths in order.

    Parts are copied by ``workers`` threads at once (default: one per CPU, at most 4); the
    copies run in the kernel, outside the GIL.

    :raises PackagingError: a read or write fails.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    total = parts[-1].end if parts else 0
    n = max(1, min(workers or min(os.cpu_count() or 1, 4), len(parts)))
    paths: list[Path] = []
    done = 0
    try:
        src_fd = _open_source(src)
        try:
            with ThreadPoolExecutor(n, thread_name_prefix="preflight-copy") as pool:
                futures = [pool.submit(_write_part, src_fd, rng,
                                       out_dir / f"{stem}.part{rng.part_number:04d}")
                           for rng in parts]
                for rng, fut in zip(parts, futures, strict=True):
                    paths.append(fut.result())
                    done += rng.length
                    if progress is not None:
                        progress(done, total)
        finally:
            os.close(src_fd)
    except OSError as exc:  # a part file that cannot be written is named
        where = f"{exc.filename}: " if exc.filename and str(exc.filename) != str(src) else ""
        raise PackagingError(f"cannot write parts of {src}: {where}{exc.strerror or exc}"
                             ) from None
    return paths
