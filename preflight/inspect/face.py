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


#: SHA-256 of dlib's frontal face detector as its ``save`` writes it, by dlib version. A
#: cached file is used only when its bytes match a recorded hash; a build whose bytes match
#: none (another dlib, another model) is used but never saved.
DETECTOR_SHA256 = {
    "20.0.1": "f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426",
}
_KNOWN_DETECTORS = frozenset(DETECTOR_SHA256.values())


def _private_dir(folder: Path) -> bool:
    """Whether `folder` is a real folder (not a link) owned by this user that nobody else can
    write; created (mode 700) when missing."""
    import stat

    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700, parents=True)
    st = os.lstat(folder)
    owner = getattr(os, "getuid", lambda: st.st_uid)()
    return stat.S_ISDIR(st.st_mode) and st.st_uid == owner and not st.st_mode & 0o022


def _read_verified(saved: Path) -> bool:
    """Whether `saved` is a regular file (not followed through a link) holding a detector
    whose hash the package records."""
    import hashlib
    import stat

    from preflight.safeio import open_fd

    try:
        fd = open_fd(saved, os.O_RDONLY, follow=False)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        digest = hashlib.sha256(fh.read(64 << 20)).hexdigest()
    return digest in _KNOWN_DETECTORS


def _save_detector(det: Any, saved: Path) -> None:
    """Save the built detector to `saved` through an exclusively created temp file with an
    unpredictable name in the same folder, kept only when its hash is a recorded one."""
    import hashlib
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".detector-", suffix=".part", dir=saved.parent)
    part = Path(tmp)
    try:
        os.close(fd)
        det.save(str(part))  # dlib writes the file mkstemp created (ours, 0600)
        with open(part, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        if digest in _KNOWN_DETECTORS:
            os.replace(part, saved)  # replaces a link at `saved` itself, never its target
    finally:
        part.unlink(missing_ok=True)


@cache
def _detector() -> Any:
    """dlib's HOG frontal face detector. dlib builds it from a compressed copy inside its
    binary (about a second); the built detector is saved once in dlib's own format to the
    user's cache folder, and later processes load that file (milliseconds). The folder must
    be this user's own and writable by nobody else, the file must match the hash recorded
    for it (`DETECTOR_SHA256`), links are never followed; anything else only costs the build
    (in memory)."""
    import dlib

    saved: Path | None = None
    try:
        folder = _cache_dir()
        if _private_dir(folder):
            saved = folder / f"dlib-{dlib.__version__}-frontal-face-detector.svm"
            if _read_verified(saved):
                return dlib.fhog_object_detector(str(saved))
    except Exception:  # no home folder, unreadable, damaged, another build: build it below
        pass
    det = dlib.get_frontal_face_detector()
    if saved is not None:
        with contextlib.suppress(Exception):  # best effort: the next process builds it again
            _save_detector(det, saved)
    return det


def warm_up(describe: bool = False) -> None:
    """Load dlib and the detector (and, with `describe`, the descriptor models) in a
    background thread, so that loading them overlaps probing and decoding the media; a
    failure is left for the rules to meet (and report)."""

    def load() -> None:
        with contextlib.suppress(Exception):
            if unavailable() is None:
                with _lock:
                    _detector()
                    if describe:
                        _describer()

    threading.Thread(target=load, name="face-models", daemon=True).start()


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


#: Face-box height (pixels) the detector finds at its own scale (its window is 80 px; the
#: smallest boxes it returns are 73 px).
TARGET = 80
#: Most pixels a scaled search region may have (a bound on memory and time).
MAX_SEARCH_PIXELS = 12_000_000


def detect_scaled(img: RGB | npt.NDArray[np.uint8], min_px: float,
                  region: Region | None = None, pad: int | None = None) -> tuple[Box, ...]:
    """Faces from `min_px` pixels high upward in `img` (RGB or brightness), in `region`
    (widened by `pad`, default a third of `min_px`, at least `MARGIN`): the region is scaled
    so that such a face is `TARGET` pixels high and searched once. Boxes are in pixels of
    `img`."""
    import numpy as np
    from PIL import Image

    h, w = img.shape[:2]
    region = region or (0, 0, w, h)
    pad = max(MARGIN, int(min_px / 3) if pad is None else pad)
    if region[2] <= region[0] or region[3] <= region[1]:
        return ()
    left, top = max(0, region[0] - pad), max(0, region[1] - pad)
    right, bottom = min(w, region[2] + pad), min(h, region[3] + pad)
    crop = img[top:bottom, left:right]
    scale = TARGET / max(1.0, min_px)
    cw, ch = right - left, bottom - top
    scale = min(scale, (MAX_SEARCH_PIXELS / max(1, cw * ch)) ** 0.5)
    if abs(scale - 1) > 0.05:
        size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
        crop = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize(
            size, Image.Resampling.BILINEAR))
    else:
        scale = 1.0
    found = detect(np.ascontiguousarray(crop), 0)
    return tuple(Box(max(0, int(b.left / scale) + left), max(0, int(b.top / scale) + top),
                     min(w, int(b.right / scale) + left), min(h, int(b.bottom / scale) + top),
                     b.score) for b in found)


def turned(rgb: RGB, quarter_turns: int) -> RGB:
    """The image turned by `quarter_turns` x 90° counter-clockwise."""
    import numpy as np

    return np.ascontiguousarray(np.rot90(rgb, k=quarter_turns))


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


#: Photos with a longer side under this many pixels are searched one doubling finer when the
#: first search finds no face (an ID card face of 60 px in a 600 px scan).
SMALL_PHOTO = 1000
_photo_lock = threading.Lock()
_search_lock = threading.Lock()
#: The last photos loaded and searched in this process, by file identity: an ID card front is
#: read by its own rules and by the identity rule of the video.
_photos: dict[tuple[Any, ...], tuple[Any, dict[int, tuple[Box, ...]]]] = {}


def _photo_key(path: Path, max_pixels: int) -> tuple[Any, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, max_pixels)


def shared_photo(path: Path, max_pixels: int) -> RGB:
    """`load_photo`, once per unchanged file in this process (the last 4 kept)."""
    key = _photo_key(path, max_pixels)
    with _photo_lock:
        hit = _photos.get(key) if key is not None else None
    if hit is not None:
        img: RGB = hit[0]
        return img
    img = load_photo(path, max_pixels)
    if key is not None:
        with _photo_lock:
            while len(_photos) >= 4:
                del _photos[next(iter(_photos))]
            _photos[key] = (img, {})
    return img


def photo_faces(path: Path, max_pixels: int, upsample: int) -> tuple[RGB, tuple[Box, ...]]:
    """The photo (`shared_photo`) and the faces in it, searched once per unchanged file (a
    photo smaller than `SMALL_PHOTO` once more, finer, when no face is found). Files checked
    at once wait for each other here, so an ID card front is searched once, not once by its
    own rules and again by the video's identity rule."""
    with _search_lock:
        return _photo_faces(path, max_pixels, upsample)


def _photo_faces(path: Path, max_pixels: int, upsample: int) -> tuple[RGB, tuple[Box, ...]]:
    img = shared_photo(path, max_pixels)
    key = _photo_key(path, max_pixels)
    with _photo_lock:
        entry = _photos.get(key) if key is not None else None
        found = entry[1].get(upsample) if entry is not None and entry[0] is img else None
    if found is None:
        # A small photo (a low-resolution scan) is searched once more, one doubling finer.
        found = detect(img, upsample) or (detect(img, upsample + 1)
                                          if max(img.shape[:2]) < SMALL_PHOTO else ())
        if entry is not None and entry[0] is img:
            with _photo_lock:
                entry[1][upsample] = found
    return img, found


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
