"""TOML read with bounded cost: a linear pre-scan refuses absurd keys before `tomllib` sees
them, and a ``pyproject.toml`` found on the way up is read only for its ``[tool.preflight]``
part.

`tomllib` spends time and memory quadratic in the number of parts of a dotted key (a 40 KB
key of 20 000 parts costs gigabytes), so a key or table header of more than `MAX_KEY_PARTS`
parts, or longer than `MAX_KEY_CHARS`, is refused with its line number first. A real spec or
configuration has keys of one to four parts.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

#: Most parts a dotted key or table header may have (a real one has at most four or five).
MAX_KEY_PARTS = 32
#: Longest dotted key or table header, in characters.
MAX_KEY_CHARS = 1024

_TOKEN = re.compile(
    r'(?P<ml>"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)|\'\'\'(?:[^\']|\'(?!\'\'))*(?:\'\'\'|\Z))'
    r'|(?P<part>"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|[A-Za-z0-9_-]+)'
    r"|(?P<dot>[ \t]*\.[ \t]*)"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<other>[^\"'A-Za-z0-9_#.-]+|[\"'.])",
    re.S,
)


def problem(text: str) -> str | None:
    """Why the pre-scan refuses `text` (a dotted key or table header of more than
    `MAX_KEY_PARTS` parts or `MAX_KEY_CHARS` characters, with its line), else None. One
    linear pass; strings and comments are skipped."""
    if text.count(".") < MAX_KEY_PARTS and len(text) <= MAX_KEY_CHARS:
        return None  # too few dots for a key of many parts, too short for a long one
    parts, start = 0, 0
    last_dot = False
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "part":
            if parts and not last_dot:
                parts, start = 0, 0
            if parts == 0:
                start = m.start()
            parts += 1
            last_dot = False
            if parts > MAX_KEY_PARTS:
                return (f"a key has more than {MAX_KEY_PARTS} dotted parts "
                        f"(at line {_line(text, start)}); refused before parsing")
            if parts > 1 and m.end() - start > MAX_KEY_CHARS:
                return (f"a dotted key is longer than {MAX_KEY_CHARS} characters "
                        f"(at line {_line(text, start)}); refused before parsing")
        elif kind == "dot" and parts and not last_dot:
            last_dot = True
        else:
            parts, last_dot = 0, False
    return None


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def loads(text: str) -> dict[str, Any]:
    """`tomllib.loads` after the pre-scan.

    :raises tomllib.TOMLDecodeError: invalid TOML, or a key the pre-scan refuses.
    """
    why = problem(text)
    if why is not None:
        raise tomllib.TOMLDecodeError(why)
    return tomllib.loads(text)


_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*(?P<name>[^\]\n#]*?)[ \t]*\]\]?[ \t]*(?:#.*)?$", re.M)
_OURS = re.compile(r"""^tool[ \t]*\.[ \t]*(?:preflight|"preflight"|'preflight')[ \t]*(?:\.|$)""")


def tool_part(text: str) -> str:
    """The ``[tool.preflight]`` tables of a ``pyproject.toml`` (and its ``[tool]`` table, for
    ``preflight.x = ...`` keys written there), without the rest, for a file the user did not
    name: a hostile or huge table elsewhere costs nothing.

    A line that looks like a table header inside a multi-line string may cut a table short;
    the part then fails to parse and is reported like any invalid TOML.
    """
    out: list[str] = []
    keep = False
    pos = 0
    for m in _HEADER.finditer(text):
        if keep:
            out.append(text[pos:m.start()])
        name = m.group("name").strip()
        keep = bool(_OURS.match(name)) or name == "tool"
        pos = m.start()
    if keep:
        out.append(text[pos:])
    return "".join(out)


def has_own_table(text: str) -> bool:
    """Whether `text` has a ``[tool.preflight...]`` table header."""
    return any(_OURS.match(m.group("name").strip()) for m in _HEADER.finditer(text))


__all__ = ["MAX_KEY_CHARS", "MAX_KEY_PARTS", "has_own_table", "loads", "problem", "tool_part"]
