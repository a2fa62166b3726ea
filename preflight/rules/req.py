"""REQ rules: the Create2dModelTrainingJob body, field by field and across fields (§1.2, §1.3)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from preflight.metastudio import (
    ACTION_COMMAND_MESSAGES,
    AUDIO_SOURCE_TYPES,
    BODY_FIELDS,
    COMMAND_MESSAGES,
    DEPRECATED_MODEL_VERSIONS,
    ID_DOCUMENT_SLOTS,
    MODEL_VERSIONS,
    MULTIPART_FIELDS,
    MULTIPART_MAX,
    MULTIPART_MIN,
    SLOTS,
    SUPPORTED_SERVICES,
    VOICE_FIELDS,
    chinese_characters,
)
from preflight.model import Severity
from preflight.rules.base import Fact, JobContext, Option, Options, job_rule
from preflight.spec.loader import suggest
from preflight.spec.schema import json_type, matches_type

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _typed(ctx: JobContext, key: str) -> bool:
    """True when the key is present and has its documented type (type errors are REQ002's)."""
    if key not in ctx.body:
        return False
    value = ctx.body[key]
    if key in MULTIPART_FIELDS and value == "auto":
        return False
    return matches_type(value, BODY_FIELDS[key])


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@job_rule("REQ001", "body-unknown-key", E, "Every [job] key is a field of the create body.", "§1.2")
def unknown_key(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The API body has a fixed set of fields; anything else is not part of the API and a typo
    here silently drops the setting you meant."""
    for key in ctx.body:
        if key not in BODY_FIELDS:
            yield Fact(
                f"job.{key} is not a field of the create body{suggest(key, list(BODY_FIELDS))}",
                details={"key": key},
            )


@job_rule("REQ002", "body-field-type", E, "Each body field has its documented JSON type.", "§1.2")
def field_type(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """Types from the API tables: strings, booleans, integers, arrays of strings, one object.
    `video_multipart_count` / `action_video_multipart_count` also accept "auto" in a spec."""
    for key, value in ctx.body.items():
        expected = BODY_FIELDS.get(key)
        if expected is None:
            continue
        if key in MULTIPART_FIELDS and value == "auto":
            continue
        if not matches_type(value, expected):
            extra = ' or "auto"' if key in MULTIPART_FIELDS else ""
            yield Fact(
                f"job.{key} must be {expected}{extra}, got {json_type(value)} {_show(value)}",
                details={"key": key, "expected": expected},
            )


@job_rule("REQ003", "name-required", E, "`name` is present and not blank.", "§1.2")
def name_required(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """`name` is the only mandatory field; it becomes the asset name in the asset library."""
    name = ctx.body.get("name")
    if name is None:
        yield Fact("job.name is mandatory and missing", fix='name = "My avatar"')
    elif isinstance(name, str) and not name.strip():
        yield Fact("job.name is blank", fix='name = "My avatar"')


@job_rule(
    "REQ004", "string-length", E, "`command_message` and `model_version` are 0–64 characters.",
    "§1.2", options={"max_length": Option(64, "documented maximum length")},
)
def string_length(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The API tables give a 0~64 length for `command_message` and `model_version`."""
    for key in ("command_message", "model_version"):
        if _typed(ctx, key) and len(ctx.body[key]) > opts["max_length"]:
            yield Fact(
                f"job.{key} is {len(ctx.body[key])} characters; at most {opts['max_length']}",
                details={"key": key, "length": len(ctx.body[key])},
            )


def _enum_fact(key: str, value: str, allowed: tuple[str, ...]) -> Fact:
    return Fact(
        f"job.{key} = {_show(value)} is not one of {', '.join(allowed)}"
        f"{suggest(value, allowed)}",
        details={"key": key, "value": value, "allowed": list(allowed)},
    )


@job_rule("REQ005", "command-message-enum", E, "`command_message` is a documented value.", "§1.2")
def command_message_enum(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """UPDATE_VIDEO, UPLOAD_VIDEO (default), CONFIRM_ACTION_VIDEO or GET_ACTION_VIDEO_MULTIPART."""
    if _typed(ctx, "command_message") and ctx.body["command_message"] not in COMMAND_MESSAGES:
        yield _enum_fact("command_message", ctx.body["command_message"], COMMAND_MESSAGES)


@job_rule("REQ006", "model-version-enum", E, "`model_version` is V3.2, V3.3 (or deprecated V2/V3).",
          "§1.2")
def model_version_enum(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The documented values are V3.2 (default) and V3.3 (fast Flexus); V2 and V3 still exist
    in the enum but are deprecated."""
    if _typed(ctx, "model_version") and ctx.body["model_version"] not in MODEL_VERSIONS:
        yield _enum_fact("model_version", ctx.body["model_version"], MODEL_VERSIONS)


@job_rule("REQ007", "model-version-deprecated", E, "`model_version` V2 and V3 are deprecated.",
          "§1.2")
def model_version_deprecated(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """"V3 and V2 are deprecated" (API text since SDK 3.1.176; the default is V3.2). The
    service's answer to a deprecated value is not documented; the strict reading, which the
    stand-in service applies too, is that it refuses the job, so this is an error: omit the
    field or write V3.2."""
    if _typed(ctx, "model_version") and ctx.body["model_version"] in DEPRECATED_MODEL_VERSIONS:
        yield Fact(
            f"job.model_version = {_show(ctx.body['model_version'])} is deprecated; use \"V3.2\"",
            fix='model_version = "V3.2"',
        )


@job_rule("REQ008", "audio-source-type-enum", E, "`audio_source_type` is VIDEO or AUDIO.", "§1.2")
def audio_source_type_enum(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """VIDEO extracts the voice from the training video; AUDIO uses the uploaded audio zip."""
    if _typed(ctx, "audio_source_type") and ctx.body["audio_source_type"] not in AUDIO_SOURCE_TYPES:
        yield _enum_fact("audio_source_type", ctx.body["audio_source_type"], AUDIO_SOURCE_TYPES)


@job_rule("REQ009", "supported-service-enum", E,
          "`supported_service` items are VIDEO_2D, LIVE_2D or CHAT_2D.", "§1.2")
def supported_service_enum(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """A multi-select of VIDEO_2D, LIVE_2D and CHAT_2D (the SDK's `SupportedServiceEnum`)."""
    if not _typed(ctx, "supported_service"):
        return
    for item in ctx.body["supported_service"]:
        if item not in SUPPORTED_SERVICES:
            yield _enum_fact("supported_service", item, SUPPORTED_SERVICES)


@job_rule("REQ036", "supported-service-repeat", W,
          "`supported_service` names each service once.", "§1.2")
def supported_service_repeat(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The field is a multi-select; no document says the service refuses an item given twice
    (nor what it makes of it), so a repeat is a warning: write each service once."""
    if not _typed(ctx, "supported_service"):
        return
    items = ctx.body["supported_service"]
    dups = sorted({i for i in items if items.count(i) > 1})
    if dups:
        once = list(dict.fromkeys(items))
        yield Fact(f"job.supported_service repeats {', '.join(dups)}; the API documents a "
                   "multi-select and says nothing of repeats",
                   fix=f"supported_service = {_show(once)}")


@job_rule("REQ010", "voice-properties", E,
          "`voice_properties` has exactly job_tag, sex and language with documented values.",
          "§1.2")
def voice_properties(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """Inside the object all three fields are required: job_tag ECOMMERCE/NEWS/MARKETING,
    sex FEMALE/MALE, language CN/EN."""
    if not _typed(ctx, "voice_properties"):
        return
    vp = ctx.body["voice_properties"]
    for key in vp:
        if key not in VOICE_FIELDS:
            hint = suggest(key, list(VOICE_FIELDS))
            yield Fact(f"job.voice_properties.{key} is not a field{hint}")
    for key, allowed in VOICE_FIELDS.items():
        if key not in vp:
            yield Fact(f"job.voice_properties.{key} is required inside voice_properties")
        elif not isinstance(vp[key], str):
            yield Fact(f"job.voice_properties.{key} must be a string, got {json_type(vp[key])}")
        elif vp[key] not in allowed:
            yield _enum_fact(f"voice_properties.{key}", vp[key], allowed)


@job_rule("REQ011", "multipart-count-range", E,
          "`video_multipart_count` and `action_video_multipart_count` are 1–1000 (or \"auto\").",
          "§1.2")
def multipart_count_range(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The number of byte-range parts of one video file: 1~1000. "auto" lets the packager pick."""
    for key in MULTIPART_FIELDS:
        value = ctx.body.get(key)
        if _typed(ctx, key) and isinstance(value, int) and not (
            MULTIPART_MIN <= value <= MULTIPART_MAX
        ):
            yield Fact(
                f"job.{key} = {value} is outside {MULTIPART_MIN}–{MULTIPART_MAX}",
                fix=f'{key} = "auto"',
                details={"key": key, "value": value},
            )


def app_user_id_problem(uid: str) -> str | None:
    """Why an X-App-UserId value is refused, or None (shared by the spec's value and the one
    given on the command line)."""
    found = chinese_characters(uid)
    if found:
        shown = " ".join(dict.fromkeys(found))
        return (f"contains Chinese characters ({shown}); CJK punctuation and full-width forms "
                "count too")
    other = [c for c in uid if not c.isascii() or not c.isprintable()]
    if other:
        shown = " ".join(dict.fromkeys(other))
        return (f"contains characters an HTTP header cannot carry ({shown!r}); use printable "
                "ASCII")
    if not uid.strip():
        return "is blank; omit it instead"
    return None


@job_rule("REQ012", "app-user-id-chinese", E, "X-App-UserId contains no Chinese characters.",
          "§1.1, §5.4")
def app_user_id(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The optional third-party user id header must not contain Chinese characters. The value
    checked is the one that will be sent: `[account] app_user_id`, or `--app-user-id` when
    given. CJK punctuation (、。「」) and full-width forms (，Ａ１) count as Chinese: the
    source does not say, and refusing them is the safer reading [inferred]. Other non-ASCII or
    control characters are refused too: an HTTP header value cannot carry them."""
    uid = ctx.spec.account.app_user_id
    if uid is None:
        return
    problem = app_user_id_problem(uid)
    if problem:
        yield Fact(f"X-App-UserId {_show(uid)} (account.app_user_id or --app-user-id) {problem}",
                   details={"value": uid})


@job_rule("REQ013", "contact-phone", W, "`contact` looks like a mobile phone number.", "§1.2",
          options={"pattern": Option(r"^\+?[0-9][0-9 \-]{6,18}[0-9]$", "accepted phone format")})
def contact_phone(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The API calls it the creator's mobile number; the console asks for a valid 11-digit
    mobile number."""
    if _typed(ctx, "contact") and not re.match(opts["pattern"], ctx.body["contact"].strip()):
        yield Fact(f"job.contact = {_show(ctx.body['contact'])} does not look like a phone number")


# ---- cross-field rules (constraints §1.3) ---------------------------------------------------

@job_rule("REQ020", "only-human-model-without-flexus", E,
          "`is_only_human_model = true` is valid only with is_flexus = true.", "§1.3 R1")
def only_human_model(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R1: "valid only for Flexus". The Flexus flag of the API is `is_flexus`; fast Flexus
    (`is_fast_flexus`) alone does not make a job Flexus in the service contract. What the
    service does with the flag elsewhere is not documented; the strict reading (refused, as
    the stand-in service does) makes this an error. `false` is the default and always fine."""
    if ctx.flag("is_only_human_model") and not ctx.flag("is_flexus"):
        yield Fact("job.is_only_human_model = true is valid only for Flexus jobs "
                   "(is_flexus = true)", fix="is_flexus = true, or leave is_only_human_model out")


@job_rule("REQ021", "flexus-supported-service", E,
          "Flexus jobs use supported_service = [\"VIDEO_2D\"] only.", "§1.3 R2, R7")
def flexus_supported_service(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R2/R7: Flexus avatars support only video production, not livestreaming or interaction.
    An omitted `supported_service` is not VIDEO_2D only: the service then applies its default
    of VIDEO_2D and LIVE_2D, which Flexus does not support, so Flexus jobs must send it. An empty
    list selects no service at all. The omitted case is judged for whole specs only: a quick
    check's `--job-json` sketches the job rather than giving its whole body."""
    if not ctx.is_flexus_family:
        return
    fix = 'supported_service = ["VIDEO_2D"]'
    if "supported_service" not in ctx.body:
        if not ctx.whole_spec:
            return
        yield Fact('Flexus job without supported_service: the service default ["VIDEO_2D", '
                   '"LIVE_2D"] includes LIVE_2D, which Flexus does not support', fix=fix)
    elif _typed(ctx, "supported_service"):
        items = ctx.body["supported_service"]
        if not items:
            yield Fact("Flexus job with an empty supported_service list: it selects no "
                       'service; a Flexus avatar supports ["VIDEO_2D"]', fix=fix)
        elif set(items) != {"VIDEO_2D"}:  # a repeat is REQ036's
            yield Fact(f"a Flexus job supports only [\"VIDEO_2D\"], got {_show(items)}",
                       fix=fix)


@job_rule("REQ022", "voice-properties-without-flexus", E,
          "`voice_properties` is a Flexus voice setting; standard jobs do not support it.",
          "§1.3 R3")
def voice_properties_standard(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R3: the standard-edition voice does not support voice_properties. The Flexus flag of
    the API is `is_flexus`: fast Flexus (`is_fast_flexus`) without it is not Flexus in the
    service contract, so it does not allow voice_properties either."""
    if "voice_properties" in ctx.body and not ctx.flag("is_flexus"):
        yield Fact("job.voice_properties is only supported for Flexus jobs (is_flexus = true)",
                   fix="is_flexus = true, or leave voice_properties out")


@job_rule("REQ023", "background-replacement-default", INFO,
          "An omitted `is_background_replacement` means true: the video must be green screen.",
          "§1.3 R4, §7.1", whole_spec_only=True)
def background_replacement_default(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R4: the default is true, so a real-scene video must send false explicitly."""
    if "is_background_replacement" not in ctx.body and not ctx.is_flexus_family:
        yield Fact(
            "job.is_background_replacement is omitted and defaults to true: the training video "
            "must be shot on a green screen (set it to false for a real-scene video)",
        )


@job_rule("REQ024", "flexus-background-replacement", E,
          "Flexus jobs send is_background_replacement = false (real scene).", "§1.3 R6, R4",
          inferred=True)
def flexus_background(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R6: Flexus avatars are shot in a real scene and the background cannot be replaced; the
    field defaults to true (R4), so it must be sent as false. The rule is documented, the
    field consequence is our reading [inferred]."""
    if ctx.is_flexus_family and ctx.flag("is_background_replacement"):
        how = "is true" if "is_background_replacement" in ctx.body else "is omitted (default true)"
        yield Fact(
            f"Flexus job but is_background_replacement {how}; Flexus videos are real-scene",
            fix="is_background_replacement = false",
        )


@job_rule("REQ025", "v33-without-fast-flexus", E,
          "model_version V3.3 is the fast-Flexus model; use it only with is_fast_flexus.",
          "§1.3 R8", inferred=True)
def v33_without_fast_flexus(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R8: V3.3 is "the model used for fast Flexus training"; that it must not be used without
    is_fast_flexus is our reading [inferred]."""
    if ctx.body.get("model_version") == "V3.3" and not ctx.flag("is_fast_flexus"):
        yield Fact('model_version = "V3.3" requires is_fast_flexus = true',
                   fix='model_version = "V3.2"')


@job_rule("REQ026", "fast-flexus-model-version", W,
          "Fast-Flexus jobs use model_version V3.3.", "§1.3 R8", inferred=True)
def fast_flexus_model_version(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R8 pairing: a fast-Flexus job trained with another model version is probably a mistake."""
    if ctx.flag("is_fast_flexus") and ctx.value("model_version") != "V3.3":
        yield Fact(
            f"is_fast_flexus = true but model_version is {_show(ctx.value('model_version'))}",
            fix='model_version = "V3.3"',
        )


@job_rule("REQ027", "fast-flexus-without-flexus", W,
          "Fast Flexus is a Flexus variant: set is_flexus = true too.", "§1.3 R8", inferred=True)
def fast_flexus_without_flexus(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R8 ("and, presumably, is_flexus = true")."""
    if ctx.flag("is_fast_flexus") and not ctx.flag("is_flexus"):
        yield Fact("is_fast_flexus = true but is_flexus is not true", fix="is_flexus = true")


@job_rule("REQ028", "flexus-voice-source", W,
          "Flexus jobs that train a voice say where the voice comes from (audio_source_type).",
          "§1.3 R9", inferred=True)
def flexus_voice_source(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R9: a Flexus job trains a voice too, from a separate corpus (AUDIO, better) or from the
    video (VIDEO). Not needed with is_only_human_model = true."""
    if (ctx.is_flexus_family and not ctx.flag("is_only_human_model")
            and "audio_source_type" not in ctx.body):
        yield Fact(
            "Flexus job trains a voice but audio_source_type is not set "
            '(AUDIO = separate corpus, recommended; VIDEO = extract from the video)',
            fix='audio_source_type = "AUDIO"',
        )


@job_rule("REQ029", "audio-source-without-audio", E,
          "audio_source_type = AUDIO needs audio files in [media].audio.", "§1.3 R9, §2.2",
          whole_spec_only=True)
def audio_without_files(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """AUDIO means the voice is trained from the uploaded audio zip; without files there is
    nothing to upload. A Flexus job with `is_only_human_model = true` trains no voice (R1, R9),
    so it needs no audio whatever audio_source_type says."""
    no_voice = ctx.flag("is_flexus") and ctx.flag("is_only_human_model")
    if (ctx.body.get("audio_source_type") == "AUDIO" and not no_voice
            and not ctx.spec.media.get("audio")):
        yield Fact('audio_source_type = "AUDIO" but [media].audio lists no files',
                   fix='audio = ["media/voice.wav"]  # in [media]')


@job_rule("REQ030", "audio-files-unused", W,
          "Audio files are only uploaded when audio_source_type = AUDIO.", "§2.2",
          whole_spec_only=True)
def audio_files_unused(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """Step 4 of the flow uploads the audio zip only for AUDIO; otherwise the files are ignored."""
    if ctx.spec.media.get("audio") and ctx.body.get("audio_source_type") != "AUDIO":
        yield Fact(
            "[media].audio lists files but audio_source_type is not \"AUDIO\"; they will not "
            "be used", fix='audio_source_type = "AUDIO"',
        )


@job_rule("REQ031", "id-documents-required", E,
          "Non-whitelisted accounts upload ID card front, back and the grant letter.",
          "§1.3 R10", whole_spec_only=True)
def id_documents(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R10: mandatory for non-NA users, "otherwise the audit fails"."""
    if ctx.spec.account.na_whitelisted:
        return
    for slot in ID_DOCUMENT_SLOTS:
        label = SLOTS[slot].label
        if not ctx.spec.media.get(slot):
            yield Fact(
                f"no {label} ([media].{slot}): the review will fail for a non-whitelisted account",
                slot=slot, details={"slot": slot},
            )


@job_rule("REQ032", "action-fields-without-action-video", E,
          "Action-video count or commands need an action video file.", "§1.3 R11",
          whole_spec_only=True, inferred=True)
def action_fields_without_video(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R11: action-video fields belong to choreography (documented); that they are void
    without an action video file is our reading [inferred]."""
    if ctx.spec.media.get("action_video"):
        return
    if "action_video_multipart_count" in ctx.body:
        yield Fact("job.action_video_multipart_count is set but [media].action_video is missing")
    cm = ctx.body.get("command_message")
    if cm in ACTION_COMMAND_MESSAGES:
        yield Fact(f"job.command_message = {_show(cm)} needs an action video")


@job_rule("REQ033", "action-video-without-count", W,
          "An action video is announced with action_video_multipart_count.", "§1.3 R11",
          whole_spec_only=True, inferred=True)
def action_video_without_count(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """R11: set the action-video part count so the service issues action-video upload URLs
    (choreography also needs permission granted by a service ticket)."""
    if ctx.spec.media.get("action_video") and "action_video_multipart_count" not in ctx.body:
        yield Fact(
            "[media].action_video is given but job.action_video_multipart_count is not set",
            fix='action_video_multipart_count = "auto"',
        )


@job_rule("REQ034", "training-video-required", E,
          "The job has a training video ([media].training_video).", "§1.4, §2.2",
          whole_spec_only=True)
def training_video_required(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """Every job uploads its training video to `training_video_upload_url` and confirms it with
    CONFIRM_MULTIPART_UPLOADED before SUBMITVERIFYING (§2.2): a job without one is created but
    can never be submitted, and stays behind as an orphan. `package` and `submit` refuse it
    before sending anything."""
    if not ctx.spec.media.get("training_video"):
        yield Fact("no training video ([media].training_video): the job cannot be submitted "
                   "without one", slot="training_video",
                   fix='training_video = "media/take.mp4"  # in [media]')


@job_rule("REQ035", "voice-language-en", W,
          "`voice_properties.language = \"EN\"`: the field's description says only Chinese.",
          "§1.2, §7.8")
def voice_language_en(ctx: JobContext, opts: Options) -> Iterator[Fact]:
    """The enum of `voice_properties.language` has CN and EN, but its description says
    "currently only Chinese is supported" (the console lists Chinese and English for the
    Flexus corpus). The sources contradict each other: EN is accepted with a warning."""
    if not _typed(ctx, "voice_properties"):
        return
    if ctx.body["voice_properties"].get("language") == "EN":
        yield Fact('job.voice_properties.language = "EN": the API enum lists EN, but the field '
                   'description says "currently only Chinese is supported"; the voice may be '
                   "refused or trained as Chinese", fix='language = "CN"  # in voice_properties')


RULES = (
    unknown_key, field_type, name_required, string_length, command_message_enum,
    model_version_enum, model_version_deprecated, audio_source_type_enum, supported_service_enum,
    supported_service_repeat,
    voice_properties, multipart_count_range, app_user_id, contact_phone, only_human_model,
    flexus_supported_service, voice_properties_standard, background_replacement_default,
    flexus_background, v33_without_fast_flexus, fast_flexus_model_version,
    fast_flexus_without_flexus, flexus_voice_source, audio_without_files, audio_files_unused,
    id_documents, action_fields_without_video, action_video_without_count,
    training_video_required, voice_language_en,
)
