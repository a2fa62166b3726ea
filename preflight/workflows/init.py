"""Start a job: a commented ``avatar.toml`` drafted from the media in a folder (`preflight init`).

    >>> draft = draft_spec("shoot-0412/")
    >>> print(draft.text)              # the spec, every choice explained in a comment
    >>> write_spec(draft)              # refuses to replace an existing spec unless forced

Each file is judged by its content (`preflight.workflows.info.describe`), not only its name:
the training video is the video whose sampled frames show a face most often (with the
``face`` extra), then the one whose length is nearest the edition's range; ID card sides are
card-shaped images (85.6 x 54 mm), the front the one with a face; the grant letter is a PDF;
audio files are the voice recording. Names that say what a file is (``id_front.jpg``) break
ties. Whether the take is shot on a green screen is the GRN001 rule's verdict.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.errors import PreflightError, ProbeError
from preflight.metastudio import (
    ID_CARD_SLOTS,
    ID_DOCUMENT_SLOTS,
    MEDIA_EXTENSIONS,
    SLOTS,
    guess_slot_from_name,
)
from preflight.safeio import write_output
from preflight.workflows.info import describe

SPEC_NAME = "avatar.toml"
#: The JSON Schema next to the spec, named by its ``#:schema`` line (written when missing).
SCHEMA_NAME = "avatar.schema.json"
#: ID-1 card aspect ratio (85.60 x 53.98 mm) and how far a photo of one may stray from it.
CARD_RATIO, CARD_TOLERANCE = 85.60 / 53.98, 0.25
#: Standard-edition take length in seconds (docs/constraints.md; the VID007 defaults).
TAKE_RANGE = (180.0, 600.0)
#: Audio whose peak stays under this level is silence, not a voice recording.
SILENT_DBFS = -50.0
#: How deep and how many files a folder is searched (a spec names files near it).
MAX_DEPTH, MAX_FILES = 3, 200
_SKIP_DIRS = frozenset({".git", ".preflight_cache", "__pycache__", "node_modules", ".venv"})


@dataclass
class Draft:
    """A drafted spec: its text, the file chosen for each slot, and notes on the rest."""

    folder: Path
    text: str
    slots: dict[str, list[Path]] = field(default_factory=dict)
    #: Files found but not used, with the reason.
    unused: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """Where the spec is written."""
        return self.folder / SPEC_NAME


def media_files(folder: Path) -> list[Path]:
    """Media files under ``folder`` (by extension, hidden and tool folders skipped), sorted,
    at most `MAX_FILES` from `MAX_DEPTH` levels."""
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")
                         and depth < MAX_DEPTH)
        for name in sorted(files):
            p = Path(root) / name
            if (p.suffix.lower() in MEDIA_EXTENSIONS and not name.startswith(".")
                    and not p.is_symlink()):
                out.append(p)
        if len(out) >= MAX_FILES:
            break
    return out[:MAX_FILES]


def _card_shaped(size: Any) -> bool:
    w, h = size
    long, short = max(w, h), max(1, min(w, h))
    return bool(abs(long / short - CARD_RATIO) <= CARD_TOLERANCE)


def _faces(info: Mapping[str, Any]) -> int | None:
    f = info.get("faces")
    if f is None:
        return None
    return int(f["count"]) if "count" in f else int(f["frames_with_face"])


def _take_score(path: Path, info: Mapping[str, Any]) -> tuple[float, ...]:
    """Higher is more likely the training video: faces, length in range, name."""
    faces = info.get("faces") or {}
    share = faces["frames_with_face"] / faces["frames"] if faces.get("frames") else 0.0
    d = float(info.get("duration") or 0.0)
    lo, hi = TAKE_RANGE
    miss = 0.0 if lo <= d <= hi else min(abs(d - lo), abs(d - hi))
    named = 1.0 if guess_slot_from_name(path.name) == "training_video" and \
        "action" not in path.name.lower() else 0.0
    return (share, -miss, d, named)


def _why_video(info: Mapping[str, Any]) -> str:
    v = info["video"]
    bits = [_mmss(info.get("duration")), "x".join(map(str, v["display_size"]))]
    if v.get("fps"):
        bits.append(f"{v['fps']:g} fps")
    f = info.get("faces")
    if f is not None:
        bits.append(f"a face in {f['frames_with_face']} of {f['frames']} sampled frames")
    return ", ".join(b for b in bits if b)


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


def _classify(infos: Mapping[Path, Mapping[str, Any]]) -> tuple[
        dict[str, list[Path]], dict[Path, str], list[tuple[Path, str]]]:
    """(slot -> files, file -> why, unused files with the reason)."""
    slots: dict[str, list[Path]] = {}
    why: dict[Path, str] = {}
    unused: list[tuple[Path, str]] = []
    kinds: dict[str, list[Path]] = {}
    for p, info in infos.items():
        kinds.setdefault(str(info["kind"]), []).append(p)
    videos = sorted(kinds.get("video", []), key=lambda p: _take_score(p, infos[p]), reverse=True)
    if videos:
        slots["training_video"] = [videos[0]]
        why[videos[0]] = _why_video(infos[videos[0]])
        for p in videos[1:]:
            unused.append((p, f"another video ({_why_video(infos[p])}); the action video?"))
    for p in kinds.get("audio", []):
        peak = (infos[p].get("audio") or {}).get("peak_dbfs")
        if peak is not None and peak < SILENT_DBFS:
            unused.append((p, f"silent audio (peak {peak:g} dBFS)"))
        else:
            slots.setdefault("audio", []).append(p)
            why[p] = f"{_mmss(infos[p].get('duration'))} of audio"
    pdfs = kinds.get("pdf", [])
    if pdfs:
        slots["grant_file"] = [pdfs[0]]
        why[pdfs[0]] = f"a PDF of {infos[pdfs[0]]['pdf']['pages']} page(s)"
        unused += [(p, "another PDF") for p in pdfs[1:]]
    _images(kinds.get("image", []), infos, slots, why, unused)
    return slots, why, unused


def _images(images: list[Path], infos: Mapping[Path, Mapping[str, Any]],
            slots: dict[str, list[Path]], why: dict[Path, str],
            unused: list[tuple[Path, str]]) -> None:
    """ID card sides (card-shaped; the front shows a face), the cover, a grant letter photo."""
    def take(slot: str, p: Path, reason: str) -> None:
        slots[slot] = [p]
        why[p] = reason
        images.remove(p)

    for p in list(images):  # names that say which side win when the shape agrees
        named = guess_slot_from_name(p.name)
        if named in ID_CARD_SLOTS and named not in slots:
            take(named, p, f"named as the {SLOTS[named].label}")
    cards = [p for p in images if _card_shaped(infos[p]["image"]["display_size"])]
    for p in sorted(cards, key=lambda p: -(_faces(infos[p]) or 0)):
        n = _faces(infos[p])
        if "id_card_front" not in slots and (n or 0) >= 1:
            take("id_card_front", p, f"card-shaped, {n} face(s)")
        elif "id_card_back" not in slots and n == 0:
            take("id_card_back", p, "card-shaped, no face")
        elif "id_card_back" not in slots and n is None and "id_card_front" in slots:
            take("id_card_back", p, "card-shaped (no face search: check the side)")
        elif "id_card_front" not in slots and n is None:
            take("id_card_front", p, "card-shaped (no face search: check the side)")
    for p in list(images):
        stem = p.stem.lower()
        if "grant_file" not in slots and any(w in stem for w in ("grant", "letter", "autho")):
            take("grant_file", p, "named as the authorization letter")
    if images and "cover" not in slots:
        p = images[0]
        take("cover", p, "an image that is not card-shaped")
    unused += [(p, "another image") for p in images]


def _toml_string(text: str) -> str:
    """A TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _rel(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _green(video: Path) -> bool | None:
    """Whether the take is shot on a green screen (GRN001 does not fire), None if unknown."""
    from preflight.rules.config import Config
    from preflight.workflows.check import check

    try:
        report = check(video, slot="training_video", config=Config().with_cli(("GRN001",)))
    except PreflightError:
        return None
    return not any(f.code == "GRN001" for f in report.findings)


def _lines(folder: Path, slots: Mapping[str, list[Path]], why: Mapping[Path, str],
           unused: Iterable[tuple[Path, str]], green: bool | None,
           infos: Mapping[Path, Mapping[str, Any]]) -> Iterator[str]:
    yield f"#:schema ./{SCHEMA_NAME}"
    yield "# Drafted by `preflight init` from the media in this folder; check every choice."
    yield "# `preflight check avatar.toml` judges it. The line above lets an editor (taplo,"
    yield "# VS Code's Even Better TOML) complete and check the keys (`preflight schema`)."
    yield ""
    yield "[job]"
    yield f"name = {_toml_string(folder.resolve().name or 'avatar')}"
    yield 'model_version = "V3.2"'
    if green is None:
        yield "is_background_replacement = true    # set false if the take is not on a green screen"
    elif green:
        yield "is_background_replacement = true    # a green screen was found behind the presenter"
    else:
        yield "is_background_replacement = false   # no green screen found (GRN001): a real scene"
    if slots.get("audio"):
        yield 'audio_source_type = "AUDIO"         # the voice is trained from the audio files'
    else:
        yield 'audio_source_type = "VIDEO"         # no audio files: the voice comes from the take'
    take = slots.get("training_video")
    if take:
        d = float(infos[take[0]].get("duration") or 0)
        if 60 <= d < TAKE_RANGE[0]:
            yield f"# is_flexus = true   # the take is {_mmss(d)}: Flexus takes are 1–5 min"
    yield ""
    yield "[media]"
    if not take:
        yield '# training_video = "take.mp4"       # no video found: every job needs one'
    for slot in SLOTS:
        files = slots.get(slot)
        if not files:
            continue
        if slot == "audio":
            items = ", ".join(_toml_string(_rel(p, folder)) for p in files)
            yield f"audio = [{items}]"
            continue
        yield f"{slot} = {_toml_string(_rel(files[0], folder))}  # {why[files[0]]}"
    missing = [s for s in ID_DOCUMENT_SLOTS if s not in slots]
    for slot in missing:
        yield f"# {slot} = \"…\"  # not found: required unless the account is NA-whitelisted"
    for p, reason in unused:
        yield f"# not used: {_toml_string(_rel(p, folder))} ({reason})"
    yield ""
    yield "[account]"
    yield "na_whitelisted = false   # not whitelisted: ID card sides and the grant letter needed"


def draft_spec(folder: str | Path = ".", *, faces: bool = True) -> Draft:
    """Draft a spec from the media under ``folder``. Nothing is written.

    ``faces`` uses the ``face`` extra when installed (the slots are then judged by faces too).

    :raises PreflightError: the folder does not exist or holds no readable media.
    """
    root = Path(folder)
    if not root.is_dir():
        raise PreflightError(f"{root}: no such folder")
    infos: dict[Path, dict[str, Any]] = {}
    skipped: list[tuple[Path, str]] = []
    for p in media_files(root):
        try:
            infos[p] = describe(p, faces=faces)
        except ProbeError as exc:
            skipped.append((p, f"cannot be read: {exc.detail}"))
        except PreflightError as exc:
            skipped.append((p, f"cannot be read: {exc}"))
    if not infos:
        raise PreflightError(f"{root}: no readable media files found (videos, audio, images, "
                             "PDFs); put the take and documents here, or write the spec by hand")
    slots, why, unused = _classify(infos)
    take = slots.get("training_video")
    green = _green(take[0]) if take else None
    text = "\n".join(_lines(root, slots, why, [*unused, *skipped], green, infos)) + "\n"
    return Draft(root, text, slots, [*unused, *skipped])


def write_spec(draft: Draft, *, force: bool = False) -> Path:
    """Write the drafted spec as ``avatar.toml`` in its folder, through a temporary file and
    a rename (never a partial file), and ``avatar.schema.json`` beside it when missing. An
    existing spec is never replaced unless ``force``, and never through a link or onto
    anything but a regular file.

    :raises PreflightError: the spec exists (without ``force``) or cannot be written.
    """
    import json

    from preflight.spec.json_schema import spec_schema

    dst = draft.path
    if (dst.exists() or dst.is_symlink()) and not force:
        raise PreflightError(f"{dst} exists; not replacing it (pass --force to replace it)")
    inputs = [p for files in draft.slots.values() for p in files]
    schema = draft.folder / SCHEMA_NAME
    try:
        write_output(dst, draft.text.encode("utf-8"), inputs)
        if not schema.exists() and not schema.is_symlink():
            write_output(schema, (json.dumps(spec_schema(), indent=2) + "\n").encode("utf-8"),
                         inputs)
    except OSError as exc:
        raise PreflightError(f"cannot write {exc.filename or dst}: {exc.strerror or exc}"
                             ) from None
    return dst
