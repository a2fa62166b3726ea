"""One-line rule assertions. Every call records which codes were seen firing and seen passing,
so that the end of the session (`conftest.pytest_sessionfinish`) can prove each rule has a
failing and a passing case, whatever order the tests ran in."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from preflight.model import Report

#: Codes asserted to fire / asserted not to fire during this test session.
SEEN_FIRING: set[str] = set()
SEEN_PASSING: set[str] = set()


def codes(report: Report) -> list[str]:
    """Codes of every finding, in report order."""
    return [f.code for f in report.findings]


def assert_codes(report: Report, expect: Iterable[str] = (), absent: Iterable[str] = ()) -> None:
    """Every code in `expect` fires at least once; none in `absent` fires."""
    got = codes(report)
    detail = "\n".join(f"  {f.code} {f.severity.value} {f.path}: {f.message}"
                       for f in report.findings)
    for code in expect:
        assert code in got, f"expected {code} to fire; findings:\n{detail or '  (none)'}"
        SEEN_FIRING.add(code)
    for code in absent:
        assert code not in got, f"expected {code} not to fire; findings:\n{detail}"
        SEEN_PASSING.add(code)


def completeness_gaps() -> list[str]:
    """Rules never asserted to fire, and never asserted not to fire, in this session."""
    from preflight.rules import registry

    gaps = []
    missing_fail = sorted(set(registry()) - SEEN_FIRING)
    missing_pass = sorted(set(registry()) - SEEN_PASSING)
    if missing_fail:
        gaps.append(f"rules never asserted to fire: {', '.join(missing_fail)}")
    if missing_pass:
        gaps.append(f"rules never asserted to pass: {', '.join(missing_pass)}")
    return gaps


#: Folders `result_caches` never enters (big, and never the tests' business).
_NOT_SEARCHED = frozenset({".git", ".venv", "node_modules", "__pycache__", ".mypy_cache",
                           ".ruff_cache"})


def result_caches(root: Path) -> set[Path]:
    """Every `.preflight_cache` folder under `root` (whatever its contents)."""
    found: set[Path] = set()
    for folder, dirs, _ in os.walk(root):
        if ".preflight_cache" in dirs:
            found.add(Path(folder) / ".preflight_cache")
        dirs[:] = [d for d in dirs if d not in _NOT_SEARCHED and d != ".preflight_cache"]
    return found


def count_frame_samples(monkeypatch: Any) -> list[Path]:
    """Record the path of every `sample_frames` call from now on (the list grows)."""
    import preflight.inspect.frames as frames

    calls: list[Path] = []
    real = frames.sample_frames

    def counting(path: Path, **kw: Any) -> Any:
        calls.append(path)
        return real(path, **kw)

    monkeypatch.setattr(frames, "sample_frames", counting)
    return calls
