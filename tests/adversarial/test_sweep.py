"""The sweep: hundreds of hostile inputs checked in every format by real processes. No
traceback, no "internal error", no modified input; every report parses strictly.

The seed is printed; ``PREFLIGHT_SWEEP_SEED=N`` replays a run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.adversarial.conftest import no_internal_error, run_cli
from tests.adversarial.hostile import build, snapshot, validate

FORMATS = ("json", "sarif", "junit", "github", "text")


@pytest.fixture(scope="module")
def hostile(media_factory: object, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, list[Path], int]:
    seed = int(os.environ.get("PREFLIGHT_SWEEP_SEED") or random.SystemRandom().randrange(2**31))
    print(f"hostile sweep seed: {seed} (replay with PREFLIGHT_SWEEP_SEED={seed})")
    root = tmp_path_factory.mktemp("sweep") / "inputs"
    root.mkdir()
    return root, build(root, media_factory, seed), seed


def test_the_generator_makes_hundreds_of_inputs(hostile: tuple[Path, list[Path], int]) -> None:
    _, made, _ = hostile
    assert len(made) >= 300 and len(set(made)) == len(made)
    assert any(not os.fsencode(p.name).isascii() for p in made)


def test_the_sweep(hostile: tuple[Path, list[Path], int], tmp_path: Path) -> None:
    root, made, seed = hostile
    before = snapshot(made)
    listing = sorted(os.listdir(os.fsencode(root)))
    checked = 0
    for fmt in FORMATS:
        out = tmp_path / f"report.{fmt}"
        r = run_cli("check", root, "--format", fmt, "-o", out, "--cache-dir",
                    tmp_path / "cache", "--jobs", "2", cwd=tmp_path, timeout=240)
        no_internal_error(r)
        assert r.returncode in (1, 2), (seed, fmt, r.returncode, r.stderr[-2000:])
        parsed = validate(fmt, out.read_bytes())
        if fmt == "json":
            checked = parsed["summary"]["files"]
        validate("text", r.stderr.encode("utf-8", "backslashreplace"))
    assert checked >= 100, checked
    assert snapshot(made) == before, seed
    assert sorted(os.listdir(os.fsencode(root))) == listing, seed


def test_the_html_report_of_hostile_names(hostile: tuple[Path, list[Path], int],
                                          tmp_path: Path) -> None:
    """The HTML page (pictures included, so a smaller set: every hostile name on a small
    image or PDF) is valid UTF-8, parses, and shows no name as markup."""
    from html.parser import HTMLParser

    _, made, seed = hostile
    files = [p for p in made if p.suffix in (".jpg", ".pdf") and p.is_file()
             and not p.is_symlink() and 0 < p.stat().st_size < 50_000][:60]
    before = snapshot(files)
    out = tmp_path / "report.html"
    r = run_cli("check", *files, "--format", "html", "-o", out, cwd=tmp_path, timeout=240)
    no_internal_error(r)
    assert r.returncode in (0, 1, 2), (seed, r.stderr[-2000:])
    raw = out.read_bytes()
    validate("html", raw)
    HTMLParser(convert_charrefs=True).feed(raw.decode("utf-8"))
    assert snapshot(files) == before, seed
