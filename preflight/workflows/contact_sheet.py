"""Contact sheets: the sampled frames of a video in a grid, with the green mask overlaid and the
per-frame coverage numbers, so a person sees at a glance why GRN passed or failed; with the
presenter checks, also the face boxes, the orientation verdict and the identity distance.

The sheet is drawn from the frames the check already sampled (no second decode); only when
the check did not sample them (results reused from the cache, a rule selection without VID/GRN)
is the video sampled here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import PreflightError, ProbeError
from preflight.metastudio import VIDEO_EXTENSIONS

if TYPE_CHECKING:
    from preflight.inspect.frames import FrameSample
    from preflight.model import Report
    from preflight.rules.config import Config

COLUMNS = 4
MASK_TINT = (255, 0, 200)
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
                        faces.get(path) if sample is not None else None)
    return report


def write_contact_sheet(out: Path, video: Path, sample: FrameSample | None = None,
                        green: Mapping[str, Any] | None = None,
                        presenter: Mapping[str, Any] | None = None) -> Path:
    """Draw the sheet for `video` from `sample` (sampled now when None) into the PNG `out`,
    with `green` thresholds (default: the standard edition's) and what the presenter rules
    found (`presenter`: ``faces``, ``orientation``, ``identity`` as noted by
    `preflight.inspect.face.noting`).

    :raises PreflightError: the sheet cannot be written.
    """
    from preflight.inspect.frames import sample_frames

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
        img.save(out, "PNG")
    except OSError as exc:
        raise PreflightError(f"cannot write the contact sheet {out}: {exc}") from None
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
    parts = [f"presenter: face in {found} of {len(faces)} frames"]
    turns = presenter.get("orientation")
    if found:
        parts.append("upright")
    elif turns:
        parts.append(f"NOT UPRIGHT (shown rotated {TURNS[turns]})")
    if "identity" in presenter:
        dist, card = presenter["identity"]
        parts.append(f"identity distance {dist:.2f} to {card}")
    return "   ".join(parts)


def render(video: Path, sample: FrameSample | None, error: str | None,
           green: Mapping[str, Any], presenter: Mapping[str, Any] | None = None) -> Any:
    """The sheet as a Pillow image, frames judged with the `green` thresholds, with the
    presenter rules' face boxes and verdicts when given."""
    import numpy as np
    from PIL import Image, ImageDraw

    from preflight.inspect.green import Params, analyse, verdict

    head, small = _font(18), _font(14)
    frames = list(sample.frames) if sample else []
    if not frames:
        img = Image.new("RGB", (960, 120), (30, 30, 30))
        d = ImageDraw.Draw(img)
        d.text((12, 12), f"{video.name}", fill=(255, 255, 255), font=head)
        d.text((12, 50), f"no frames: {error or 'nothing decoded'}", fill=(255, 120, 120),
               font=small)
        return img
    params = Params.from_options(green)
    results = analyse(frames, params)
    ring_min, side_min = float(green["ring_min"]), float(green["side_min"])
    side_full = float(green["side_full"])
    verdict_kind, counts = verdict(results, ring_min, side_min, side_full,
                                   float(green["frame_fraction"]))
    tw = max(f.rgb.shape[1] for f in frames)
    th = max(f.rgb.shape[0] for f in frames)
    line = presenter_line(presenter)
    boxes = {round(f.time, 3): f.boxes for f in presenter["faces"]} if line and presenter \
        else {}
    cap, pad, top = 40, 8, 84 + (20 if line else 0)
    cols = min(COLUMNS, len(frames))
    rows = -(-len(frames) // cols)
    sheet = Image.new("RGB", (max(640, pad + cols * (tw + pad)), top + rows * (th + cap + pad)),
                      (24, 24, 24))
    d = ImageDraw.Draw(sheet)
    d.text((pad, 8), f"{video.name}  -  background: {verdict_kind.upper()}  "
           f"({', '.join(f'{k} {v}' for k, v in counts.items())})", font=head,
           fill=KIND_COLOURS.get(verdict_kind, (255, 255, 255)))
    d.text((pad, 36), "magenta: chroma-green mask   yellow box: subject   grey: border ring",
           font=small, fill=(200, 200, 200))
    d.text((pad, 56), "under each frame: time, verdict, green share of the border ring / frame",
           font=small, fill=(200, 200, 200))
    if line:
        d.text((pad, 76), line + "   (cyan box: face)", font=small, fill=(120, 230, 255))
    for i, (fr, res) in enumerate(zip(frames, results, strict=True)):
        x = pad + (i % cols) * (tw + pad)
        y = top + (i // cols) * (th + cap + pad)
        rgb = fr.rgb.astype(np.float32)
        mask = res.mask[..., None]
        tinted = np.where(mask, rgb * 0.45 + np.array(MASK_TINT, np.float32) * 0.55, rgb)
        tile = Image.fromarray(tinted.clip(0, 255).astype(np.uint8))
        sheet.paste(tile, (x, y))
        td = ImageDraw.Draw(sheet)
        h, w = fr.rgb.shape[:2]
        ring = max(2, round(min(h, w) * params.ring))
        td.rectangle((x, y, x + w - 1, y + h - 1), outline=(255, 255, 255))
        td.rectangle((x + ring, y + ring, x + w - 1 - ring, y + h - 1 - ring),
                     outline=(160, 160, 160))
        if res.subject_box:
            x0, y0, x1, y1 = res.subject_box
            td.rectangle((x + x0, y + y0, x + x1 - 1, y + y1 - 1), outline=(255, 230, 0), width=2)
        for b in boxes.get(round(fr.time, 3), ()):
            td.rectangle((x + b.left, y + b.top, x + b.right - 1, y + b.bottom - 1),
                         outline=(0, 230, 255), width=2)
        kind = res.kind(ring_min, side_min, side_full)
        t = fr.time
        td.text((x, y + h + 4), f"{int(t // 60)}:{t % 60:04.1f}  {kind}", font=small,
                fill=KIND_COLOURS[kind])
        td.text((x, y + h + 21), f"ring {res.ring_green:.0%}  frame {res.coverage:.0%}",
                font=small, fill=(230, 230, 230))
    return sheet

