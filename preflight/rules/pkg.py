"""PKG rules: can the files be packaged as the body asks (part counts, audio zip entries)?

They run in `preflight check` too, so a count the packager would refuse is caught up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from preflight.metastudio import AUDIO_EXTENSIONS, MULTIPART_MAX, MULTIPART_MIN
from preflight.model import Severity
from preflight.parts import auto_count, count_limits, count_problem, human
from preflight.rules.base import Fact, FileContext, JobContext, Option, Options, file_rule, job_rule
from preflight.safeio import archive_key, archive_name

E, W = Severity.ERROR, Severity.WARNING
_COUNT_FIELD = {"training_video": "video_multipart_count",
                "action_video": "action_video_multipart_count"}


def _count(ctx: FileContext) -> tuple[str, int] | None:
    """(field, explicit integer count in range) for the file's slot, else None."""
    key = _COUNT_FIELD[ctx.slot]
    value = ctx.job.value(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None  # "auto" or a type error (REQ002)
    if not MULTIPART_MIN <= value <= MULTIPART_MAX:
        return None  # REQ011
    return key, value


def _size(ctx: FileContext) -> int | None:
    try:
        return ctx.path.stat().st_size
    except OSError:
        return None


@file_rule("PKG001", "video-part-size", E,
           "The video's part count cuts it into parts of 100 KB–5 GB (all but the last ≥ 100 KB).",
           "§1.2, §3.6", slots=_COUNT_FIELD, inferred=True)
def video_part_size(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """`video_multipart_count` (and `action_video_multipart_count`) cut one file into byte
    ranges, each sent to its own single-use URL. The storage behind the URLs takes parts of
    100 KB to 5 GB, except that the last part may be smaller (documented for OBS; that these
    URLs are OBS multipart URLs is inferred). 1000 parts of a 50 MB file would be 50 KB each
    and fail. Use "auto" to let the packager pick. An empty file is the video rules' business
    (no count cuts it)."""
    got = _count(ctx)
    size = _size(ctx)
    if got is None or not size:
        return
    key, count = got
    problem = count_problem(size, count)
    if problem:
        lo, hi = count_limits(size)
        said = f"job.{key} = {count}" if key in ctx.job.body else \
            f"job.{key} is not set (the API default is {count})"
        yield Fact(
            f"{said}: {problem}", fix=f'{key} = "auto"',
            details={"key": key, "count": count, "size": size, "part_size": -(-size // count),
                     "min_count": lo, "max_count": hi, "auto": auto_count(size)},
        )


@file_rule("PKG002", "video-part-size-large", W,
           "Video parts are small enough that a failed upload is cheap to retry.",
           "§1.3 R12, §3.6", slots=_COUNT_FIELD, inferred=True,
           options={"max_part_mib": Option(1024, "Largest part (MiB) before this warns.")})
def video_part_size_large(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The service hands out one single-use URL per part (R12), and a part whose PUT fails
    must be sent again whole. With the API default of one part, a 4 GB take is one 4 GB
    request: any network hiccup restarts it from zero and nothing uploads in parallel.
    "auto" cuts it into ~64 MiB parts."""
    got = _count(ctx)
    size = _size(ctx)
    if got is None or size is None:
        return
    key, count = got
    part = -(-size // count)
    limit = int(opts["max_part_mib"]) * 1024 * 1024
    if part > limit and not count_problem(size, count):
        yield Fact(
            f"job.{key} = {count} makes {human(part)} parts of this {human(size)} file; a failed "
            f"upload resends a whole part — \"auto\" would use {auto_count(size)} parts",
            fix=f'{key} = "auto"',
            details={"key": key, "count": count, "part_size": part, "auto": auto_count(size)},
        )


@job_rule("PKG003", "audio-zip-entries", E,
          "The audio files can go into one flat zip: audio only, no two with the same name.",
          "§3.4", whole_spec_only=True)
def audio_zip_entries(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """All `[media].audio` files go up as one zip whose entries are the files' base names
    (no folders). Two files named alike (`take.wav` in two folders, or `Take.wav` and
    `take.wav`, which collide when unpacked on Windows or macOS) would overwrite each other,
    and a non-audio file does not belong in the training corpus. Names are compared after
    Unicode normalisation (NFC/NFD collide on macOS), and a name with a control character or
    a backslash cannot be an entry at all: the same test `preflight package` applies. The zip
    is only built for audio_source_type = "AUDIO"; otherwise the files are left out (REQ030)."""
    if ctx.body.get("audio_source_type") != "AUDIO":
        return
    seen: dict[str, Path] = {}
    for p in ctx.spec.media.get("audio", ()):
        if p.suffix.lower() not in AUDIO_EXTENSIONS:
            yield Fact(f"{p.name} is not an audio file; the audio zip holds only audio",
                       path=str(p), slot="audio", details={"problem": "not audio"})
            continue
        _, problem = archive_name(p.name)
        if problem:
            yield Fact(f"audio file {p} {problem}; it cannot be an entry of the audio zip",
                       path=str(p), slot="audio", details={"problem": "name"})
            continue
        key = archive_key(p.name)
        if key in seen:
            yield Fact(
                f"{seen[key]} and {p} would both be {p.name!r} in the audio zip; rename one",
                path=str(p), slot="audio", details={"problem": "duplicate", "name": p.name},
            )
        else:
            seen[key] = p


RULES = (video_part_size, video_part_size_large, audio_zip_entries)
