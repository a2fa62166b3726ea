"""Careful file access: read only regular files, read text inputs up to a cap, and never
replace anything but a regular file.

A FIFO blocks an ``open``, ``/dev/zero`` never ends and a 50 MB "spec" costs gigabytes once
parsed, so every input is opened without blocking (``O_NONBLOCK``), checked with ``fstat`` on
the open descriptor (no race between the check and the read), and text inputs (specs,
configurations, manifests) are read up to `MAX_TEXT_BYTES`. Outputs are written next to their
target and renamed over it only when the target is missing or a regular file: a device, FIFO,
socket, folder or symbolic link is refused, and so is an output that is one of the inputs.

The refusals are plain `OSError` instances with a readable ``strerror``, so every caller's existing
``except OSError`` turns them into its own error with the file's name.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import unicodedata
from collections.abc import Iterable
from pathlib import Path

#: Cap on specs, configurations, manifests and other text inputs (a real one is a few KB).
MAX_TEXT_BYTES = 4 * 1024 * 1024


def _kind(mode: int) -> str:
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")


def not_regular(path: Path | str, mode: int) -> OSError:
    """The refusal of a FIFO, device, socket or folder: it is never opened for reading."""
    return OSError(errno.EINVAL, f"is {_kind(mode)}, not a regular file", str(path))


def too_large(path: Path | str, size: int, limit: int) -> OSError:
    """The refusal of a text input larger than its cap."""
    return OSError(errno.EFBIG, f"is {size:,} bytes, over the {limit:,}-byte limit for this "
                   "kind of file", str(path))


def unsafe_output(path: Path | str, why: str) -> OSError:
    """The refusal of an output path that must not be replaced."""
    return OSError(errno.EEXIST, why, str(path))


def kind_problem(path: Path | str) -> str | None:
    """Why `path` (links followed) cannot be read as a regular file, or None."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    if not stat.S_ISREG(st.st_mode):
        return f"is {_kind(st.st_mode)}, not a regular file"
    return None


def open_regular(path: Path | str) -> io.FileIO:
    """Open `path` for reading, only if it is a regular file (checked on the descriptor).

    :raises OSError: a FIFO, device, socket or folder (the open never blocks), or it cannot
        be opened.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(path, st.st_mode)
        os.set_blocking(fd, True)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: Path | str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    :raises OSError: not a regular file, or larger than `limit` (also when it grows while
        being read).
    """
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise too_large(path, size, limit)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise too_large(path, len(data), limit)
    return data


def read_text(path: Path | str, limit: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text input of at most `limit` bytes (see `read_capped`).

    :raises UnicodeDecodeError: not UTF-8.
    """
    return read_capped(path, limit).decode("utf-8")


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_output(path: Path | str, inputs: Iterable[Path | str] = ()) -> None:
    """Refuse to write `path` unless it is missing or a regular file that is none of `inputs`.

    :raises OSError: a device, FIFO, socket, folder or symbolic link, or one of the
        inputs (the same file under any name, hard links included).
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise unsafe_output(path, "is a symbolic link; not replacing it (give its target or a "
                           "new path)")
    if not stat.S_ISREG(st.st_mode):
        raise unsafe_output(path, f"is {_kind(st.st_mode)}; only a regular file or a new "
                            "path can be written")
    for src in inputs:
        try:
            if _same(st, os.stat(src)):
                raise unsafe_output(path, f"is the input {src}; writing it would destroy it")
        except FileNotFoundError:
            continue


def replace_file(tmp: Path | str, dst: Path | str, inputs: Iterable[Path | str] = ()) -> None:
    """Rename `tmp` over `dst` after `check_output` (the temp file is removed on refusal)."""
    try:
        check_output(dst, inputs)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def archive_name(name: str) -> tuple[str, str | None]:
    """A file name as a flat zip entry: (NFC name, why it cannot be one or None).

    Control characters, slashes and backslashes cannot be entry names; names are compared by
    `archive_key` (NFC, case folded), as Windows and macOS would unpack them.
    """
    normal = unicodedata.normalize("NFC", name)
    if normal in ("", ".", "..") or any(ord(c) < 32 or c in "/\\" for c in normal):
        return normal, "has a control character, slash or backslash in its name"
    try:
        normal.encode("utf-8")
    except UnicodeEncodeError:
        return normal, "has a name that is not valid UTF-8"
    return normal, None


def archive_key(name: str) -> str:
    """The key under which two entry names collide (NFC, case folded)."""
    return unicodedata.normalize("NFC", name).casefold()
