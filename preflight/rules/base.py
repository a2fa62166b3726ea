"""Rule declarations: small self-describing units that yield `Fact`s.

A rule states what it checks (code, name, default severity, summary, source in docs/constraints.md,
options with defaults) and a `check` function. The engine decides severity (from the edition
pack and the configuration), location and order, and turns facts into `Finding`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from preflight.metastudio import BODY_DEFAULTS
from preflight.model import RuleInfo, Severity
from preflight.spec.schema import json_type

if TYPE_CHECKING:
    from preflight.spec import JobSpec

T = TypeVar("T")


@dataclass(frozen=True)
class Fact:
    """What a rule observed; the engine stamps code, severity and location on it."""

    message: str
    path: str | None = None
    slot: str | None = None
    fix: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """A rule option: its default and a one-line doc. The type is taken from the default."""

    default: Any
    doc: str

    def accepts(self, value: object) -> bool:
        """Whether `value` has the option's type (ints are accepted for float options)."""
        d = self.default
        if isinstance(d, bool):
            return isinstance(value, bool)
        if isinstance(d, float):
            return isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(d, int):
            return isinstance(value, int) and not isinstance(value, bool)
        if isinstance(d, list | tuple):
            return isinstance(value, list | tuple)
        return isinstance(value, type(d))

    @property
    def type_name(self) -> str:
        """Human (JSON) name of the expected type."""
        return "array" if isinstance(self.default, tuple) else json_type(self.default)


class JobContext:
    """What job-level rules see: the body as written, the spec, the edition, the mode."""

    def __init__(self, spec: JobSpec, edition: str, whole_spec: bool,
                 files: Iterable[tuple[str, Path]] = ()):
        self.spec = spec
        self.body: Mapping[str, Any] = spec.job
        self.edition = edition
        self.whole_spec = whole_spec
        #: The files of this check by slot (a rule comparing two uploads finds its peer here).
        self.files: Mapping[str, tuple[Path, ...]] = _by_slot(files)

    def value(self, key: str) -> Any:
        """The body value, or the API default when omitted (constraints §1.2)."""
        return self.body.get(key, BODY_DEFAULTS.get(key))

    def flag(self, key: str) -> bool:
        """A boolean flag with its API default; a mistyped value counts as its default."""
        v = self.value(key)
        return v if isinstance(v, bool) else bool(BODY_DEFAULTS.get(key, False))

    @property
    def is_flexus_family(self) -> bool:
        """Flexus or fast Flexus (both real-scene, VIDEO_2D only)."""
        return self.flag("is_flexus") or self.flag("is_fast_flexus")


def _by_slot(files: Iterable[tuple[str, Path]]) -> Mapping[str, tuple[Path, ...]]:
    out: dict[str, list[Path]] = {}
    for slot, path in files:
        out.setdefault(slot, []).append(path)
    return MappingProxyType({k: tuple(v) for k, v in out.items()})


class FileContext:
    """What file rules see: one file in one slot, with a per-file memo shared by all rules."""

    def __init__(self, job: JobContext, path: Path, slot: str, memo: dict[str, Any] | None = None):
        self.job = job
        self.path = path
        self.slot = slot
        self._memo: dict[str, Any] = memo if memo is not None else {}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per file (probe, sampled frames, decoded image...) and share."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value


Options = Mapping[str, Any]
JobCheck = Callable[[JobContext, Options], Iterable[Fact]]
FileCheck = Callable[[FileContext, Options], Iterable[Fact]]


@dataclass(frozen=True)
class Rule:
    """A registered rule. `target` says whether it judges the job body or one file."""

    code: str
    name: str
    severity: Severity
    summary: str
    source: str
    check: Callable[[Any, Options], Iterable[Fact]]
    target: Literal["job", "file"]
    options: Mapping[str, Option] = field(default_factory=lambda: MappingProxyType({}))
    slots: frozenset[str] = frozenset()
    whole_spec_only: bool = False
    gate: bool = False
    #: Runs before every other rule of the file; when it fires, no other rule looks at the file.
    claims_file: bool = False
    inferred: bool = False
    doc: str = ""
    #: Other slots whose files this file rule also reads (their content joins the cache key).
    peers: frozenset[str] = frozenset()

    @property
    def family(self) -> str:
        """The code's family prefix."""
        return self.code[:3]

    @property
    def source_text(self) -> str:
        """Source with the inferred marker, as shown in findings and docs."""
        return f"{self.source} [inferred]" if self.inferred else self.source

    @property
    def pages(self) -> tuple[tuple[str, str], ...]:
        """(URL, section) of the official pages behind the source."""
        from preflight.rules.sources import official_pages

        return tuple((p.url, p.section) for p in official_pages(self.source))

    def defaults(self) -> dict[str, Any]:
        """Option defaults."""
        return {k: o.default for k, o in self.options.items()}

    def info(self) -> RuleInfo:
        """The rule as reports describe it."""
        return RuleInfo(
            code=self.code, name=self.name, severity=self.severity, summary=self.summary,
            source=self.source, doc=self.doc, inferred=self.inferred,
            options=MappingProxyType({k: (o.default, o.doc) for k, o in self.options.items()}),
            slots=self.slots, pages=self.pages,
        )


def job_rule(
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    source: str,
    *,
    options: Mapping[str, Option] | None = None,
    whole_spec_only: bool = False,
    inferred: bool = False,
) -> Callable[[JobCheck], Rule]:
    """Declare a job-body rule; `whole_spec_only` rules look at other slots (not in quick mode)."""

    def wrap(fn: JobCheck) -> Rule:
        return Rule(
            code=code, name=name, severity=severity, summary=summary, source=source, check=fn,
            target="job", options=MappingProxyType(dict(options or {})),
            whole_spec_only=whole_spec_only, inferred=inferred, doc=(fn.__doc__ or "").strip(),
        )

    return wrap


def file_rule(
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    source: str,
    *,
    slots: Iterable[str],
    options: Mapping[str, Option] | None = None,
    gate: bool = False,
    claims_file: bool = False,
    inferred: bool = False,
    peers: Iterable[str] = (),
) -> Callable[[FileCheck], Rule]:
    """Declare a rule run once per file in `slots`. A `gate` rule that fires skips the rest of
    its family; a `claims_file` rule runs first and, when it fires, skips every other rule."""

    def wrap(fn: FileCheck) -> Rule:
        return Rule(
            code=code, name=name, severity=severity, summary=summary, source=source, check=fn,
            target="file", options=MappingProxyType(dict(options or {})), slots=frozenset(slots),
            gate=gate or claims_file, claims_file=claims_file, inferred=inferred,
            doc=(fn.__doc__ or "").strip(), peers=frozenset(peers),
        )

    return wrap
