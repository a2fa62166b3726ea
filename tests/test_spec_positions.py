"""The key-position scanner of spec files: every key tomllib/json reads has its line and
column, tricky syntax included, and text it does not expect never raises."""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preflight.spec.positions import json_positions, locate, toml_positions

TRICKY = """\
# [not.a.table] = "comment"
[job]   # a comment with = and [brackets]
name = "a # not a comment"
"quoted key" = 'literal [x] = y'
'literal key' = \"\"\"multi
line = "still the string"
[also.not.a.table]
\"\"\"
notes = '''raw
[ nope ]'''
dotted . key = 1979-05-27 07:32:00
nested = { a = 1, b = { c = [1, 2] }, d = "}" }
list = [
  "x", # comment ]
  [1, 2],
  { e = 'f' },
]

[media]
audio = ["a.wav",
         "b.wav"]
"""


def _keys(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _keys(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _keys(v, (*prefix, i))


def _where(text: str, line: int, column: int) -> str:
    return text.splitlines()[line - 1][column - 1:]


def test_every_toml_key_is_found_where_it_is_written() -> None:
    found = toml_positions(TRICKY)
    data = tomllib.loads(TRICKY)
    assert set(_keys(data)) <= set(found)
    assert found["job",] == (2, 1)
    assert found["job", "name"] == (3, 1)
    assert _where(TRICKY, *found["job", "quoted key"]).startswith('"quoted key"')
    assert _where(TRICKY, *found["job", "literal key"]).startswith("'literal key'")
    assert found["job", "notes"] == (9, 1)
    assert _where(TRICKY, *found["job", "dotted", "key"]).startswith("dotted . key")
    assert _where(TRICKY, *found["job", "nested", "b", "c"]).startswith("c = [1, 2]")
    assert _where(TRICKY, *found["job", "list", 2, "e"]).startswith("e = 'f'")
    assert found["media", "audio", 1] == (21, 10)
    assert ("also", "not", "a", "table") not in found and ("not", "a", "table") not in found


def test_crlf_line_ends_and_arrays_of_tables() -> None:
    text = "[job]\r\nname = 'x'\r\n[[part]]\r\nn = 1\r\n[[part]]\r\nn = 2\r\n"
    tomllib.loads(text)
    found = toml_positions(text)
    assert found["job", "name"] == (2, 1)
    assert found["part", 1, "n"] == (6, 1)


def test_every_json_key_is_found_where_it_is_written() -> None:
    data = {"job": {"name": "a \"quoted\" }", "voice_properties": {"sex": "MALE"},
                    "é": [1, {"x": None}]}, "media": {"audio": ["a.wav", "b.wav"]}}
    for text in (json.dumps(data, indent=2), json.dumps(data), json.dumps(data, indent="\t")):
        found = json_positions(text)
        assert set(_keys(data)) <= set(found)
        for key, (line, column) in found.items():
            if isinstance(key[-1], str):
                assert _where(text, line, column).startswith(json.dumps(key[-1])), key
    compact = json_positions(json.dumps(data))
    assert compact["job",] == (1, 2)


def test_locate_falls_back_to_the_nearest_written_parent() -> None:
    found = toml_positions("[job]\nname = 'x'\n")
    assert locate(found, ("job", "name")) == (2, 1)
    assert locate(found, ("job", "missing", "deeper")) == (1, 1)
    assert locate(found, ("media", "audio")) is None


@pytest.mark.parametrize("text", ["[job", "[job]\nname = ", "[job]\nname = \"open",
                                  "= 3", "[job]\nx = [1, 2", "{\"job\": {\"a\": ", "]]]", ""])
def test_unexpected_text_never_raises(text: str) -> None:
    assert isinstance(toml_positions(text), dict)
    assert isinstance(json_positions(text), dict)


def test_random_text_never_raises() -> None:
    rng = random.Random(7)
    alphabet = "[]{}=,.\"'#\n \t\\ab1"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        toml_positions(text)
        json_positions(text)


def test_every_structural_problem_at_once_with_its_position(tmp_path: Path) -> None:
    from preflight.errors import SpecError
    from preflight.spec import JobSpec, load_spec

    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "A"\n\n[media]\ntraning_video = "take.mp4"\n'
                    'audio = 3\n\n[acount]\nx = 1\n', encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    found = [(p.line, p.column, p.message) for p in info.value.problems]
    assert found == [
        (5, 1, "unknown key media.traning_video; did you mean 'training_video'?"),
        (6, 1, "media.audio must be a string or array of string (a file path), got integer"),
        (8, 1, "unknown section [acount]; did you mean 'account'?"),
    ]
    assert str(info.value).splitlines()[0].endswith("avatar.toml: 3 problems in the spec:")
    assert isinstance(info.value.partial, JobSpec)
    assert dict(info.value.partial.job) == {"name": "A"}
    spec.write_text('[job]\nname = "A"\n[media]\ntraning_video = "take.mp4"\n', "utf-8")
    with pytest.raises(SpecError) as one:
        load_spec(spec)
    assert str(one.value).endswith(
        "avatar.toml:4:1: unknown key media.traning_video; did you mean 'training_video'?")
    assert (one.value.line, one.value.column) == (4, 1)
