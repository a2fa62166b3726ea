"""Contact sheets: the sampled frames of a video in a grid, with the green mask overlaid and the
per-frame coverage numbers, so a person sees at a glance why GRN passed or failed; with the
presenter checks, also the face boxes, the orientation verdict and the identity distance.

The sheet is drawn from the frames the check already sampled (no second decode); only when
the check did not sample them (results reused from the cache, a rule selection without VID/GRN)
is the video sampled here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import PreflightError, ProbeError
from preflight.metastudio import VIDEO_EXTENSIONS
from preflight.report.html import (
    COMPARED_COLOUR,
    FACE_COLOUR,
    KIND_PHRASE,
    KIND_WORDS,
    MASK_COLOUR,
    RING_COLOUR,
    SUBJECT_COLOUR,
)

if TYPE_CHECKING:
    from preflight.inspect.face import Box
    from preflight.inspect.frames import Frame, FrameSample
    from preflight.inspect.green import FrameGreen, Params
    from preflight.model import Finding, Report
    from preflight.report.html import Background, FileView, JobView, Picture
    from preflight.rules.config import Config

COLUMNS = 4
MASK_TINT = MASK_COLOUR
KIND_COLOURS = {"green": (40, 170, 80), "blue": (40, 90, 220), "partial": (230, 150, 20),
                "none": (210, 50, 50)}


def _pick(report: Report, seen: dict[Path, FrameSample]) -> tuple[Path | None, FrameSample | None]:
    """The training video of the report and its frames, if they were sampled."""
    slots = {f.path: f.slot for f in report.findings if f.path}
    videos = [Path(p) for p in report.files if Path(p).suffix.lower() in VIDEO_EXTENSIONS]
    videos.sort(key=lambda p: slots.get(str(p)) != "training_video")
    for p in videos:
        if p in seen:
            return p, seen[p]
    for p in seen:
        return p, seen[p]
    return (videos[0] if videos else None), None


def green_options(edition: str, config: Config | None = None) -> Mapping[str, Any]:
    """The green-screen thresholds the check applies (GRN001's effective options), so the
    sheet's verdicts are the rules' verdicts."""
    from preflight.rules.config import Config, resolve

    return resolve(edition, config or Config())["GRN001"].options


def checked_with_sheet(run: Callable[[], Report], out: Path,
                       config: Config | None = None) -> Report:
    """Run a check, then write the contact sheet of its (training) video to `out`, judged with
    the edition's (and `config`'s) green-screen thresholds.

    :raises PreflightError: the check named no video, or the sheet cannot be written.
    """
    from preflight.inspect.face import noting
    from preflight.inspect.frames import collecting

    with collecting() as seen, noting() as faces:
        report = run()
    path, sample = _pick(report, seen)
    if path is None:
        raise PreflightError("--contact-sheet: the check named no video to draw")
    edition = report.edition if report.edition != "mixed" else "standard"
    write_contact_sheet(out, path, sample, green_options(edition, config),
                        faces.get(path) if sample is not None else None,
                        inputs=[*report.files, *([report.spec_path] if report.spec_path else [])])
    return report


def write_contact_sheet(out: Path, video: Path, sample: FrameSample | None = None,
                        green: Mapping[str, Any] | None = None,
                        presenter: Mapping[str, Any] | None = None,
                        inputs: Iterable[str | Path] = ()) -> Path:
    """Draw the sheet for `video` from `sample` (sampled now when None) into the PNG `out`,
    with `green` thresholds (default: the standard edition's) and what the presenter rules
    found (`presenter`: ``faces``, ``orientation``, ``identity`` as noted by
    `preflight.inspect.face.noting`). The sheet is never written onto `video` or `inputs`.

    :raises PreflightError: the sheet cannot be written.
    """
    from preflight.inspect.frames import sample_frames
    from preflight.safeio import writing

    error = None
    if sample is None and not video.is_file():
        error = "not a regular file"
    elif sample is None:
        try:
            sample = sample_frames(video)
        except ProbeError as exc:
            error = exc.detail
    img = render(video, sample, error, green or green_options("standard"), presenter)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with writing(out, [video, *inputs]) as fh:
            img.save(fh, "PNG")
    except OSError as exc:
        why = exc.strerror or exc
        raise PreflightError(f"cannot write the contact sheet {out}: {why}") from None
    return out


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def presenter_line(presenter: Mapping[str, Any] | None) -> str | None:
    """The sheet's presenter summary: faces found, orientation, identity distance."""
    from preflight.inspect.face import TURNS

    if not presenter or "faces" not in presenter:
        return None
    faces = presenter["faces"]
    found = sum(1 for f in faces if f.boxes)
    parts = [f"presenter: upright face in {found} of {len(faces)} frames"]
    turns = presenter.get("orientation")
    if found:
        parts.append("upright")
    elif turns:
        parts.append(f"NOT UPRIGHT (a face when turned; shown rotated {TURNS[turns]})")
    if "identity" in presenter:
        dist, card = presenter["identity"]
        parts.append(f"identity distance {dist:.2f} to {card}{_compared(presenter)}")
    return "   ".join(parts)


def _compared(noted: Mapping[str, Any]) -> str:
    """Which face of the video the identity compared (its time and box in the frame)."""
    at = noted.get("compared")
    if not at:
        return ""
    t, box = at
    m, sec = divmod(round(float(t)), 60)
    where = f", box {box[0]},{box[1]}–{box[2]},{box[3]}" if box else ""
    return f" (the face at {m}:{sec:02d}{where})"


@dataclass(frozen=True)
class Judged:
    """The sampled frames of a video judged as the GRN rules judge them: per-frame
    measurements and kinds, the overall background verdict and the face boxes per frame."""

    frames: tuple[Frame, ...]
    results: tuple[FrameGreen, ...]
    kinds: tuple[str, ...]
    verdict: str
    counts: Mapping[str, int]
    params: Params
    boxes: Mapping[float, tuple[Box, ...]]
    #: The face the identity compared with the ID card: (frame time, [l, t, r, b]).
    compared: tuple[float, list[int]] | None = None


def judge(sample: FrameSample, green: Mapping[str, Any],
          presenter: Mapping[str, Any] | None = None) -> Judged:
    """Judge the frames of `sample` with the `green` thresholds; face boxes from `presenter`."""
    from preflight.inspect.green import Params, analyse, verdict

    frames = tuple(sample.frames)
    params = Params.from_options(green)
    results = analyse(frames, params)
    ring_min, side_min = float(green["ring_min"]), float(green["side_min"])
    side_full = float(green["side_full"])
    kind, counts = verdict(results, ring_min, side_min, side_full,
                           float(green["frame_fraction"]))
    faces = (presenter or {}).get("faces") or ()
    return Judged(frames, results, tuple(r.kind(ring_min, side_min, side_full) for r in results),
                  kind, counts, params, {round(f.time, 3): f.boxes for f in faces},
                  (presenter or {}).get("compared"))


def draw_frame(judged: Judged, i: int) -> Any:
    """Frame `i` as a Pillow image: the green mask tinted, the border ring, the subject box
    (yellow) and the presenter's face boxes (cyan)."""
    import numpy as np
    from PIL import Image, ImageDraw

    fr, res = judged.frames[i], judged.results[i]
    rgb = fr.rgb.astype(np.float32)
    mask = res.mask[..., None]
    tinted = np.where(mask, rgb * 0.45 + np.array(MASK_TINT, np.float32) * 0.55, rgb)
    tile = Image.fromarray(tinted.clip(0, 255).astype(np.uint8))
    td = ImageDraw.Draw(tile)
    h, w = fr.rgb.shape[:2]
    ring = max(2, round(min(h, w) * judged.params.ring))
    td.rectangle((0, 0, w - 1, h - 1), outline=(255, 255, 255))
    td.rectangle((ring, ring, w - 1 - ring, h - 1 - ring), outline=RING_COLOUR)
    if res.subject_box:
        x0, y0, x1, y1 = res.subject_box
        td.rectangle((x0, y0, x1 - 1, y1 - 1), outline=SUBJECT_COLOUR, width=2)
    for b in judged.boxes.get(round(fr.time, 3), ()):
        td.rectangle((b.left, b.top, b.right - 1, b.bottom - 1), outline=FACE_COLOUR, width=2)
    if judged.compared and judged.compared[1] and judged.compared[0] == round(fr.time, 3):
        x0, y0, x1, y1 = judged.compared[1]  # the face compared with the ID card
        td.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=COMPARED_COLOUR, width=2)
    return tile


def timestamp(seconds: float) -> str:
    """``m:ss.s`` as printed under each frame."""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def render(video: Path, sample: FrameSample | None, error: str | None,
           green: Mapping[str, Any], presenter: Mapping[str, Any] | None = None) -> Any:
    """The sheet as a Pillow image, frames judged with the `green` thresholds, with the
    presenter rules' face boxes and verdicts when given."""
    from PIL import Image, ImageDraw

    head, small = _font(18), _font(14)
    frames = list(sample.frames) if sample else []
    if sample is None or not frames:
        img = Image.new("RGB", (960, 120), (30, 30, 30))
        d = ImageDraw.Draw(img)
        d.text((12, 12), f"{video.name}", fill=(255, 255, 255), font=head)
        d.text((12, 50), f"no frames: {error or 'nothing decoded'}", fill=(255, 120, 120),
               font=small)
        return img
    line = presenter_line(presenter)
    judged = judge(sample, green, presenter if line else None)
    tw = max(f.rgb.shape[1] for f in frames)
    th = max(f.rgb.shape[0] for f in frames)
    cols = min(COLUMNS, len(frames))
    rows = -(-len(frames) // cols)
    cap, pad = 40, 8
    width = max(640, pad + cols * (tw + pad))
    said = _wrapped(line + "   (cyan box: a face; white box: the face compared with the ID "
                    "card)", small, width - 2 * pad) if line else []
    top = 84 + 20 * len(said)
    sheet = Image.new("RGB", (width, top + rows * (th + cap + pad)), (24, 24, 24))
    d = ImageDraw.Draw(sheet)
    d.text((pad, 8), f"{video.name}  -  background: "
           f"{KIND_PHRASE.get(judged.verdict, judged.verdict)}", font=head,
           fill=KIND_COLOURS.get(judged.verdict, (255, 255, 255)))
    d.text((pad, 36), "magenta: counted as green screen   yellow box: presenter   "
           "grey line: edge strip", font=small, fill=(200, 200, 200))
    d.text((pad, 56), "under each frame: time, what the edges show, % green of the edges / "
           "whole picture", font=small, fill=(200, 200, 200))
    for n, text in enumerate(said):
        d.text((pad, 76 + 20 * n), text, font=small, fill=(120, 230, 255))
    for i, (fr, res) in enumerate(zip(judged.frames, judged.results, strict=True)):
        x = pad + (i % cols) * (tw + pad)
        y = top + (i // cols) * (th + cap + pad)
        sheet.paste(draw_frame(judged, i), (x, y))
        h = fr.rgb.shape[0]
        kind = judged.kinds[i]
        d.text((x, y + h + 4), f"{timestamp(fr.time)}  {KIND_WORDS[kind]}", font=small,
               fill=KIND_COLOURS[kind])
        d.text((x, y + h + 21), f"edges {res.ring_green:.0%}  whole {res.coverage:.0%}",
               font=small, fill=(230, 230, 230))
    return sheet


def _wrapped(text: str, font: Any, width: int) -> list[str]:
    """`text` broken at spaces into lines no wider than `width` pixels in `font`."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


# ---- pictures for the HTML report ------------------------------------------------------------

#: Longest side of an ID-card / image thumbnail in the HTML report.
THUMB_SIDE = 480
#: JPEG quality of the pictures embedded in the HTML report.
JPEG_QUALITY = 82


@contextlib.contextmanager
def gathering() -> Iterator[tuple[dict[Path, FrameSample], dict[Path, dict[str, Any]]]]:
    """Record the frames sampled and what the presenter rules found inside the block (in this
    thread: a batch worker gathers its own target)."""
    from preflight.inspect.face import noting
    from preflight.inspect.frames import collecting

    with collecting() as seen, noting() as faces:
        yield seen, faces


def _jpeg(img: Any) -> str:
    import io

    from preflight.report.html import data_uri

    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return data_uri(buf.getvalue(), "image/jpeg")


def frame_pictures(video: Path, sample: FrameSample, green: Mapping[str, Any],
                   presenter: Mapping[str, Any] | None, scope: str = "judged"
                   ) -> tuple[list[str], list[Picture], Background]:
    """The summary lines, one picture per sampled frame, drawn as the contact sheet draws
    them (mask, ring, subject and face boxes), and the background seen in them; `scope` says
    whether the green-screen rules judge this file (see `Background`)."""
    from preflight.report.html import Background, Picture

    line = presenter_line(presenter)
    judged = judge(sample, green, presenter if line else None)
    summary = []
    if line:
        summary.append(" · ".join(p.strip() for p in line.split("   ") if p.strip()))
    pics = []
    for i, (fr, res) in enumerate(zip(judged.frames, judged.results, strict=True)):
        h, w = fr.rgb.shape[:2]
        kind = judged.kinds[i]
        pics.append(Picture(
            src=_jpeg(draw_frame(judged, i)), alt=f"{video.name} at {timestamp(fr.time)}",
            width=int(w), height=int(h), caption=f"{timestamp(fr.time)} · {KIND_WORDS[kind]}" + (
                " · white box: the face compared with the ID card" if judged.compared and
                judged.compared[0] == round(fr.time, 3) else ""),
            detail=f"green: edges {res.ring_green:.0%}, whole {res.coverage:.0%}", kind=kind))
    return summary, pics, Background(judged.verdict, dict(judged.counts), scope)


def image_picture(path: Path, findings: Iterable[Finding]) -> tuple[list[Picture], str | None]:
    """A thumbnail of an image upload with the face boxes the presenter rules reported, or
    why there is none."""
    from PIL import Image, ImageDraw

    from preflight.inspect.face import load_photo
    from preflight.inspect.image import MAX_PIXELS, is_pdf
    from preflight.report.html import Picture

    if is_pdf(path):
        return [], "a PDF document (no thumbnail)"
    try:
        rgb = load_photo(path, MAX_PIXELS, max_side=THUMB_SIDE)
    except ProbeError as exc:
        return [], f"no picture: {exc.detail}"
    img = Image.fromarray(rgb)
    boxes: list[Any] = []
    size: Any = None
    for f in findings:
        if f.family == "PRS" and f.details.get("boxes"):
            boxes, size = list(f.details["boxes"]), f.details.get("image_size")
            break
    if boxes and isinstance(size, list | tuple) and size and size[0]:
        scale = img.width / float(size[0])
        d = ImageDraw.Draw(img)
        for b in boxes:
            x0, y0, x1, y1 = (float(v) * scale for v in b[:4])
            d.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(0, 230, 255), width=3)
    caption = f"{len(boxes)} face box{'es' if len(boxes) != 1 else ''} (cyan)" if boxes else ""
    return [Picture(src=_jpeg(img), alt=path.name, width=img.width, height=img.height,
                    caption=caption)], None


def image_size(path: Path) -> str | None:
    """``WxH`` of an image as displayed (EXIF rotation applied), read from its header."""
    import warnings

    from PIL import Image

    from preflight.inspect.image import header_orientation

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                w, h = img.size
                turned = header_orientation(img) in (5, 6, 7, 8)  # never decodes the pixels
    except Exception:  # any unreadable header: the IMG rules say why
        return None
    return f"{h}x{w}" if turned else f"{w}x{h}"


def file_view(slot: str, path: Path, findings: list[Finding],
              sample: FrameSample | None, green: Mapping[str, Any],
              presenter: Mapping[str, Any] | None, scope: str = "judged") -> FileView:
    """What the HTML report shows of one upload: its facts and its pictures; `scope` says
    whether the green-screen rules judge its background (see `Background`)."""
    from preflight.inspect.image import is_pdf
    from preflight.inspect.probe import probe_video
    from preflight.metastudio import SLOTS
    from preflight.report.html import FileView

    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None
    family = SLOTS[slot].family if slot in SLOTS else ""
    duration = resolution = codec = None
    regular = path.is_file() and bool(size)
    if family in ("VID", "AUD") and regular:
        try:
            p = probe_video(path)
        except (ProbeError, OSError):
            p = None
        if p is not None:
            duration = p.duration
            if p.display_width and p.display_height:
                resolution = f"{p.display_width}x{p.display_height}"
                if p.fps:
                    resolution += f" at {p.fps:g} fps"
            codec = p.video_codec or p.video_format if family == "VID" else p.audio_codec
    summary: list[str] = []
    pictures: list[Picture] = []
    background = None
    note = None
    if not regular:
        note = "no picture: the file is missing, empty or not a regular file"
    elif family == "VID":
        gate_failed = any(f.code == "VID002" for f in findings)
        if sample is None and not gate_failed:
            from preflight.inspect.frames import sample_frames

            try:  # frames the check did not sample (a rule selection without VID/GRN)
                sample = sample_frames(path, collect=False)
            except ProbeError as exc:
                note = f"no frames: {exc.detail}"
        if sample is not None and sample.frames:
            summary, pictures, background = frame_pictures(path, sample, green, presenter,
                                                           scope)
        elif note is None:
            note = "no frames: the video could not be decoded (see the findings)"
    elif family == "IMG":
        if not is_pdf(path):
            resolution = image_size(path)
        pictures, note = image_picture(path, findings)
    return FileView(slot, str(path), size=size, duration=duration, resolution=resolution,
                    codec=codec, summary=tuple(summary), pictures=tuple(pictures), note=note,
                    background=background)


def job_view(report: Report, body: Mapping[str, Any] | None, pairs: Iterable[tuple[str, Path]],
             seen: Mapping[Path, FrameSample], faces: Mapping[Path, Mapping[str, Any]],
             config: Config | None = None) -> JobView:
    """The HTML report's view of one checked job, from what its check gathered."""
    from preflight.report.html import JobView

    edition = report.edition if report.edition != "mixed" else "standard"
    green = green_options(edition, config)
    views = []
    done: set[Path] = set()
    # The report names each file as the user typed it (in the order of `pairs`); the frames and
    # faces gathered during the check are keyed the same way.
    pairs = list(pairs)
    if len(report.files) == len(pairs):
        pairs = [(slot, Path(name)) for (slot, _), name in zip(pairs, report.files, strict=True)]
    for slot, path in pairs:
        if path in done:
            continue
        done.add(path)
        mine = [f for f in report.findings if f.path == str(path)]
        sample = seen.get(path)
        views.append(file_view(slot, path, mine, sample, green,
                               faces.get(path) if sample is not None else None,
                               background_scope(slot, body, edition, config)))
    return JobView(report, body=body, files=tuple(_identity(views, faces)))


def background_scope(slot: str, body: Mapping[str, Any] | None, edition: str,
                     config: Config | None) -> str:
    """Whether the green-screen rules judge the background of a `slot` file in this job:
    ``judged``, ``other-slot`` (they judge the training video only), ``real-scene`` (the job
    keeps its real background: `is_background_replacement` false, or an edition without
    background replacement) or ``not-run`` (turned off by the configuration or options)."""
    from preflight.metastudio import BODY_DEFAULTS
    from preflight.rules.config import Config, resolve
    from preflight.rules.grn import GREEN_SLOTS

    if slot not in GREEN_SLOTS:
        return "other-slot"
    key = "is_background_replacement"
    if resolve(edition, Config())["GRN001"].severity is None or (
            body is not None and body.get(key, BODY_DEFAULTS[key]) is False):
        return "real-scene"
    if resolve(edition, config or Config())["GRN001"].severity is None:
        return "not-run"
    return "judged"


def _identity(views: list[FileView], faces: Mapping[Path, Mapping[str, Any]]) -> list[FileView]:
    """Put the identity distance the presenter rules measured on the ID card's card too."""
    from dataclasses import replace

    for video, noted in faces.items():
        if "identity" not in noted:
            continue
        dist, card = noted["identity"]
        for i, v in enumerate(views):
            if v.slot == "id_card_front" and Path(v.path).name == card:
                line = (f"identity distance {dist:.2f} to the presenter in {video.name}"
                        f"{_compared(noted)}")
                views[i] = replace(v, summary=(*v.summary, line))
    return views
