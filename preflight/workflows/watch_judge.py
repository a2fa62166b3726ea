"""One take judged: the single adapter between the watcher and the check workflow.

`judge` checks one complete media file (alone, or as the training video of a job spec) and
returns a `Verdict`: READY or NOT READY, the findings in order of weight, the fix commands, and
what the page shows of the file (frames with the green mask and face boxes) when it was sampled.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import PreflightError
from preflight.metastudio import REQUIRED_SLOT, SLOTS, guess_slot_from_name
from preflight.model import Finding, Report, Severity

if TYPE_CHECKING:
    from preflight.report.html import JobView
    from preflight.rules.cache import ResultCache
    from preflight.rules.config import Config
    from preflight.spec import JobSpec

_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Verdict:
    """What the check said of one take."""

    ready: bool
    #: Findings, errors first (infos left out).
    findings: tuple[Finding, ...] = ()
    #: Fix commands, in the order of the findings that carry them (no repeats).
    commands: tuple[str, ...] = ()
    #: Why the take could not be checked at all (then it is NOT READY).
    error: str | None = None
    #: What the page shows of the take (frames, facts); None once dropped or never sampled.
    view: JobView | None = None
    #: When the verdict was reached (wall clock, seconds since the epoch).
    at: float = field(default_factory=time.time)
    #: Whether the findings came from the result cache (an earlier run).
    cached: bool = False

    @property
    def word(self) -> str:
        """READY or NOT READY."""
        return "READY" if self.ready else "NOT READY"

    def without_view(self) -> Verdict:
        """The same verdict without its pictures (what older takes keep)."""
        return replace(self, view=None) if self.view is not None else self


@dataclass(frozen=True)
class JobState:
    """The job of a spec as it stands: which slots are filled, and whether it would pass."""

    title: str
    slots: tuple[tuple[str, str, bool], ...]
    verdict: Verdict


def commands_of(findings: tuple[Finding, ...]) -> tuple[str, ...]:
    """The fix lines of these findings (the fix, and a ffmpeg line when one is given)."""
    out: list[str] = []
    for f in findings:
        cmd = f.details.get("ffmpeg")
        for line in (f.fix, cmd if isinstance(cmd, str) else None):
            if line and line not in out:
                out.append(line)
    return tuple(out)


def verdict_of(report: Report | None, error: str | None = None,
               view: JobView | None = None, cached: bool = False) -> Verdict:
    """A verdict from a report (or the error that stopped the check)."""
    if report is None:
        return Verdict(False, error=error or "not checked", view=view, cached=cached)
    kept = sorted((f for f in report.findings if f.severity is not Severity.INFO),
                  key=lambda f: _RANK[f.severity])
    findings = tuple(kept)
    return Verdict(error is None and not report.errors, findings, commands_of(findings),
                   error, view, cached=cached)


def candidate(spec: JobSpec, take: Path) -> JobSpec:
    """The job of `spec` with `take` as its training video."""
    media = {**spec.media, REQUIRED_SLOT: (take,)}
    return replace(spec, media=media)


@dataclass
class Judge:
    """Checks takes with one configuration, edition, body and result cache."""

    config: Config | None = None
    edition: str | None = None
    job: Mapping[str, Any] | None = None
    cache: ResultCache | None = None
    spec_path: Path | None = None
    #: Sample frames for the page (off: only the verdict, cheaper).
    views: bool = True

    def spec(self) -> JobSpec:
        """The job spec as it stands now.

        :raises SpecError: unreadable or structurally invalid spec.
        """
        from preflight.spec import load_spec

        assert self.spec_path is not None
        return load_spec(self.spec_path)

    def __call__(self, path: Path, *, listing: bool = False) -> Verdict:
        """Judge one complete take (with a spec: as the job's training video, the take's own
        findings kept); `listing`: a take found on start, whose findings may come from the
        result cache. A bad file is a finding or an error, never a crash."""
        try:
            if self.spec_path is None:
                return self._run(path, listing)
            whole = self._run(candidate(self.spec(), path.absolute()), listing)
        except PreflightError as exc:
            return verdict_of(None, str(exc))
        # The take's own verdict: what the job says of its training video (the rest of the
        # job, a missing ID card back say, is the job panel's).
        own = tuple(f for f in whole.findings if f.slot == REQUIRED_SLOT)
        ready = whole.error is None and not any(f.severity is Severity.ERROR for f in own)
        return replace(whole, ready=ready, findings=own, commands=commands_of(own))

    def job_state(self) -> JobState:
        """The spec's job as it stands (slots filled, would it pass)."""
        try:
            spec = self.spec()
        except PreflightError as exc:
            return JobState(str(self.spec_path), (), verdict_of(None, str(exc)))
        slots = tuple((name, s.label, bool(spec.media.get(name))) for name, s in SLOTS.items())
        return JobState(spec.label or str(self.spec_path), slots, self._run(spec, True))

    def _run(self, target: JobSpec | Path, listing: bool) -> Verdict:
        from preflight.workflows.check import CheckOptions, start
        from preflight.workflows.contact_sheet import gathering, job_view

        slot = None if not isinstance(target, Path) else guess_slot_from_name(target.name)
        run = start(target, CheckOptions(self.edition, self.config, slot, self.job,
                                         self.cache, 1))
        with gathering() as (seen, faces):
            outcome = next(iter(run))
        report, error = outcome.report, outcome.error
        cached = listing and not seen
        view = None
        if report is not None and seen and self.views:
            body = dict(target.job) if not isinstance(target, Path) else None
            view = job_view(report, body, outcome.pairs, seen, faces, run.config)
        return verdict_of(report, None if error is None else str(error), view, cached)
