"""Plain text report: one line per finding, then a summary line.

File names and messages are shown with `visible`: a name holding an escape sequence, a
newline or bytes that are not UTF-8 cannot drive the terminal or forge a report line.
"""

from __future__ import annotations

import re

from preflight.model import Finding, Report, Severity
from preflight.report import RenderOptions

#: What is never written raw: C0 and C1 control characters and DEL (terminal escapes, line
#: breaks), Unicode controls that reorder or hide text (bidi overrides, line separators, BOM),
#: and surrogates (bytes of a name that are not UTF-8, decoded with surrogateescape).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069"
                     "\ufeff\ud800-\udfff]")
#: Surrogates alone (what a strict JSON or XML parser refuses in UTF-8 output).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    o = ord(match.group(0))
    if 0xDC80 <= o <= 0xDCFF:  # a byte of a name that is not UTF-8: show the byte
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def visible(text: str, keep: str = "") -> str:
    """`text` with every control character shown as an escape (``\\x1b``, ``\\x0a``,
    ``\\u202e``) and every byte of a name that is not UTF-8 as ``\\xff``; characters in
    `keep` stay (for a format that escapes them its own way)."""
    if keep:
        return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) in keep else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


def unpaired(text: str) -> str:
    """`text` with only its surrogates escaped (``\\xff`` for a byte of a name that is not
    UTF-8): what JSON needs, since it escapes control characters itself."""
    return _SURROGATE.sub(_escape, text)

_COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def position(f: Finding) -> str:
    """``:line:column`` (or ``:line``) of a finding on a spec key, else empty."""
    if f.line is None:
        return ""
    return f":{f.line}" + (f":{f.column}" if f.column is not None else "")


def location(f: Finding) -> str:
    """``path``, or ``path:line:column`` for a finding on a spec key (as ruff and flake8 do);
    the path as `visible` shows it."""
    return visible(f.path or "<job>") + position(f)


def line(f: Finding, color: bool = False) -> str:
    """`path[:line:column]: CODE name [severity] message`."""
    where = location(f)
    sev = f"[{f.severity.value}]"
    message = visible(f.message)
    if color:
        sev = f"{_COLORS[f.severity]}{sev}{_RESET}"
        return f"{where}: {_BOLD}{f.code}{_RESET} {f.name} {sev} {message}"
    return f"{where}: {f.code} {f.name} {sev} {message}"


def fix_line(f: Finding) -> str:
    """The indented ``fix:`` line under a finding (empty without a fix)."""
    return f"    fix: {visible(f.fix)}" if f.fix else ""


def summary_line(report: Report) -> str:
    """`N errors, N warnings, N infos in N files (edition: X)`."""
    s = report.summary()
    return (
        f"{_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, "
        f"{_plural(s['infos'], 'info')} in {_plural(s['files'], 'file')} "
        f"(edition: {report.edition})"
    )


def render(report: Report, options: RenderOptions) -> str:
    """Findings (errors only when quiet), each with its fix indented below, then the summary."""
    out: list[str] = []
    for f in report.findings:
        if options.quiet and f.severity is not Severity.ERROR:
            continue
        out.append(line(f, options.color))
        if f.fix and not options.quiet:
            fix = fix_line(f)
            out.append(f"{_DIM}{fix}{_RESET}" if options.color else fix)
    out.append(summary_line(report))
    return "\n".join(out) + "\n"
