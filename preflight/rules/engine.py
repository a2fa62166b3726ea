"""Run the effective rules over a job spec and produce a `Report`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import ConfigError, ProbeError, SpecError
from preflight.model import Finding, Report, Severity
from preflight.rules import Fact, FileContext, JobContext, Rule, registry
from preflight.rules.config import (
    Config,
    RuleSetting,
    binds,
    check_selectors,
    matches,
    resolve,
)
from preflight.spec import JobSpec
from preflight.spec.positions import Key

if TYPE_CHECKING:
    from preflight.rules.cache import ResultCache


def _finding(rule: Rule, setting: RuleSetting, fact: Fact, path: str | None,
             slot: str | None) -> Finding:
    assert setting.severity is not None
    where = fact.path or path
    severity = setting.severity
    if fact.details.get("not_run") and severity is Severity.INFO:
        severity = Severity.WARNING  # a check that could not run never passes as clean
    return Finding(
        code=rule.code, name=rule.name, severity=severity,
        message=without_name(fact.message, where, fact.slot or slot) if rule.target == "file"
        else fact.message,
        source=rule.source_text, path=where, slot=fact.slot or slot,
        fix=fact.fix, details=fact.details,
    )


def without_name(message: str, path: str | None, slot: str | None) -> str:
    """A file finding's message without the file name it starts with: reports print the path
    first (``media/a.mp4: VID006 ... training_video is 720x1280``), so it would say it twice.

    ``a.mp4: text`` becomes ``text``; ``training_video a.mp4 is ...`` and ``a.mp4 is ...``
    become ``training_video is ...``. A name further in (another file) is kept.
    """
    if not path:
        return message
    name = Path(path).name
    if not name:
        return message
    if message.startswith(f"{name}: "):
        return message[len(name) + 2:]
    if slot and message.startswith(f"{slot} {name} "):
        return f"{slot} {message[len(slot) + len(name) + 2:]}"
    if message.startswith(f"{name} "):
        rest = message[len(name) + 1:]
        return f"{slot} {rest}" if slot else f"the file {rest}"
    return message


class Engine:
    """Rules and their effective settings for one edition and configuration."""

    def __init__(self, edition: str, config: Config, cache: ResultCache | None = None,
                 jobs: int = 1):
        self.edition = edition
        self.config = config
        self.settings = resolve(edition, config)
        self.rules = registry()
        #: Findings per unchanged file are reused from here (None: always check).
        self.cache = cache
        #: Files of one spec checked at once (threads: decoding and face detection run
        #: outside the GIL, so an ID card is searched while the video decodes).
        self.jobs = jobs
        self._warming = False

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
            self._warm_faces(ctx, rules)
            return self._run_file_rules(ctx, rules)
        cached = cache.get(key)
        if cached is not None:
            return cached
        self._warm_faces(ctx, rules)
        out = self._run_file_rules(ctx, rules)
        cache.put(key, ctx.path, out)
        return out

    def _warm_faces(self, ctx: FileContext, rules: list[Rule]) -> None:
        """Start loading the face models (once) while this file is probed and decoded, when
        a presenter rule will look at it."""
        from preflight.inspect.face import warm_up

        wanted = [r for r in rules if r.family == "PRS" and self.settings[r.code].severity]
        if wanted and not self._warming:
            self._warming = True
            warm_up(describe=bool(ctx.job.files.get("id_card_front"))
                    and bool(ctx.job.files.get("training_video")))

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
        """Check the body and each (slot, file); quick mode passes `whole_spec=False`.

        Files are named as the spec shows them (`JobSpec.display`: as the user typed them);
        findings on the spec carry the line and column of the key they are about.
        """
        given = list(files) if files is not None else list(spec.files())
        pairs = [(slot, Path(spec.display(p))) for slot, p in given]
        job = JobContext(spec, self.edition, whole_spec, pairs)
        label = spec.label
        findings = [with_position(f, spec) if f.path == label else f
                    for f in self._job_findings(job, label)]
        memos: dict[Path, dict[str, Any]] = {}
        contexts = [FileContext(job, path, slot, memos.setdefault(path, {}))
                    for slot, path in pairs]
        for found in self._each_file(contexts):
            findings.extend(found)
        return Report.build(
            self.edition, self.unignored(findings, spec), files=[str(p) for _, p in pairs],
            spec_path=label,
        )

    def _each_file(self, contexts: list[FileContext]) -> Iterable[list[Finding]]:
        """The findings of each file, in order; `jobs` files at a time, each in a copy of the
        caller's context (what the rules note and sample is gathered there)."""
        jobs = min(self.jobs, len(contexts))
        if jobs <= 1:
            return [self._file_findings(c) for c in contexts]
        import contextvars

        from preflight.parallel import parallel_map

        caller = contextvars.copy_context()
        return parallel_map(lambda c: caller.copy().run(self._file_findings, c), contexts, jobs)

    def unignored(self, findings: Iterable[Finding], spec: JobSpec) -> list[Finding]:
        """The findings that neither the spec's ``ignore`` list nor the configuration's
        ``per-file-ignores`` accept; a REQ error stays when the body is about to be sent
        (`Config.binding`).

        :raises SpecError: the spec's ``ignore`` names an unknown rule.
        """
        if spec.ignore:
            try:
                check_selectors(spec.ignore, None, "ignore")
            except ConfigError as exc:
                raise SpecError(str(exc), path=spec.label, key="ignore") from None
        if not spec.ignore and not self.config.per_file_ignores:
            return list(findings)
        out = []
        for f in findings:
            sels = (*spec.ignore, *self.config.file_ignores(f.path)) if f.path else spec.ignore
            if sels and matches(f.code, sels) and not (
                    self.config.binding and binds(self.rules[f.code])):
                continue
            out.append(f)
        return out


_BODY_KEY = re.compile(r"(?<![\w.\[\]])(?:\[media\]\.|media\.|account\.|job\.)?[A-Za-z_][\w]*"
                       r"(?:\.[A-Za-z_]\w*)*")


def finding_key(finding: Finding, spec: JobSpec) -> Key | None:
    """The spec key a job finding is about: its ``key`` detail, else its slot, else the first
    key of the spec its message names (``job.name``, ``[media].audio``, ``model_version``)."""
    key = finding.details.get("key")
    if isinstance(key, str) and key:
        return ("job", *key.split("."))
    if finding.slot:
        return ("media", finding.slot)
    for m in _BODY_KEY.finditer(finding.message):
        word = m.group(0)
        for prefix, table in (("[media].", "media"), ("media.", "media"),
                              ("account.", "account"), ("job.", "job")):
            if word.startswith(prefix):
                return (table, *word[len(prefix):].split("."))
        if ("job", word) in spec.positions:
            return ("job", word)
    return None


def with_position(finding: Finding, spec: JobSpec) -> Finding:
    """The finding with the line and column of its key in the spec file (of the ``[job]``
    table when the key is not written), when the spec was read from a file."""
    if not spec.positions:
        return finding
    key = finding_key(finding, spec)
    pos = spec.position(key) if key else None
    if pos is None:
        pos = spec.position(("job",))
    if pos is None:
        return finding
    return replace(finding, line=pos[0], column=pos[1])
