"""The stand-in's own validation of create bodies, written from the API vocabulary
(`preflight.metastudio`), never from preflight's rules: a bug in a rule cannot hide here."""

from __future__ import annotations

from typing import Any

from preflight.metastudio import (
    AUDIO_SOURCE_TYPES,
    BODY_FIELDS,
    COMMAND_MESSAGES,
    MODEL_VERSIONS,
    MULTIPART_FIELDS,
    MULTIPART_MAX,
    MULTIPART_MIN,
    REQUIRED_FIELDS,
    STRING_MAX_LENGTH,
    SUPPORTED_SERVICES,
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


def body_problem(body: object) -> str | None:
    """The first reason the API would refuse a create body, worded like the service's parameter
    errors; None when its fields are acceptable."""
    if not isinstance(body, dict):
        return "Invalid body: expected a JSON object"
    for key, value in body.items():
        expected = BODY_FIELDS.get(key)
        if expected is None:
            return f"Invalid parameter: unknown field '{key}'"
        if key in MULTIPART_FIELDS and value == "auto":
            return f"Invalid parameter: '{key}' must be an integer"
        if not _type_ok(value, expected):
            return f"Invalid parameter: '{key}' must be {expected}"
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
    if any(s not in SUPPORTED_SERVICES for s in services) or len(set(services)) != len(services):
        return ("Invalid parameter: 'supported_service' items must be distinct values of "
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
    return None
