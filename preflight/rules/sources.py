"""The documented facts the rules rely on, each with the official pages it comes from.

A rule's ``source`` names sections of ``docs/constraints.md`` (``§1.2``, ``§1.3 R6, R4``,
``§3.1, §3.2``); that file is generated from `CONSTRAINTS` (``make docs``), and
`preflight rule CODE`, the SARIF help and the HTML report quote the same facts, so a reader
needs nothing else. Each fact says what an official Huawei page states (docs page, SDK model
file generated from the same API definition, or the site-search page quoting a user-guide
fragment) and marks as *inferred* what the rules read into it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Where the facts are written out, from the top of the repository.
CONSTRAINTS_DOC = "docs/constraints.md"


@dataclass(frozen=True)
class OfficialPage:
    """One official page and the section of it a rule relies on."""

    url: str
    section: str


@dataclass(frozen=True)
class Constraint:
    """One documented fact (or group of facts) rules cite by its section key."""

    #: Section key as rules cite it: ``"3.1"``, ``"1.3 R4"``.
    key: str
    title: str
    #: What the official pages say (Markdown).
    fact: str
    #: What the rules read into it beyond the text (Markdown); "" when nothing is inferred.
    inferred: str
    pages: tuple[OfficialPage, ...]

    @property
    def anchor(self) -> str:
        """The HTML anchor of the section in ``docs/constraints.md`` (``1.3 R4`` → ``c1-3-r4``)."""
        return "c" + re.sub(r"[^a-z0-9]+", "-", self.key.lower())

    @property
    def label(self) -> str:
        """``§1.3 R4`` as cited."""
        return f"§{self.key}"

    @property
    def link(self) -> str:
        """``docs/constraints.md#c1-3-r4``."""
        return f"{CONSTRAINTS_DOC}#{self.anchor}"


_CREATE = "https://support.huaweicloud.com/api-metastudio/Create2dModelTrainingJob.html"
_EXEC = "https://support.huaweicloud.com/api-metastudio/Execute2dModelTrainingCommandByUser.html"
_PID = "https://support.huaweicloud.com/intl/en-us/api-metastudio/metastudio_02_0006.html"
_PY = ("https://github.com/huaweicloud/huaweicloud-sdk-python-v3/blob/"
       "343a486b5c8ab656611159f314df6e575d0f6398/huaweicloud-sdk-metastudio/"
       "huaweicloudsdkmetastudio/v1/model/")
_GO = ("https://github.com/huaweicloud/huaweicloud-sdk-go-v3/blob/"
       "1cd70eb6f730ea721771a6ec8d96352bbb801787/services/metastudio/v1/model/")
_HWS = "https://huaweicloud.com/s/{}/JeaVsOWtl-WGheWuueeUn-S6p-e6vyBNZXRhU3R1ZGlvJQ"
_REQ_MODEL = _PY + "create2d_model_training_job_req.py"
_RESP_MODEL = _PY + "create2d_model_training_job_response.py"
_VOICE = _GO + "model_voice_properties.go"
_FAQ_REVIEW = _HWS.format("JemVnOWDj-exu-WeiyDns7vnu5_nm5gl/t_30_p_10")
_FLEXUS_LIMITS = _HWS.format("JeWNjuS4uuS6keahjOmdoueYpue7iOerr-S7i-e7jSU/t_30_p_6")
_FLEXUS_DURATION = _HWS.format("JeS8geS4muengeacieS6keaetuaehCU/t_30_p_18")
_FLEXUS_AUDIO = _HWS.format("JeS6keacjeWKoeWZqDFjMWfog73mlK_mjIHlpJrlpKflubblj5El/t_30_p_8")
_FLEXUS_SHOOT = _HWS.format("Jeasp-aLieezu-e7n-S9v-eUqOeahGpkayU/t_30_p_16")
_SHOOT = _HWS.format("JeinhumikeWbvuWDj-ivhuWIq-i9r-S7tiU/t_30_p_4")
_AUDIT = _HWS.format("Jea4uOaIj-acjeWKoeWZqOe9keWFsyU/t_30_p_4")
_OBS = "https://support.huaweicloud.com/intl/en-us/api-obs_go_sdk_api_en/obs_33_0512.html"
_SIGN = ("https://huaweicloud.com/s/JeaJi-acuuiOq-WQjeWFtuWmmeaUtuWIsOW-iOWkmumqjOivgeeggSU/"
         "t_30_p_1/JUFQSeetvuWQjeaMh-WNlyU")
_P = OfficialPage


def _c(key: str, title: str, fact: str, inferred: str, *pages: OfficialPage) -> Constraint:
    return Constraint(key, title, " ".join(fact.split()), " ".join(inferred.split()), pages)


_ALL = (
    _c("1.1", "Request headers",
       """`X-Project-Id` is required with AK/SK authentication; `X-App-UserId` is optional, the
       caller's own user ID, and must not contain Chinese characters.""", "",
       _P(_CREATE, "Request header parameters (X-Project-Id, X-App-UserId)")),
    _c("1.2", "Fields of the create body",
       """Only `name` is mandatory. `command_message`: 0–64 characters, one of `UPDATE_VIDEO`,
       `UPLOAD_VIDEO` (default), `CONFIRM_ACTION_VIDEO`, `GET_ACTION_VIDEO_MULTIPART`.
       `video_multipart_count` and `action_video_multipart_count`: integers 1–1000 (default 1),
       the number of parts of *one* video file. `is_background_replacement`: boolean, default
       **true**. `model_version`: `V3.2` (default) or `V3.3`; `V2` and `V3` are deprecated.
       `audio_source_type`: `VIDEO` or `AUDIO`. `voice_properties`: `job_tag` (`ECOMMERCE`,
       `NEWS`, `MARKETING`), `sex` (`FEMALE`, `MALE`) and `language` (`CN`, `EN`), all three
       required inside it. `supported_service`: a list of `VIDEO_2D`, `LIVE_2D`, `CHAT_2D`.
       `contact`: the mobile number of the task creator. Flags `is_flexus`, `is_fast_flexus`,
       `is_live_copy`, `is_only_human_model`, `is_ondemand_resource` are booleans.""",
       """The 0–64 length is documented for `command_message` only; the same bound is applied
       to `model_version`. Lengths of `name`, `contact`, `batch_name` and `tags` are not
       documented and not checked.""",
       _P(_CREATE, "Request body parameters"),
       _P(_REQ_MODEL, "SDK model Create2dModelTrainingJobReq (enums, texts)")),
    _c("1.3 R1", "`is_only_human_model` is for Flexus",
       "`is_only_human_model` (train the avatar without a voice) is valid only for Flexus.", "",
       _P(_REQ_MODEL, "is_only_human_model: valid only for Flexus")),
    _c("1.3 R2", "Flexus supports `VIDEO_2D` only",
       "A Flexus avatar supports only `VIDEO_2D` in `supported_service`.", "",
       _P(_REQ_MODEL, "supported_service: Flexus supports only VIDEO_2D")),
    _c("1.3 R3", "`voice_properties` is a Flexus setting",
       """`voice_properties` configures the Flexus voice; the standard-edition voice does not
       support it.""", "",
       _P(_VOICE, "VoiceProperties: Flexus voice only")),
    _c("1.3 R4", "Background replacement defaults to true",
       """`is_background_replacement = true` means the training video must be shot on a green
       screen, and it is the default when the field is omitted.""",
       "A real-scene video must therefore send `is_background_replacement = false` explicitly.",
       _P(_CREATE, "Request body: is_background_replacement (default true, green screen)")),
    _c("1.3 R5", "Only a green screen allows background replacement",
       """A video shot in a real scene cannot have its background replaced; only a **green**
       screen allows replacement, a blue screen does not.""", "",
       _P(_HWS.format("JeaVsOWtl-WtqueUn-ekvuWMuiU/t_30_p_6"),
          "FAQ: can a standard avatar be shot in a real scene?")),
    _c("1.3 R6", "Flexus is shot in a real scene",
       """Flexus avatars are shot in a real scene; their background cannot be changed in
       video production.""",
       "A Flexus job should therefore send `is_background_replacement = false` (see R4).",
       _P(_FLEXUS_LIMITS, "Flexus constraints: real scene, no background change")),
    _c("1.3 R7", "Flexus is for video production only",
       "Flexus avatars support video production only, not livestreaming or interaction.", "",
       _P(_FLEXUS_LIMITS, "Flexus constraints: video production only")),
    _c("1.3 R8", "`V3.3` is the fast-Flexus model",
       "`model_version = V3.3` is the model used for fast-Flexus training.",
       """Pair `V3.3` with `is_fast_flexus = true` (and `is_flexus = true`); use `V3.2` or the
       default otherwise.""",
       _P(_REQ_MODEL, "model_version: V3.3 is the fast-Flexus model")),
    _c("1.3 R9", "A Flexus job trains a voice too",
       """A Flexus task produces a Flexus avatar and a Flexus voice; the voice comes from a
       separately uploaded corpus (better quality) or is extracted from the training video.""",
       """The corpus is `audio_source_type = AUDIO` (uploaded to `audio_upload_url`), extraction
       is `VIDEO`; with `is_only_human_model = true` no voice is trained.""",
       _P(_HWS.format("Jemfs-mikee8luino-eggeiKr-eJhyU/t_30_p_2"),
          "Flexus console: separate corpus or voice from the video")),
    _c("1.3 R10", "ID card and authorization letter are required",
       """ID-card front, ID-card back and the authorization (grant) letter are mandatory for
       users who are not on the NA whitelist, "otherwise the audit fails".""", "",
       _P(_RESP_MODEL, "id_card_image1/2_upload_url, grant_file_upload_url: mandatory for "
                       "non-NA users")),
    _c("1.3 R11", "Action videos belong to choreography",
       """Action-video fields (`action_video_multipart_count`, `CONFIRM_ACTION_VIDEO`,
       `GET_ACTION_VIDEO_MULTIPART`) belong to choreography, which needs a permission granted
       through a service ticket.""",
       """Without an action video these fields do nothing, and an action video needs its part
       count to get upload URLs.""",
       _P("https://support.huaweicloud.com/intl/en-us/usermanual-metastudio/"
          "metastudio_05_0175.html", "Action insertion (choreography)")),
    _c("1.3 R12", "One upload URL per part",
       """`video_multipart_count` is the number of parts of the training video;
       `training_video_upload_url` is a list.""",
       "A count of N gives N URLs, one per part in part order.",
       _P(_CREATE, "Request body: video_multipart_count"),
       _P(_RESP_MODEL, "training_video_upload_url (a list)")),
    _c("1.3 R13", "Flexus is available through the API",
       """Huawei's FAQ: Flexus avatars can be created through the API, with the `is_flexus`
       field of the create body.""", "",
       _P(_HWS.format("JeebuOWQjHZwY-eahOS4jeWQjOWtkOe9keS6kumAmiU/t_30_p_11"),
          "FAQ: does Flexus support API integration?")),
    _c("1.3 R14", "Only enterprises customise avatars",
       """Only enterprise users (not individuals) may customise avatars; the authorization
       letter licenses the avatar to the company.""", "",
       _P(_HWS.format("Jea4reWNl-e9keermeW7uuiuviU/t_30_p_4"), "Avatar production limits")),
    _c("1.4", "Upload URLs in the create response",
       """The response holds one upload URL per file (a list for the training and action
       videos). Every URL is invalid after one successful upload ("upload only once"). Audio
       goes up as `application/zip`, every other file as `application/octet-stream`.""", "",
       _P(_RESP_MODEL, "Create2dModelTrainingJobResponse: upload URLs")),
    _c("2.2", "Upload, confirm, submit",
       """`CONFIRM_MULTIPART_UPLOADED` confirms that every training-video part is uploaded and
       `SUBMITVERIFYING` submits the job for review. The audio zip is uploaded only when
       `audio_source_type = AUDIO`.""",
       """The order — upload every file, confirm the parts, then submit — is how the commands
       fit together; the pages describe each command, not the sequence.""",
       _P(_EXEC, "Request body: command (CONFIRM_MULTIPART_UPLOADED, SUBMITVERIFYING)")),
    _c("3.1", "Training video (standard edition)",
       """An **MP4**, **1080p or 4K**, landscape or portrait, lasting **3 to 10 minutes**,
       "otherwise the audit fails"; the automatic review accepts exactly 1920x1080, 1080x1920,
       3840x2160 and 2160x3840. The presenter is upright (a portrait subject shot in landscape
       must be rotated). Shooting guide: 25 fps or more. A mainstream codec that the Windows
       built-in player plays (vendor camera codecs fail the audit); H.265 is accepted but the
       console preview may not play it. Green screen: no green or transparent clothing, light
       the presenter first and then the screen, no shadows on the face or body. The face in
       the video must match the ID card, whose photos must be clear and free of glare.""",
       """H.264 plays everywhere; a constant frame rate, progressive scan, SDR 8-bit and an
       audio track are what "plays in the built-in player" and voice extraction need.""",
       _P(_RESP_MODEL, "training_video_upload_url: 1080p/4K mp4, 3–10 min"),
       _P(_FAQ_REVIEW, "FAQ: why did the review fail (codec, orientation)"),
       _P(_SHOOT, "Shooting: orientation, lighting, appearance"),
       _P(_AUDIT, "FAQ: what to do when the review fails (identity)")),
    _c("3.2", "Training video (Flexus)",
       """Shot with a phone or camera at **1080p or more**, **1 to 5 minutes** in a real scene.
       The face takes more than 1/5 of the frame; the take holds a **15-second silent
       segment** facing the camera, smiling, mouth closed; the background is static and the
       camera steady (tripod or gimbal).""",
       """The create API's 3–10 min text conflicts with the Flexus 1–5 min guide; the Flexus
       pack applies 1–5 min. No media requirements are documented for fast Flexus or
       livestream copy.""",
       _P(_FLEXUS_DURATION, "Flexus: 1~5 minutes real-scene video"),
       _P(_FLEXUS_SHOOT, "Flexus: face size, silent segment, steady camera")),
    _c("3.3", "Action (choreography) video",
       """The action video's upload URL carries the same text as the training video's (1080p or
       4K MP4, 3 to 10 minutes); choreography needs a permission granted through a service
       ticket.""",
       """That the training-video limits apply to the action video as written: the text may be
       a copy, so the video rules judge the action video like the training video.""",
       _P(_RESP_MODEL, "action_video_upload_url: 1080p/4K mp4, 3–10 min"),
       _P("https://support.huaweicloud.com/intl/en-us/usermanual-metastudio/"
          "metastudio_05_0175.html", "Action insertion (choreography)")),
    _c("3.4", "Audio corpus",
       """Uploaded as one zip (`application/zip`). Flexus console: WAV or MP3, each segment 1 to
       5 minutes (1 minute recommended), Chinese or English speech.""",
       """The zip layout and sample rate are not documented for this upload; one file per
       recording is zipped, and 16 kHz is taken as the least useful rate (voice modelling asks
       for 48 kHz / 16-bit / mono).""",
       _P(_RESP_MODEL, "audio_upload_url: a zip (application/zip)"),
       _P(_FLEXUS_AUDIO, "Flexus console: WAV or MP3, 1~5 min")),
    _c("3.5", "Images and documents",
       """The ID card is photographed on both sides, the portrait side and the emblem side,
       clear and without glare. The authorization letter is the platform template, signed by
       the ID-card holder, scanned to **PDF** or photographed as **JPG/PNG**. Cover and beauty
       images: purpose only, no format or size documented.""",
       """Front (`id_card_image1`) is the portrait side and back the emblem side; images are
       JPEG or PNG, upright, large enough to read.""",
       _P(_HWS.format("JXFjb3cy5paH5Lu26L2saXNv5paH5Lu2JQ/t_30_p_4"),
          "Authorization letter: PDF scan or JPG/PNG photo"),
       _P(_RESP_MODEL, "cover, ID card and beauty image upload URLs")),
    _c("3.6", "How uploads and reviews fail",
       """Every upload URL works once. Object storage takes a single PUT of at most 5 GB and
       multipart parts of 100 KB to 5 GB (except the last), numbered 1–10000. Signed requests
       whose date is more than 15 minutes off the service's clock are refused. Documented
       review rejections: a video size other than the four accepted ones (error 44005901), no
       face detected on the ID card, a face that does not match, the wrong orientation, a
       non-mainstream codec, a duration outside 3–10 minutes.""",
       "That the object-storage limits apply to these URLs (they are pre-signed OBS URLs).",
       _P(_OBS, "OBS multipart upload: part size limits"),
       _P(_RESP_MODEL, "upload URLs: upload only once"),
       _P(_SIGN, "API signing guide: 15-minute clock window")),
    _c("5.2", "Project ID",
       "The project ID is listed in the console under My Credentials → API Credentials.", "",
       _P(_PID, "Obtaining a Project ID")),
    _c("5.4", "`X-App-UserId`",
       """An optional header on every training-job call: the user ID in the caller's own
       account system, without Chinese characters; echoed as `app_user_id`.""", "",
       _P(_CREATE, "Request header parameters: X-App-UserId (no Chinese characters)")),
    _c("7.1", "Omitting `is_background_replacement` means green screen",
       "The field defaults to `true`, which requires a green-screen video (R4).",
       "Real-scene and Flexus submissions must send `false`.",
       _P(_CREATE, "Request body: is_background_replacement (default true)")),
    _c("7.2", "Four accepted video sizes",
       """The automatic review accepts exactly 1920x1080, 1080x1920, 3840x2160 and 2160x3840
       (`operation_logs` error 44005901); the console's "1080p or more" is looser than the
       check.""", "",
       _P(_PY + "operation_log_info.py", "operation_logs error_code 44005901: only 1920x1080, "
          "1080x1920, 3840x2160, 2160x3840")),
    _c("7.3", "Durations disagree between sources",
       """The API says 3–10 minutes; the console recommends 5–6 minutes (standard) and the
       Flexus guide asks for 1–5 minutes.""",
       "A Flexus take of 1–3 minutes is within its guide but under the API's floor.",
       _P(_RESP_MODEL, "training_video_upload_url: 3–10 min"),
       _P(_FLEXUS_DURATION, "Flexus: 1~5 minutes real-scene video")),
    _c("7.8", "`voice_properties.language` = `EN`",
       """The enum lists `CN` and `EN`, while the field's description says "currently only
       Chinese is supported"; the Flexus console accepts Chinese and English corpora.""", "",
       _P(_VOICE, "VoiceProperties.language: enum CN, EN; \"currently only Chinese is "
                  "supported\"")),
)

#: Section key -> the documented fact rules cite by it.
CONSTRAINTS: Mapping[str, Constraint] = MappingProxyType({c.key: c for c in _ALL})
#: Section key -> the official pages behind it.
PAGES: Mapping[str, tuple[OfficialPage, ...]] = MappingProxyType(
    {c.key: c.pages for c in _ALL})

_TOKEN = re.compile(r"§\s*(\d+(?:\.\d+)?)|\b(R\d+)\b")


def references(source: str) -> list[str]:
    """The section keys a source string cites: ``"§1.3 R6, R4, §2.2"`` →
    ``["1.3 R6", "1.3 R4", "2.2"]``."""
    out: list[str] = []
    section: str | None = None
    pending_section = False
    for m in _TOKEN.finditer(source):
        if m.group(1):
            if pending_section and section is not None:
                out.append(section)
            section, pending_section = m.group(1), True
        elif section is not None:
            out.append(f"{section} {m.group(2)}")
            pending_section = False
    if pending_section and section is not None:
        out.append(section)
    return out


def official_pages(source: str) -> tuple[OfficialPage, ...]:
    """The official pages behind a rule source, without repeats, in citation order.

    :raises KeyError: a reference has no known page (a test keeps every rule covered).
    """
    seen: dict[OfficialPage, None] = {}
    for ref in references(source):
        for page in PAGES[ref]:
            seen.setdefault(page, None)
    return tuple(seen)


def constraints_of(source: str) -> tuple[Constraint, ...]:
    """The documented facts a rule source cites, without repeats, in citation order.

    :raises KeyError: a reference names no section of `CONSTRAINTS`.
    """
    return tuple(dict.fromkeys(CONSTRAINTS[ref] for ref in references(source)))


def cite(source: str) -> str:
    """A source as users read it: ``"§1.3 R6, R4"`` → ``"docs/constraints.md §1.3 R6, R4"``."""
    return f"{CONSTRAINTS_DOC} {source}"


def relies_on(source: str, markdown: bool = False) -> str:
    """The facts a source cites, one list item each (title, fact, what is inferred), for
    help texts; Markdown keeps the facts' emphasis and code spans."""
    out = []
    for c in constraints_of(source):
        title = f"**{c.label} {c.title}**" if markdown else f"{c.label} {c.title}"
        fact = c.fact if markdown else c.fact.replace("**", "").replace("`", "")
        item = f"- {title}: {fact}"
        if c.inferred:
            inferred = c.inferred if markdown else c.inferred.replace("`", "")
            item += f" *Inferred:* {inferred}" if markdown else f" Inferred: {inferred}"
        out.append(item)
    return "\n".join(out)
