"""The stand-in's own validation of create bodies, written from the API vocabulary
(`preflight.metastudio`), never from preflight's rules: a bug in a rule cannot hide here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.metastudio import (
    AUDIO_SOURCE_TYPES,
    BODY_FIELDS,
    COMMAND_MESSAGES,
    DEPRECATED_MODEL_VERSIONS,
    MODEL_VERSIONS,
    MULTIPART_FIELDS,
    MULTIPART_MAX,
    MULTIPART_MIN,
    REQUIRED_FIELDS,
    STRING_MAX_LENGTH,
    SUPPORTED_SERVICES,
    UPDATE_FIELDS,
    VOICE_FIELDS,
)

ENUMS: dict[str, tuple[str, ...]] = {
    "command_message": COMMAND_MESSAGES,
    "model_version": MODEL_VERSIONS,
    "audio_source_type": AUDIO_SOURCE_TYPES,
}


def _type_ok(value: Any, expected: str) -> bool:
    if expected.startswith("array of "):
        item = expected.removeprefix("array of ")
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "object":
        return isinstance(value, dict)
    return False


def cross_field_problem(body: dict[str, Any]) -> str | None:
    """The cross-field rejections (dossier §1.2, §1.3). Documented: V2/V3 are deprecated (refused
    here), a Flexus avatar supports only VIDEO_2D (R2; an omitted list means the
    default VIDEO_2D + LIVE_2D), voice_properties is a Flexus-only setting (R3) and
    is_only_human_model is valid only for Flexus (R1). The Flexus flag is ``is_flexus``:
    fast Flexus alone is not Flexus for R1/R3. Strict readings where the service's answer is
    not documented (``docs/sandbox.md``): deprecated versions, ``is_only_human_model = true``
    and ``voice_properties`` without Flexus, V3.3 without fast Flexus (R8) and a Flexus job
    with background replacement (R6, the field's default is true) are refused."""
    version = body.get("model_version")
    if version in DEPRECATED_MODEL_VERSIONS:
        return (f"Invalid parameter: model_version {version} is deprecated (V3 and V2 are "
                "deprecated); use V3.2")
    flexus = body.get("is_flexus") is True
    family = flexus or body.get("is_fast_flexus") is True
    services = body.get("supported_service", ["VIDEO_2D", "LIVE_2D"])
    if family and set(services) != {"VIDEO_2D"}:  # a repeat is not refused [NF]
        return ("Invalid parameter: a Flexus avatar supports only supported_service "
                f"[VIDEO_2D], got {services}")
    if "voice_properties" in body and not flexus:
        return ("Invalid parameter: voice_properties is the Flexus voice configuration "
                "(is_flexus = true); the standard edition does not support it")
    if body.get("is_only_human_model") is True and not flexus:
        return "Invalid parameter: is_only_human_model is valid only for Flexus (is_flexus = true)"
    if version == "V3.3" and body.get("is_fast_flexus") is not True:
        return "Invalid parameter: model_version V3.3 is the fast Flexus model (is_fast_flexus)"
    if family and body.get("is_background_replacement", True) is not False:
        return ("Invalid parameter: a Flexus avatar is shot in a real scene; "
                "is_background_replacement must be false (it defaults to true)")
    return None


def _fields_problem(body: dict[str, Any], fields: Mapping[str, str]) -> str | None:
    """An unknown field, or a value not of its documented JSON type; None if all fit."""
    for key, value in body.items():
        expected = fields.get(key)
        if expected is None:
            return f"Invalid parameter: unknown field '{key}'"
        if key in MULTIPART_FIELDS and value == "auto":
            return f"Invalid parameter: '{key}' must be an integer"
        if not _type_ok(value, expected):
            return f"Invalid parameter: '{key}' must be {expected}"
    return None


def update_problem(body: object) -> str | None:
    """The first reason the API would refuse an update body (dossier §2.4); None if fine."""
    if not isinstance(body, dict):
        return "Invalid body: expected a JSON object"
    problem = _fields_problem(body, UPDATE_FIELDS)
    if problem:
        return problem
    for key in MULTIPART_FIELDS:
        if key in body and not MULTIPART_MIN <= body[key] <= MULTIPART_MAX:
            return f"Invalid parameter: '{key}' must be {MULTIPART_MIN}~{MULTIPART_MAX}"
    if "command_message" in body and body["command_message"] not in COMMAND_MESSAGES:
        return f"Invalid parameter: 'command_message' must be one of {', '.join(COMMAND_MESSAGES)}"
    return None


def body_problem(body: object) -> str | None:
    """The first reason the API would refuse a create body, worded like the service's parameter
    errors; None when its fields are acceptable."""
    if not isinstance(body, dict):
        return "Invalid body: expected a JSON object"
    problem = _fields_problem(body, BODY_FIELDS)
    if problem:
        return problem
    for key in REQUIRED_FIELDS:
        if not isinstance(body.get(key), str) or not body[key].strip():
            return f"Invalid parameter: '{key}' is required"
    for key, limit in STRING_MAX_LENGTH.items():
        if key in body and len(body[key]) > limit:
            return f"Invalid parameter: '{key}' is longer than {limit}"
    for key, allowed in ENUMS.items():
        if key in body and body[key] not in allowed:
            return f"Invalid parameter: '{key}' must be one of {', '.join(allowed)}"
    services = body.get("supported_service", [])
    if any(s not in SUPPORTED_SERVICES for s in services):  # a repeat is not refused [NF]
        return ("Invalid parameter: 'supported_service' items must be values of "
                + ", ".join(SUPPORTED_SERVICES))
    voice = body.get("voice_properties")
    if voice is not None:
        if set(voice) != set(VOICE_FIELDS):
            return ("Invalid parameter: 'voice_properties' needs exactly "
                          + ", ".join(VOICE_FIELDS))
        for key, allowed in VOICE_FIELDS.items():
            if voice[key] not in allowed:
                return (f"Invalid parameter: 'voice_properties.{key}' must be one of "
                              f"{', '.join(allowed)}")
    for key in MULTIPART_FIELDS:
        if key in body and not MULTIPART_MIN <= body[key] <= MULTIPART_MAX:
            return (f"Invalid parameter: '{key}' must be "
                          f"{MULTIPART_MIN}~{MULTIPART_MAX}")
    return cross_field_problem(body)
