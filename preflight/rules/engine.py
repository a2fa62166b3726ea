"""Run the effective rules over a job spec and produce a `Report`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import ProbeError
from preflight.model import Finding, Report
from preflight.rules import Fact, FileContext, JobContext, Rule, registry
from preflight.rules.config import Config, RuleSetting, resolve
from preflight.spec import JobSpec

if TYPE_CHECKING:
    from preflight.rules.cache import ResultCache


def _finding(rule: Rule, setting: RuleSetting, fact: Fact, path: str | None,
             slot: str | None) -> Finding:
    assert setting.severity is not None
    return Finding(
        code=rule.code, name=rule.name, severity=setting.severity, message=fact.message,
        source=rule.source_text, path=fact.path or path, slot=fact.slot or slot,
        fix=fact.fix, details=fact.details,
    )


class Engine:
    """Rules and their effective settings for one edition and configuration."""

    def __init__(self, edition: str, config: Config, cache: ResultCache | None = None):
        self.edition = edition
        self.settings = resolve(edition, config)
        self.rules = registry()
        #: Findings per unchanged file are reused from here (None: always check).
        self.cache = cache

    def _job_findings(self, ctx: JobContext, label: str | None) -> list[Finding]:
        out: list[Finding] = []
        for rule in self.rules.values():
            setting = self.settings[rule.code]
            if rule.target != "job" or setting.severity is None:
                continue
            if rule.whole_spec_only and not ctx.whole_spec:
                continue
            out.extend(_finding(rule, setting, f, label, None)
                       for f in rule.check(ctx, setting.options))
        return out

    def _file_findings(self, ctx: FileContext) -> list[Finding]:
        rules = [r for r in self.rules.values() if r.target == "file" and ctx.slot in r.slots]
        cache = self.cache
        key = cache.key(ctx, rules, self.settings) if cache is not None else None
        if cache is None or key is None:
            return self._run_file_rules(ctx, rules)
        cached = cache.get(key)
        if cached is not None:
            return cached
        out = self._run_file_rules(ctx, rules)
        cache.put(key, ctx.path, out)
        return out

    def _run_file_rules(self, ctx: FileContext, rules: list[Rule]) -> list[Finding]:
        path = str(ctx.path)
        gates: dict[str, Rule] = {}
        for r in rules:
            if r.gate:
                gates.setdefault(r.family, r)
        out: list[Finding] = []
        closed: set[str] = set()
        claimed = False
        # Gates always run (even when not selected) so that later rules never see a bad file;
        # a rule that claims the file (a Git LFS pointer is not media) runs before them.
        for rule in sorted(rules, key=lambda r: (not r.claims_file, not r.gate, r.code)):
            if claimed or rule.family in closed:
                continue
            setting = self.settings[rule.code]
            if setting.severity is None and not rule.gate:
                continue
            try:
                facts = list(rule.check(ctx, setting.options))
            except ProbeError as exc:
                gate = gates.get(rule.family, rule)
                facts, rule, setting = [Fact(f"{ctx.slot}: {exc.detail}")], gate, \
                    self.settings[gate.code]
            if facts and rule.gate:
                closed.add(rule.family)
            if facts and rule.claims_file:
                claimed = True
            if setting.severity is not None:
                out.extend(_finding(rule, setting, f, path, ctx.slot) for f in facts)
        return out

    def run(self, spec: JobSpec, *, whole_spec: bool,
            files: Iterable[tuple[str, Path]] | None = None) -> Report:
        """Check the body and each (slot, file); quick mode passes `whole_spec=False`."""
        pairs = list(files) if files is not None else list(spec.files())
        job = JobContext(spec, self.edition, whole_spec, pairs)
        label = str(spec.path) if spec.path else None
        findings = self._job_findings(job, label)
        memos: dict[Path, dict[str, Any]] = {}
        for slot, path in pairs:
            memo = memos.setdefault(path, {})
            findings.extend(self._file_findings(FileContext(job, path, slot, memo)))
        return Report.build(
            self.edition, findings, files=[str(p) for _, p in pairs], spec_path=label
        )
