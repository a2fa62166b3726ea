"""A JSON Schema (draft 2020-12) of the job spec, for editors (`preflight schema`).

Built from the API vocabulary (`preflight.metastudio`) and the spec's own sections
(`preflight.spec.schema`), so it never drifts from what the loader and the REQ rules read.
Taplo and the VS Code TOML extensions apply it to a file that starts with
``#:schema ./avatar.schema.json`` (VS Code's JSON support applies it to a JSON spec through
the ``json.schemas`` setting).

The schema states structure (keys, types, enums, ranges); the rules judge the rest (what an
edition needs, which files a job must upload), so a spec the schema accepts can still get
findings, and a spec it rejects gets a finding with the same key from the check.
"""

from __future__ import annotations

from typing import Any

from preflight import metastudio as api
from preflight.spec.schema import ACCOUNT_FIELDS, SECTIONS

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_ENUMS: dict[str, tuple[str, ...]] = {
    "model_version": api.MODEL_VERSIONS,
    "audio_source_type": api.AUDIO_SOURCE_TYPES,
    "command_message": api.COMMAND_MESSAGES,
}
_ITEM_ENUMS: dict[str, tuple[str, ...]] = {"supported_service": api.SUPPORTED_SERVICES}


def _typed(expected: str) -> dict[str, Any]:
    """A JSON type name of the vocabulary (``string``, ``array of string``…) as a schema."""
    if expected.startswith("array of "):
        return {"type": "array", "items": {"type": expected.removeprefix("array of ")}}
    return {"type": expected}


def _field(name: str, expected: str) -> dict[str, Any]:
    schema = _typed(expected)
    if name in _ENUMS:
        schema["enum"] = list(_ENUMS[name])
    if name in _ITEM_ENUMS:
        schema["items"] = {"enum": list(_ITEM_ENUMS[name])}
    if name in api.STRING_MAX_LENGTH:
        schema["maxLength"] = api.STRING_MAX_LENGTH[name]
    if name in api.MULTIPART_FIELDS:
        return {"oneOf": [{"type": "integer", "minimum": api.MULTIPART_MIN,
                           "maximum": api.MULTIPART_MAX}, {"const": "auto"}],
                "description": f"Parts of the upload: {api.MULTIPART_MIN}–{api.MULTIPART_MAX}, "
                               "or \"auto\" to let the packager choose."}
    if name == "voice_properties":
        schema.update(
            properties={k: {"enum": list(v)} for k, v in api.VOICE_FIELDS.items()},
            required=list(api.VOICE_FIELDS), additionalProperties=False)
    if name in api.BODY_DEFAULTS:
        schema["default"] = api.BODY_DEFAULTS[name]
    return schema


def _job() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The Create2dModelTrainingJob body, as sent.",
        "properties": {k: _field(k, t) for k, t in api.BODY_FIELDS.items()},
        "required": list(api.REQUIRED_FIELDS),
        "additionalProperties": False,
    }


def _media() -> dict[str, Any]:
    path: dict[str, Any] = {"type": "string", "minLength": 1}
    props: dict[str, Any] = {}
    for slot in api.SLOTS.values():
        desc = f"The {slot.label}: a path relative to this file."
        if slot.multi_file:
            props[slot.name] = {"description": desc + " Several files are zipped together.",
                                "anyOf": [path, {"type": "array", "items": path,
                                                 "minItems": 1}]}
        else:
            props[slot.name] = {**path, "description": desc}
    return {"type": "object", "description": "Local files, by upload.", "properties": props,
            "additionalProperties": False}


def _account() -> dict[str, Any]:
    return {"type": "object", "description": "Who submits the job.",
            "properties": {k: _typed(t) for k, t in ACCOUNT_FIELDS.items()},
            "additionalProperties": False}


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an ``avatar.toml`` / JSON job spec."""
    known = {"job": _job(), "media": _media(), "account": _account()}
    return {
        "$schema": DIALECT,
        "title": "MetaStudio avatar-training job spec (metastudio-preflight)",
        "type": "object",
        # A section the loader accepts but this schema does not describe stays allowed.
        "properties": {name: known.get(name, {}) for name in SECTIONS},
        "required": ["job"],
        "additionalProperties": False,
    }
