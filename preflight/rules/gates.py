"""Building blocks of the gate rules each family declares (VID001/AUD001/IMG001, and the Git LFS
pointer rules VID090/AUD090/IMG090).

A readable gate checks that a file named in the spec exists and is a regular, readable,
non-empty file, so a missing video is a VID finding and a missing photo an IMG finding; when it
fires, the family's other rules skip that file. An LFS gate recognises the pointer git stores
instead of the media; when it fires, no other rule looks at the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from preflight.metastudio import family_slots
from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, Options, Rule, file_rule


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


def readable_gate(code: str, name: str, summary: str, source: str, family: str) -> Rule:
    """The family's gate rule: the file can be read at all."""
    return file_rule(code, name, Severity.ERROR, summary, source,
                     slots=family_slots(family), gate=True)(_gate)


#: First line of a Git LFS pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
LFS_HEADER = b"version https://git-lfs.github.com/spec/v1"
#: Pointer files are tiny; anything larger is real content.
LFS_MAX_BYTES = 1024


def lfs_pointer(path: Path) -> dict[str, str] | None:
    """The ``oid``/``size`` of a Git LFS pointer file, or None when `path` is not one.

    Reads at most `LFS_MAX_BYTES`; never raises (an unreadable file is not a pointer).
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > LFS_MAX_BYTES:
            return None  # never open a FIFO or device: it could block
        with open(path, "rb") as fh:
            head = fh.read(LFS_MAX_BYTES + 1)
    except OSError:
        return None
    if not head.startswith(LFS_HEADER):
        return None
    fields: dict[str, str] = {}
    for raw in head.decode("utf-8", errors="replace").splitlines()[1:]:
        key, _, value = raw.partition(" ")
        if key in ("oid", "size"):
            fields[key] = value.strip()
    return fields


def _lfs(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A Git LFS pointer (the small text file git stores instead of the media when LFS is
    not installed or the file was not pulled) is not the media itself, so no other rule judges
    it. Run `git lfs pull` to fetch the real file, then check again."""
    pointer = lfs_pointer(ctx.path)
    if pointer is not None:
        size = pointer.get("size", "?")
        yield Fact(
            f"{ctx.slot}: Git LFS pointer (real file: {size} bytes), not the media itself; "
            "not checked",
            fix="git lfs pull (then check again)", details={"lfs": pointer},
        )


def lfs_gate(code: str, name: str, summary: str, source: str, family: str) -> Rule:
    """The family's LFS-pointer rule: runs first; when it fires no other rule sees the file."""
    return file_rule(code, name, Severity.INFO, summary, source, slots=family_slots(family),
                     gate=True, claims_file=True, inferred=True)(_lfs)
