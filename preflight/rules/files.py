"""Gate rules: every media file named in the spec exists, is a regular readable non-empty file.

One per family, so a missing video is a VID finding and a missing photo an IMG finding. When a
gate fires, the family's other rules skip that file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, Options, file_rule
from preflight.spec.schema import SLOTS


def readable_problem(ctx: FileContext) -> str | None:
    """Why the file cannot be read at all, or None."""
    p = ctx.path
    if not p.exists():
        return "file not found" if not p.is_symlink() else "broken symbolic link"
    if p.is_dir():
        return "is a directory, not a file"
    if not p.is_file():
        return "is not a regular file"
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            fh.read(1)
    except PermissionError:
        return "permission denied (not readable)"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if size == 0:
        return "is empty (0 bytes)"
    if not os.access(p, os.R_OK):
        return "permission denied (not readable)"
    return None


def _gate(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A path in [media] that is missing, a directory, a special file, unreadable or empty
    cannot be uploaded; the family's other rules skip it."""
    problem = readable_problem(ctx)
    if problem:
        yield Fact(f"{ctx.slot}: {problem}", details={"problem": problem})


def _slots(family: str) -> list[str]:
    return [s for s, (fam, _) in SLOTS.items() if fam == family]


video_readable = file_rule(
    "VID001", "video-file-readable", Severity.ERROR,
    "The video file exists, is a regular file, readable and not empty.", "§3.1",
    slots=_slots("VID"), gate=True,
)(_gate)
audio_readable = file_rule(
    "AUD001", "audio-file-readable", Severity.ERROR,
    "Each audio file exists, is a regular file, readable and not empty.", "§3.4",
    slots=_slots("AUD"), gate=True,
)(_gate)
image_readable = file_rule(
    "IMG001", "image-file-readable", Severity.ERROR,
    "Each image/document exists, is a regular file, readable and not empty.", "§3.5",
    slots=_slots("IMG"), gate=True,
)(_gate)

RULES = (video_readable, audio_readable, image_readable)
