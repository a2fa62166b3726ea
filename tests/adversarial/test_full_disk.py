"""A full disk while writing parts (`--materialize`) leaves no half-written `.tmp` part."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from preflight.errors import PackagingError
from preflight.packager import materialize as mat
from preflight.parts import plan_parts


def test_no_tmp_part_is_left_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    src = tmp_path / "take.mp4"
    src.write_bytes(os.urandom(300_000))
    real = mat._copy_range
    calls = []

    def full_on_second(src_fd: int, dst_fd: int, offset: int, length: int) -> None:
        calls.append(offset)
        if len(calls) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src_fd, dst_fd, offset, length)

    monkeypatch.setattr(mat, "_copy_range", full_on_second)
    out = tmp_path / "parts"
    with pytest.raises(PackagingError, match="No space left"):
        mat.materialize(src, plan_parts(300_000, 3), out, "training_video", workers=1)
    assert not list(out.glob("*.tmp")) and not list(out.glob(".preflight-*.part"))
