"""The stand-in's automatic review, judged when a job is submitted (SUBMITVERIFYING).

It fails a job the way the documents say the service does: a training video whose displayed
size is not one of the four accepted ones (error code 44005901, dossier §2.3); a missing ID card
side or authorization letter ("mandatory for non-NA users, otherwise the audit fails", §1.3
R10); ``audio_source_type = AUDIO`` without the audio zip when a voice is trained (§1.3 R9,
§2.2 step 4). Documents are not needed when the stand-in serves an NA-whitelisted account
(``SandboxConfig.na_whitelisted``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.metastudio import (
    ALLOWED_SIZE_NAMES,
    ALLOWED_SIZES,
    ID_DOCUMENT_SLOTS,
    RESOLUTION_REJECTED,
    SLOTS,
)
from preflight.sandbox.store import CHUNK, Job, Rejection, SandboxState


def trains_voice(body: Mapping[str, Any]) -> bool:
    """Whether the job trains a voice: all but a Flexus job with ``is_only_human_model``
    (§1.3 R1, R9)."""
    return not (body.get("is_flexus") is True and body.get("is_only_human_model") is True)


def review(state: SandboxState, job: Job) -> Rejection | None:
    """The first reason the review fails `job`, or None when it passes."""
    rejection = _resolution(state, job)
    if rejection is not None:
        return rejection
    missing = [] if state.config.na_whitelisted else [
        SLOTS[s].label for s in ID_DOCUMENT_SLOTS if not state.uploaded(job, s)]
    if missing:
        return Rejection(f"identity documents missing: {', '.join(missing)}; they are mandatory "
                         "for non-NA users (身份证明材料缺失)")
    if (job.body.get("audio_source_type") == "AUDIO" and trains_voice(job.body)
            and not state.uploaded(job, "audio")):
        return Rejection("audio_source_type is AUDIO but no audio zip was uploaded "
                         "(训练音频缺失)")
    return None


def _resolution(state: SandboxState, job: Job) -> Rejection | None:
    """The training video's displayed size, read with pymediainfo, must be one of the four
    accepted ones. Bytes that are no readable video are not judged (tests upload synthetic
    bytes)."""
    parts = [u for u in state.parts(job, "training_video") if u.used and u.path]
    if not parts:
        return None
    whole = state.data_dir / "uploads" / job.job_id / "training_video.mp4"
    with whole.open("wb") as out:
        for u in parts:
            with open(str(u.path), "rb") as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
    try:
        from pymediainfo import MediaInfo

        info = MediaInfo.parse(str(whole))
    except Exception:  # an unreadable file is simply not judged
        return None
    video = next((t for t in info.tracks if t.track_type == "Video"), None)
    if video is None or not video.width or not video.height:
        return None
    w, h = int(video.width), int(video.height)
    try:
        rotation = round(float(video.rotation or 0)) % 180
    except (TypeError, ValueError):
        rotation = 0
    if rotation == 90:
        w, h = h, w
    if (w, h) in ALLOWED_SIZES:
        return None
    sizes = ", ".join(ALLOWED_SIZE_NAMES)
    return Rejection(f"video resolution {w}x{h} is not accepted; only {sizes} are accepted "
                     "(视频分辨率不符合要求)", RESOLUTION_REJECTED)
