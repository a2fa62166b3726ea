"""One concrete failing and one passing case per rule, shown by `preflight rule CODE`.

Each entry is ``code -> (fails, passes)``: what a user would write or shoot that the rule
reports, and the smallest change that satisfies it. A test keeps this table complete.

The job-body (REQ) examples are data (`BODY_EXAMPLES`): a change to a good standard spec
(`BASE_JOB` with a training video and the ID documents), from which the printed text is made.
The contract test sends each to the stand-in service: an error from ``check`` must match a
refusal there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from preflight.metastudio import ID_DOCUMENT_SLOTS, REQUIRED_SLOT, UPLOAD_VIDEO

#: The good standard job every body example changes.
BASE_JOB: Mapping[str, Any] = MappingProxyType(
    {"name": "Anna, studio take 2", "is_background_replacement": True})
#: The slots with files in every body example unless it says otherwise.
BASE_MEDIA = (REQUIRED_SLOT, *ID_DOCUMENT_SLOTS)
#: A Flexus job that passes every REQ rule (examples start from it with ``**FLEXUS``).
FLEXUS: Mapping[str, Any] = MappingProxyType({
    "is_flexus": True, "is_background_replacement": False, "supported_service": ["VIDEO_2D"],
    "audio_source_type": "VIDEO"})
_VOICE = MappingProxyType({"job_tag": "ECOMMERCE", "sex": "MALE", "language": "CN"})


def _toml(value: Any) -> str:
    """A value as inline TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


@dataclass(frozen=True)
class BodyExample:
    """A spec for a body rule: `BASE_JOB` with `set` fields written, then `drop` fields left
    out, files in `media` slots, and `account` settings; `note` says why."""

    set: Mapping[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    media: tuple[str, ...] = BASE_MEDIA
    account: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def job(self) -> dict[str, Any]:
        """The [job] table (the create body as written)."""
        body = {**BASE_JOB, **self.set}
        return {k: v for k, v in body.items() if k not in self.drop}

    def text(self) -> str:
        """What `preflight rule CODE` prints."""
        parts = []
        if self.set:
            parts.append("[job] " + ", ".join(f"{k} = {_toml(v)}" for k, v in self.set.items()))
        if self.drop:
            parts.append("[job] without " + ", ".join(self.drop))
        gone = [s for s in BASE_MEDIA if s not in self.media]
        extra = [s for s in self.media if s not in BASE_MEDIA]
        if gone:
            parts.append("[media] without " + ", ".join(gone))
        if extra:
            parts.append("[media] with " + ", ".join(extra))
        if self.account:
            parts.append("[account] " + ", ".join(f"{k} = {_toml(v)}"
                                                  for k, v in self.account.items()))
        text = "; ".join(parts) or "the base job as it is"
        return f"{text} ({self.note})" if self.note else text


B = BodyExample
#: ``code -> (fails, passes)`` for every REQ rule.
BODY_EXAMPLES: Mapping[str, tuple[BodyExample, BodyExample]] = MappingProxyType({
    "REQ001": (B({"is_backgroud_replacement": True}, drop=("is_background_replacement",),
                 note="a typo"), B({"is_background_replacement": True})),
    "REQ002": (B({"video_multipart_count": "3"}, note="a string"),
               B({"video_multipart_count": 3})),
    "REQ003": (B({"name": "  "}, note="blank"), B({"name": "Anna, studio take 2"})),
    "REQ004": (B({"command_message": f"{UPLOAD_VIDEO}-" + "X" * 57}, note="70 characters"),
               B({"command_message": UPLOAD_VIDEO})),
    "REQ005": (B({"command_message": "WAVE"}), B({"command_message": UPLOAD_VIDEO})),
    "REQ006": (B({"model_version": "V4"}), B({"model_version": "V3.2"})),
    "REQ007": (B({"model_version": "V3"}, note="deprecated"), B({"model_version": "V3.2"})),
    "REQ008": (B({"audio_source_type": "MIC"}), B({"audio_source_type": "VIDEO"})),
    "REQ009": (B({"supported_service": ["VIDEO_3D"]}),
               B({"supported_service": ["VIDEO_2D", "LIVE_2D"]})),
    "REQ010": (B({**FLEXUS, "voice_properties": {"sex": "MALE"}},
                 note="job_tag and language missing"),
               B({**FLEXUS, "voice_properties": dict(_VOICE)})),
    "REQ011": (B({"video_multipart_count": 1001}, note="or 0"),
               B({"video_multipart_count": 4}, note='or "auto"')),
    "REQ012": (B(account={"app_user_id": "张三"}), B(account={"app_user_id": "zhang-san-01"})),
    "REQ013": (B({"contact": "call me maybe"}), B({"contact": "+86 138 0013 8000"})),
    "REQ020": (B({"is_only_human_model": True}, note="a standard job"),
               B({**FLEXUS, "is_only_human_model": True})),
    "REQ021": (B({**FLEXUS, "supported_service": ["LIVE_2D"]}), B(dict(FLEXUS))),
    "REQ022": (B({"is_fast_flexus": True, "model_version": "V3.3",
                  "is_background_replacement": False, "supported_service": ["VIDEO_2D"],
                  "voice_properties": dict(_VOICE)}, note="fast Flexus without is_flexus"),
               B({**FLEXUS, "voice_properties": dict(_VOICE)})),
    "REQ023": (B(drop=("is_background_replacement",), note="it means true: a green-screen take"),
               B({"is_background_replacement": False}, note="or true, written")),
    "REQ024": (B({**FLEXUS, "is_background_replacement": True}), B(dict(FLEXUS))),
    "REQ025": (B({"model_version": "V3.3"}),
               B({**FLEXUS, "is_fast_flexus": True, "model_version": "V3.3"})),
    "REQ026": (B({**FLEXUS, "is_fast_flexus": True, "model_version": "V3.2"}),
               B({**FLEXUS, "is_fast_flexus": True, "model_version": "V3.3"})),
    "REQ027": (B({"is_fast_flexus": True, "model_version": "V3.3",
                  "is_background_replacement": False, "supported_service": ["VIDEO_2D"]}),
               B({**FLEXUS, "is_fast_flexus": True, "model_version": "V3.3"})),
    "REQ028": (B({**FLEXUS}, drop=("audio_source_type",), note="voice source unknown"),
               B({**FLEXUS, "audio_source_type": "AUDIO"}, media=(*BASE_MEDIA, "audio"))),
    "REQ029": (B({"audio_source_type": "AUDIO"}),
               B({"audio_source_type": "AUDIO"}, media=(*BASE_MEDIA, "audio"))),
    "REQ030": (B({"audio_source_type": "VIDEO"}, media=(*BASE_MEDIA, "audio"),
                 note="never uploaded"),
               B({"audio_source_type": "AUDIO"}, media=(*BASE_MEDIA, "audio"))),
    "REQ031": (B(media=tuple(s for s in BASE_MEDIA if s != "id_card_back")),
               B(account={"na_whitelisted": True}, media=(REQUIRED_SLOT,))),
    "REQ032": (B({"action_video_multipart_count": 2}),
               B({"action_video_multipart_count": 2}, media=(*BASE_MEDIA, "action_video"))),
    "REQ033": (B(media=(*BASE_MEDIA, "action_video")),
               B({"action_video_multipart_count": 2}, media=(*BASE_MEDIA, "action_video"))),
    "REQ034": (B(media=ID_DOCUMENT_SLOTS), B()),
    "REQ035": (B({**FLEXUS, "voice_properties": {**_VOICE, "language": "EN"}}),
               B({**FLEXUS, "voice_properties": dict(_VOICE)})),
    "REQ036": (B({"supported_service": ["VIDEO_2D", "VIDEO_2D"]}),
               B({"supported_service": ["VIDEO_2D"]})),
})


EXAMPLES: Mapping[str, tuple[str, str]] = MappingProxyType({
    # ---- job body: made from BODY_EXAMPLES ---------------------------------------------------
    **{code: (fails.text(), passes.text()) for code, (fails, passes) in BODY_EXAMPLES.items()},
    # ---- video -------------------------------------------------------------------------------
    "VID001": ("training_video names media/take3.mp4, which does not exist (or is empty)",
               "media/take3.mp4 exists and holds the take"),
    "VID002": ("a take cut off mid-upload, or a text file renamed take.mp4",
               "a complete MP4 that decodes"),
    "VID003": ("a QuickTime .mov renamed take.mp4",
               "a real MP4 (remuxed: ffmpeg -i take.mov -c copy take.mp4)"),
    "VID004": ("a ProRes or VP9 video", "an H.264 (or H.265) video"),
    "VID005": ("an H.265 take (accepted, the console preview may not play it)",
               "an H.264 take"),
    "VID006": ("a 1280x720 take", "a 1920x1080 take (or 1080x1920, 3840x2160, 2160x3840)"),
    "VID007": ("a 0:45 standard take (under 3:00), or 12:00 (over 10:00)",
               "a 5:00 standard take (Flexus: 1:00–5:00)"),
    "VID008": ("a 24 fps take", "a 25, 30 or 50 fps take"),
    "VID009": ("a phone recording whose frame rate wanders between 20 and 30 fps",
               "a constant 30 fps take"),
    "VID010": ("a 1080i interlaced broadcast recording", "a 1080p progressive take"),
    "VID011": ("a 10-bit HDR (HLG/PQ) phone take", "an 8-bit SDR take (BT.709)"),
    "VID012": ('audio_source_type = "VIDEO" and the take has no audio track',
               'audio_source_type = "VIDEO" and the take has its sound'),
    "VID013": ('audio_source_type = "VIDEO" and the audio track is silent (-90 dBFS)',
               "an audio track with the presenter speaking (-20 dBFS)"),
    "VID014": ("the take's audio clips (more than 0.1 % of samples at full scale)",
               "speech peaking around -6 dBFS"),
    "VID015": ("a 2:00 Flexus take (Flexus guide yes, generic API text 3–10 min no)",
               "a 3:30 Flexus take"),
    "VID090": ("take3.mp4 is a 130-byte Git LFS pointer (git lfs pull not run)",
               "take3.mp4 is the real video (after git lfs pull)"),
    # ---- green screen ------------------------------------------------------------------------
    "GRN001": ("is_background_replacement = true and the take is shot in an office",
               "the presenter in front of a green screen filling the background"),
    "GRN002": ("a blue screen behind the presenter", "a green screen behind the presenter"),
    "GRN003": ("a green screen covering only the left half of the background",
               "green on the top, left and right borders of the frame"),
    "GRN004": ("a green screen with a strong shadow or folds across it",
               "an evenly lit, smooth green screen"),
    "GRN005": ("the presenter wears a green shirt", "the presenter wears a blue or grey shirt"),
    "GRN006": ("the presenter's head touches the top of the frame",
               "space around the head and shoulders on all but the bottom edge"),
    "GRN007": ("the presenter is a small figure filling 3 % of the frame",
               "the presenter fills a quarter or more of the frame"),
    "GRN008": ("a green-screen take with is_background_replacement = false",
               "is_background_replacement = true for the green-screen take"),
    # ---- audio -------------------------------------------------------------------------------
    "AUD001": ('audio = ["voice.wav"] and voice.wav is missing or empty',
               "voice.wav exists and holds the recording"),
    "AUD002": ("voice.wav is really an M4A file, or is cut off", "a WAV or MP3 that decodes"),
    "AUD003": ("a 0:30 voice recording (or 6:00)", "a 3:00 voice recording (1–5 minutes)"),
    "AUD004": ("a recording that is silent all through (-90 dBFS)",
               "speech at a normal level (-20 dBFS)"),
    "AUD005": ("a recording that clips (more than 0.1 % of samples at full scale)",
               "speech peaking around -6 dBFS"),
    "AUD006": ("an 8 kHz telephone recording", "a 44.1 or 48 kHz recording"),
    "AUD090": ("voice.wav is a Git LFS pointer (git lfs pull not run)",
               "voice.wav is the real recording"),
    # ---- images and documents ----------------------------------------------------------------
    "IMG001": ('cover = "cover.jpg" and cover.jpg is missing or empty',
               "cover.jpg exists and holds the picture"),
    "IMG002": ("a JPEG cut off mid-copy, or a 40000x40000 PNG bomb",
               "a complete 1920x1080 JPEG"),
    "IMG003": ("a HEIC or WebP cover", "a JPEG or PNG cover (grant letter: PDF too)"),
    "IMG004": ("a CMYK JPEG, or a PNG with transparency", "an RGB JPEG"),
    "IMG005": ("a phone photo stored sideways with EXIF orientation 6",
               "the photo rotated and saved upright (no orientation tag)"),
    "IMG006": ("a 320x200 ID card photo", "an 1600x1000 ID card photo (800x500 or more)"),
    "IMG090": ("id_front.jpg is a Git LFS pointer (git lfs pull not run)",
               "id_front.jpg is the real photo"),
    # ---- packaging ---------------------------------------------------------------------------
    "PKG001": ("video_multipart_count = 1000 for a 50 MB take (50 KB parts)",
               'video_multipart_count = "auto" (or 5: 10 MB parts)'),
    "PKG002": ("video_multipart_count = 1 for an 8 GB 4K take (one 8 GB part)",
               'video_multipart_count = "auto" (parts of at most 1 GiB)'),
    "PKG003": ('audio = ["a/take.wav", "b/take.wav"] (same name in the zip)',
               'audio = ["a/take1.wav", "b/take2.wav"]'),
    # ---- presenter ---------------------------------------------------------------------------
    "PRS000": ("presenter checks asked for without the face extra installed",
               "pip install 'metastudio-preflight[face]'"),
    "PRS001": ("a take where the presenter looks away or is out of frame most of the time",
               "a face found in most sampled frames"),
    "PRS002": ("a portrait take shot sideways (the face lies on its side)",
               "the presenter upright as played (preflight fix --rotate)"),
    "PRS003": ("two people in the frame", "the presenter alone"),
    "PRS004": ("a Flexus take where the face is 1/10 of the frame height",
               "the face a quarter of the frame height"),
    "PRS005": ("id_card_front is the emblem side (no face)", "the portrait side as id_card_front"),
    "PRS006": ("an ID card photo with a second face (a photo of two cards)",
               "one card, one face"),
    "PRS007": ("id_card_back shows a face (front and back swapped)",
               "the emblem side as id_card_back"),
    "PRS008": ("a blurred ID card photo, or glare over the portrait",
               "a sharp photo without glare"),
    "PRS009": ("the ID card shows another person (face distance 0.70)",
               "the presenter's own ID card (face distance 0.40)"),
    "PRS010": ("a match just inside the limit (face distance 0.58)",
               "a clear match (face distance 0.40)"),
    "PRS011": ("a Flexus take without 15 s of keeping still with the mouth closed",
               "a 15–20 s silent pause facing the camera in the take"),
    "PRS012": ("a Flexus take on a hand-held phone, or people walking behind",
               "a camera on a tripod and a static background"),
})


def example(code: str) -> tuple[str, str] | None:
    """(fails, passes) for a rule, or None when it has none."""
    return EXAMPLES.get(code)


__all__ = ["BASE_JOB", "BASE_MEDIA", "BODY_EXAMPLES", "EXAMPLES", "BodyExample", "example"]
