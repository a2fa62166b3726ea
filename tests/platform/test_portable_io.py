"""The portable pieces, each with the POSIX feature it replaces taken away: opening without
O_NONBLOCK/O_NOFOLLOW, owner-only mode without fchmod, part copies without copy_file_range or
sendfile, renames onto a file another program holds, safe standard streams, the change time in
the cache key and one check per file however a spec spells its name."""

from __future__ import annotations

import codecs
import errno
import io
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from preflight import safeio
from preflight.cli import STREAM_ERRORS, safe_streams
from preflight.packager import materialize as mat
from preflight.parts import Range
from preflight.rules.cache import ResultCache
from preflight.workflows.batch import discover
from preflight.workflows.check import check
from tests.platform import posix_only


@pytest.fixture
def no_posix_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open files as on Windows: no O_NONBLOCK, no O_NOFOLLOW."""
    monkeypatch.setattr(safeio, "NONBLOCK", 0)
    monkeypatch.setattr(safeio, "NOFOLLOW", 0)


@posix_only
@pytest.mark.usefixtures("no_posix_flags")
def test_without_the_flags_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "avatar.toml"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO") as info:  # an open would wait for a writer
        safeio.read_text(fifo)
    assert info.value.filename == str(fifo)


@posix_only
@pytest.mark.usefixtures("no_posix_flags")
def test_without_the_flags_a_device_is_refused() -> None:
    with pytest.raises(OSError, match="device"):
        safeio.open_regular("/dev/zero")


@pytest.mark.usefixtures("no_posix_flags")
def test_without_the_flags_a_link_is_refused_where_links_are_not_followed(
        tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.sqlite"
    target.write_bytes(b"kept")
    link = tmp_path / "state.sqlite"
    link.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link") as info:
        safeio.open_fd(link, os.O_RDWR | os.O_CREAT, follow=False)
    assert info.value.errno == errno.ELOOP and target.read_bytes() == b"kept"
    fd = safeio.open_fd(link, os.O_RDONLY)  # a link to a regular file may be read
    os.close(fd)


@pytest.mark.usefixtures("no_posix_flags")
def test_without_the_flags_regular_files_open_and_new_ones_are_created(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text("[job]\n", encoding="utf-8")
    assert safeio.read_text(spec) == "[job]\n"
    fresh = tmp_path / "new.bin"
    fd = safeio.open_fd(fresh, os.O_WRONLY | os.O_CREAT, follow=False)
    os.close(fd)
    assert fresh.is_file()


def test_owner_only_without_fchmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"")
    path.chmod(0o644)
    monkeypatch.delattr(os, "fchmod", raising=False)
    fd = os.open(path, os.O_RDONLY)
    try:
        safeio.make_private(path, fd)
    finally:
        os.close(fd)
    assert stat.S_IMODE(path.stat().st_mode) == (0o600 if sys.platform != "win32" else 0o666)


@pytest.mark.parametrize("kernel", ["copy_file_range", "sendfile", "neither"])
def test_parts_are_the_same_bytes_whichever_copy_the_system_has(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: str) -> None:
    if kernel != "copy_file_range":
        monkeypatch.setattr(mat, "COPY_FILE_RANGE", None)
    if kernel == "neither":  # macOS (sendfile only to sockets), Windows
        monkeypatch.setattr(mat, "SENDFILE", None)
        monkeypatch.setattr(mat, "_PREAD", None)  # Windows has no pread either
        monkeypatch.setattr(mat, "BUFFER", 4096)  # several buffers per part
    present = {"copy_file_range": mat.COPY_FILE_RANGE, "sendfile": mat.SENDFILE}.get(kernel, 1)
    if present is None:
        pytest.skip(f"this system has no {kernel}")
    data = os.urandom(100_003)
    src = tmp_path / "take.mp4"
    src.write_bytes(data)
    ranges = [Range(1, 0, 40_000), Range(2, 40_000, 40_000), Range(3, 80_000, 20_003)]
    paths = mat.materialize(src, ranges, tmp_path / "parts", "take", workers=3)
    assert [p.read_bytes() for p in paths] == [data[:40_000], data[40_000:80_000], data[80_000:]]


def test_a_source_that_shrank_is_reported_by_the_buffered_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mat, "COPY_FILE_RANGE", None)
    monkeypatch.setattr(mat, "SENDFILE", None)
    src = tmp_path / "take.mp4"
    src.write_bytes(b"x" * 1000)
    with pytest.raises(Exception, match="ended 500 bytes early"):
        mat.materialize(src, [Range(1, 0, 1500)], tmp_path / "parts", "take")
    assert not list((tmp_path / "parts").iterdir())  # no half-written part is left


class _Held:
    """os.replace failing as Windows does while another program holds the target."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0
        self.real = os.replace

    def __call__(self, src: Any, dst: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise PermissionError(errno.EACCES, "Access is denied", str(dst))
        self.real(src, dst)


@pytest.fixture
def windows_rename(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    pauses: list[float] = []
    monkeypatch.setattr(safeio, "RETRY_RENAME", True)
    monkeypatch.setattr("preflight.safeio.time.sleep", pauses.append)
    return pauses


def _held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          failures: int) -> tuple[_Held, Path, Path]:
    """A report to rename over an old one that another program holds `failures` times."""
    held = _Held(failures)
    monkeypatch.setattr(os, "replace", held)
    tmp, dst = tmp_path / "report.tmp", tmp_path / "report.html"
    tmp.write_text("new", encoding="utf-8")
    dst.write_text("old", encoding="utf-8")
    return held, tmp, dst


def test_a_rename_onto_a_held_file_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              windows_rename: list[float]) -> None:
    held, tmp, dst = _held(tmp_path, monkeypatch, failures=3)
    safeio.replace_file(tmp, dst)
    assert dst.read_text(encoding="utf-8") == "new" and held.calls == 4
    assert windows_rename == list(safeio.RENAME_PAUSES[:3])


def test_a_file_held_for_good_gets_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 windows_rename: list[float]) -> None:
    held, tmp, dst = _held(tmp_path, monkeypatch, failures=100)
    with pytest.raises(OSError, match="in use by another program") as info:
        safeio.replace_file(tmp, dst)
    assert info.value.filename == str(dst) and not tmp.exists()
    assert dst.read_text(encoding="utf-8") == "old"
    assert held.calls == len(safeio.RENAME_PAUSES) + 1 and sum(windows_rename) < 3


def test_on_posix_a_refused_rename_is_not_retried(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safeio, "RETRY_RENAME", False)
    held = _Held(failures=1)
    monkeypatch.setattr(os, "replace", held)
    with pytest.raises(PermissionError):
        safeio.rename_over(tmp_path / "a", tmp_path / "b")
    assert held.calls == 1


def test_symbols_a_code_page_lacks_become_plain_text() -> None:
    text = "duration ≥ 3:00, ≤ 10:00, fps ≠ 25 — ok ✔"
    assert text.encode("cp1252", STREAM_ERRORS).decode("cp1252") == (
        "duration >= 3:00, <= 10:00, fps != 25 — ok \\u2714")
    assert text.encode("ascii", STREAM_ERRORS) == (
        b"duration >= 3:00, <= 10:00, fps != 25 - ok \\u2714")
    with pytest.raises(UnicodeDecodeError):  # decoding keeps its own strictness
        b"\xff".decode("utf-8", STREAM_ERRORS)


def test_safe_streams_keep_the_encoding_and_a_handler_of_their_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cp = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    utf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    own = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="replace")
    monkeypatch.setattr(sys, "stdout", cp)
    monkeypatch.setattr(sys, "stderr", utf)
    safe_streams()
    assert (cp.encoding, cp.errors, utf.errors) == ("cp1252", STREAM_ERRORS, "strict")
    cp.write("≥")
    cp.flush()
    assert cp.buffer.getvalue() == b">="
    monkeypatch.setattr(sys, "stdout", own)
    safe_streams()
    assert own.errors == "replace"
    assert codecs.lookup_error(STREAM_ERRORS) is not None


def test_cache_key_changes_on_a_same_size_edit_with_the_mtime_put_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    take = tmp_path / "take.mp4"
    take.write_bytes(os.urandom(1_000_000))
    cache = ResultCache(tmp_path / "c")
    check([take], cache=cache, slot="training_video")
    before = os.stat(take)
    with take.open("r+b") as fh:  # a byte outside every sampled block
        fh.seek(65536 + 10)
        old = fh.read(1)
        fh.seek(65536 + 10)
        fh.write(bytes([old[0] ^ 0xFF]))
    os.utime(take, ns=(before.st_atime_ns, before.st_mtime_ns))
    check([take], cache=cache, slot="training_video")
    assert cache.stats.misses == 2 and cache.stats.hits == 0
    cache.close()


def test_a_file_a_spec_names_another_way_is_checked_once(tmp_path: Path) -> None:
    take = tmp_path / "take.mp4"
    take.write_bytes(b"\0" * 1000)
    other = tmp_path / "TAKE.mp4"
    if not other.exists():  # a case-sensitive volume: a hard link is one file under two names
        os.link(take, other)
    (tmp_path / "avatar.toml").write_text(
        '[job]\nname = "x"\n[media]\ntraining_video = "TAKE.mp4"\n', encoding="utf-8")
    targets = discover([tmp_path])
    assert [t.kind for t in targets] == ["spec"]
    assert safeio.file_key(take) == safeio.file_key(other)


def test_the_copy_threads_never_share_a_position(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mat, "_PREAD", None)
    data = os.urandom(50_000)
    src = tmp_path / "src"
    src.write_bytes(data)
    fd = os.open(src, os.O_RDONLY)
    got: list[bytes] = []
    try:
        def read(offset: int) -> None:
            for _ in range(200):
                got.append(mat._pread(fd, 100, offset)[:1])

        threads = [threading.Thread(target=read, args=(o,)) for o in (0, 25_000)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.close(fd)
    assert set(got) <= {data[0:1], data[25_000:25_001]} and len(got) == 400


def test_only_safeio_names_what_some_systems_lack() -> None:
    """POSIX-only ``os`` names (open flags, fchmod, getuid, sendfile, SIGKILL) appear only in
    `preflight.safeio`, behind a check that they exist, and in the materializer's guarded
    sendfile path: a direct use elsewhere breaks on Windows as soon as that path runs."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "preflight"
    posix_only = re.compile(r"(?<![`\w.])os\.(O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC|fchmod|getuid|"
                            r"geteuid|sendfile|getpgid|killpg)\b|\bsignal\.SIGKILL\b")
    allowed = {root / "safeio.py", root / "packager" / "materialize.py"}
    found = [f"{p.relative_to(root)}:{n}: {line.strip()}"
             for p in sorted(root.rglob("*.py")) if p not in allowed
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if posix_only.search(line) and not line.lstrip().startswith("#")]
    assert found == []
