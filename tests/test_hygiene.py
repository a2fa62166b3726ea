"""The suite leaves the repository as it found it: no result cache, no pytest cache."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from preflight.cli import cli
from tests.helpers import result_caches

REPO = Path(__file__).resolve().parent.parent


def test_result_caches_finds_every_cache_folder(tmp_path: Path) -> None:
    assert result_caches(tmp_path) == set()
    (tmp_path / "sample_media" / ".preflight_cache").mkdir(parents=True)
    (tmp_path / ".preflight_cache").mkdir()
    (tmp_path / ".venv" / "x" / ".preflight_cache").mkdir(parents=True)  # not searched
    (tmp_path / "preflight_cache").mkdir()  # another name
    assert result_caches(tmp_path) == {tmp_path / ".preflight_cache",
                                       tmp_path / "sample_media" / ".preflight_cache"}


def test_tests_run_in_a_temp_folder_so_caches_stay_out_of_the_repo(tmp_path: Path) -> None:
    from PIL import Image

    cwd = Path.cwd()
    assert cwd != REPO and REPO not in cwd.parents
    mine = REPO / ".preflight_cache" / "results.sqlite3"  # one a user's own check left there
    before = mine.stat().st_mtime_ns if mine.exists() else None
    Image.new("RGB", (900, 600), "gray").save(tmp_path / "cover.png")
    assert CliRunner().invoke(cli, ["check", str(tmp_path / "cover.png")]).exit_code == 0
    assert (cwd / ".preflight_cache" / "results.sqlite3").is_file()  # a loose file: here
    assert (mine.stat().st_mtime_ns if mine.exists() else None) == before


def test_pytest_writes_no_cache_folder() -> None:
    import tomllib

    opts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "-p no:cacheprovider" in opts["tool"]["pytest"]["ini_options"]["addopts"]
