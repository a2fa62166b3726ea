"""Part plans: how one file is cut into byte ranges, one per single-use upload URL.

A plan is arithmetic on the file size (no data is read or copied): N parts of nearly equal
size, the first ``size % N`` parts one byte longer, so every part except possibly the last is
at least as long as the last.

Limits (dossier §1.2: 1–1000 parts; §3.6: the storage behind the URLs takes parts of 100 KB
to 5 GB, except that the last part may be smaller — documented for OBS, applicability
inferred).

Why "auto" aims at 64 MiB parts: every URL is single-use (§3.6, §1.4) and a failed PUT must
resend its whole part, so parts should be small enough that a retry costs seconds, not
minutes (64 MiB is ~5 s at 100 Mbit/s); with a handful of concurrent uploads they keep a
link busy while using little memory per stream; and they stay far above the 100 KB floor.
A 4.5 GB 10-minute 4K take becomes 67 parts; files over 62.5 GiB get bigger parts so the
count stays at the 1000 maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Default target part size for "auto" (see the module doc for why).
TARGET_PART_SIZE = 64 * 1024 * 1024
#: Smallest part except the last (OBS multipart limit, dossier §3.6).
MIN_PART_SIZE = 100 * 1024
#: Largest part, and the largest single PUT (OBS, dossier §3.6).
MAX_PART_SIZE = 5 * 1024**3
#: Part count range of the create body (dossier §1.2).
MIN_PARTS, MAX_PARTS = 1, 1000


@dataclass(frozen=True)
class Range:
    """One part: 1-based number and byte range of the source file."""

    part_number: int
    offset: int
    length: int

    @property
    def end(self) -> int:
        """Offset one past the last byte."""
        return self.offset + self.length


def part_range(size: int, count: int, part_number: int) -> Range:
    """Part ``part_number`` (1-based) of a ``size``-byte file cut into ``count`` parts; O(1)."""
    base, extra = divmod(size, count)
    i = part_number - 1
    offset = i * base + min(i, extra)
    return Range(part_number, offset, base + (1 if i < extra else 0))


def plan_parts(size: int, count: int) -> tuple[Range, ...]:
    """Cut a ``size``-byte file into ``count`` byte ranges that tile it exactly.

    :raises ValueError: count outside 1–1000, or more parts than bytes.
    """
    if not MIN_PARTS <= count <= MAX_PARTS:
        raise ValueError(f"part count {count} is outside {MIN_PARTS}–{MAX_PARTS}")
    if count > max(size, 1):
        raise ValueError(f"{count} parts for {size} bytes would leave empty parts")
    return tuple(part_range(size, count, n) for n in range(1, count + 1))


def count_limits(size: int) -> tuple[int, int]:
    """The smallest and largest part count that keep every part within 100 KB–5 GB."""
    lo = max(MIN_PARTS, -(-size // MAX_PART_SIZE))
    hi = min(MAX_PARTS, max(MIN_PARTS, size // MIN_PART_SIZE))
    return lo, hi


def auto_count(size: int, target: int = TARGET_PART_SIZE) -> int:
    """The part count for "auto": about ``target`` bytes per part, within the limits."""
    lo, hi = count_limits(size)
    n = max(1, -(-size // max(target, 1)))
    return max(lo, min(n, hi))


def human(n: float) -> str:
    """Bytes in binary units, e.g. ``64.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def count_problem(size: int, count: int) -> str | None:
    """Why ``count`` parts do not fit a ``size``-byte file, naming the part size; or None."""
    if not MIN_PARTS <= count <= MAX_PARTS:
        return None  # the body rules report the range itself
    lo, hi = count_limits(size)
    part = -(-size // count)
    if count > size:
        return (f"{count} parts of a {size}-byte file would leave empty parts; "
                f"use at most {hi} part{'s' if hi != 1 else ''} or \"auto\"")
    if count > 1 and size // count < MIN_PART_SIZE:
        return (f"{count} parts of a {human(size)} file would be {human(size // count)} each, "
                f"below the {human(MIN_PART_SIZE)} minimum for every part but the last; use at "
                f"most {hi} or \"auto\"")
    if part > MAX_PART_SIZE:
        return (f"{count} part{'s' if count != 1 else ''} of a {human(size)} file would be "
                f"{human(part)} each, above the 5 GiB maximum; use at least {lo} or \"auto\"")
    return None
