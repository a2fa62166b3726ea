"""The official pages behind the API dossier references that rules cite as their source.

A rule's ``source`` names dossier sections (``§1.2``, ``§1.3 R6, R4``, ``§3.1, §3.2``); each
reference maps here to the official Huawei page (docs page, SDK model file generated from the
same API definition, or the site-search page quoting a user-guide fragment) and the part of it
the fact comes from, so that a user can read it (`preflight rules`, SARIF help links).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class OfficialPage:
    """One official page and the section of it a rule relies on."""

    url: str
    section: str


_CREATE = "https://support.huaweicloud.com/api-metastudio/Create2dModelTrainingJob.html"
_EXEC = "https://support.huaweicloud.com/api-metastudio/Execute2dModelTrainingCommandByUser.html"
_SHOW = "https://support.huaweicloud.com/api-metastudio/Show2dModelTrainingJob.html"
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

#: Dossier reference -> the official pages it summarises.
PAGES: Mapping[str, tuple[OfficialPage, ...]] = MappingProxyType({
    "1.1": (OfficialPage(_CREATE, "Request header parameters (X-Project-Id, X-App-UserId)"),),
    "1.2": (OfficialPage(_CREATE, "Request body parameters"),
            OfficialPage(_REQ_MODEL, "SDK model Create2dModelTrainingJobReq (enums, texts)")),
    "1.3 R1": (OfficialPage(_REQ_MODEL, "is_only_human_model: valid only for Flexus"),),
    "1.3 R2": (OfficialPage(_REQ_MODEL, "supported_service: Flexus supports only VIDEO_2D"),),
    "1.3 R3": (OfficialPage(_VOICE, "VoiceProperties: Flexus voice only"),),
    "1.3 R4": (OfficialPage(_CREATE, "Request body: is_background_replacement (default true, "
                                     "green screen)"),),
    "1.3 R5": (OfficialPage(_HWS.format("JeaVsOWtl-WtqueUn-ekvuWMuiU/t_30_p_6"),
                            "FAQ: can a standard avatar be shot in a real scene?"),),
    "1.3 R6": (OfficialPage(_FLEXUS_LIMITS, "Flexus constraints: real scene, no background "
                                            "change"),),
    "1.3 R7": (OfficialPage(_FLEXUS_LIMITS, "Flexus constraints: video production only"),),
    "1.3 R8": (OfficialPage(_REQ_MODEL, "model_version: V3.3 is the fast-Flexus model"),),
    "1.3 R9": (OfficialPage(_HWS.format("Jemfs-mikee8luino-eggeiKr-eJhyU/t_30_p_2"),
                            "Flexus console: separate corpus or voice from the video"),),
    "1.3 R10": (OfficialPage(_RESP_MODEL, "id_card_image1/2_upload_url, grant_file_upload_url: "
                                          "mandatory for non-NA users"),),
    "1.3 R11": (OfficialPage("https://support.huaweicloud.com/intl/en-us/usermanual-metastudio/"
                             "metastudio_05_0175.html", "Action insertion (choreography)"),),
    "1.3 R12": (OfficialPage(_CREATE, "Request body: video_multipart_count"),
                OfficialPage(_RESP_MODEL, "training_video_upload_url (a list)"),),
    "1.4": (OfficialPage(_RESP_MODEL, "Create2dModelTrainingJobResponse: upload URLs"),),
    "2.2": (OfficialPage(_EXEC, "Request body: command (CONFIRM_MULTIPART_UPLOADED, "
                                "SUBMITVERIFYING)"),),
    "2.3": (OfficialPage(_SHOW, "Response parameters: state, operation_logs"),),
    "3.1": (OfficialPage(_RESP_MODEL, "training_video_upload_url: 1080p/4K mp4, 3–10 min"),
            OfficialPage(_FAQ_REVIEW, "FAQ: why did the review fail (codec, orientation)")),
    "3.2": (OfficialPage(_FLEXUS_DURATION, "Flexus: 1~5 minutes real-scene video"),),
    "3.4": (OfficialPage(_RESP_MODEL, "audio_upload_url: a zip (application/zip)"),
            OfficialPage(_FLEXUS_AUDIO, "Flexus console: WAV or MP3, 1~5 min")),
    "3.5": (OfficialPage(_HWS.format("JXFjb3cy5paH5Lu26L2saXNv5paH5Lu2JQ/t_30_p_4"),
                         "Authorization letter: PDF scan or JPG/PNG photo"),
            OfficialPage(_RESP_MODEL, "cover, ID card and beauty image upload URLs")),
    "3.6": (OfficialPage("https://support.huaweicloud.com/intl/en-us/api-obs_go_sdk_api_en/"
                         "obs_33_0512.html", "OBS multipart upload: part size limits"),
            OfficialPage(_RESP_MODEL, "upload URLs: upload only once")),
    "5.4": (OfficialPage(_CREATE, "Request header parameters: X-App-UserId (no Chinese "
                                  "characters)"),),
    "7.1": (OfficialPage(_CREATE, "Request body: is_background_replacement (default true)"),),
    "7.2": (OfficialPage(_PY + "operation_log_info.py", "operation_logs error_code 44005901: "
                         "only 1920x1080, 1080x1920, 3840x2160, 2160x3840"),),
    "7.3": (OfficialPage(_RESP_MODEL, "training_video_upload_url: 3–10 min"),
            OfficialPage(_FLEXUS_DURATION, "Flexus: 1~5 minutes real-scene video")),
    "7.8": (OfficialPage(_VOICE, "VoiceProperties.language: enum CN, EN; \"currently only "
                                 "Chinese is supported\""),),
})

_TOKEN = re.compile(r"§\s*(\d+(?:\.\d+)?)|\b(R\d+)\b")


def references(source: str) -> list[str]:
    """The dossier references of a source string: ``"§1.3 R6, R4, §2.2"`` →
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
