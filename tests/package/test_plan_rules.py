"""Part plans and the PKG rules that judge part counts and audio zip entries."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from preflight.parts import (
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    auto_count,
    count_limits,
    count_problem,
    part_range,
    plan_parts,
)
from preflight.rules.config import Config, config_from_dict
from preflight.workflows.check import check
from tests.helpers import assert_codes

PKG_ONLY = Config().with_cli(("PKG",))


@pytest.mark.parametrize(("size", "count"), [
    (1, 1), (10, 3), (9, 4), (1000, 1000), (4_465_120_525, 67), (2**40, 1000), (123_456_789, 7),
])
def test_parts_tile_the_file(size: int, count: int) -> None:
    parts = plan_parts(size, count)
    assert [p.part_number for p in parts] == list(range(1, count + 1))
    assert parts[0].offset == 0 and parts[-1].end == size
    assert all(a.end == b.offset for a, b in itertools.pairwise(parts))
    assert all(p.length >= parts[-1].length for p in parts)
    assert part_range(size, count, count) == parts[-1]


def test_plan_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        plan_parts(100, 0)
    with pytest.raises(ValueError):
        plan_parts(100, 1001)
    with pytest.raises(ValueError):
        plan_parts(5, 6)


def test_auto_count() -> None:
    assert auto_count(4_465_120_525) == 67  # the 10-minute 4K take: ~64 MiB parts
    assert auto_count(50_000_000) == 1
    assert auto_count(0) == 1
    assert auto_count(2**40) == 1000  # capped; parts grow instead
    for size in (1, 150_000, 10**9, 3 * 10**12):
        n = auto_count(size)
        lo, hi = count_limits(size)
        assert lo <= n <= hi
        assert count_problem(size, n) is None
        parts = plan_parts(size, n)
        assert all(p.length <= MAX_PART_SIZE for p in parts)
        assert all(p.length >= MIN_PART_SIZE for p in parts[:-1])


def test_count_problem_names_the_part_size() -> None:
    msg = count_problem(50_000_000, 1000)
    assert msg and "48.8 KiB" in msg and "at most 488" in msg
    msg = count_problem(6 * 1024**3, 1)
    assert msg and "6.0 GiB" in msg and "at least 2" in msg
    assert count_problem(50_000_000, 10) is None
    assert count_problem(50_000_000, 5000) is None  # out of range: REQ011's business


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def test_pkg001_part_count_too_high_for_file(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(os.urandom(200_000))
    report = check([video], slot="training_video", job={"video_multipart_count": 1000},
                   config=PKG_ONLY)
    assert_codes(report, expect=["PKG001"])
    finding = next(f for f in report.findings if f.code == "PKG001")
    assert "200 B each" in finding.message and finding.fix == 'video_multipart_count = "auto"'
    assert finding.details["auto"] == 1 and finding.details["max_count"] == 1
    assert_codes(check([video], slot="training_video", job={"video_multipart_count": 1},
                       config=PKG_ONLY), absent=["PKG001"])
    assert_codes(check([video], slot="training_video", job={"video_multipart_count": "auto"},
                       config=PKG_ONLY), absent=["PKG001"])
    report = check([video], slot="action_video", job={"action_video_multipart_count": 600},
                   config=PKG_ONLY)
    assert_codes(report, expect=["PKG001"])


def test_pkg001_single_part_over_5_gib(tmp_path: Path) -> None:
    video = _sparse(tmp_path / "v.mp4", 5 * 1024**3 + 1)
    report = check([video], slot="training_video", config=PKG_ONLY)
    assert_codes(report, expect=["PKG001"], absent=["PKG002"])
    assert "at least 2" in next(f for f in report.findings if f.code == "PKG001").message


def test_pkg002_large_parts_warn(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(os.urandom(200_000))
    strict = config_from_dict({"select": ["PKG"],
                               "rules": {"PKG002": {"options": {"max_part_mib": 0}}}})
    report = check([video], slot="training_video", config=strict)
    assert_codes(report, expect=["PKG002"], absent=["PKG001"])
    finding = next(f for f in report.findings if f.code == "PKG002")
    assert finding.severity.value == "warning" and "resends a whole part" in finding.message
    assert_codes(check([video], slot="training_video", config=PKG_ONLY), absent=["PKG002"])


def test_pkg003_audio_zip_entries(tmp_path: Path, write_spec: object) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for rel in ("a/take.wav", "b/Take.wav", "b/other.mp3", "notes.txt"):
        (tmp_path / rel).write_bytes(b"x" * 10)
    spec = write_spec(  # type: ignore[operator]
        '[job]\nname = "x"\naudio_source_type = "AUDIO"\n'
        '[media]\naudio = ["a/take.wav", "b/Take.wav"]\n')
    report = check(spec, config=PKG_ONLY)
    assert_codes(report, expect=["PKG003"])
    assert "rename one" in report.findings[0].message
    spec = write_spec(  # type: ignore[operator]
        '[job]\nname = "x"\naudio_source_type = "AUDIO"\n[media]\naudio = ["notes.txt"]\n')
    assert_codes(check(spec, config=PKG_ONLY), expect=["PKG003"])
    spec = write_spec(  # type: ignore[operator]
        '[job]\nname = "x"\naudio_source_type = "AUDIO"\n'
        '[media]\naudio = ["a/take.wav", "b/other.mp3"]\n')
    assert_codes(check(spec, config=PKG_ONLY), absent=["PKG003"])
