"""The result cache: hits skip the rules, any change misses, concurrent use is safe."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.rules.cache import ResultCache
from preflight.rules.config import Config, RuleOverride
from preflight.rules.engine import Engine
from preflight.workflows.check import check
from tests.helpers import codes


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every file the engine runs its file rules on (a cache hit runs none)."""
    calls: list[str] = []
    real = Engine._run_file_rules

    def counting(self: Engine, ctx: Any, rules: Any) -> Any:
        calls.append(str(ctx.path))
        return real(self, ctx, rules)

    monkeypatch.setattr(Engine, "_run_file_rules", counting)
    return calls


def _image(path: Path, color: str = "red") -> Path:
    from PIL import Image

    Image.new("RGB", (900, 600), color).save(path, "PNG")
    return path


def test_unchanged_file_is_served_from_the_cache(tmp_path: Path, counted: list[str]) -> None:
    img = _image(tmp_path / "cover.png")
    cache = ResultCache(tmp_path / "c")
    first = check([img], cache=cache)
    assert counted and cache.stats.misses == 1 and cache.stats.writes == 1
    counted.clear()
    second = check([img], cache=cache)
    assert counted == [] and cache.stats.hits == 1
    assert second.findings == first.findings
    assert (tmp_path / "c" / ".gitignore").read_text(encoding="utf-8").strip().endswith("*")


def test_changes_to_file_rules_or_job_miss(tmp_path: Path, counted: list[str]) -> None:
    img = _image(tmp_path / "cover.png")
    cache = ResultCache(tmp_path / "c")
    check([img], cache=cache)
    _image(img, "blue")  # same size, new content and mtime
    os.utime(img, ns=(1, 1))
    check([img], cache=cache)
    check([img], cache=cache, config=Config(ignore=("IMG002",)))
    option = RuleOverride(options={"max_pixels": 1000})
    assert "IMG002" in codes(check([img], cache=cache, config=Config(rules={"IMG002": option})))
    check([img], cache=cache, job={"is_flexus": True})
    check([img], cache=cache, edition="live-copy")
    assert cache.stats.hits == 0 and cache.stats.misses == 6
    counted.clear()
    check([img], cache=cache, job={"is_flexus": True})
    # Only the settings of rules that judge this slot count: IMG006 is for ID cards.
    check([img], cache=cache, config=Config(ignore=("IMG006",)))
    assert cache.stats.hits == 2 and counted == []


def test_empty_and_missing_files_are_not_cached(tmp_path: Path) -> None:
    (tmp_path / "e.mp4").write_bytes(b"")
    cache = ResultCache(tmp_path / "c")
    check([tmp_path / "e.mp4", tmp_path / "gone.mp4"], cache=cache)
    assert cache.stats.writes == 0 and not (tmp_path / "c").exists()


def test_concurrent_threads_and_processes_share_the_cache(tmp_path: Path) -> None:
    imgs = [_image(tmp_path / f"i{n}.png") for n in range(6)]
    cache = ResultCache(tmp_path / "c")
    threads = [threading.Thread(target=check, args=([p],), kwargs={"cache": cache})
               for p in imgs]
    code = ("import sys; from preflight.workflows.check import check; "
            "check(sys.argv[2:], cache=sys.argv[1])")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "c"),
                               *map(str, imgs)]) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p.wait(timeout=60) == 0 for p in procs)
    again = ResultCache(tmp_path / "c")
    check(imgs, cache=again)
    assert again.stats.hits == len(imgs)


def test_a_cache_hit_does_not_load_media_libraries(tmp_path: Path) -> None:
    img = _image(tmp_path / "cover.png")
    check([img], cache=tmp_path / "c")
    code = ("import sys; from preflight.workflows.check import check; "
            "check([sys.argv[1]], cache=sys.argv[2]); "
            "print(sorted(m for m in ('av', 'numpy', 'PIL', 'pymediainfo') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(img), str(tmp_path / "c")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_no_cache_cache_dir_and_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.chdir(tmp_path)
    _image(tmp_path / "cover.png")
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "cover.png", "--no-cache"]).exit_code == 0
    assert not (tmp_path / ".preflight_cache").exists()
    assert runner.invoke(cli, ["check", "cover.png"]).exit_code == 0
    assert (tmp_path / ".preflight_cache" / "results.sqlite3").is_file()
    assert runner.invoke(cli, ["check", "cover.png", "--cache-dir", "elsewhere"]).exit_code == 0
    assert (tmp_path / "elsewhere" / "results.sqlite3").is_file()
    result = runner.invoke(cli, ["cache", "clear"])
    assert result.exit_code == 0
    gone = tmp_path / ".preflight_cache"
    assert result.output == f"preflight: removed {gone} (1 cached result)\n"
    assert not (tmp_path / ".preflight_cache").exists()
    result = runner.invoke(cli, ["cache", "clear", "--cache-dir", "nothing-here"])
    assert result.exit_code == 0 and "no result cache at nothing-here" in result.output
    result = runner.invoke(cli, ["cache", "clear", "--cache-dir", "elsewhere"])
    assert result.exit_code == 0 and "removed elsewhere (1 cached result)" in result.output
    assert not (tmp_path / "elsewhere").exists()


def test_cache_folder_is_tagged_and_ignored_by_git(tmp_path: Path) -> None:
    check([_image(tmp_path / "cover.png")], cache=ResultCache(tmp_path / "c"))
    tag = (tmp_path / "c" / "CACHEDIR.TAG").read_text(encoding="utf-8")
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    status = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain",
                             "--untracked-files=all"], capture_output=True, text=True,
                            check=True).stdout
    assert "cover.png" in status and "c/" not in status


def test_cache_clear_of_a_spec_or_folder_removes_the_cache_its_checks_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check shoot/avatar.toml` writes shoot/.preflight_cache, whatever the current folder;
    `cache clear shoot/avatar.toml` (or `cache clear shoot`) removes that one, not others."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    _image(shoot / "cover.png")
    spec = shoot / "avatar.toml"
    spec.write_text('[job]\nname = "A"\n[media]\ncover = "cover.png"\n', encoding="utf-8")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _image(elsewhere / "own.png")
    runner = CliRunner()
    runner.invoke(cli, ["check", str(spec)])
    assert runner.invoke(cli, ["check", "own.png"]).exit_code == 0
    assert (shoot / ".preflight_cache" / "results.sqlite3").is_file()
    assert (elsewhere / ".preflight_cache" / "results.sqlite3").is_file()
    result = runner.invoke(cli, ["cache", "clear", str(spec)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"preflight: removed {shoot / '.preflight_cache'} (")
    assert not (shoot / ".preflight_cache").exists()
    assert (elsewhere / ".preflight_cache").is_dir()  # another folder's cache stays
    runner.invoke(cli, ["check", str(spec)])
    result = runner.invoke(cli, ["cache", "clear", str(shoot), str(shoot / ".preflight_cache")])
    assert result.exit_code == 0 and result.output.count("removed") == 1  # the same cache once
    result = runner.invoke(cli, ["cache", "clear", str(shoot)])
    assert "no result cache at" in result.output and result.exit_code == 0
    result = runner.invoke(cli, ["cache", "clear", str(shoot / "cover.png")])
    assert result.exit_code == 2 and "not a spec or a folder" in result.output


def test_a_folder_check_keeps_its_cache_in_the_folder_and_clear_finds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    _image(shoot / "cover.png")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "shoot"]).exit_code == 0
    assert (shoot / ".preflight_cache" / "results.sqlite3").is_file()
    assert not (tmp_path / ".preflight_cache").exists()
    again = runner.invoke(cli, ["check", "shoot"])
    assert "1 file from cache" in again.output, again.output
    result = runner.invoke(cli, ["cache", "clear", "shoot"])
    assert result.exit_code == 0 and "removed shoot/.preflight_cache (1 cached result)" in (
        result.output), result.output
    assert not (shoot / ".preflight_cache").exists()
    # Several targets share one cache in the current folder, as before.
    assert runner.invoke(cli, ["check", "shoot", "shoot/cover.png"]).exit_code == 0
    assert (tmp_path / ".preflight_cache").is_dir()


def test_cache_clear_never_deletes_a_folder_that_is_not_a_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    own = tmp_path / ".preflight_cache"
    own.mkdir()
    (own / "results.sqlite3").write_bytes(b"my own data")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("keep", encoding="utf-8")
    runner = CliRunner()
    for args in (["cache", "clear"], ["cache", "clear", "--cache-dir", "work"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and "is not a preflight result cache" in result.stderr
    assert (own / "results.sqlite3").read_bytes() == b"my own data"
    assert (tmp_path / "work" / "notes.txt").is_file()
    # a real cache with a stranger's file in it: the cache goes, the stranger's file stays
    check([_image(tmp_path / "cover.png")], cache=ResultCache(tmp_path / "c"))
    (tmp_path / "c" / "mine.txt").write_text("x", encoding="utf-8")
    result = runner.invoke(cli, ["cache", "clear", "--cache-dir", "c"])
    assert result.exit_code == 0 and "(1 cached result)" in result.output
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["mine.txt"]


def test_a_broken_cache_file_never_fails_a_check(tmp_path: Path) -> None:
    img = _image(tmp_path / "cover.png")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "results.sqlite3").write_bytes(b"not a database" * 100)
    cache = ResultCache(tmp_path / "c")
    assert check([img], cache=cache).findings == check([img]).findings
