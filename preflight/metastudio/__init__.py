"""The MetaStudio API's vocabulary, stated once: body fields and their types, media slots and their
upload/download fields and content types, commands, job states, editions, regions, media
extensions and the accepted video sizes (dossier §1, §2, §3, §5).

Everything else (the spec loader, the rules, the packager, the submitter and the stand-in
service) reads these facts from here. Nothing in this package imports another part of preflight
except the error tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from types import MappingProxyType

# ---- the create body (dossier §1.2) -------------------------------------------------------------

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
#: Fields of the Update2dModelTrainingJob body (dossier §2.4), all optional; the create
#: fields' types apply, plus ``samples_basic_info`` (an array of objects).
UPDATE_FIELDS: Mapping[str, str] = MappingProxyType({
    **{k: BODY_FIELDS[k] for k in (
        "name", "contact", "command_message", "video_multipart_count",
        "action_video_multipart_count", "is_background_replacement", "batch_name", "tags",
        "is_fast_flexus", "voice_properties", "supported_service", "audio_source_type")},
    "samples_basic_info": "array of object",
})
#: The command_message of an update that asks for fresh upload URLs (dossier §2.4).
UPDATE_VIDEO = "UPDATE_VIDEO"
#: Body fields the API requires (dossier §1.2).
REQUIRED_FIELDS = ("name",)
#: Fields of `voice_properties` and their enums (dossier §1.2); all three are required inside it.
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
#: The part-count fields of the body, training video first.
MULTIPART_FIELDS = ("video_multipart_count", "action_video_multipart_count")
MULTIPART_MIN, MULTIPART_MAX = 1, 1000
#: String fields with a documented length range of 0~64 (dossier §1.2).
STRING_MAX_LENGTH: Mapping[str, int] = MappingProxyType({"command_message": 64,
                                                        "model_version": 64})

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

# ---- media slots (dossier §1.4, §2.3) -----------------------------------------------------------

OCTET_STREAM = "application/octet-stream"
ZIP = "application/zip"


@dataclass(frozen=True)
class Slot:
    """One upload of a job: the rule family that judges it, the create-response field with its
    upload URL(s), the Show fields filled once it arrived, its Content-Type, and (for videos)
    the body field holding its part count."""

    name: str
    family: str
    label: str
    upload_field: str
    download_fields: tuple[str, ...] = ()
    content_type: str = OCTET_STREAM
    count_field: str | None = None
    multi_file: bool = False

    @property
    def multipart(self) -> bool:
        """Whether the upload is cut into parts (a list of URLs)."""
        return self.count_field is not None


#: Media slots: key in `[media]` -> facts about its upload, in upload order.
SLOTS: Mapping[str, Slot] = MappingProxyType({
    s.name: s for s in (
        Slot("training_video", "VID", "training video", "training_video_upload_url",
             ("training_video_download_url",), count_field="video_multipart_count"),
        Slot("action_video", "VID", "action video", "action_video_upload_url",
             ("action_video_download_url",), count_field="action_video_multipart_count"),
        Slot("audio", "AUD", "audio", "audio_upload_url",
             ("audio_file_download_url", "audio_download_url"), ZIP, multi_file=True),
        Slot("cover", "IMG", "cover image", "cover_upload_url", ("cover_download_url",)),
        Slot("id_card_front", "IMG", "ID card front (portrait side)",
             "id_card_image1_upload_url", ("id_card_image1_download_url",)),
        Slot("id_card_back", "IMG", "ID card back (emblem side)", "id_card_image2_upload_url",
             ("id_card_image2_download_url",)),
        Slot("grant_file", "IMG", "authorization (grant) letter", "grant_file_upload_url",
             ("grant_file_download_url",)),
        Slot("pre_beauty_image", "IMG", "image before beautification",
             "pre_beauty_image_upload_url"),
        Slot("post_beauty_image", "IMG", "image after beautification",
             "post_beauty_image_upload_url"),
    )
})
SLOT_NAMES = tuple(SLOTS)
#: The two sides of the presenter's ID card.
ID_CARD_SLOTS = ("id_card_front", "id_card_back")
#: Identity documents a non-whitelisted account must upload (dossier §1.3 R10).
ID_DOCUMENT_SLOTS = (*ID_CARD_SLOTS, "grant_file")
#: Slots that may hold several files (zipped into one upload).
MULTI_FILE_SLOTS = frozenset(s.name for s in SLOTS.values() if s.multi_file)
#: Slot -> body field with its part count (the multipart slots only).
COUNT_FIELDS: Mapping[str, str] = MappingProxyType(
    {s.name: s.count_field for s in SLOTS.values() if s.count_field is not None})


#: The slot every job must upload (it is confirmed before SUBMITVERIFYING, dossier §2.2).
REQUIRED_SLOT = "training_video"


def slot_sent(slot: str, body: Mapping[str, object]) -> bool:
    """Whether a job with this body uploads the slot's files: the audio zip only for
    ``audio_source_type = "AUDIO"`` (dossier §2.2 step 4); every other slot when it has a file."""
    if slot == "audio":
        return body.get("audio_source_type") == "AUDIO"
    return slot in SLOTS


def family_slots(family: str) -> tuple[str, ...]:
    """The slots judged by a rule family (``VID``, ``AUD``, ``IMG``)."""
    return tuple(s.name for s in SLOTS.values() if s.family == family)


# ---- commands and states (dossier §2.1, §2.3) ---------------------------------------------------

COMMANDS = ("SUBMITVERIFYING", "GET_MULTIPART_UPLOADED", "CONFIRM_MULTIPART_UPLOADED",
            "GET_ACTION_VIDEO_MULTIPART_UPLOADED", "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED",
            "CONFIRM_AUTHORIZATION_LETTER", "CONFIRM_REPAIR", "DELETE_JOB_VIDEO",
            "CONFIRM_ACCEPT", "CONFIRM_REJECT", "CONFIRM_ANSWER", "CONFIRM_PENDING",
            "CONFIRM_ACTIVE")
#: Commands only NA-whitelist users may send.
NA_ONLY_COMMANDS = frozenset({"CONFIRM_ACCEPT", "CONFIRM_REJECT", "CONFIRM_ANSWER",
                              "CONFIRM_PENDING", "CONFIRM_ACTIVE"})
#: Slot -> command listing its uploaded parts; slot -> command confirming them.
MULTIPART_QUERY: Mapping[str, str] = MappingProxyType({
    "training_video": "GET_MULTIPART_UPLOADED",
    "action_video": "GET_ACTION_VIDEO_MULTIPART_UPLOADED"})
MULTIPART_CONFIRM: Mapping[str, str] = MappingProxyType({
    "training_video": "CONFIRM_MULTIPART_UPLOADED",
    "action_video": "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED"})
#: Confirms the authorization letter; sends the job to review (dossier §2.1).
CONFIRM_GRANT_COMMAND = "CONFIRM_AUTHORIZATION_LETTER"
SUBMIT_COMMAND = "SUBMITVERIFYING"
#: Commands that only acknowledge (the stand-in answers them without a state change).
ACKNOWLEDGE_COMMANDS = frozenset({"CONFIRM_REPAIR", "DELETE_JOB_VIDEO"})
#: The spelling the API uses in command answers (sic).
COMMAND_OK, COMMAND_FAILED = "EXCUTE_SUCCESS", "EXCUTE_FAILED"

WAIT_FILE_UPLOAD = "WAIT_FILE_UPLOAD"
#: The first state after SUBMITVERIFYING; success for a normal user.
AUTO_VERIFYING, JOB_SUCCESS = "AUTO_VERIFYING", "JOB_SUCCESS"
AUTO_VERIFY_FAILED, MANUAL_VERIFY_FAILED = "AUTO_VERIFY_FAILED", "MANUAL_VERIFY_FAILED"
#: The job succeeded (normal users: JOB_SUCCESS; NA-whitelist users: JOB_FINISH).
SUCCESS_STATES = frozenset({JOB_SUCCESS, "JOB_FINISH"})
#: The review failed: the only states Update2dModelTrainingJob accepts (dossier §2.4).
REVIEW_FAILED_STATES = frozenset({AUTO_VERIFY_FAILED, MANUAL_VERIFY_FAILED})
#: States a job can be updated in (fresh upload URLs with UPDATE_VIDEO, dossier §2.4).
UPDATABLE_STATES = REVIEW_FAILED_STATES
#: Failed for the user: review failures, and an NA-whitelist user's own rejection.
FAILED_STATES = REVIEW_FAILED_STATES | {"JOB_REJECT"}
#: Waiting for an NA-whitelist user to accept or reject the result (dossier §2.3).
USER_ACTION_STATES = frozenset({"WAIT_USER_CONFIRM"})
#: Where polling stops: nothing changes without the user (dossier §2.3). Everything else,
#: including unknown states, is in progress.
FINAL_STATES = SUCCESS_STATES | FAILED_STATES | USER_ACTION_STATES
#: Review and training states. Failures among them ("only admins handle these, ordinary users
#: just see training", dossier §2.3) are not final for a user: an administrator retries them.
REVIEW_STATES = frozenset({AUTO_VERIFYING, "MANUAL_VERIFYING"})
TRAINING_STATES = frozenset({
    "MANUAL_VERIFY_SUCCESS", "WAIT_TRAINING_DATA_PREPROCESS", "TRAINING_DATA_PREPROCESSING",
    "TRAINING_DATA_PREPROCESS_FAILED", "TRAINING_DATA_PREPROCESS_SUCCESS", "TRAINING",
    "TRAIN_FAILED", "TRAIN_SUCCESS", "INFERENCE_DATA_PREPROCESSING",
    "INFERENCE_DATA_PREPROCESS_FAILED", "WAIT_MAIN_FILE_UPLOAD",
    "MANUAL_STOP_INFERENCE_DATA_PREPROCESS", "MANUAL_STOP_TRAIN",
    "MANUAL_STOP_TRAINING_DATA_PREPROCESS", "WAIT_ADMIN_CONFIRM", "WAIT_COMPILE", "COMPILING",
    "COMPILE_FAILED", "WAIT_GENERATE_ACTION", "WAIT_ARRANGE", "ACTION_GENERATE_DATA_PROCESSING",
    "MANUAL_STOP_ACTION_GENERATE_DATA_PROCESSING", "MANUAL_STOP_ACTION_GENERATE_ORI_PROCESSING",
    "ACTION_GENERATE_ORI_PROCESSING", "ACTION_GENERATE_DATA_FAILED",
    "ACTION_GENERATE_ORI_FAILED", "ACTION_GENERATE_ORI_SUCCESS",
    "GENERATE_ACTION_PREPROCESS_FAILED", "WAIT_ADMIN_CALIBRATION", "WAIT_ASSET_SYNC",
    "WAIT_GENERATE_ACTION_MARK", "ACTION_MARKING"})
#: States in which a job may be deleted (dossier §2.4).
DELETABLE_STATES = frozenset({
    "WAIT_FILE_UPLOAD", "AUTO_VERIFY_FAILED", "MANUAL_VERIFYING", "MANUAL_VERIFY_FAILED",
    "TRAINING_DATA_PREPROCESS_FAILED", "TRAIN_FAILED", "INFERENCE_DATA_PREPROCESS_FAILED",
    "JOB_SUCCESS", "WAIT_USER_CONFIRM", "JOB_REJECT", "JOB_FINISH"})
#: operation_logs error code of the automatic review: the video size is not one of the four
#: accepted ones (dossier §2.3).
RESOLUTION_REJECTED = "44005901"
#: Review error code (operation_logs.error_code) -> the preflight rule that catches the same
#: problem before upload.
REVIEW_ERROR_RULES: Mapping[str, str] = MappingProxyType({RESOLUTION_REJECTED: "VID006"})


def is_failed(state: str | None) -> bool:
    """The review failed or the (NA-whitelist) user rejected the result."""
    return state in FAILED_STATES


def is_final(state: str | None) -> bool:
    """A state where polling stops; unknown states are in progress."""
    return state in FINAL_STATES


# ---- X-App-UserId (dossier §1.1, §5.4) ----------------------------------------------------------

#: "Chinese characters not allowed": CJK ideographs (with extensions and compatibility forms),
#: radicals, bopomofo, CJK symbols and punctuation (、。「」), enclosed and compatibility CJK,
#: CJK compatibility forms and the full-width forms block (，！Ａ１). Reading punctuation and
#: full-width forms as Chinese is the safer side of an unstated rule [inferred].
CHINESE_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF), (0x2FF0, 0x2FFF), (0x3000, 0x303F), (0x3100, 0x312F), (0x3190, 0x31BF),
    (0x31C0, 0x31EF), (0x3200, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
    (0xFE10, 0xFE1F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x2FA1F),
    (0x30000, 0x323AF),
)


def chinese_characters(text: str) -> list[str]:
    """The characters of ``text`` that count as Chinese for X-App-UserId, in order."""
    return [c for c in text if any(lo <= ord(c) <= hi for lo, hi in CHINESE_RANGES)]


# ---- editions, regions, endpoints (dossier §1.3, §3.2, §5.1) ------------------------------------

#: Editions, each a rule pack: standard V3.2, Flexus, fast Flexus, livestream-room copy.
EDITIONS = ("standard", "flexus", "fast-flexus", "live-copy")
#: Region id -> endpoint host (§5.1). ap-southeast-3 is documented but absent from the SDK tables.
REGIONS: Mapping[str, str] = MappingProxyType({
    "cn-north-4": "metastudio.cn-north-4.myhuaweicloud.com",
    "cn-east-3": "metastudio.cn-east-3.myhuaweicloud.com",
    "ap-southeast-3": "metastudio.ap-southeast-3.myhuaweicloud.com",
})
REGION_NAMES = tuple(REGIONS)
#: The jobs collection, relative to the endpoint.
JOBS_PATH = "/v1/{project_id}/digital-human-training-manage/user/jobs"


def edition_of(job: Mapping[str, object]) -> str:
    """Edition from the body flags: live copy, fast Flexus, Flexus, else standard."""
    if job.get("is_live_copy") is True:
        return "live-copy"
    if job.get("is_fast_flexus") is True:
        return "fast-flexus"
    if job.get("is_flexus") is True:
        return "flexus"
    return "standard"


# ---- media (dossier §3) -------------------------------------------------------------------------

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".flv", ".ts", ".mts", ".m2ts", ".wmv",
     ".3gp"}
)
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma"})
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif"}
)
DOCUMENT_EXTENSIONS = frozenset({".pdf"})
MEDIA_EXTENSIONS = frozenset(VIDEO_EXTENSIONS | AUDIO_EXTENSIONS | IMAGE_EXTENSIONS
                             | DOCUMENT_EXTENSIONS)
#: File suffixes of job specs.
SPEC_SUFFIXES = (".toml", ".json")
#: Display sizes the automatic review accepts (dossier §2.3 error 44005901, §3.1).
ALLOWED_SIZES: tuple[tuple[int, int], ...] = (
    (1920, 1080), (1080, 1920), (3840, 2160), (2160, 3840),
)


def is_spec_path(path: object) -> bool:
    """Whether a path names a job spec (TOML/JSON) rather than a media file."""
    return PurePath(str(path)).suffix.lower() in SPEC_SUFFIXES


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


#: File-name stems that name an ID card side (quick mode: ``id_front.jpg`` is the front).
_ID_STEMS = (("id_card_front", ("id_card_front", "id_front", "idcard_front", "id-front",
                                "id-card-front")),
             ("id_card_back", ("id_card_back", "id_back", "idcard_back", "id-back",
                               "id-card-back")))


def guess_slot_from_name(name: str) -> str | None:
    """The slot a lone file is checked as, from its name: ``id_front*.jpg`` and the like are
    ID card sides, anything else as `guess_slot` says from the extension."""
    path = PurePath(name)
    stem = path.stem.lower()
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        for slot, stems in _ID_STEMS:
            if stem.startswith(stems):
                return slot
    return guess_slot(path.suffix)

# ---- names shared by the rules and the stand-in service ---------------------------------------
#: `ALLOWED_SIZES` written as WIDTHxHEIGHT (rule options, messages).
ALLOWED_SIZE_NAMES = tuple(f"{w}x{h}" for w, h in ALLOWED_SIZES)
#: The default `command_message` of create (§1.2).
UPLOAD_VIDEO = "UPLOAD_VIDEO"
#: `command_message` values that belong to an action (choreography) video (§1.3 R11).
ACTION_COMMAND_MESSAGES = tuple(m for m in COMMAND_MESSAGES if "ACTION" in m)
#: Review and training steps a submitted job passes through (§2.3).
MANUAL_VERIFYING = "MANUAL_VERIFYING"
TRAINING = "TRAINING"

# ---- what a submission makes of a state; which fields an update may change (dossier §2.3, §2.4) -

#: Create-body fields Update2dModelTrainingJob also accepts, apart from ``command_message`` and
#: the part counts (which every update after a failed review sends anyway) (dossier §2.4).
UPDATABLE_BODY_FIELDS = (frozenset(UPDATE_FIELDS) & frozenset(BODY_FIELDS)) - {
    "command_message", *MULTIPART_FIELDS}
#: Create-body fields Update does not accept (``model_version``, ``is_flexus``,
#: ``is_only_human_model``, ...): changing one needs a new job (dossier §2.4).
FIXED_BODY_FIELDS = frozenset(BODY_FIELDS) - frozenset(UPDATE_FIELDS)
#: An NA-whitelist user rejected the trained result (dossier §2.3).
JOB_REJECT = "JOB_REJECT"
#: An NA-whitelist user suspended the job (CONFIRM_PENDING): it waits for CONFIRM_ACTIVE.
SUSPENDED_STATES = frozenset({"JOB_PENDING"})
#: States the dossier lists after the console groups (§2.3).
OTHER_STATES = frozenset({
    "WAIT_TEST_VIDEO_CHECK", "TEST_VIDEO_CHECK_PROCESSING", "TEST_VIDEO_CHECK_SUCCESS",
    "TEST_VIDEO_CHECK_FAILED", "VIDEO_ANALYZE_PROCESSING", "VIDEO_ANALYZE_SUCCESS",
    "VIDEO_ANALYZE_FAILED", "ACTION_MARK_SUCCESS", "ACTION_MARK_FAILED", "ACTION_MARK_UPLOADED",
    "MANUL_STOP_ACTION_MARK"})
#: Every documented job state (dossier §2.3).
KNOWN_STATES = (frozenset({WAIT_FILE_UPLOAD, JOB_REJECT}) | REVIEW_STATES | REVIEW_FAILED_STATES
                | TRAINING_STATES | SUCCESS_STATES | USER_ACTION_STATES | SUSPENDED_STATES
                | OTHER_STATES)
#: Training, preprocessing and other processing failures after the review: every documented
#: ``*_FAILED`` state that is not a review failure. Staff normally handle them and may move the
#: job back (dossier §2.3); a user who sees one has a failed job until then.
PROCESSING_FAILED_STATES = frozenset(
    s for s in KNOWN_STATES if s.endswith("_FAILED")) - REVIEW_FAILED_STATES

#: What a state means to a submission, one name per class (see `state_class`).
UPLOAD, REVIEWING, REVIEW_FAILED, RUNNING, PROCESSING_FAILED, SUCCEEDED, REJECTED, USER_TURN = (
    "upload", "reviewing", "review-failed", "running", "processing-failed", "succeeded",
    "rejected", "user-turn")
STATE_CLASSES = (UPLOAD, REVIEWING, REVIEW_FAILED, RUNNING, PROCESSING_FAILED, SUCCEEDED,
                 REJECTED, USER_TURN)


def state_class(state: str) -> str:
    """The class of a job state: waiting for its files, in review, review failed, running
    (training and every unknown state), failed after the review (any other ``*_FAILED``, known
    or not), succeeded, rejected by the user, or waiting for the (NA-whitelist) user."""
    if state == WAIT_FILE_UPLOAD:
        return UPLOAD
    if state in REVIEW_STATES:
        return REVIEWING
    if state in REVIEW_FAILED_STATES:
        return REVIEW_FAILED
    if state in SUCCESS_STATES:
        return SUCCEEDED
    if state == JOB_REJECT:
        return REJECTED
    if state in USER_ACTION_STATES or state in SUSPENDED_STATES:
        return USER_TURN
    if state.endswith("_FAILED"):
        return PROCESSING_FAILED
    return RUNNING


#: The field of a command answer that says whether the command ran (sic, dossier §2.1).
COMMAND_RESULT = "commond_result"
#: List2dModelTrainingJob's largest page (``limit`` 1~100, dossier §2.4).
LIST_PAGE_MAX = 100
#: The choreography video and the authorization letter, by slot name (see `SLOTS`).
ACTION_SLOT, GRANT_SLOT = "action_video", "grant_file"
#: Fields of a command answer: the failure reason and the uploaded parts (sic, dossier §2.1).
COMMAND_FAILED_REASON, MULTIPART_DATA = "excute_failed_msg", "multipart_data"
