"""Batch checks of folders: discovery, ignores, parallel runs in input order, the summary."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.workflows import batch
from preflight.workflows.check import check
from tests.helpers import assert_codes

SPEC = '[job]\nname = "A"\nis_background_replacement = false\n[media]\ntraining_video = "{v}"\n'


def _png(path: Path, size: tuple[int, int] = (900, 600)) -> None:
    from PIL import Image

    Image.new("RGB", size, "gray").save(path, "PNG")


def _wav(path: Path, seconds: float = 0.2) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\1" * int(16000 * seconds))


def mixed_folder(root: Path, n: int = 50) -> Path:
    """`n` files: images, WAVs, empty videos, specs (some naming a video), plus noise."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sub = root / f"set{i % 5}"
        sub.mkdir(exist_ok=True)
        kind = i % 5
        if kind == 0:
            _png(sub / f"cover{i}.png")
        elif kind == 1:
            _wav(sub / f"voice{i}.wav")
        elif kind == 2:
            (sub / f"take{i}.mp4").write_bytes(b"")
        elif kind == 3:
            (sub / f"avatar{i}.toml").write_text(SPEC.format(v=f"../set4/named{i}.mp4"),
                                                 encoding="utf-8")
        else:
            (sub / f"named{i - 1}.mp4").write_bytes(b"")  # named by the spec above
    (root / "notes.txt").write_text("not media", encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    return root


def test_discovery_specs_whole_unnamed_media_alone_noise_skipped(tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "f", 10)
    targets = batch.discover([root])
    kinds = {t.path.name: t.kind for t in targets}
    assert kinds["avatar3.toml"] == "spec" and kinds["cover0.png"] == "media"
    assert "named3.mp4" not in kinds  # checked with its spec
    assert "pyproject.toml" not in kinds and "notes.txt" not in kinds
    assert len(targets) == 8
    assert [t.path for t in targets] == sorted(t.path for t in targets)


def test_gitignore_and_exclude(tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "f", 10)
    (root / ".gitignore").write_text("set1/\n*.png\n!cover5.png\n", encoding="utf-8")
    (root / "set2" / ".gitignore").write_text("take2.mp4\n", encoding="utf-8")
    names = {t.path.name for t in batch.discover([root])}
    assert not any(n.startswith("voice") for n in names)
    assert "cover0.png" not in names and "cover5.png" in names
    assert "take2.mp4" not in names and "take7.mp4" in names
    names = {t.path.name for t in batch.discover([root], exclude=["set3/", "take*.mp4"])}
    assert not any(n.startswith(("take", "avatar")) for n in names)
    names = {t.path.name for t in batch.discover([root / "set0" / "cover0.png"])}
    assert names == {"cover0.png"}  # named explicitly: always checked


def test_parallel_map_keeps_input_order_and_really_overlaps() -> None:
    active, peak = [0], [0]
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02 * (5 - i % 5))
        with lock:
            active[0] -= 1
        return i * i

    assert list(batch.parallel_map(work, range(20), 4)) == [i * i for i in range(20)]
    assert peak[0] > 1
    peak[0] = 0
    assert list(batch.parallel_map(work, range(5), 1)) == [i * i for i in range(5)]
    assert peak[0] == 1


def test_jobs_default_cpu_count_and_serial_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert batch.effective_jobs(None, {}) >= 1
    assert batch.effective_jobs(3, {}) == 3
    assert batch.effective_jobs(8, {"PREFLIGHT_SERIAL": "1"}) == 1
    monkeypatch.setenv("PREFLIGHT_SERIAL", "yes")
    assert batch.effective_jobs(None) == 1


def test_library_check_of_a_folder_is_one_report_in_input_order(tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "f", 10)
    parallel = check(root, jobs=4)
    serial = check(root, jobs=1)
    assert parallel.findings == serial.findings
    assert_codes(parallel, expect=["VID001", "REQ031"])
    assert str(root / "set3" / "avatar3.toml") in parallel.files


def test_cli_checks_fifty_mixed_files_in_parallel_with_a_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_folder(tmp_path / "f", 50)
    monkeypatch.chdir(tmp_path)
    seen: set[str] = set()
    real = batch.Checker.__call__

    def spy(self: batch.Checker, target: batch.Target) -> batch.Outcome:
        seen.add(threading.current_thread().name)
        return real(self, target)

    monkeypatch.setattr(batch.Checker, "__call__", spy)
    result = CliRunner().invoke(cli, ["check", "f", "--jobs", "4", "--no-cache"])
    assert result.exit_code == 1, result.output
    assert any(name.startswith("preflight") for name in seen)
    lines = result.output.splitlines()
    head = lines.index("family    files  errors  warnings  infos")
    table = {ln.split()[0]: ln.split()[1:] for ln in lines[head + 1:-1]}
    assert table["VID"][:2] == ["20", "20"]  # 10 alone + 10 named by specs; all empty
    assert table["PKG"][0] == "20"  # the part-count rules looked at the same videos
    assert table["REQ"][0] == "10" and table["IMG"][0] == "10" and table["AUD"][0] == "10"
    assert table["total"][0] == "50"
    assert lines[-1] == "(10 specs and 30 loose files checked)"
    paths = [ln.split(":")[0] for ln in lines if ": VID001" in ln]
    assert paths == sorted(paths)  # input order
    serial = CliRunner().invoke(cli, ["check", "f", "--no-cache"], env={"PREFLIGHT_SERIAL": "1"})
    assert serial.output == result.output


def test_cli_structured_formats_keep_stdout_clean(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    mixed_folder(tmp_path / "f", 10)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["check", "f", "--format", "json", "--no-cache"])
    data = json.loads(result.stdout)
    assert data["summary"]["files"] == 10
    assert "family" in result.stderr
    out = tmp_path / "r.sarif"
    result = runner.invoke(cli, ["check", "f", "--format", "sarif", "-o", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_broken_spec_in_a_folder_is_reported_and_exits_2(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = mixed_folder(tmp_path / "f", 5)
    (root / "bad-avatar.toml").write_text("[job]\nname = 'x'\n[oops]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["check", "f", "--no-cache"])
    assert result.exit_code == 2
    assert "bad-avatar.toml:3:1: error: unknown section [oops]" in result.stderr
    assert "1 could not be checked" in result.output


def test_empty_folder_exits_2(tmp_path: Path) -> None:
    """A CI gate must not pass with nothing checked."""
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "no job specs or media files found" in result.stderr
    assert "nothing to check" in result.stderr


def test_hidden_folders_and_files_are_skipped_unless_named(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Outside a repository too: `.trash/`, `.thumbnails/` and macOS `._take.mp4` files are
    not walked; a hidden path named on the command line is checked."""
    root = tmp_path / "shoot"
    (root / ".trash").mkdir(parents=True)
    (root / "takes").mkdir()
    _png(root / "takes" / "cover.png")
    (root / ".trash" / "old.mp4").write_bytes(b"")
    (root / "takes" / "._cover.png").write_bytes(b"\0\5\26\7")  # AppleDouble sidecar
    (root / ".hidden.png").write_bytes(b"")
    assert not (tmp_path / ".git").exists()
    assert [t.path.name for t in batch.discover([root])] == ["cover.png"]
    named = batch.discover([root / ".trash", root / "takes" / "._cover.png"])
    assert [t.path.name for t in named] == ["old.mp4", "._cover.png"]

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["check", "shoot", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert ".trash" not in result.output and "._cover" not in result.output
    result = runner.invoke(cli, ["check", "shoot/.trash", "--no-cache"])
    assert result.exit_code == 1 and "old.mp4" in result.output and "VID001" in result.output


def _spec_of_six(root: Path, media_factory: Any) -> Path:
    """A whole spec naming six files (a video, audio, cover, both ID card sides, a letter)."""
    root.mkdir(parents=True, exist_ok=True)
    _wav(root / "voice.wav", 2.0)
    for name in ("cover.png", "front.png", "back.png"):
        _png(root / name)
    spec = root / "avatar.toml"
    spec.write_text(
        '[job]\nname = "A"\nis_background_replacement = true\naudio_source_type = "AUDIO"\n'
        f'[media]\ntraining_video = "{media_factory.video().as_posix()}"\n'
        'audio = ["voice.wav"]\ncover = "cover.png"\nid_card_front = "front.png"\n'
        f'id_card_back = "back.png"\ngrant_file = "{media_factory.pdf().as_posix()}"\n',
        encoding="utf-8")
    return spec


def test_the_files_of_one_spec_are_checked_at_once_with_the_same_findings(
        tmp_path: Path, media_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.rules.engine import Engine

    spec = _spec_of_six(tmp_path / "job", media_factory)
    serial = check(spec, jobs=1)
    real = Engine._file_findings
    lock = threading.Lock()
    running, most, threads = [0], [0], set()

    def spy(self: Engine, ctx: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
        try:
            time.sleep(0.05)  # long enough for the other worker to take the next file
            return real(self, ctx)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(Engine, "_file_findings", spy)
    parallel = check(spec, jobs=2)
    assert most[0] == 2 and len(threads) == 2
    assert parallel.findings == serial.findings  # the same findings, in the same order
    running[0] = most[0] = 0
    monkeypatch.setenv("PREFLIGHT_SERIAL", "1")
    assert check(spec).findings == serial.findings and most[0] == 1
