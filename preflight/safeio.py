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

The same refusals hold on every system. Each POSIX open flag is used only where it exists
(Windows has no ``O_NONBLOCK``, ``O_NOFOLLOW`` or ``O_CLOEXEC``); where one is missing, the path
is checked with ``stat``/``lstat`` before it is opened (a FIFO or device is never opened, a link
never followed) and the descriptor with ``fstat`` after. Files are always opened in binary mode
(``O_BINARY`` on Windows, where a descriptor is otherwise in text mode and rewrites line ends).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

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


#: Open flags that only some systems have (0 where missing: Windows lacks the first three).
NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
#: Descriptors are not inherited by child processes: ``O_CLOEXEC`` (POSIX) or ``O_NOINHERIT``
#: (Windows); Python's own default (PEP 446) besides.
NOINHERIT: int = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0)
#: Binary mode: only Windows has the flag (and needs it: its descriptors default to text mode).
BINARY: int = getattr(os, "O_BINARY", 0)


def symlink_refused(path: Path | str) -> OSError:
    """The refusal of a symbolic link where a file is opened without following links."""
    return OSError(errno.ELOOP, "is a symbolic link; refusing to follow it", str(path))


def open_fd(path: Path | str, flags: int, mode: int = 0o600, *, follow: bool = True) -> int:
    """``os.open`` of a regular file (or a new one, with ``O_CREAT``), the same on every system.

    Adds binary mode and no-inheritance; opens without blocking where ``O_NONBLOCK`` exists and
    checks the descriptor with ``fstat``; where it does not, refuses a FIFO or device by ``stat``
    first. With ``follow=False`` a symbolic link at `path` is refused (``O_NOFOLLOW``, or
    ``lstat`` where the flag is missing).

    :raises OSError: a FIFO, device, socket, folder or (``follow=False``) symbolic link, or it
        cannot be opened.
    """
    extra = NONBLOCK | BINARY | NOINHERIT | (0 if follow else NOFOLLOW)
    if not NONBLOCK or not (follow or NOFOLLOW):
        try:
            st = os.stat(path) if follow else os.lstat(path)
        except FileNotFoundError:
            pass  # created by the open (O_CREAT) or reported by it
        else:
            if stat.S_ISLNK(st.st_mode):
                raise symlink_refused(path)
            if not stat.S_ISREG(st.st_mode):
                raise not_regular(path, st.st_mode)
    try:
        fd = os.open(path, flags | extra, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise symlink_refused(path) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(path, st.st_mode)
        if NONBLOCK and sys.platform != "win32":
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(path: Path | str) -> io.FileIO:
    """Open `path` for reading, only if it is a regular file (checked on the descriptor).

    :raises OSError: a FIFO, device, socket or folder (the open never blocks), or it cannot
        be opened.
    """
    return io.FileIO(open_fd(path, os.O_RDONLY), "rb", closefd=True)


def make_private(path: Path | str, fd: int | None = None) -> None:
    """Make a file readable and writable by its owner only, by the system's means: ``fchmod``
    on the open descriptor where it exists, ``chmod`` of the path elsewhere (on Windows this
    only clears the read-only flag; privacy there comes from the per-user folder's ACL)."""
    if fd is not None and hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)
    else:
        os.chmod(path, 0o600)


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


def file_key(path: Path | str) -> tuple[int, int] | str:
    """What one file is known by, however it is named: (device, inode) of its target, so
    ``Take.MP4`` and ``take.mp4`` on a case-insensitive volume (macOS, Windows) or two hard
    links are one file; the resolved path where the file cannot be stat'ed or has no inode."""
    try:
        st = os.stat(path)
    except OSError:
        return os.path.normcase(os.path.realpath(path))
    if st.st_ino == 0:
        return os.path.normcase(os.path.realpath(path))
    return st.st_dev, st.st_ino


def change_time_ns(path: Path | str, st: os.stat_result) -> int | None:
    """When the file last changed by the system's own clock, which no program can set back
    (unlike the mtime): ``st_ctime_ns`` on POSIX; the NTFS change time on Windows, where
    ``st_ctime`` is the creation time (None when it cannot be read)."""
    if sys.platform == "win32":
        return _windows_change_time(path)
    return st.st_ctime_ns


if sys.platform == "win32":
    import ctypes
    import msvcrt
    from ctypes import wintypes

    class _BasicInfo(ctypes.Structure):
        """FILE_BASIC_INFO (times in 100 ns units since 1601)."""

        _fields_ = [("CreationTime", ctypes.c_int64), ("LastAccessTime", ctypes.c_int64),
                    ("LastWriteTime", ctypes.c_int64), ("ChangeTime", ctypes.c_int64),
                    ("FileAttributes", wintypes.DWORD)]

    def _windows_change_time(path: Path | str) -> int | None:
        try:
            fd = open_fd(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            info = _BasicInfo()
            ok = ctypes.windll.kernel32.GetFileInformationByHandleEx(
                msvcrt.get_osfhandle(fd), 0, ctypes.byref(info), ctypes.sizeof(info))
            return int(info.ChangeTime) * 100 if ok else None
        finally:
            os.close(fd)


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


#: Whether a rename may meet a file held open by another program (Windows: a player, a
#: virus scanner or an indexer keeps it briefly; POSIX renames over open files).
RETRY_RENAME = sys.platform == "win32"
#: Pauses between renames of a held file (about 2 s in all), then a clear error.
RENAME_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.5, 0.75)


def rename_over(src: Path | str, dst: Path | str) -> None:
    """``os.replace`` that waits briefly for a target another program holds open (Windows).

    :raises OSError: it still fails; a held file says so and names it.
    """
    for pause in (*RENAME_PAUSES, None) if RETRY_RENAME else (None,):
        try:
            os.replace(src, dst)
            return
        except PermissionError as exc:
            if pause is None:
                if not RETRY_RENAME:
                    raise
                raise OSError(exc.errno, "is in use by another program (a player, editor or "
                              "virus scanner?); close it and try again", str(dst)) from None
        time.sleep(pause)


def replace_file(tmp: Path | str, dst: Path | str, inputs: Iterable[Path | str] = ()) -> None:
    """Rename `tmp` over `dst` after `check_output` (the temp file is removed on refusal)."""
    try:
        check_output(dst, inputs)
        rename_over(tmp, dst)
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


def _input_ids(inputs: Iterable[Path | str]) -> dict[tuple[int, int], str]:
    """(device, inode) -> name of each input that exists (links followed)."""
    ids: dict[tuple[int, int], str] = {}
    for src in inputs:
        try:
            st = os.stat(src)
        except (OSError, ValueError):
            continue
        ids.setdefault((st.st_dev, st.st_ino), str(src))
    return ids


def refuse_output(path: Path | str, inputs: Iterable[Path | str] = ()) -> None:
    """Refuse an output path before anything is written: it must be a new name or a regular
    file (not a link, FIFO, device, socket or folder; checked with ``lstat``, never opened)
    that is none of `inputs` (the same file under any name: hard links, or a symbolic link
    pointing at an input).

    :raises OSError: the path must not be written.
    """
    ids = _input_ids(inputs)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            target = None
        if target is not None and (target.st_dev, target.st_ino) in ids:
            raise unsafe_output(path, f"is a link to the input {ids[target.st_dev, target.st_ino]}"
                                "; writing it would destroy the input")
    check_output(path, ids.values())


def _new_temp(folder: Path) -> tuple[int, Path]:
    """A new file with an unpredictable name in `folder`, created exclusively (never through
    a link), with the permissions a new file gets under the umask."""
    import secrets

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOINHERIT | NOFOLLOW | BINARY
    for _ in range(16):
        tmp = folder / f".preflight-{secrets.token_hex(8)}.part"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "cannot create a temporary file", str(folder))


def temp_name(dst: Path | str, suffix: str = "") -> Path:
    """An unpredictable, unused name next to `dst` ending in `suffix`, for a tool that creates
    the file itself (e.g. ffmpeg); nobody can plant a link there in advance. The caller renames
    it with `replace_file` or removes it."""
    import secrets

    folder = Path(dst).absolute().parent
    return folder / f".preflight-{secrets.token_hex(12)}.part{suffix}"


@contextlib.contextmanager
def writing(dst: Path | str, inputs: Iterable[Path | str] = ()) -> Iterator[BinaryIO]:
    """Write `dst` safely: refused up front by `refuse_output`, written to an exclusively
    created temporary file with an unpredictable name in the same folder, then renamed over
    `dst` (checked again, so a link or FIFO planted meanwhile is not replaced). On any failure
    the temporary file is removed and `dst` is untouched.

    :raises OSError: the output is refused or cannot be written.
    """
    sources = list(inputs)
    refuse_output(dst, sources)
    fd, tmp = _new_temp(Path(dst).absolute().parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        refuse_output(dst, sources)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_output(dst: Path | str, data: bytes, inputs: Iterable[Path | str] = ()) -> None:
    """Write `data` to `dst` through `writing` (never an input, never through a link)."""
    with writing(dst, inputs) as fh:
        fh.write(data)


def read_own(path: Path | str, limit: int = 4096) -> bytes:
    """Up to `limit` bytes of a regular file that is not a symbolic link (a file a tool wrote
    itself: never read through a link planted in its place).

    :raises OSError: missing, a link, not a regular file, or unreadable.
    """
    fd = open_fd(path, os.O_RDONLY, follow=False)
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def create_own(path: Path | str, data: bytes = b"", mode: int = 0o644) -> bool:
    """Create `path` with `data` only if nothing is there (not even a link); returns whether
    it was created.

    :raises OSError: it cannot be created.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOINHERIT | NOFOLLOW | BINARY
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return True


def os_lock(path: Path | str, timeout: float = 0.0) -> Any:
    """Take the OS lock of the lock file `path` (created without following a link; the kernel
    releases the lock when the process dies) and return it (a ``filelock.FileLock`` to
    ``release()``), or None when another process holds it after `timeout` seconds.

    :raises OSError: the lock file is a link, or cannot be created or locked.
    """
    from filelock import FileLock, Timeout

    create_own(path, mode=0o600)
    if os.path.islink(path):
        raise OSError(errno.ELOOP, "is a symbolic link; refusing to use it as a lock", str(path))
    lock = FileLock(str(path), timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        return None
    return lock
