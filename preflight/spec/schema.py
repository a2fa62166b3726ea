"""What the spec file may contain: API body fields (dossier §1.2), media slots and account keys."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Fields of the Create2dModelTrainingJob body and their JSON types (dossier §1.2).
BODY_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "name": "string",
        "contact": "string",
        "command_message": "string",
        "video_multipart_count": "integer",
        "action_video_multipart_count": "integer",
        "is_background_replacement": "boolean",
        "batch_name": "string",
        "tags": "array of string",
        "model_version": "string",
        "is_ondemand_resource": "boolean",
        "is_flexus": "boolean",
        "is_fast_flexus": "boolean",
        "is_live_copy": "boolean",
        "is_only_human_model": "boolean",
        "audio_source_type": "string",
        "voice_properties": "object",
        "supported_service": "array of string",
    }
)

#: Fields of `voice_properties` (dossier §1.2); all three are required inside the object.
VOICE_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "job_tag": ("ECOMMERCE", "NEWS", "MARKETING"),
        "sex": ("FEMALE", "MALE"),
        "language": ("CN", "EN"),
    }
)

COMMAND_MESSAGES = (
    "UPDATE_VIDEO", "UPLOAD_VIDEO", "CONFIRM_ACTION_VIDEO", "GET_ACTION_VIDEO_MULTIPART",
)
MODEL_VERSIONS = ("V2", "V3", "V3.2", "V3.3")
DEPRECATED_MODEL_VERSIONS = ("V2", "V3")
AUDIO_SOURCE_TYPES = ("VIDEO", "AUDIO")
SUPPORTED_SERVICES = ("VIDEO_2D", "LIVE_2D", "CHAT_2D")
MULTIPART_FIELDS = ("video_multipart_count", "action_video_multipart_count")
MULTIPART_MIN, MULTIPART_MAX = 1, 1000

#: API defaults for flags that change meaning when omitted (dossier §1.2).
BODY_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {
        "is_background_replacement": True,
        "is_flexus": False,
        "is_fast_flexus": False,
        "is_live_copy": False,
        "is_only_human_model": False,
        "model_version": "V3.2",
        "command_message": "UPLOAD_VIDEO",
        "video_multipart_count": 1,
        "action_video_multipart_count": 1,
    }
)

#: Media slots: key in `[media]` -> (family, upload URL field of the create response, dossier §1.4).
SLOTS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "training_video": ("VID", "training_video_upload_url"),
        "action_video": ("VID", "action_video_upload_url"),
        "audio": ("AUD", "audio_upload_url"),
        "cover": ("IMG", "cover_upload_url"),
        "id_card_front": ("IMG", "id_card_image1_upload_url"),
        "id_card_back": ("IMG", "id_card_image2_upload_url"),
        "grant_file": ("IMG", "grant_file_upload_url"),
        "pre_beauty_image": ("IMG", "pre_beauty_image_upload_url"),
        "post_beauty_image": ("IMG", "post_beauty_image_upload_url"),
    }
)

#: Slots that may hold several files (zipped into one upload).
MULTI_FILE_SLOTS = frozenset({"audio"})

#: `[account]` keys and their types.
ACCOUNT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "na_whitelisted": "boolean",
        "app_user_id": "string",
    }
)

SECTIONS = ("job", "media", "account")

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".flv", ".ts", ".mts", ".m2ts", ".wmv",
     ".3gp"}
)
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma"})
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif"}
)
DOCUMENT_EXTENSIONS = frozenset({".pdf"})


def guess_slot(suffix: str) -> str | None:
    """The slot a lone file is checked as, from its extension (None when unknown)."""
    s = suffix.lower()
    if s in VIDEO_EXTENSIONS:
        return "training_video"
    if s in AUDIO_EXTENSIONS:
        return "audio"
    if s in IMAGE_EXTENSIONS:
        return "cover"
    if s in DOCUMENT_EXTENSIONS:
        return "grant_file"
    return None


def json_type(value: object) -> str:
    """The JSON type name of a parsed TOML/JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def matches_type(value: object, expected: str) -> bool:
    """Whether `value` has the JSON type named by `expected` (e.g. ``array of string``)."""
    if expected.startswith("array of "):
        item = expected.removeprefix("array of ")
        return isinstance(value, list) and all(json_type(v) == item for v in value)
    return json_type(value) == expected
