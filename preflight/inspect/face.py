"""Face detection and description with dlib (the optional ``face`` extra).

Models: dlib's HOG frontal face detector (built into dlib), the 5-point shape predictor and the
ResNet face descriptor shipped in the ``face-recognition-models`` wheel (nothing is downloaded).
The 68-point landmark model in that wheel is never loaded: its training data is licensed for
non-commercial use only. Models are loaded lazily, once per process, by the first rule that
needs them; detection alone never loads the descriptor.

Everything here works on RGB ``uint8`` arrays as displayed (rotation already applied), so a
caller can pass the frames the check has sampled anyway.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    RGB = npt.NDArray[np.uint8]

#: What to install when the models are missing.
EXTRA = "face"
INSTALL = "pip install 'metastudio-preflight[face]'"
#: Rotations (quarter turns counter-clockwise, as `numpy.rot90`) tried when no upright face is
#: found; the name is what the viewer sees the take needs.
TURNS = {1: "90° clockwise", 2: "180°", 3: "90° counter-clockwise"}
_lock = threading.Lock()
#: Least brightness spread (grey levels) of a background for its shift to be measured.
MIN_TEXTURE = 6.0
#: Grey level from which a face pixel counts as nearly white (glare, washed out).
WHITE = 235


@dataclass(frozen=True)
class Box:
    """A face box in pixels of the image it was found in, with the detector's score."""

    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0

    @property
    def width(self) -> int:
        """Box width."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Box height."""
        return self.bottom - self.top

    def as_list(self) -> list[int]:
        """[left, top, right, bottom] for JSON details."""
        return [self.left, self.top, self.right, self.bottom]


@dataclass(frozen=True)
class FrameFaces:
    """The faces found in one sampled frame."""

    time: float
    size: tuple[int, int]
    boxes: tuple[Box, ...]

    @property
    def largest(self) -> Box | None:
        """The biggest face (the presenter), if any."""
        return max(self.boxes, key=lambda b: b.width * b.height, default=None)


_notes: contextvars.ContextVar[dict[Path, dict[str, Any]] | None] = contextvars.ContextVar(
    "preflight_face_notes", default=None)


@contextlib.contextmanager
def noting() -> Iterator[dict[Path, dict[str, Any]]]:
    """Record what the presenter rules found per video inside the block (faces per frame,
    orientation, identity distance), for the contact sheet."""
    seen: dict[Path, dict[str, Any]] = {}
    token = _notes.set(seen)
    try:
        yield seen
    finally:
        _notes.reset(token)


def note(path: Path, **values: Any) -> None:
    """Record values about `path` when inside `noting()` (else nothing)."""
    seen = _notes.get()
    if seen is not None:
        seen.setdefault(path, {}).update(values)


#: The model files used: the 5-point landmark model and the ResNet descriptor (never the 68-point
#: model, whose training data is licensed for non-commercial use only).
_MODELS = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")


@cache
def unavailable() -> str | None:
    """Why the face models cannot be used (None when they can)."""
    try:
        import dlib  # noqa: F401
    except Exception as exc:  # ImportError, or a broken binary wheel (OSError)
        return f"{type(exc).__name__}: {exc}"
    try:
        _model_dir()
    except FileNotFoundError as exc:
        return str(exc)
    return None


def _cache_dir() -> Path:
    """Where the detector is kept once built (``$XDG_CACHE_HOME/metastudio-preflight``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
        "metastudio-preflight"


@cache
def _model_dir() -> Path:
    """The model folder of `face-recognition-models`, found without importing the package:
    its ``__init__`` needs ``pkg_resources``, which venvs without setuptools (pipx, Python
    3.12+) lack."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    roots = list(spec.submodule_search_locations or ()) if spec is not None else []
    for root in roots:
        folder = Path(root) / "models"
        if all((folder / name).is_file() for name in _MODELS):
            return folder
    raise FileNotFoundError("the face-recognition-models package (with its model files) is "
                            "not installed")


@cache
def _detector() -> Any:
    """dlib's HOG frontal face detector. dlib builds it from a compressed copy inside its
    binary (about a second); the built detector is saved once in dlib's own format to the
    user's cache folder, and later processes load that file (milliseconds). A file that
    cannot be read or written only costs the slower build."""
    import dlib

    saved: Path | None = None
    try:
        saved = _cache_dir() / f"dlib-{dlib.__version__}-frontal-face-detector.svm"
        if saved.is_file():
            return dlib.fhog_object_detector(str(saved))
    except Exception:  # no home folder, unreadable, damaged, another build: build it below
        pass
    det = dlib.get_frontal_face_detector()
    if saved is None:
        return det
    with contextlib.suppress(Exception):  # best effort: the next process builds it again
        saved.parent.mkdir(parents=True, exist_ok=True)
        part = saved.with_name(f"{saved.name}.{os.getpid()}.part")
        try:
            det.save(str(part))
            os.replace(part, saved)
        finally:
            part.unlink(missing_ok=True)
    return det


@cache
def _describer() -> tuple[Any, Any]:
    import dlib

    folder = _model_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shape = dlib.shape_predictor(str(folder / _MODELS[0]))
        net = dlib.face_recognition_model_v1(str(folder / _MODELS[1]))
    return shape, net


#: A region to search: (left, top, right, bottom) in pixels of the image.
Region = tuple[int, int, int, int]
#: Pixels of context kept around a searched region: more than one cell of the detector's
#: features at the doubled scale (a face lies well inside the head and body around it).
MARGIN = 6


def _widened(region: Region, w: int, h: int) -> Region | None:
    """`region` widened by `MARGIN` and kept inside a `w` x `h` image; None when it is empty
    (an all-green frame has an empty subject box)."""
    if region[2] <= region[0] or region[3] <= region[1]:
        return None
    return (max(0, region[0] - MARGIN), max(0, region[1] - MARGIN),
            min(w, region[2] + MARGIN), min(h, region[3] + MARGIN))


def detect(rgb: RGB, upsample: int = 1, region: Region | None = None) -> tuple[Box, ...]:
    """Frontal faces in an RGB image (HOG detector, `upsample` doublings for small faces).

    With `region`, only that part (widened by `MARGIN`) is searched — a face cannot be where
    the picture is chroma green — and the boxes are still in pixels of the whole image. An
    empty region holds no face."""
    import numpy as np

    h, w = rgb.shape[:2]
    left = top = 0
    if region is not None:
        bounds = _widened(region, w, h)
        if bounds is None:
            return ()
        left, top, right, bottom = bounds
        rgb = rgb[top:bottom, left:right]
    img = np.ascontiguousarray(rgb)
    with _lock:  # the dlib detector object is not documented as thread-safe
        det = _detector()
        rects, scores, _ = det.run(img, max(0, upsample), 0.0)
    return tuple(
        Box(max(0, r.left() + left), max(0, r.top() + top), min(w, r.right() + left),
            min(h, r.bottom() + top), float(s))
        for r, s in zip(rects, scores, strict=True)
    )


def faces_in(frames: Sequence[tuple[float, RGB]], upsample: int = 1,
             regions: Sequence[Region | None] | None = None,
             others: bool = True) -> tuple[FrameFaces, ...]:
    """Faces in each (time, rgb) frame. Each frame is searched without upsampling first (a
    quarter of the cost, finds faces from about 80 px) and with `upsample` only when that
    finds none. `regions` (one per frame, None: the whole frame) limits where each frame is
    searched. Frames without a face are searched once more for a small one, and with
    `others` the frames are searched for a second, smaller face beside the ones found."""
    out: list[FrameFaces] = []
    for i, (t, rgb) in enumerate(frames):
        region = regions[i] if regions is not None else None
        # Two frames without a large face: the faces are small (or absent), skip the quick pass.
        quick = upsample == 0 or len(out) < 2 or any(f.boxes for f in out)
        boxes = detect(rgb, 0, region) if quick else ()
        if not boxes and upsample > 0:
            boxes = detect(rgb, upsample, region)
        out.append(FrameFaces(t, (int(rgb.shape[1]), int(rgb.shape[0])), boxes))
    if upsample > 0:
        _small_faces(frames, out, upsample + 1, regions)
        if others:
            _more_faces(frames, out, upsample + 1, regions)
    return tuple(out)


def _overlaps(a: Box, b: Box) -> bool:
    """Whether two boxes frame the same face (the centre of one lies in the other)."""
    cx, cy = (a.left + a.right) / 2, (a.top + a.bottom) / 2
    return b.left <= cx <= b.right and b.top <= cy <= b.bottom


def _more_faces(frames: Sequence[tuple[float, RGB]], out: list[FrameFaces], upsample: int,
                regions: Sequence[Region | None] | None) -> None:
    """Look for a second, smaller face (a colleague further back, a poster) beside the ones
    found, one doubling finer: in `OTHER_PROBES` frames first, in the others only when one
    of those shows such a face (so a take of one presenter pays one search)."""
    shown = [i for i, f in enumerate(out) if f.boxes]
    shown = shown[len(shown) // 2:] + shown[:len(shown) // 2]  # the middle one first
    found = False
    for n, i in enumerate(shown):
        if n >= OTHER_PROBES and not found:
            return
        rgb = frames[i][1]
        region = regions[i] if regions is not None else None
        extra = [b for b in detect(rgb, upsample, region)
                 if not any(_overlaps(b, o) or _overlaps(o, b) for o in out[i].boxes)]
        if extra:
            found = True
            out[i] = FrameFaces(out[i].time, out[i].size, (*out[i].boxes, *extra))


def face_near(rgb: RGB, seen: Sequence[FrameFaces], upsample: int = 1) -> bool:
    """Whether one more frame shows a face: searched one doubling finer around where the
    sampled frames (`seen`, of the same size) showed it, then like `faces_in`."""
    region = _around(seen, rgb)
    if region is not None and detect(rgb, upsample + 1, region):
        return True
    return bool(faces_in([(0.0, rgb)], upsample, others=False)[0].boxes)


def _around(seen: Sequence[FrameFaces], rgb: RGB) -> Region | None:
    """Where frames of this size showed the presenter's face, widened by a face's height
    (None when none did)."""
    h, w = rgb.shape[:2]
    found = [f.largest for f in seen if f.largest is not None and f.size == (w, h)]
    if not found:
        return None
    pad = max(b.height for b in found)
    return (max(0, min(b.left for b in found) - pad), max(0, min(b.top for b in found) - pad),
            min(w, max(b.right for b in found) + pad), min(h, max(b.bottom for b in found) + pad))


#: Share of the subject's box (of the frame without one) from its top where the head of a
#: standing or sitting presenter is searched for small faces.
HEAD_SHARE, HEAD_SHARE_FRAME = 0.4, 0.6
#: Frames without a face searched for small ones before a take is taken to show none.
SMALL_PROBES = 2
#: Frames with a face searched for a second, smaller one before the others are.
OTHER_PROBES = 1


def _head(rgb: RGB, region: Region | None) -> Region:
    """Where a small face would be: the top of the subject's box, else of the frame."""
    if region is None:
        h, w = rgb.shape[:2]
        return (0, 0, int(w), max(1, int(h * HEAD_SHARE_FRAME)))
    x0, y0, x1, y1 = region
    # A head and shoulders are about as tall as the subject is wide; a standing body is
    # taller, its head in the top part.
    return (x0, y0, x1, min(y1, y0 + max(1, int((y1 - y0) * HEAD_SHARE), x1 - x0)))


def _small_faces(frames: Sequence[tuple[float, RGB]], out: list[FrameFaces], upsample: int,
                 regions: Sequence[Region | None] | None) -> None:
    """Search the frames without a face once more for small faces (a full-length shot: about
    20 px in a 320 px frame), one doubling finer but only around the face the other frames
    showed, or where the head would be. When no frame showed a face, `SMALL_PROBES` frames
    decide whether the take has small faces or none, so a faceless take costs two searches."""
    missing = [i for i, f in enumerate(out) if not f.boxes]
    if not missing:
        return
    probing = not any(f.boxes for f in out)
    for n, i in enumerate(missing):
        if probing and n >= SMALL_PROBES and not any(out[j].boxes for j in missing[:n]):
            return
        rgb = frames[i][1]
        region = regions[i] if regions is not None else None
        if region is not None and _widened(region, *out[i].size) is None:
            continue  # all green: nobody there
        # Where the other frames showed the face, else where a head would be.
        near = _around(out, rgb)
        boxes = detect(rgb, upsample, near if near is not None else _head(rgb, region))
        if boxes:
            out[i] = FrameFaces(out[i].time, out[i].size, boxes)


def turned(rgb: RGB, quarter_turns: int) -> RGB:
    """The image turned by `quarter_turns` x 90° counter-clockwise."""
    import numpy as np

    return np.ascontiguousarray(np.rot90(rgb, k=quarter_turns))


def _crop(rgb: RGB, region: Region | None) -> RGB | None:
    """The region of the image widened by `MARGIN` (None when empty)."""
    if region is None:
        return rgb
    bounds = _widened(region, int(rgb.shape[1]), int(rgb.shape[0]))
    if bounds is None:
        return None
    left, top, right, bottom = bounds
    return rgb[top:bottom, left:right]


def orientation(frames: Sequence[RGB], upsample: int = 1, tries: int = 2,
                regions: Sequence[Region | None] | None = None) -> int | None:
    """The quarter turns (1-3) that make faces appear in frames without an upright face, or
    None: the first turn (in `TURNS` order) that shows a face in most of the picked frames
    (all of two, the one of one). At most `tries` frames are picked (the middle ones), each
    searched within its region (see `detect`); a turn is given up at the first picked frame
    that rules it out, so a faceless take costs one search per turn."""
    if not frames:
        return None
    step = max(1, len(frames) // max(1, tries))
    index = list(range(len(frames)))[step // 2::step][:tries]
    crops = [_crop(frames[i], regions[i] if regions is not None else None) for i in index]
    need = len(crops) // 2 + 1
    for k in TURNS:
        hits = 0
        for n, crop in enumerate(crops):
            if crop is not None and detect(turned(crop, k), upsample):
                hits += 1
            if hits >= need or hits + len(crops) - n - 1 < need:
                break
        if hits >= need:
            return k
    return None


def descriptor(rgb: RGB, box: Box) -> npt.NDArray[np.float64]:
    """The 128-d ResNet descriptor of the face in `box` (5-point alignment)."""
    import dlib
    import numpy as np

    img = np.ascontiguousarray(rgb)
    with _lock:
        shape, net = _describer()
        rect = dlib.rectangle(box.left, box.top, box.right, box.bottom)
        vec = net.compute_face_descriptor(img, shape(img, rect), 1)
    return np.asarray(vec, dtype=np.float64)


def distance(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Euclidean distance of two descriptors (dlib: same person below about 0.6)."""
    import numpy as np

    return float(np.linalg.norm(a - b))


@dataclass(frozen=True)
class Quality:
    """Sharpness and exposure of a face region."""

    #: Variance of the Laplacian of the grey face region scaled to 128 px high.
    sharpness: float
    #: Share of face pixels that are nearly white (glare, washed out).
    washed_out: float
    #: Mean brightness (0-255).
    brightness: float


def face_quality(rgb: RGB, box: Box) -> Quality:
    """Blur (variance of the Laplacian) and glare of the face region, measured at a fixed
    scale so that large and small photos compare."""
    import numpy as np
    from PIL import Image

    crop = rgb[box.top:box.bottom, box.left:box.right]
    if crop.size == 0:
        return Quality(0.0, 0.0, 0.0)
    grey = Image.fromarray(crop).convert("L")
    scale = 128 / max(1, grey.height)
    grey = grey.resize((max(8, round(grey.width * scale)), 128), Image.Resampling.BILINEAR)
    g = np.asarray(grey, dtype=np.float64)
    lap = (g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1])
    return Quality(float(lap.var()), float((g >= WHITE).mean()), float(g.mean()))


def load_photo(path: Path, max_pixels: int, max_side: int = 1280) -> RGB:
    """An image file as displayed (EXIF rotation applied), RGB, at most `max_side` pixels
    (decoded reduced and within the shared decode budget: `preflight.inspect.image`).

    :raises ProbeError: not an image, too many pixels or too much memory, or undecodable.
    """
    import numpy as np

    from preflight.inspect.image import load_reduced

    return np.asarray(load_reduced(path, max_pixels, max_side), dtype=np.uint8)


@dataclass(frozen=True)
class Steadiness:
    """How much the background moved or changed between consecutive sampled frames."""

    #: Largest camera shift between two frames, as a share of the frame width.
    shift: float
    #: Largest share of background pixels that changed by more than 12 % brightness.
    changed: float
    #: The pair of frame times where each maximum was measured.
    shift_at: tuple[float, float]
    changed_at: tuple[float, float]


def _background_mask(size: tuple[int, int], boxes: Sequence[Box | None]) -> npt.NDArray[Any]:
    """True outside the presenter: each face box widened to the shoulders and extended to the
    bottom of the frame (the body under the head)."""
    import numpy as np

    w, h = size
    mask = np.ones((h, w), dtype=bool)
    for b in boxes:
        if b is None:
            continue
        cx, fw = (b.left + b.right) / 2, b.width
        left, right = int(max(0, cx - 1.2 * fw)), int(min(w, cx + 1.2 * fw))
        top = int(max(0, b.top - 0.6 * b.height))
        mask[top:, left:right] = False
    return mask


def _shift(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> tuple[int, int]:
    """Translation between two grey images by phase correlation."""
    import numpy as np

    fa, fb = np.fft.rfft2(a - a.mean()), np.fft.rfft2(b - b.mean())
    cross = fa * np.conj(fb)
    corr = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=a.shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = a.shape
    return (int(dy) - h if dy > h // 2 else int(dy)), (int(dx) - w if dx > w // 2 else int(dx))


def steadiness(frames: Sequence[tuple[float, RGB]], faces: Sequence[FrameFaces],
               regions: Sequence[Region | None] | None = None) -> Steadiness:
    """Camera shift and background change between consecutive frames, measured outside the
    presenter (face boxes of both frames, widened to the body; and, on a green screen, the
    subject boxes of both frames in `regions`, so a presenter who moves is not a camera that
    moves)."""
    import numpy as np

    best_shift, best_change = 0.0, 0.0
    shift_at: tuple[float, float] = (0.0, 0.0)
    change_at: tuple[float, float] = (0.0, 0.0)
    greys = [np.asarray(rgb, dtype=np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
             for _, rgb in frames]
    for i in range(1, len(frames)):
        a, b = greys[i - 1], greys[i]
        if a.shape != b.shape:
            continue
        h, w = a.shape
        mask = _background_mask((w, h), [f.largest for f in faces[i - 1:i + 1]])
        for region in (regions[i - 1:i + 1] if regions is not None else ()):
            bounds = _widened(region, w, h) if region is not None else None
            # Only a subject that stands out of a screen: a real scene is "subject" all over.
            if region is not None and bounds is not None and \
                    (region[2] - region[0]) * (region[3] - region[1]) <= 0.6 * w * h:
                left, top, right, bottom = bounds
                mask[top:bottom, left:right] = False
        if mask.mean() < 0.05:
            continue
        moved = 0.0
        if float(a[mask].std()) >= MIN_TEXTURE:  # a plain screen has nothing to track
            fill_a, fill_b = float(a[mask].mean()), float(b[mask].mean())
            dy, dx = _shift(np.where(mask, a, fill_a), np.where(mask, b, fill_b))
            moved = float(np.hypot(dx, dy)) / w
        changed = float((np.abs(a - b)[mask] > 0.12 * 255).mean())
        t = (frames[i - 1][0], frames[i][0])
        if moved > best_shift:
            best_shift, shift_at = moved, t
        if changed > best_change:
            best_change, change_at = changed, t
    return Steadiness(best_shift, best_change, shift_at, change_at)
