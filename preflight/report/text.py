"""Plain text report: one line per finding, then a summary line."""

from __future__ import annotations

from preflight.model import Finding, Report, Severity
from preflight.report import RenderOptions

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
    """``path``, or ``path:line:column`` for a finding on a spec key (as ruff and flake8 do)."""
    return (f.path or "<job>") + position(f)


def line(f: Finding, color: bool = False) -> str:
    """`path[:line:column]: CODE name [severity] message`."""
    where = location(f)
    sev = f"[{f.severity.value}]"
    if color:
        sev = f"{_COLORS[f.severity]}{sev}{_RESET}"
        return f"{where}: {_BOLD}{f.code}{_RESET} {f.name} {sev} {f.message}"
    return f"{where}: {f.code} {f.name} {sev} {f.message}"


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
            fix = f"    fix: {f.fix}"
            out.append(f"{_DIM}{fix}{_RESET}" if options.color else fix)
    out.append(summary_line(report))
    return "\n".join(out) + "\n"
