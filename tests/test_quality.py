"""The package type-checks under mypy --strict and the tree is ruff-clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_ruff_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "preflight", "tests",
         "sample_media", "bench", "scripts"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull],
        cwd=ROOT, capture_output=True, text=True,  # no .mypy_cache left in the repository
    )
    assert result.returncode == 0, result.stdout + result.stderr
