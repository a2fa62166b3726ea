"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per finding.

GitHub turns each line into an annotation on the file (in the job log and on the pull request).
Paths are made relative to `RenderOptions.root` (the workspace) when possible. Names and
messages are escaped as GitHub documents (``%25``, ``%0D``, ``%0A``; also ``%3A``, ``%2C`` in
properties) and other control characters shown with `visible`, so no name can end a command,
start another or drive the log viewer.
"""

from __future__ import annotations

from preflight.model import Finding, Report, Severity
from preflight.report import RenderOptions, relative_path
from preflight.report.text import summary_line, visible

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    """Escape a workflow-command message: ``%``, CR and LF as GitHub documents (``%25``,
    ``%0D``, ``%0A``), every other control character as `visible` shows it."""
    shown = visible(value, keep="\r\n")
    return shown.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow-command property value (also ``:`` and ``,``)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, root: str | None = None, default_path: str | None = None) -> str:
    """One workflow command for one finding."""
    props: list[str] = []
    path = finding.path or default_path
    if path:
        props.append(f"file={escape_property(relative_path(path, root) or path)}")
        if finding.line is not None and finding.path:
            props.append(f"line={finding.line}")
            if finding.column is not None:
                props.append(f"col={finding.column}")
    props.append(f"title={escape_property(f'{finding.code} {finding.name}')}")
    message = finding.message  # escape_data: a newline in a name cannot start a command
    if finding.fix:
        message += f"\nfix: {finding.fix}"
    return f"::{_LEVEL[finding.severity]} {','.join(props)}::{escape_data(message)}"


def render(report: Report, options: RenderOptions) -> str:
    """Every finding as an annotation (errors only when quiet), then the plain summary line."""
    out = [
        annotation(f, options.root, report.spec_path)
        for f in report.findings
        if not (options.quiet and f.severity is not Severity.ERROR)
    ]
    out.append(summary_line(report))
    return "\n".join(out) + "\n"
