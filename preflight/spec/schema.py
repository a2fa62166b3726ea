"""What the spec file may contain besides the API vocabulary (`preflight.metastudio`): sections,
account keys, and JSON type names."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: `[account]` keys and their types.
ACCOUNT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "na_whitelisted": "boolean",
        "app_user_id": "string",
    }
)

SECTIONS = ("job", "media", "account")
#: Top-level keys of a spec that are not sections: ``ignore`` lists the rules whose findings
#: are known and accepted for this job.
SPEC_KEYS = ("ignore",)

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
