"""The presenter analysis of one video, made once and shared by every presenter rule and report.

The sampled frames are searched in their full-detail brightness (`Frame.luma`) at the scale the
smallest face the rules care about needs (`min_face` of the displayed height, 4 % by default),
anywhere in the picture that is not chroma green:

1. the middle frame for faces from `COARSE` of the height upward (cheap: the usual presenter),
   then, while none is seen, down to the floor (at most `PROBES` frames; inside a subject box
   down to `BODY` of its height when that is larger: a person's face is about a twelfth of
   their height); every other frame around the face the nearest frame shows (`FOLLOW`),
   searched whole only when that fails;
2. a frame without the face its nearest frames show (none, or only another: a poster) once
   more, finer, around that face (a detector miss is not an absence);
3. the middle frame with a face, beside the largest face (left and right of its head and
   body), down to the floor or `OTHERS` of that face, for other people, each then looked for
   around the same place in every frame;
4. the faces linked into tracks across frames; a track whose pixels do not change between
   frames (a poster, a monitor) is static. The presenter is the face seen in the most frames,
   ties broken by the larger median box, then by the one nearer the centre (a static face only
   when nothing else is seen);
5. its height measured once more at `SIZE_SCALES` (the detector's boxes come in 6/5 steps)
   when that can matter: `Presenter.least_share` is under the floor (or, for the size rule,
   under its threshold: `measured_share`);
6. with no upright face at all, two frames turned by each quarter turn;
7. with the presenter in fewer than half the frames (or only a still face seen) and a subject
   too short for a face at the floor, one frame at half the floor where a head would be: a
   face found there (not the still one) is "too small to judge", not absent, and a still
   face is then not the presenter; so is a presenter found (by chance) under the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING, Any

from preflight.inspect.face import (
    MARGIN,
    TARGET,
    TURNS,
    Box,
    FrameFaces,
    Region,
    detect_scaled,
    turned,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Grey = npt.NDArray[np.uint8]

#: Faces from this share of the displayed height are looked for first (a head-and-shoulders
#: shot); smaller ones in `PROBES` frames, then around where those show them.
COARSE = 0.2
#: Frames searched down to the floor before a take is taken to show no face.
PROBES = 2
#: Most a frame is enlarged for the search: the floor cannot be under TARGET / this pixels.
MAX_ZOOM = 2.0
#: Largest mean brightness change (grey levels) between frames of a face that does not move.
STILL = 3.0
#: A face found in one frame is followed in the next down to this share of its height, within
#: `REACH` of its height around it.
FOLLOW, REACH = 0.8, 0.25
#: Other faces are looked for down to this share of the presenter's face height (or the floor).
OTHERS = 0.25


@dataclass(frozen=True)
class Track:
    """One face followed across the sampled frames: (frame index, box in detail pixels)."""

    boxes: tuple[tuple[int, Box], ...]
    static: bool = False

    @property
    def frames(self) -> frozenset[int]:
        """Indices of the frames that show it."""
        return frozenset(i for i, _ in self.boxes)

    @property
    def height(self) -> float:
        """Median box height."""
        return float(median(b.height for _, b in self.boxes))

    def at(self, index: int) -> Box | None:
        """Its box in frame `index`, if that frame shows it."""
        return next((b for i, b in self.boxes if i == index), None)


@dataclass(frozen=True)
class Presenter:
    """What the presenter rules know about one video."""

    #: Per sampled frame: its time, size and face boxes in its pixels, the presenter first.
    frames: tuple[FrameFaces, ...]
    tracks: tuple[Track, ...]
    #: Index of the presenter's track (None: no face).
    chosen: int | None
    #: Size of the searched brightness (width, height) and the floor as a share of its height.
    detail: tuple[int, int]
    floor: float
    #: Frames missing the presenter between two that show it (counted as showing it).
    bridged: tuple[int, ...] = ()
    #: Quarter turns that show the face when no frame shows an upright one.
    turns: int | None = None
    #: Height share of a face found under the floor when the presenter is otherwise not seen.
    too_small: float | None = None
    #: The presenter's face height as a share of the frame height: the median of its boxes
    #: and of boxes found at `SIZE_SCALES` in one frame (the detector's boxes come in steps of
    #: 6/5, so one scale alone is off by up to a tenth). None when not measured (see
    #: `least_share`; `measured_share` measures it).
    height_share: float | None = None

    def least_share(self) -> float | None:
        """The least the measured height share can be (`_least_share`; None: no presenter)."""
        return _least_share(self.track, self.detail[1])

    @property
    def track(self) -> Track | None:
        """The presenter's track."""
        return self.tracks[self.chosen] if self.chosen is not None else None

    def shown(self) -> list[int]:
        """Frames that show the presenter (bridged misses included)."""
        t = self.track
        return sorted((t.frames if t else frozenset()) | set(self.bridged))

    def others(self) -> list[int]:
        """Frames that show a moving face besides the presenter."""
        return sorted({i for n, t in enumerate(self.tracks) if n != self.chosen and not t.static
                       for i in t.frames})

    def box(self, index: int) -> Box | None:
        """The presenter's box in sampled frame `index`, in that frame's pixels."""
        t = self.track
        b = t.at(index) if t else None
        return self._to_frame(index, b) if b else None

    def _to_frame(self, index: int, b: Box) -> Box:
        w, h = self.frames[index].size
        sx, sy = w / self.detail[0], h / self.detail[1]
        return Box(round(b.left * sx), round(b.top * sy), round(b.right * sx),
                   round(b.bottom * sy), b.score)

    def compared(self) -> tuple[int, Box] | None:
        """The frame and box (detail pixels) of the presenter to compare with an ID card: its
        largest box, the earliest of equals."""
        t = self.track
        if t is None:
            return None
        i, b = max(t.boxes, key=lambda ib: (ib[1].height, -ib[0]))
        return i, b


def _grey(frame: Any) -> Grey:
    import numpy as np

    if getattr(frame, "luma", None) is not None:
        luma: Grey = frame.luma
        return luma
    rgb = np.asarray(frame.rgb, dtype=np.float32)
    return np.asarray(rgb @ np.array([0.299, 0.587, 0.114], np.float32), dtype=np.uint8)


def _scaled(region: Region | None, sx: float, sy: float) -> Region | None:
    import math

    if region is None:
        return None
    return (int(region[0] * sx), int(region[1] * sy), math.ceil(region[2] * sx),
            math.ceil(region[3] * sy))


def around(b: Box, w: int, h: int, reach: float = 1.0) -> Region:
    """`b` widened by `reach` face heights on every side, inside a `w` x `h` image."""
    pad = int(b.height * reach)
    return (max(0, b.left - pad), max(0, b.top - pad), min(w, b.right + pad),
            min(h, b.bottom + pad))


def _same(a: Box, b: Box) -> bool:
    """Whether two boxes (in nearby frames) frame the same face."""
    ratio = a.height / max(1, b.height)
    if not 0.6 <= ratio <= 1 / 0.6:
        return False
    cx, cy = (a.left + a.right) / 2, (a.top + a.bottom) / 2
    pad = 0.6 * b.height
    return b.left - pad <= cx <= b.right + pad and b.top - pad <= cy <= b.bottom + pad


def _new(found: Sequence[Box], have: Sequence[Box]) -> list[Box]:
    return [b for b in found if not any(_same(b, o) or _same(o, b) for o in have)]


def _nearest_all(boxes: Sequence[Sequence[Box]], i: int) -> list[Box]:
    """The boxes of the frame nearest to `i` that shows any, largest first."""
    for d in range(1, len(boxes)):
        for j in (i - d, i + d):
            if 0 <= j < len(boxes) and boxes[j]:
                return sorted(boxes[j], key=lambda b: -b.height)
    return []


def _nearest(boxes: Sequence[Sequence[Box]], i: int) -> Box | None:
    """The largest box of the frame nearest to `i` that shows one."""
    return next(iter(_nearest_all(boxes, i)), None)


def _least_share(t: Track | None, h: int) -> float | None:
    """The least the measured height share of track `t` (in an image `h` high) can be: the
    median of its box heights with two more measures under them all."""
    if t is None:
        return None
    return float(median([0, 0, *(b.height for _, b in t.boxes)])) / h


def _static(track: list[tuple[int, Box]], greys: Sequence[Grey]) -> bool:
    """Whether the face's pixels stay the same in every frame that shows it (three at least)."""
    import numpy as np

    if len(track) < 3:
        return False
    _, first = track[0]
    ref = greys[track[0][0]][first.top:first.bottom, first.left:first.right].astype(np.int16)
    for i, _ in track[1:]:
        g = greys[i]
        if g.shape != greys[track[0][0]].shape:
            return False
        crop = g[first.top:first.bottom, first.left:first.right].astype(np.int16)
        if crop.size == 0 or float(np.abs(crop - ref).mean()) > STILL:
            return False
    return True


def _tracks(boxes: Sequence[Sequence[Box]], greys: Sequence[Grey]) -> list[Track]:
    """Link the boxes of consecutive frames into tracks (largest boxes first)."""
    open_: list[list[tuple[int, Box]]] = []
    for i, found in enumerate(boxes):
        for b in sorted(found, key=lambda x: (-x.height, x.left, x.top)):
            for t in open_:
                j, last = t[-1]
                if j < i and _same(b, last):
                    t.append((i, b))
                    break
            else:
                open_.append([(i, b)])
    return [Track(tuple(t), _static(t, greys)) for t in open_]


def _choose(tracks: Sequence[Track], w: int, h: int) -> int | None:
    """The presenter: moving faces before static ones, then the most frames, the larger
    median box, the nearer the centre; then the earlier and further left (determinism)."""
    if not tracks:
        return None

    def rank(n: int) -> tuple[Any, ...]:
        t = tracks[n]
        cx = median((b.left + b.right) / 2 for _, b in t.boxes) / max(1, w) - 0.5
        cy = median((b.top + b.bottom) / 2 for _, b in t.boxes) / max(1, h) - 0.5
        first = t.boxes[0]
        return (not t.static, len(t.frames), round(t.height / max(1, h), 3),
                -round((cx * cx + cy * cy) ** 0.5, 3), -first[0], -first[1].left)

    return max(range(len(tracks)), key=rank)


def _turn_region(region: Region | None, w: int, h: int, k: int) -> Region | None:
    """`region` of a `w` x `h` image in pixels of the image turned by `k` quarter turns
    counter-clockwise (as `numpy.rot90`)."""
    if region is None:
        return None
    x0, y0, x1, y1 = region
    for _ in range(k % 4):
        x0, y0, x1, y1 = y0, w - x1, y1, w - x0
        w, h = h, w
    return (x0, y0, x1, y1)


def analyse(frames: Sequence[Any], regions: Sequence[Region | None] | None = None,
            min_face: float = 0.04) -> Presenter:
    """The presenter analysis of sampled frames (objects with ``time``, ``rgb`` and
    ``luma``); `regions` (per frame, in ``rgb`` pixels; None: the whole frame) is where the
    picture is not chroma green."""
    greys = [_grey(f) for f in frames]
    h, w = (int(x) for x in greys[0].shape[:2]) if greys else (1, 1)
    sx = w / max(1, frames[0].rgb.shape[1]) if frames else 1.0
    sy = h / max(1, frames[0].rgb.shape[0]) if frames else 1.0
    areas = [_scaled(regions[i] if regions is not None else None, sx, sy)
             for i in range(len(frames))]
    floor_px = max(min_face * h, TARGET / MAX_ZOOM)
    coarse_px = max(COARSE * h, floor_px)
    same = [g.shape[:2] == (h, w) for g in greys]
    boxes: list[list[Box]] = [[] for _ in greys]
    probes = PROBES
    for i in _middle_first(list(range(len(greys)))):
        if not same[i]:
            continue
        near = _nearest(boxes, i)  # follow the face found in a nearer frame, else search
        if near is not None:
            boxes[i] = [b for b in detect_scaled(greys[i], max(floor_px, FOLLOW * near.height),
                                                 around(near, w, h, REACH), pad=MARGIN)
                        if _same(b, near)]
        if not boxes[i]:
            boxes[i] = list(detect_scaled(greys[i], coarse_px, areas[i]))
        if not boxes[i] and near is None and probes > 0:  # nothing seen yet: small faces?
            probes -= 1
            boxes[i] = list(detect_scaled(greys[i], _least(areas[i], floor_px), areas[i]))

    def look_around(i: int) -> None:
        for near in _nearest_all(boxes, i) if same[i] else []:
            if not any(_same(b, near) for b in boxes[i]):
                boxes[i].extend(_new(detect_scaled(greys[i], max(floor_px, 0.6 * near.height),
                                                   around(near, w, h)),
                                     boxes[i]))

    for i in range(len(boxes)):  # a frame without the face its nearest frames show
        look_around(i)
    _others(greys, boxes, areas, floor_px, same)
    tracks = _tracks(boxes, greys)
    chosen = _choose(tracks, w, h)
    if chosen is not None:  # the presenter first in each frame
        order = [chosen] + [n for n in range(len(tracks)) if n != chosen]
        boxes = [[b for n in order for b in [tracks[n].at(i)] if b is not None]
                 for i in range(len(greys))]
    result = Presenter(
        tuple(FrameFaces(f.time, (int(f.rgb.shape[1]), int(f.rgb.shape[0])), ())
              for f in frames), tuple(tracks), chosen, (w, h), floor_px / h)
    result = _with_boxes(result, boxes)
    shown = tracks[chosen].frames if chosen is not None else frozenset()
    bridged = tuple(i for i in range(1, len(greys) - 1)
                    if i not in shown and i - 1 in shown and i + 1 in shown)
    turns = _orientation(greys, areas, min_face, same) if chosen is None else None
    small = None
    still = [[b for t in tracks if t.static for b in [t.at(i)] if b is not None]
             for i in range(len(greys))]
    only_still = chosen is not None and tracks[chosen].static
    if turns is None and (only_still or 2 * (len(shown) + len(bridged)) < len(greys)):
        small = _too_small(greys, areas, floor_px, same, boxes, still)
        if small is not None and only_still:  # a poster, and a presenter too small to see
            chosen, bridged = None, ()
    least = _least_share(tracks[chosen] if chosen is not None else None, h)
    size = _height_share(greys, tracks[chosen], h) if chosen is not None and least is not None \
        and least < floor_px / h else None
    if size is not None and size < floor_px / h:  # found, but under the floor: not reliably
        small = size
    return Presenter(result.frames, result.tracks, chosen, (w, h), floor_px / h, bridged,
                     turns, small, size)


def measured_share(frames: Sequence[Any], p: Presenter) -> float | None:
    """The presenter's face height share, measured at `SIZE_SCALES` too (`height_share`),
    in the frames `p` was made from; None without a presenter."""
    t = p.track
    if p.height_share is not None or t is None:
        return p.height_share
    return _height_share([_grey(f) for f in frames], t, p.detail[1])


#: Face sizes (shares of the found box height) at which one frame is searched again to measure
#: the face height between the detector's scale steps.
SIZE_SCALES = (0.6, 0.75)


def _height_share(greys: Sequence[Grey], t: Track, h: int) -> float:
    i, b = t.boxes[len(t.boxes) // 2]
    g = greys[i]
    heights = [float(x.height) for _, x in t.boxes]
    for k in SIZE_SCALES:
        found = [x for x in detect_scaled(g, k * b.height, around(b, g.shape[1], g.shape[0],
                                                                   0.3)) if _same(x, b)]
        heights += [float(x.height) for x in found[:1]]
    return float(median(heights)) / h


def _with_boxes(p: Presenter, boxes: Sequence[Sequence[Box]]) -> Presenter:
    frames = tuple(FrameFaces(f.time, f.size, tuple(p._to_frame(i, b) for b in boxes[i]))
                   for i, f in enumerate(p.frames))
    return Presenter(frames, p.tracks, p.chosen, p.detail, p.floor)


def _middle_first(index: list[int]) -> list[int]:
    return index[len(index) // 2:] + index[:len(index) // 2]


def _others(greys: Sequence[Grey], boxes: list[list[Box]], areas: Sequence[Region | None],
            floor_px: float, same: Sequence[bool]) -> None:
    """Search the middle frame with a face for faces beside the largest (left and right of
    its head and body), down to the floor or `OTHERS` of the largest face's height, and look
    for each around its place in every other frame."""
    shown = [i for i, b in enumerate(boxes) if b and same[i]]
    if not shown:
        return
    h, w = greys[0].shape[:2]
    probe = _middle_first(shown)[0]
    main = max(boxes[probe], key=lambda b: b.height)
    least = max(floor_px, OTHERS * main.height)
    for part in _beside(areas[probe] or (0, 0, w, h), main):
        boxes[probe].extend(_new(detect_scaled(greys[probe], least, part), boxes[probe]))
    for b in sorted(boxes[probe], key=lambda x: -x.height)[1:]:
        for i, g in enumerate(greys):
            if i == probe or not same[i] or any(_same(o, b) for o in boxes[i]):
                continue
            got = _new(detect_scaled(g, max(floor_px, 0.6 * b.height), around(b, w, h)),
                       boxes[i])
            boxes[i].extend(x for x in got if _same(x, b))


#: A standing person's face is about a twelfth of their height: in a subject box (where a
#: green screen is not green) faces under this share of its height are not looked for.
BODY = 1 / 14


def _least(area: Region | None, floor_px: float) -> float:
    """The smallest face worth looking for in `area`: the floor, or `BODY` of the subject's
    height when that is larger (None: the whole frame, the floor)."""
    return floor_px if area is None else max(floor_px, BODY * (area[3] - area[1]))


def _beside(area: Region, main: Box) -> list[Region]:
    """The parts of `area` left and right of the presenter's head and body (the column under
    the face, widened by a third of its width), where another person's face can be."""
    pad = main.width // 3
    x0, y0, x1, y1 = area
    left, right = (x0, y0, min(x1, main.left - pad), y1), (max(x0, main.right + pad), y0, x1, y1)
    return [r for r in (left, right) if r[2] - r[0] > 0]


def _orientation(greys: Sequence[Grey], areas: Sequence[Region | None], min_face: float,
                 same: Sequence[bool]) -> int | None:
    """The first quarter turn (in `TURNS` order) that shows a face in both of two middle
    frames (the one of one), searched down to the floor of the turned picture."""
    index = [i for i in range(len(greys)) if same[i]]
    if not index:
        return None
    step = max(1, len(index) // 2)
    picked = index[step // 2::step][:2]
    h, w = greys[0].shape[:2]
    for k in TURNS:
        th = w if k % 2 else h
        floor_px = max(min_face * th, TARGET / MAX_ZOOM)
        if all(detect_scaled(turned(greys[i], k), _least(area, floor_px), area)
               for i in picked for area in [_turn_region(areas[i], w, h, k)]):
            return k
    return None


def _too_small(greys: Sequence[Grey], areas: Sequence[Region | None], floor_px: float,
               same: Sequence[bool], boxes: Sequence[Sequence[Box]],
               still: Sequence[Sequence[Box]]) -> float | None:
    """The height share of a face under the floor where a head would be (the top of the
    subject) in the middle frame without a moving face — only where the subject (the part of
    a green screen that is not green) is too short for a person whose face reaches the floor.
    Faces that do not move (`still`: a poster) are not it."""
    index = [i for i in range(len(greys)) if same[i] and len(boxes[i]) == len(still[i])]
    if not index:
        return None
    i = _middle_first(index)[0]
    area = areas[i]
    if area is None or not 0 < area[3] - area[1] < floor_px / BODY / 1.5 or area[2] <= area[0]:
        return None  # all green (nobody there), no subject, or one tall enough for the floor
    x0, y0, x1, y1 = area
    head = (x0, y0, x1, min(y1, y0 + max(int((y1 - y0) * 0.5), x1 - x0)))
    found = _new(detect_scaled(greys[i], floor_px / 2, head), still[i])
    return max(b.height for b in found) / greys[i].shape[0] if found else None


def seen_in(p: Presenter, frame: Any) -> bool:
    """Whether one more frame of the video (a `Frame`) shows a face: looked for finer around
    where the presenter was seen, then anywhere from `COARSE` of the height."""
    g = _grey(frame)
    h, w = (int(x) for x in g.shape[:2])
    floor_px = max(p.floor * h, TARGET / MAX_ZOOM)
    t = p.track
    if t is not None and (w, h) == p.detail:
        lefts, tops, rights, bottoms = zip(*((b.left, b.top, b.right, b.bottom)
                                             for _, b in t.boxes), strict=True)
        span = Box(min(lefts), min(tops), max(rights), max(bottoms))
        pad = int(t.height)
        region = (max(0, span.left - pad), max(0, span.top - pad), min(w, span.right + pad),
                  min(h, span.bottom + pad))
        if detect_scaled(g, max(floor_px, 0.6 * t.height), region):
            return True
    return bool(detect_scaled(g, max(COARSE * h, floor_px)))
