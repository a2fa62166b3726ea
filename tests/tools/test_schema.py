"""`preflight schema`: a draft 2020-12 JSON Schema that accepts the sample specs and every
spec `preflight init` writes, and rejects a typo'd key, a wrong type or a value out of range."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.spec import load_spec

SAMPLES = Path(__file__).resolve().parents[2] / "sample_media"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    res = CliRunner().invoke(cli, ["schema"])
    assert res.exit_code == 0
    data: dict[str, Any] = json.loads(res.output)
    jsonschema.Draft202012Validator.check_schema(data)
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return data


def _errors(schema: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(".".join(map(str, e.absolute_path)) + ": " + e.message
                  for e in validator.iter_errors(spec))


def test_the_passing_sample_validates(schema: dict[str, Any]) -> None:
    spec = tomllib.loads((SAMPLES / "avatar.toml").read_text(encoding="utf-8"))
    assert _errors(schema, spec) == []
    load_spec(SAMPLES / "avatar.toml")  # and the loader agrees


def test_the_broken_sample_fails_on_its_typo(schema: dict[str, Any]) -> None:
    spec = tomllib.loads((SAMPLES / "broken.toml").read_text(encoding="utf-8"))
    errors = _errors(schema, spec)
    assert len(errors) == 1 and errors[0].startswith("job: Additional properties")
    assert "'is_backgroud_replacement'" in errors[0]


@pytest.mark.parametrize(("change", "where"), [
    ({"media": {"trainig_video": "t.mp4"}}, "media"),
    ({"acount": {}}, ""),
    ({"job": {"name": "x", "model_version": "V9"}}, "job.model_version"),
    ({"job": {"name": "x", "video_multipart_count": 0}}, "job.video_multipart_count"),
    ({"job": {"name": "x", "video_multipart_count": "many"}}, "job.video_multipart_count"),
    ({"job": {"name": "x", "is_flexus": "yes"}}, "job.is_flexus"),
    ({"job": {"name": "x", "supported_service": ["VIDEO_3D"]}}, "job.supported_service.0"),
    ({"job": {"name": "x", "voice_properties": {"sex": "MALE"}}}, "job.voice_properties"),
    ({"job": {"is_flexus": True}}, "job"),
    ({"media": {"audio": []}}, "media.audio"),
    ({"account": {"na_whitelisted": 1}}, "account.na_whitelisted"),
])
def test_mistakes_fail(schema: dict[str, Any], change: dict[str, Any], where: str) -> None:
    spec: dict[str, Any] = {"job": {"name": "x"}, **change}
    errors = _errors(schema, spec)
    assert errors and all(e.startswith(f"{where}: ") for e in errors), errors


def test_what_the_api_accepts_passes(schema: dict[str, Any]) -> None:
    spec = {"job": {"name": "x", "video_multipart_count": "auto",
                    "action_video_multipart_count": 1000, "supported_service": ["LIVE_2D"],
                    "voice_properties": {"job_tag": "NEWS", "sex": "FEMALE", "language": "EN"},
                    "tags": ["a"]},
            "media": {"training_video": "t.mp4", "audio": ["a.wav", "b.wav"],
                      "grant_file": "g.pdf"},
            "account": {"na_whitelisted": True, "app_user_id": "u"}}
    assert _errors(schema, spec) == []
