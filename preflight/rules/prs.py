"""PRS rules: the presenter — a face that is there, upright, alone, large enough, the same
person as on the ID card, a silent take when Flexus asks for one, and a steady shot
(constraints §3.1, §3.2, §3.5, §3.6).

Faces are found with dlib (the optional ``face`` extra, see `preflight.inspect.face`) in the
frames the VID/GRN rules sampled, only where the GRN measurements found the picture not chroma
green (a face cannot be in the key colour); the silent run is searched in the video's audio
track with short windows (never a whole decode). Without the extra, PRS000 says once how to
enable the checks and every other PRS rule stays quiet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from statistics import median
from typing import TYPE_CHECKING, Any

from preflight.errors import ProbeError
from preflight.inspect import shared
from preflight.inspect.image import MAX_PIXELS
from preflight.inspect.presenter import SIZE_SCALES
from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, JobContext, Option, Options, file_rule, job_rule

if TYPE_CHECKING:
    from preflight.inspect.face import Box
    from preflight.inspect.presenter import Presenter

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
VIDEO = ("training_video",)
FRONT, BACK = ("id_card_front",), ("id_card_back",)
#: Face detection, shared by the video rules (one detection pass per file).
#: The presenter analysis, shared by the video rules (one analysis per file and floor).
DETECT = {"min_face": Option(0.04, "Smallest face looked for, as a share of the displayed "
                                   "frame height (the floor; a face under it is too small "
                                   "to judge).")}
PHOTO = {"upsample": Option(0, "Times the photo is doubled before detection (photos are "
                               "scaled to 1280 px: faces from about 80 px).")}


def _ready() -> bool:
    from preflight.inspect.face import unavailable

    return unavailable() is None


Check = Callable[[FileContext, Options], Iterator[Fact]]


def _reports_failure(fn: Check) -> Check:
    """The rule, saying so when it could not run (out of memory, a dlib error, a model file
    missing or damaged) instead of passing silently: the finding names the cause and is at
    least a warning (the engine raises a ``not_run`` note to one)."""

    @functools.wraps(fn)
    def run(ctx: FileContext, opts: Options) -> Iterator[Fact]:
        try:
            yield from fn(ctx, opts)
        except ProbeError:
            raise  # a bad file: the family's gate reports it
        except Exception as exc:  # MemoryError is an Exception too
            why = f"{type(exc).__name__}: {exc}".rstrip(": ")
            yield Fact(f"{ctx.path.name}: this presenter check could not run ({why}); its "
                       "verdict is unknown", details={"not_run": True, "cause": why})

    return run


def _mmss(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


def _analysis(ctx: FileContext, opts: Options) -> Presenter | None:
    """The presenter analysis of the video (None without the face extra or usable frames)."""
    if not _ready():
        return None
    got: Presenter | None = shared.presenter(ctx, float(opts["min_face"]))
    return got if got is not None and got.frames else None


def face_details(p: Presenter) -> dict[str, Any]:
    """Per-frame face boxes for the report (and the contact sheet), the presenter first."""
    faces = p.frames
    return {"frame_size": list(faces[0].size) if faces else None,
            "faces": [{"time": round(f.time, 2), "boxes": [b.as_list() for b in f.boxes]}
                      for f in faces],
            "floor": round(p.floor, 3), "presenter_frames": len(p.shown())}


@job_rule("PRS000", "presenter-checks-unavailable", INFO,
          "Says once per run how to enable the presenter checks when the face extra is missing.",
          "§3.1, §3.5", inferred=True)
def presenter_unavailable(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The presenter checks need the optional ``face`` extra (dlib and its models, about
    150 MB): ``pip install 'metastudio-preflight[face]'``. Without it they are skipped and this
    note says so, once per run, when the check has a training video or an ID card front. An
    extra that is installed but broken (a model file missing, a dlib binary that does not
    load) is a warning: the checks could not run."""
    from preflight.inspect.face import EXTRA, INSTALL, unavailable

    why = unavailable()
    if why is None or not any(s in ctx.files for s in (*VIDEO, *FRONT, *BACK)):
        return
    if why.startswith(("ImportError", "ModuleNotFoundError")):
        yield Fact(f"face checks (PRS001-PRS010, PRS012) skipped: the optional '{EXTRA}' extra "
                   f"is not installed; enable them with: {INSTALL}", fix=INSTALL,
                   details={"extra": EXTRA, "install": INSTALL, "reason": why})
    else:  # installed but broken (a model file missing, a dlib binary that does not load)
        yield Fact(f"face checks (PRS001-PRS010, PRS012) could not run: {why}; reinstall them "
                   f"with: {INSTALL}", fix=INSTALL,
                   details={"extra": EXTRA, "install": INSTALL, "reason": why, "not_run": True,
                            "cause": why})


@file_rule("PRS001", "face-present", E,
           "A face is found in most sampled frames of the training video.", "§3.2, §3.6",
           slots=VIDEO, inferred=True, options={**DETECT, "min_share": Option(
               0.6, "Least share of sampled frames that must show a face.")})
@_reports_failure
def face_present(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """"Face not detected" is a documented review rejection for the ID card (§3.6); the
    video's face must match it (§3.1) and faces the camera (§3.2), so it must be found there
    too. Fires when fewer than `min_share` of the sampled frames show the presenter's upright
    frontal face, naming the frames without one. A frame missed between two that show the
    presenter counts as showing it (a detector miss, not an absence); a take whose face
    appears only when the frame is turned is left to PRS002, one whose face is under the
    floor to PRS004 ("too small to judge")."""
    p = _analysis(ctx, opts)
    if p is None or p.turns is not None or p.too_small is not None:
        return
    shown = set(p.shown())
    missing = [f for i, f in enumerate(p.frames) if i not in shown]
    share = 1 - len(missing) / len(p.frames)
    if share < float(opts["min_share"]):
        at = ", ".join(_mmss(f.time) for f in missing)
        n = len(p.frames)
        what = "no sampled frame shows an upright face" if not shown else \
            f"an upright face is found in only {len(shown)} of {n} sampled frames"
        yield Fact(f"{ctx.path.name}: {what} (none at {at}; faces from {p.floor:.0%} of the "
                   "frame height are looked for); the presenter must face the camera "
                   "throughout", details={**face_details(p), "share": share,
                                          "missing_at": [round(f.time, 2) for f in missing]})


@file_rule("PRS002", "face-upright", E,
           "The presenter is upright as displayed (not a take shot sideways or upside down).",
           "§3.1, §3.6", slots=VIDEO, options=DETECT)
@_reports_failure
def face_upright(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """"Wrong orientation" is a common audit failure (§3.6): a portrait subject shot in
    landscape must be rotated. The frames are judged as displayed (the container's rotation
    applied); when no frame shows an upright face but one appears with the frame turned by
    90°, 180° or 270°, this says which way and gives the command that turns the video."""
    from preflight.inspect.face import TURNS
    from preflight.rules.conform import UPRIGHT_DEGREES, finding_fix

    p = _analysis(ctx, opts)
    k = p.turns if p is not None else None
    if k is None:
        return
    turn = {1: "90° counter-clockwise", 2: "180°", 3: "90° clockwise"}[k]
    yield Fact(f"{ctx.path.name}: the presenter is not upright as displayed (the face appears "
               f"when the picture is turned {turn}; it is shown rotated {TURNS[k]}); rotate "
               "the video", **finding_fix(ctx, {
                   "orientation": f"turn {turn}", "quarter_turns": k,
                   "rotate_degrees_clockwise": UPRIGHT_DEGREES[k]}))


@file_rule("PRS003", "one-presenter", W,
           "Only one face is in the training video (not two people).", "§3.1", slots=VIDEO,
           inferred=True, options=DETECT)
@_reports_failure
def one_presenter(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The avatar is trained on one presenter: a second person in most frames (a colleague,
    a mirror) confuses the training. Fires when more than half of the sampled frames show a
    face besides the presenter's, down to the floor; a face that does not move at all across
    the frames (a poster, a picture on a monitor) is not a second person."""
    p = _analysis(ctx, opts)
    if p is None:
        return
    crowded = p.others()
    if len(crowded) * 2 > len(p.frames):
        moving = [n for n, t in enumerate(p.tracks) if n != p.chosen and not t.static]
        most = 1 + max(sum(1 for n in moving if p.tracks[n].at(i)) for i in crowded)
        yield Fact(f"{ctx.path.name}: {most} faces in {len(crowded)} of {len(p.frames)} "
                   "sampled frames; film one presenter alone", details=face_details(p))


@file_rule("PRS004", "face-size", INFO,
           "The face is large enough in the frame (Flexus: more than 1/5 of the frame height).",
           "§3.2", slots=VIDEO, inferred=True, options={**DETECT, "min_height": Option(
               0.2, "Least face-box height as a share of the displayed frame height.")})
@_reports_failure
def face_size(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Flexus asks that the face take more than 1/5 of the frame (§3.2). The measure used
    (inferred: the guide gives no formula) is the height of the detected face box (brows to
    chin, as dlib's detector frames a face) divided by the height of the displayed frame,
    median over the frames with a face. Height, not area: a face filling 1/5 of the area
    would be a close-up; 1/5 of the height is a head-and-shoulders shot. An error for
    Flexus, a note for the other editions.

    Faces are looked for from `min_face` of the displayed height (4 %: a full-length shot; a
    frame under 1000 lines has a higher floor, 40 px). When the presenter is seen in fewer
    than half of the sampled frames but a face under that floor is found where the head is,
    the take is "too small to judge" — at least a warning naming the floor, never PRS001's
    "no face": move the camera closer or film at a higher resolution."""
    p = _analysis(ctx, opts)
    if p is not None and p.too_small is not None:
        cause = f"a face of {p.too_small:.0%} of the frame height, under the {p.floor:.0%} floor"
        yield Fact(f"{ctx.path.name}: the face is too small to judge (about {p.too_small:.0%} "
                   f"of the frame height, under the {p.floor:.0%} the presenter checks look "
                   "for); move the camera closer or film at a higher resolution",
                   details={**face_details(p), "face_height_share": round(p.too_small, 3),
                            "not_run": True, "cause": cause})
        return
    t = p.track if p is not None else None
    if p is None or t is None:
        return
    ratios = [b.height / p.detail[1] for _, b in t.boxes]
    least = p.least_share()
    if least is not None and least >= float(opts["min_height"]):
        return  # large enough however the finer measure comes out
    got = shared.presenter_height(ctx, float(opts["min_face"]))
    got = got if got is not None else median(ratios)
    if got < float(opts["min_height"]):
        yield Fact(f"{ctx.path.name}: the face is {got:.0%} of the frame height (face box, "
                   f"median over {len(ratios)} frames and {len(SIZE_SCALES)} scales); it must "
                   "be at least "
                   f"{float(opts['min_height']):.0%}: move the camera closer",
                   details={**face_details(p), "face_height_share": round(got, 3)})


def _photo_faces(ctx: FileContext, opts: Options) -> tuple[Box, ...] | None:
    if not _ready():
        return None
    got: tuple[Box, ...] | None = shared.photo_faces(ctx, MAX_PIXELS, int(opts["upsample"]))
    return got


def _photo_details(ctx: FileContext, boxes: Sequence[Box]) -> dict[str, Any]:
    img = shared.photo(ctx, MAX_PIXELS).value
    size = [int(img.shape[1]), int(img.shape[0])] if img is not None else None
    return {"image_size": size, "boxes": [b.as_list() for b in boxes]}


@file_rule("PRS005", "id-card-face-missing", E,
           "The ID card front (portrait side) shows a face.", "§3.5, §3.6", slots=FRONT,
           options=PHOTO)
@_reports_failure
def id_face_missing(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """"Face not detected on the ID card" is a documented rejection (§3.6): the front is the
    portrait side, photographed whole, flat and upright."""
    boxes = _photo_faces(ctx, opts)
    if boxes is not None and not boxes:
        yield Fact(f"{ctx.path.name}: no face found on the ID card front; photograph the "
                   "portrait side, upright and whole", details=_photo_details(ctx, boxes))


@file_rule("PRS006", "id-card-several-faces", W,
           "The ID card front shows exactly one face.", "§3.5", slots=FRONT, inferred=True,
           options=PHOTO)
@_reports_failure
def id_several_faces(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """An ID card has one portrait; more faces mean a second card, a hand-held photo with the
    holder's face beside it, or a ghost image that may be matched instead."""
    boxes = _photo_faces(ctx, opts)
    if boxes is not None and len(boxes) > 1:
        yield Fact(f"{ctx.path.name}: {len(boxes)} faces on the ID card front; photograph "
                   "the card alone", details=_photo_details(ctx, boxes))


@file_rule("PRS007", "id-card-back-face", W,
           "The ID card back (emblem side) shows no face (front and back swapped?).", "§3.5",
           slots=BACK, inferred=True, options=PHOTO)
@_reports_failure
def id_back_face(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The back (image 2) is the emblem side and has no portrait: a face there means the two
    sides were swapped or the front was uploaded twice."""
    boxes = _photo_faces(ctx, opts)
    if boxes:
        yield Fact(f"{ctx.path.name}: the ID card back shows a face; the back is the emblem "
                   "side (front and back swapped?)", details=_photo_details(ctx, boxes))


@file_rule("PRS008", "id-card-face-quality", W,
           "The face on the ID card front is sharp and not washed out by glare.", "§3.1",
           slots=FRONT, options={**PHOTO,
                                 "min_sharpness": Option(
                                     60.0, "Least variance of the Laplacian of the face."),
                                 "max_washed_out": Option(
                                     0.15, "Largest share of nearly white face pixels.")})
@_reports_failure
def id_face_quality(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """ID photos must be clear, without glare (§3.1 Identity). The face region is scaled to
    128 px high; its sharpness is the variance of the Laplacian (measured on the test ID
    cards: sharp 230 and 960, blurred with a 1 px Gaussian 27, 1.5 px 11) and its glare the
    share of nearly white pixels (grey ≥ 235; sharp cards 0.001, a reflection over half the
    photo 0.48)."""
    from preflight.inspect.face import face_quality

    boxes = _photo_faces(ctx, opts)
    img = shared.photo(ctx, MAX_PIXELS).value
    if not boxes or img is None:
        return
    box = max(boxes, key=lambda b: b.width * b.height)
    q = face_quality(img, box)
    details = {**_photo_details(ctx, boxes), "sharpness": round(q.sharpness, 1),
               "washed_out": round(q.washed_out, 3)}
    if q.sharpness < float(opts["min_sharpness"]):
        yield Fact(f"{ctx.path.name}: the face on the ID card is blurred (sharpness "
                   f"{q.sharpness:.0f}, least {float(opts['min_sharpness']):.0f}); retake the "
                   "photo in focus", details=details)
    if q.washed_out > float(opts["max_washed_out"]):
        yield Fact(f"{ctx.path.name}: the face on the ID card is washed out ({q.washed_out:.0%} "
                   "nearly white: glare?); retake it without reflections", details=details)


def _identity(ctx: FileContext, opts: Options) -> dict[str, Any] | None:
    """Descriptor distance between the ID card front and the presenter (see `Presenter`:
    the face seen in the most frames, at its largest), or None."""
    fronts = ctx.job.files.get("id_card_front", ())
    p = _analysis(ctx, opts)
    if not fronts or p is None:
        return None

    def compute() -> dict[str, Any] | None:
        from preflight.inspect.face import descriptor, distance, note, photo_faces

        try:
            card, card_boxes = photo_faces(fronts[0], MAX_PIXELS, 0)  # as PRS005 searches it
        except ProbeError:
            return None  # IMG002 reports the bad card
        if not card_boxes:
            return None  # PRS005 reports it
        got = _presenter_face(ctx, p)
        if got is None:
            return None
        time, rgb, face, shown_box, shown_at = got
        card_face = max(card_boxes, key=lambda b: b.height)
        d = distance(descriptor(card, card_face), descriptor(rgb, face))
        note(ctx.path, identity=(round(d, 3), fronts[0].name),
             compared=(round(shown_at, 3), shown_box.as_list() if shown_box else None))
        return {"distance": round(d, 3), "id_card_front": str(fronts[0]),
                "video_time": round(time, 2), "video_box": face.as_list(),
                "video_frame_size": [int(rgb.shape[1]), int(rgb.shape[0])],
                "video_quarter_turns": p.turns or 0,
                "sampled_frame_box": shown_box.as_list() if shown_box else None,
                "id_card_box": card_face.as_list()}

    got: dict[str, Any] | None = ctx.memo(f"identity:{opts['min_face']}", compute)
    return got


def _presenter_face(ctx: FileContext,
                    p: Presenter) -> tuple[float, Any, Box, Box | None, float] | None:
    """The presenter's face to describe: (time, RGB frame, box in it, box in the sampled
    frame, the sampled frame's time). One frame is decoded again in colour, large enough for
    a face of about 150 px; a take shot sideways (PRS002) is compared as it should be
    shown."""
    from preflight.inspect.face import Box, detect_scaled, turned
    from preflight.inspect.presenter import around

    picked = p.compared()
    if picked is None and p.turns is None:
        return None
    index = picked[0] if picked is not None else len(p.frames) // 2
    long_side = max(p.detail)
    height = picked[1].height if picked is not None else p.floor * p.detail[1]
    frame = shared.video_frame_at(ctx, p.frames[index].time,
                                  min(long_side, max(960, round(long_side * 150 / height))))
    if frame is None:
        return None
    rgb = turned(frame.rgb, p.turns) if p.turns else frame.rgb
    h, w = rgb.shape[:2]
    if picked is None:
        found = detect_scaled(rgb, p.floor * h)
        return (frame.time, rgb, max(found, key=lambda b: b.height), None,
                p.frames[index].time) if found else None
    b, f = picked[1], w / p.detail[0]
    want = Box(round(b.left * f), round(b.top * f), round(b.right * f), round(b.bottom * f))
    found = detect_scaled(rgb, 0.6 * want.height, around(want, w, h, 0.5))
    face = min(found, key=lambda x: abs(x.left + x.right - want.left - want.right)
               + abs(x.top + x.bottom - want.top - want.bottom), default=want)
    return frame.time, rgb, face, p.box(index), p.frames[index].time


def _compared(got: dict[str, Any]) -> str:
    """Which face was compared, in words: its time and box in the sampled frame."""
    box = got.get("sampled_frame_box")
    where = f", box {box[0]},{box[1]}–{box[2]},{box[3]} of the sampled frame" if box else ""
    return f"the presenter (the face at {_mmss(float(got['video_time']))}{where})"


IDENTITY = {**DETECT,
            "max_distance": Option(0.6, "Largest ResNet descriptor distance for the same "
                                        "person (dlib's documented threshold)."),
            "grey_zone": Option(0.05, "Distances this far below max_distance only warn.")}


@file_rule("PRS009", "identity-mismatch", E,
           "The presenter in the video is the person on the ID card front.", "§3.1, §3.6",
           slots=VIDEO, peers=FRONT, options=IDENTITY)
@_reports_failure
def identity_mismatch(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The face in the video must match the ID card (§3.1 Identity); "face does not match" is
    a documented rejection (§3.6). Both faces are aligned on 5 landmarks and described by
    dlib's ResNet model; a distance over `max_distance` (0.6: the model's same-person
    threshold; measured: the same person 0.22, two different people 0.70) is an error. Runs
    in a whole-spec check, or in quick mode when the ID card front is given too."""
    got = _identity(ctx, opts)
    if got is not None and got["distance"] > float(opts["max_distance"]):
        yield Fact(f"{ctx.path.name}: {_compared(got)} does not look like the person on the "
                   f"ID card {ctx.job.files['id_card_front'][0].name} (face distance "
                   f"{got['distance']:.2f} > {float(opts['max_distance']):.2f})", details=got)


@file_rule("PRS010", "identity-uncertain", W,
           "The presenter matches the ID card clearly, not just barely.", "§3.1", slots=VIDEO,
           peers=FRONT, inferred=True, options=IDENTITY)
@_reports_failure
def identity_uncertain(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A distance just under the threshold (within `grey_zone`) may go either way at review:
    an old ID photo, glasses, strong make-up. Compare the photos or retake the ID card."""
    got = _identity(ctx, opts)
    hi = float(opts["max_distance"])
    if got is not None and hi - float(opts["grey_zone"]) < got["distance"] <= hi:
        yield Fact(f"{ctx.path.name}: {_compared(got)} matches the ID card "
                   f"{ctx.job.files['id_card_front'][0].name} only barely (face distance "
                   f"{got['distance']:.2f}, threshold {hi:.2f})", details=got)


@file_rule("PRS011", "silent-segment", INFO,
           "The take holds a 15-second silent segment facing the camera (Flexus).", "§3.2",
           slots=VIDEO, options={**DETECT,
                                 "min_seconds": Option(15.0, "Least length of the silent run."),
                                 "quiet_dbfs": Option(
                                     -40.0, "Audio below this (loudest 50 ms, dBFS) is "
                                            "nobody speaking."),
                                 "coarse_seconds": Option(
                                     7.5, "Spacing of the first audio measurements (at most "
                                          "half of min_seconds)."),
                                 "fine_seconds": Option(
                                     1.0, "Spacing of the measurements that bound a run.")})
@_reports_failure
def silent_segment(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Flexus asks for a 15-second silent segment facing the camera, mouth closed (§3.2). The
    audio track is measured in 0.1 s windows every `coarse_seconds`, and again every
    `fine_seconds` around the quiet ones, so the run is known to about a second without
    decoding the whole track. When the video shows a face, one frame in the middle of the
    run must show it too — or, when the detector misses it there, a frame two seconds either
    side. An error for Flexus, a note for the other editions."""
    from preflight.inspect.presenter import seen_in

    probe = shared.video_probe(ctx).value
    if probe is None or not probe.audio_tracks or probe.truncated:
        return
    least = float(opts["min_seconds"])
    got = shared.video_quiet(ctx, float(opts["quiet_dbfs"]),
                             min(float(opts["coarse_seconds"]), least / 2),
                             float(opts["fine_seconds"]))
    run = got.value
    if run is None:
        return
    where = {"longest_quiet_seconds": round(run.seconds, 1), "start": round(run.start, 1),
             "end": round(run.end, 1), "resolution_seconds": run.resolution}
    if run.seconds < least:
        found = (f"the longest is {run.seconds:.0f} s at {_mmss(run.start)}" if run.seconds
                 else "nobody is silent in any measured window")
        yield Fact(f"{ctx.path.name}: no {least:.0f}-second silent segment ({found}); "
                   f"keep still, mouth closed, facing the camera for {least:.0f} s",
                   details=where)
        return
    p = _analysis(ctx, opts)
    if p is None or p.track is None:
        return
    # The middle of the run, then (a detector miss is not an absence) two seconds either side.
    mid = (run.start + run.end) / 2
    checked = []
    for t in (mid, mid - 2.0, mid + 2.0):
        if not run.start <= t <= run.end:
            continue
        frame = shared.video_frame_at(ctx, t, 320)
        if frame is None or seen_in(p, frame):
            return
        checked.append(frame.time)
    if checked:
        yield Fact(f"{ctx.path.name}: the silent segment {_mmss(run.start)}–{_mmss(run.end)} "
                   f"shows no face at {', '.join(_mmss(t) for t in checked)}; face the camera "
                   "while silent", details={**where, "checked_at": round(checked[0], 2),
                                            "checked": [round(t, 2) for t in checked]})


@file_rule("PRS012", "steady-shot", INFO,
           "The camera is steady and the background static (Flexus).", "§3.2", slots=VIDEO,
           options={**DETECT,
                    "max_shift": Option(0.02, "Largest camera shift between sampled frames, "
                                              "as a share of the frame width."),
                    "max_changed": Option(0.25, "Largest share of the background that may "
                                                "change between sampled frames.")})
@_reports_failure
def steady_shot(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Flexus: a static background without large changes and a steady camera (§3.2). Between
    consecutive sampled frames, the background outside the presenter (the face box widened to
    the shoulders, down to the bottom of the frame) is compared: its shift by phase
    correlation (only where it has texture; a plain screen has none to track) and the share of
    its pixels whose brightness changed by more than 12 %. A warning for Flexus, a note for
    the other editions."""
    from preflight.inspect.face import steadiness

    p = _analysis(ctx, opts)
    frames = shared.video_frames(ctx).value
    if p is None or frames is None or len(frames.frames) < 2:
        return
    regions = shared.subject_regions(ctx, len(frames.frames))
    s = ctx.memo(f"steady:{opts['min_face']}", lambda: steadiness(
        [(f.time, f.rgb) for f in frames.frames], p.frames, regions))
    details = {"shift": round(s.shift, 4), "changed": round(s.changed, 3),
               "shift_at": list(s.shift_at), "changed_at": list(s.changed_at)}
    if s.shift > float(opts["max_shift"]):
        yield Fact(f"{ctx.path.name}: the camera moved {s.shift:.1%} of the frame width "
                   f"between {_mmss(s.shift_at[0])} and {_mmss(s.shift_at[1])}; use a tripod",
                   details=details)
    elif s.changed > float(opts["max_changed"]):
        yield Fact(f"{ctx.path.name}: {s.changed:.0%} of the background changed between "
                   f"{_mmss(s.changed_at[0])} and {_mmss(s.changed_at[1])}; keep the "
                   "background static", details=details)


RULES = (presenter_unavailable, face_present, face_upright, one_presenter, face_size,
         id_face_missing, id_several_faces, id_back_face, id_face_quality, identity_mismatch,
         identity_uncertain, silent_segment, steady_shot)
