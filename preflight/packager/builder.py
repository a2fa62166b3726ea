"""Build an upload package from a job spec and the report of its check, and verify one later.

    >>> pkg = build(spec, "pkg", report)
    >>> pkg.manifest.upload("training_video").parts[0]

`build` refuses when the report has errors (unless ``force``), resolves the part counts
("auto" or the spec's integers), hashes every upload in one pass per file, zips the audio and
writes ``out_dir/manifest.json``. Nothing is copied unless ``materialize`` asks for part files.
It never runs the checker: `preflight.workflows.package` checks, then calls it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from preflight._version import __version__
from preflight.errors import PackageRefused, PackagingError
from preflight.manifest import Manifest, Part, Upload
from preflight.metastudio import COUNT_FIELDS, REQUIRED_SLOT, SLOTS, slot_sent
from preflight.packager.audiozip import build_audio_zip
from preflight.packager.hashing import hash_ranges, sha256_file
from preflight.packager.materialize import materialize as write_parts
from preflight.parts import (
    MAX_PARTS,
    MIN_PARTS,
    TARGET_PART_SIZE,
    Range,
    auto_count,
    count_problem,
    plan_parts,
)
from preflight.safeio import check_output, kind_problem, os_lock

if TYPE_CHECKING:
    from preflight.model import Report
    from preflight.spec import JobSpec

MANIFEST_NAME = "manifest.json"
AUDIO_ZIP_NAME = "audio.zip"
#: The lock a run holds on its package folder (see `package_lock`).
LOCK_NAME = ".preflight-package.lock"
PARTS_DIR = "parts"
#: progress(label, done_bytes, total_bytes); the library itself never prints.
Progress = Callable[[str, int, int], None]
PartCount = int | str | None


@dataclass(frozen=True)
class Package:
    """A built package: where it is, its manifest, the check it passed and any part files."""

    out_dir: Path
    manifest_path: Path
    manifest: Manifest
    report: Report
    materialized: Mapping[str, tuple[Path, ...]] = field(
        default_factory=lambda: MappingProxyType({}))

    @property
    def forced(self) -> bool:
        """True when packaged despite error findings."""
        return self.manifest.forced


@dataclass(frozen=True)
class Change:
    """One way a source no longer matches the manifest."""

    slot: str
    path: str
    what: str


@dataclass(frozen=True)
class Verification:
    """The result of `verify`: changes (empty when all sources are unchanged) and notes."""

    manifest: Manifest
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    full: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing changed."""
        return not self.changes


def _plain(value: Any) -> Any:
    """A JSON-ready deep copy (mapping proxies become dicts, tuples lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _resolve_count(slot: str, value: object, size: int, target: int) -> int:
    """The integer part count for a slot's file.

    :raises PackagingError: not an integer or "auto", or a count the file cannot be cut into.
    """
    field_name = COUNT_FIELDS[slot]
    if value is None:
        return 1
    if value == "auto":
        return auto_count(size, target)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PackagingError(f"{field_name} must be an integer 1–1000 or \"auto\", got {value!r}")
    if not MIN_PARTS <= value <= MAX_PARTS:
        raise PackagingError(f"{field_name} = {value} is outside {MIN_PARTS}–{MAX_PARTS}")
    problem = count_problem(size, value)
    if problem and value > size:
        raise PackagingError(f"{field_name}: {problem}")
    return value


def _spec_hash(spec: JobSpec) -> str:
    if spec.path is not None and spec.path.is_file():
        return sha256_file(spec.path)
    blob = json.dumps({"job": _plain(spec.job),
                       "media": {k: [str(p) for p in v] for k, v in spec.media.items()}},
                      sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _stat(path: Path, slot: str) -> os.stat_result:
    try:
        st = path.stat()
    except OSError as exc:
        raise PackagingError(f"{slot}: {path}: {exc.strerror or exc}") from None
    problem = kind_problem(path)
    if problem:
        raise PackagingError(f"{slot}: {path}: {problem}")
    return st


def _outputs(out: Path) -> list[Path]:
    """The files `build` writes directly in `out` (each through a temporary file with an
    unpredictable name; part files go to `out/parts`, which must hold no input)."""
    return [out / MANIFEST_NAME, out / AUDIO_ZIP_NAME, out / LOCK_NAME]


@contextmanager
def package_lock(out: Path) -> Iterator[Path]:
    """Hold the OS lock of the package folder (``<out>/.preflight-package.lock``) while a
    package is written, so two runs into one folder never mix their files. The kernel
    releases it when the process dies.

    :raises PackagingError: another run holds it, or it cannot be taken.
    """
    path = out / LOCK_NAME
    try:
        lock = os_lock(path)
    except OSError as exc:
        raise PackagingError(f"cannot lock {path}: {exc.strerror or exc}") from None
    if lock is None:
        raise PackagingError(
            f"another preflight run is writing the package in {out} (it holds {path}); "
            "wait for it to finish, or choose another --out folder")
    try:
        yield path
    finally:
        lock.release()


def _refuse_clobbering(out: Path, spec: JobSpec, materialize: bool) -> None:
    """Refuse to build where an output would replace an input (or a special file).

    :raises PackagingError: an output path is, or resolves to, the spec or a media file.
    """
    inputs = [p.absolute() for _, p in spec.files()]
    if spec.path is not None:
        inputs.append(spec.path)
    real = {os.path.realpath(p): p for p in inputs}
    parts_dir = out / PARTS_DIR
    for p in inputs:
        if os.path.realpath(p).startswith(os.path.realpath(parts_dir) + os.sep) and materialize:
            raise PackagingError(f"{p} is inside {parts_dir}, where --materialize writes part "
                                 "files; choose another --out")
    for target in _outputs(out):
        clash = real.get(os.path.realpath(target))
        if clash is not None:
            raise PackagingError(
                f"{target} would overwrite the input {clash}; choose another --out folder "
                "(or rename the input)")
        try:
            check_output(target, inputs)
        except OSError as exc:
            raise PackagingError(f"cannot write {target}: {exc.strerror}") from None


def _upload(slot: str, path: Path, count: int, content_type: str, progress: Progress | None,
            inputs: tuple[str, ...] = ()) -> tuple[Upload, tuple[Range, ...]]:
    st = _stat(path, slot)
    ranges = plan_parts(st.st_size, count) if st.st_size else (Range(1, 0, 0),)
    cb = (lambda done, total: progress(f"hashing {slot}", done, total)) if progress else None
    digests = hash_ranges(path, ranges, cb)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        raise PackagingError(f"{slot}: {path} changed while it was being hashed")
    parts = tuple(
        Part(part_number=r.part_number, offset=r.offset, length=r.length, md5=md5, sha256=sha)
        for r, (md5, sha) in zip(ranges, digests.parts, strict=True)
    )
    upload = Upload(slot=slot, url_field=SLOTS[slot].upload_field, source=str(path),
                    size=st.st_size,
                    mtime_ns=st.st_mtime_ns, sha256=digests.sha256, content_type=content_type,
                    parts=parts, inputs=inputs)
    return upload, ranges


def with_counts(spec: JobSpec, parts: PartCount, action_parts: PartCount) -> JobSpec:
    """The spec with its part counts overridden (None keeps the spec's value)."""
    body = dict(spec.job)
    for key, value in (("video_multipart_count", parts),
                       ("action_video_multipart_count", action_parts)):
        if value is not None:
            body[key] = value
    return replace(spec, job=MappingProxyType(body))


def build(
    spec: JobSpec,
    out_dir: str | Path,
    report: Report,
    *,
    force: bool = False,
    materialize: bool = False,
    target_part_size: int = TARGET_PART_SIZE,
    progress: Progress | None = None,
) -> Package:
    """Build the upload package of ``spec`` (already checked: ``report``) in ``out_dir``.

    The part counts are the spec's ``video_multipart_count`` / ``action_video_multipart_count``
    (an integer or "auto"; see `with_counts`). ``force`` packages despite error findings and
    marks the manifest ``forced``. ``materialize`` also writes each video part as a file under
    ``out_dir/parts``.

    :raises PackageRefused: the report has errors and ``force`` is false.
    :raises PackagingError: a file cannot be read, or a count cannot cut its file.
    """
    js = spec
    if report.errors and not force:
        raise PackageRefused(report)
    if not js.media.get(REQUIRED_SLOT):
        raise PackagingError("the spec has no training video ([media].training_video): a job "
                             "without one can never be submitted, so nothing is packaged "
                             "(REQ034)")
    out = Path(out_dir).absolute()
    _refuse_clobbering(out, js, materialize)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PackagingError(f"cannot create {out}: {exc.strerror or exc}") from None
    with package_lock(out):
        return _build_locked(js, out, report, force=force, materialize=materialize,
                             target_part_size=target_part_size, progress=progress)


def _build_locked(js: JobSpec, out: Path, report: Report, *, force: bool, materialize: bool,
                  target_part_size: int, progress: Progress | None) -> Package:
    """`build` with the package folder locked."""
    body = _plain(js.job)
    uploads: list[Upload] = []
    made: dict[str, tuple[Path, ...]] = {}
    extra: dict[str, Any] = {"part_size_target": target_part_size}
    for slot in SLOTS:
        files = [p.absolute() for p in js.media.get(slot, ())]
        if slot in COUNT_FIELDS and not files and body.get(COUNT_FIELDS[slot]) == "auto":
            body[COUNT_FIELDS[slot]] = 1  # nothing to cut; keep the body valid
        if slot == "audio" and not slot_sent(slot, body):
            # the job does not use the audio files (REQ030): no zip, no upload
            (out / AUDIO_ZIP_NAME).unlink(missing_ok=True)
            continue
        if not files:
            continue
        if slot == "audio":
            zip_path = out / AUDIO_ZIP_NAME
            entries = build_audio_zip(files, zip_path)
            extra["audio_inputs"] = [
                {"entry": e.name, "path": str(e.source), "size": e.size,
                 "mtime_ns": e.source.stat().st_mtime_ns, "sha256": sha256_file(e.source),
                 "deflated": e.deflated}
                for e in entries
            ]
            up, _ = _upload(slot, zip_path, 1, SLOTS[slot].content_type, progress,
                            inputs=tuple(str(e.source) for e in entries))
            uploads.append(up)
            continue
        path = files[0]
        if slot in COUNT_FIELDS:
            count = _resolve_count(slot, body.get(COUNT_FIELDS[slot]), _stat(path, slot).st_size,
                                   target_part_size)
            body[COUNT_FIELDS[slot]] = count
        else:
            count = 1
        up, ranges = _upload(slot, path, count, SLOTS[slot].content_type, progress)
        uploads.append(up)
        if materialize and slot in COUNT_FIELDS:
            cb = ((lambda d, t, s=slot: progress(f"writing {s} parts", d, t))
                  if progress else None)
            made[slot] = tuple(write_parts(path, ranges, out / PARTS_DIR, slot, cb))
    if made:
        extra["materialized"] = {s: [str(p) for p in ps] for s, ps in made.items()}

    manifest = Manifest(
        spec_path=str(js.path) if js.path else "",
        spec_sha256=_spec_hash(js),
        edition=report.edition,
        job=body,
        uploads=tuple(uploads),
        tool_version=__version__,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        forced=bool(force and report.errors),
        extra=extra,
    )
    manifest_path = out / MANIFEST_NAME
    try:
        manifest.save(manifest_path)
    except OSError as exc:
        raise PackagingError(f"cannot write {manifest_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PackagingError(f"cannot write {manifest_path}: {exc}") from None
    return Package(out, manifest_path, manifest, report, MappingProxyType(made))


def _stat_change(slot: str, path: str, size: int, mtime_ns: int) -> Change | None:
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return Change(slot, path, "missing")
    except OSError as exc:
        return Change(slot, path, f"unreadable: {exc.strerror or exc}")
    if st.st_size != size:
        return Change(slot, path, f"size changed: {size} -> {st.st_size} bytes")
    if st.st_mtime_ns != mtime_ns:
        return Change(slot, path, "modified (mtime changed)")
    return None


def verify(out_dir: str | Path, *, full: bool = False,
           progress: Progress | None = None) -> Verification:
    """Check that the sources of a package are unchanged since it was built.

    Fast path: size and mtime of every source (and the spec's hash). ``full`` re-hashes every
    source and compares part and whole-file checksums; a file that was only touched (mtime
    changed, same bytes) then passes with a note.

    :raises PackagingError: no readable manifest in ``out_dir``.
    """
    out = Path(out_dir)
    manifest = Manifest.load(out / MANIFEST_NAME if out.is_dir() else out)
    changes: list[Change] = []
    notes: list[str] = []

    if manifest.spec_path:
        sp = Path(manifest.spec_path)
        if not sp.is_file():
            changes.append(Change("spec", manifest.spec_path, "missing"))
        elif sha256_file(sp) != manifest.spec_sha256:
            changes.append(Change("spec", manifest.spec_path, "content changed"))

    def content(slot: str, path: str, ranges: tuple[Range, ...], whole: str,
                parts: tuple[tuple[str, str], ...] | None) -> str | None:
        cb = (lambda d, t: progress(f"re-hashing {slot}", d, t)) if progress else None
        try:
            got = hash_ranges(Path(path), ranges, cb)
        except PackagingError as exc:
            return str(exc)
        if got.sha256 != whole:
            if parts is not None:
                bad = [str(r.part_number) for r, a, b in zip(ranges, got.parts, parts, strict=True)
                       if a != b]
                return f"content changed (part{'s' if len(bad) > 1 else ''} {', '.join(bad)})"
            return "content changed"
        return None

    def judge(slot: str, path: str, size: int, mtime_ns: int, whole: str,
              ranges: tuple[Range, ...], parts: tuple[tuple[str, str], ...] | None) -> None:
        change = _stat_change(slot, path, size, mtime_ns)
        if change is not None and (not full or not change.what.startswith("modified")):
            changes.append(change)
            return
        if full:
            problem = content(slot, path, ranges, whole, parts)
            if problem:
                changes.append(Change(slot, path, problem))
            elif change is not None:
                notes.append(f"{slot}: {path} was touched (mtime changed) but its bytes are "
                             "unchanged")

    for up in manifest.uploads:
        ranges = tuple(Range(p.part_number, p.offset, p.length) for p in up.parts)
        judge(up.slot, up.source, up.size, up.mtime_ns, up.sha256, ranges,
              tuple((p.md5, p.sha256) for p in up.parts))
    for item in manifest.extra.get("audio_inputs", ()):
        size = int(item["size"])
        judge("audio", item["path"], size, int(item["mtime_ns"]), item["sha256"],
              (Range(1, 0, size),) if size else (Range(1, 0, 0),), None)
    for slot, paths in manifest.extra.get("materialized", {}).items():
        mup = manifest.upload(slot)
        if mup is None:
            continue
        for path, part in zip(paths, mup.parts, strict=False):
            p = Path(path)
            if not p.is_file():
                changes.append(Change(slot, path, "part file missing"))
            elif p.stat().st_size != part.length:
                changes.append(Change(slot, path, "part file has the wrong size"))
    return Verification(manifest, tuple(changes), tuple(notes), full)
