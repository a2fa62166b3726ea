"""Write parts as files (``--materialize``) with the kernel's copy path, never a Python loop
over the bytes: ``os.copy_file_range`` (in-kernel, may share extents on CoW filesystems),
falling back to ``os.sendfile`` where the filesystem pair does not support it. Several parts
are copied at once.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from preflight.errors import PackagingError
from preflight.parts import Range
from preflight.safeio import check_output, open_regular, replace_file

#: Bytes per system call (the kernel may copy less; the loop continues where it stopped).
STEP = 1 << 30
_FALLBACK = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


def _copy_range(src_fd: int, dst_fd: int, offset: int, length: int) -> None:
    done = 0
    use_cfr = hasattr(os, "copy_file_range")
    while done < length:
        count = min(STEP, length - done)
        if use_cfr:
            try:
                n = os.copy_file_range(src_fd, dst_fd, count, offset + done, done)
            except OSError as exc:
                if exc.errno not in _FALLBACK or done:
                    raise
                use_cfr = False
                continue
        else:
            os.lseek(dst_fd, done, os.SEEK_SET)
            n = os.sendfile(dst_fd, src_fd, offset + done, count)
        if n == 0:
            raise PackagingError(f"source ended {length - done} bytes early (changed meanwhile?)")
        done += n


def _write_part(src_fd: int, rng: Range, dst: Path) -> Path:
    tmp = dst.with_name(dst.name + ".tmp")
    check_output(tmp)
    dst_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
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
    except OSError as exc:
        raise PackagingError(f"cannot write parts of {src}: {exc.strerror or exc}") from None
    return paths
