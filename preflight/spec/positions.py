"""Where each key of a spec file is written: ``(line, column)`` by key path, both 1-based.

`tomllib` and `json` give values but no positions, so a small scanner walks the text once more
(after it parsed cleanly) and notes where every key, table header and array item starts. A key
path is a tuple such as ``("job", "voice_properties", "sex")``, ``("media", "audio", 1)`` (the
second file of a list) or ``("job",)`` (the ``[job]`` header). The scanner never raises: on
anything it does not expect it stops and returns what it found so far.
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Callable, Mapping

Key = tuple[str | int, ...]
Positions = Mapping[Key, tuple[int, int]]

_WS = re.compile(r"[ \t]*")
_WS_NL = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_BASIC = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_ML_BASIC = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*""""{0,2}', re.S)
_ML_LITERAL = re.compile(r"'''(?:[^']|'(?!''))*''''{0,2}", re.S)
_LITERAL = re.compile(r"'[^'\n]*'")
_TOML_SCALAR = re.compile(r"[^,\]}#\n]*")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_SCALAR = re.compile(r"[^,\]}\s]*")


class _Stop(Exception):
    """The text is not what the scanner expects: keep what was found."""


class _Text:
    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found: dict[Key, tuple[int, int]] = {}

    def note(self, key: Key, offset: int) -> None:
        line = bisect.bisect_right(self.starts, offset)
        self.found.setdefault(key, (line, offset - self.starts[line - 1] + 1))

    def match(self, pattern: re.Pattern[str], i: int) -> int:
        m = pattern.match(self.text, i)
        if m is None:
            raise _Stop
        return m.end()

    def char(self, i: int) -> str:
        return self.text[i] if i < len(self.text) else ""


# ---- TOML -------------------------------------------------------------------------------------

def _toml_key(t: _Text, i: int) -> tuple[list[str], int]:
    parts: list[str] = []
    while True:
        i = t.match(_WS, i)
        c = t.char(i)
        if c == '"':
            end = t.match(_BASIC, i)
            parts.append(_unquote(t.text[i:end]))
        elif c == "'":
            end = t.match(_LITERAL, i)
            parts.append(t.text[i + 1:end - 1])
        else:
            end = t.match(_BARE, i)
            parts.append(t.text[i:end])
        i = t.match(_WS, end)
        if t.char(i) != ".":
            return parts, i
        i += 1


def _unquote(token: str) -> str:
    import json

    try:
        value = json.loads(token)
    except ValueError:
        return token[1:-1]
    return value if isinstance(value, str) else token[1:-1]


def _items(t: _Text, i: int, close: str, ws: re.Pattern[str],
           item: Callable[[int, int], int]) -> int:
    """The comma-separated items of an array or table from just after its opening bracket up
    to `close`: `item(position, index)` reads one and returns where it ends; the end."""
    index = 0
    while True:
        i = t.match(ws, i)
        c = t.char(i)
        if c == close:
            return i + 1
        if c == ",":
            i += 1
            continue
        if not c:
            raise _Stop
        i = item(i, index)
        index += 1


def _array(t: _Text, i: int, key: Key, ws: re.Pattern[str],
           value: Callable[[_Text, int, Key], int]) -> int:
    """The items of an array from just after its `[`, each noted at its index; the end."""
    def item(j: int, index: int) -> int:
        t.note((*key, index), j)
        return value(t, j, (*key, index))

    return _items(t, i, "]", ws, item)


def _toml_value(t: _Text, i: int, key: Key) -> int:
    c = t.char(i)
    if t.text.startswith('"""', i):
        return t.match(_ML_BASIC, i)
    if t.text.startswith("'''", i):
        return t.match(_ML_LITERAL, i)
    if c == '"':
        return t.match(_BASIC, i)
    if c == "'":
        return t.match(_LITERAL, i)
    if c == "[":
        return _array(t, i + 1, key, _WS_NL, _toml_value)
    if c == "{":
        return _items(t, i + 1, "}", _WS_NL, lambda j, _: _toml_pair(t, j, key))
    end = t.match(_TOML_SCALAR, i)
    if end == i:
        raise _Stop
    return end


def _toml_pair(t: _Text, i: int, table: Key) -> int:
    start = i
    parts, i = _toml_key(t, i)
    for n in range(1, len(parts) + 1):
        t.note((*table, *parts[:n]), start)
    if t.char(i) != "=":
        raise _Stop
    i = t.match(_WS, i + 1)
    return _toml_value(t, i, (*table, *parts))


def toml_positions(text: str) -> Positions:
    """Positions of the tables, keys and array items of a TOML document that parsed."""
    t = _Text(text)
    table: Key = ()
    arrays: dict[Key, int] = {}
    i = 0
    try:
        while True:
            i = t.match(_WS_NL, i)
            if i >= len(text):
                break
            if text[i] == "[":
                double = text.startswith("[[", i)
                parts, j = _toml_key(t, i + (2 if double else 1))
                table = tuple(parts)
                if double:
                    index = arrays[table] = arrays.get(table, -1) + 1
                    table = (*table, index)
                t.note(table, i)
                j = text.find("\n", j)
                i = len(text) if j < 0 else j
            else:
                i = _toml_pair(t, i, table)
            i = t.match(_WS, i)
            if t.char(i) not in ("", "\n", "\r", "#"):
                raise _Stop
    except _Stop:
        pass
    return t.found


# ---- JSON -------------------------------------------------------------------------------------

def _json_value(t: _Text, i: int, key: Key) -> int:
    i = t.match(_WS_NL_JSON, i)
    c = t.char(i)
    if c == '"':
        return t.match(_JSON_STRING, i)
    if c == "[":
        return _array(t, i + 1, key, _WS_NL_JSON, _json_value)
    if c == "{":
        return _items(t, i + 1, "}", _WS_NL_JSON, lambda j, _: _json_member(t, j, key))
    end = t.match(_JSON_SCALAR, i)
    if end == i:
        raise _Stop
    return end


def _json_member(t: _Text, i: int, key: Key) -> int:
    """One `"name": value` of an object, the name noted; where it ends."""
    if t.char(i) != '"':
        raise _Stop
    end = t.match(_JSON_STRING, i)
    name = _unquote(t.text[i:end])
    t.note((*key, name), i)
    i = t.match(_WS_NL_JSON, end)
    if t.char(i) != ":":
        raise _Stop
    return _json_value(t, i + 1, (*key, name))


_WS_NL_JSON = re.compile(r"[ \t\r\n]*")


def json_positions(text: str) -> Positions:
    """Positions of the object keys and array items of a JSON document that parsed."""
    t = _Text(text)
    with contextlib.suppress(_Stop):
        _json_value(t, 0, ())
    return t.found


def locate(positions: Positions, key: Key) -> tuple[int, int] | None:
    """The position of `key`, else of its nearest written parent (a table header), else None."""
    for n in range(len(key), 0, -1):
        pos = positions.get(key[:n])
        if pos is not None:
            return pos
    return None


__all__ = ["Key", "Positions", "json_positions", "locate", "toml_positions"]
