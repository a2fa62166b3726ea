"""The result cache writes only into a real folder of its own, never through a link, and
``cache clear`` removes only what the cache wrote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from preflight.rules.cache import CACHEDIR_TAG, DB_NAME, ResultCache, is_cache_dir, refusal
from preflight.workflows.check import check
from tests.adversarial.conftest import fingerprint, no_internal_error, run_cli


def _cover(folder: Path) -> Path:
    img = folder / "cover.png"
    Image.new("RGB", (900, 600), (90, 120, 150)).save(img, "PNG")
    return img


def test_a_linked_cache_folder_is_refused(tmp_path: Path) -> None:
    important = tmp_path / "important"
    important.mkdir()
    (important / "notes.txt").write_text("mine\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    _cover(work)
    os.symlink("../important", work / ".preflight_cache")
    r = run_cli("check", "cover.png", cwd=work)
    no_internal_error(r)
    assert r.returncode in (0, 1) and "not using" in r.stderr and "symbolic link" in r.stderr
    assert sorted(p.name for p in important.iterdir()) == ["notes.txt"]


def test_links_inside_the_cache_are_never_followed(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache = ResultCache(cache_dir)
    img = _cover(tmp_path)
    check([img], cache=cache)
    cache.close()
    assert is_cache_dir(cache_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in (DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME):
        (cache_dir / name).unlink(missing_ok=True)
        os.symlink(outside / name, cache_dir / name)
    assert refusal(cache_dir) is not None
    again = ResultCache(cache_dir)
    check([img], cache=again)
    assert again.problem and "link" in again.problem and again.stats.writes == 0
    assert list(outside.iterdir()) == []


def test_a_planted_marker_link_is_not_written_through(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep\n", encoding="utf-8")
    os.symlink(victim, cache_dir / CACHEDIR_TAG)
    cache = ResultCache(cache_dir)
    check([_cover(tmp_path)], cache=cache)
    assert cache.stats.writes == 0 and victim.read_text(encoding="utf-8") == "keep\n"


@pytest.mark.parametrize("own", [".gitignore", "CACHEDIR.TAG"])
def test_cache_dir_dot_keeps_the_users_files(tmp_path: Path, own: str) -> None:
    """``check --cache-dir .`` in a folder of one's own: refused (nothing is written there),
    and ``cache clear --cache-dir .`` touches nothing."""
    (tmp_path / own).write_text("*.log\n", encoding="utf-8")
    _cover(tmp_path)
    before = fingerprint(sorted(tmp_path.iterdir()))
    r = run_cli("check", "cover.png", "--cache-dir", ".", cwd=tmp_path)
    no_internal_error(r)
    assert "not a preflight cache" in r.stderr
    assert fingerprint(sorted(tmp_path.iterdir())) == before
    r = run_cli("cache", "clear", "--cache-dir", ".", cwd=tmp_path)
    no_internal_error(r)
    assert r.returncode == 2 and fingerprint(sorted(tmp_path.iterdir())) == before


def test_clear_removes_only_what_the_cache_wrote(tmp_path: Path) -> None:
    """A cache folder that also holds the user's own .gitignore (written by an earlier
    version into a folder given as --cache-dir): only preflight's files go."""
    cache_dir = tmp_path / "c"
    check([_cover(tmp_path)], cache=ResultCache(cache_dir))
    (cache_dir / ".gitignore").write_text("*.log\n", encoding="utf-8")
    (cache_dir / "keep.txt").write_text("mine\n", encoding="utf-8")
    r = run_cli("cache", "clear", "--cache-dir", cache_dir, cwd=tmp_path)
    no_internal_error(r)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in cache_dir.iterdir()) == [".gitignore", "keep.txt"]
    assert (cache_dir / ".gitignore").read_text(encoding="utf-8") == "*.log\n"


def test_a_new_or_empty_folder_becomes_a_cache(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    img = _cover(tmp_path)
    for folder in (empty, tmp_path / "new"):
        cache = ResultCache(folder)
        check([img], cache=cache)
        assert cache.problem is None and cache.stats.writes == 1 and is_cache_dir(folder)
        cache.close()
