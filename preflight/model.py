"""The records that flow out of a check: `Severity`, `Finding`, `Report`."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

FAMILIES: Mapping[str, str] = MappingProxyType(
    {
        "REQ": "job body",
        "VID": "video container/stream",
        "GRN": "green screen",
        "AUD": "audio",
        "IMG": "images/documents",
        "PKG": "packaging",
        "NET": "submission",
        "PRS": "presenter",
    }
)


class Severity(enum.Enum):
    """How bad a finding is."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse `error`/`warning`/`info` (case-insensitive)."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown severity {value!r}; expected one of error, warning, info"
            ) from None


def _freeze(details: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(details or {}))


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) about the job body or one file. Immutable."""

    code: str
    name: str
    severity: Severity
    message: str
    source: str
    path: str | None = None
    slot: str | None = None
    fix: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: Where in `path` (a spec file) the finding points: 1-based line and column, when known.
    line: int | None = None
    column: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.details, MappingProxyType):
            object.__setattr__(self, "details", _freeze(self.details))

    @property
    def family(self) -> str:
        """The three-letter family prefix, e.g. ``VID``."""
        return self.code[:3]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (the report schema's finding object)."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "slot": self.slot,
            "source": self.source,
            "fix": self.fix,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The result of one check: findings in a stable order plus what was looked at."""

    edition: str
    findings: tuple[Finding, ...]
    files: tuple[str, ...] = ()
    spec_path: str | None = None

    @classmethod
    def build(
        cls,
        edition: str,
        findings: Iterable[Finding],
        files: Iterable[str] = (),
        spec_path: str | None = None,
    ) -> Report:
        """Make a report; findings keep the order the engine produced."""
        return cls(edition, tuple(findings), tuple(files), spec_path)

    def count(self, severity: Severity) -> int:
        """How many findings have this severity."""
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Error findings only."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Warning findings only."""
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when there is no error finding."""
        return not self.errors

    def summary(self) -> dict[str, int]:
        """Counts for the report's summary block."""
        return {
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
            "files": len(self.files),
        }


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a report needs to know of a rule (formatters never import the rules themselves)."""

    code: str
    name: str
    severity: Severity
    summary: str
    source: str
    doc: str = ""
    inferred: bool = False
    #: Option name -> (default, one-line doc).
    options: Mapping[str, tuple[Any, str]] = field(default_factory=lambda: MappingProxyType({}))
    #: The slots a file rule judges (empty for job rules).
    slots: frozenset[str] = frozenset()
    #: Official pages behind the source: (URL, section of the page), in citation order.
    pages: tuple[tuple[str, str], ...] = ()

    @property
    def family(self) -> str:
        """The three-letter family prefix."""
        return self.code[:3]
