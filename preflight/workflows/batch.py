"""Batch checking: find specs and media under folders, check them in parallel, in input order.

In a folder, every ``*.toml``/``*.json`` with a ``[job]`` table is a job spec and is checked
whole; every media file (video, audio, image, PDF) that no spec in the batch names is checked
alone in quick mode. ``.gitignore`` files (with git's semantics, nested ones included) and
``--exclude`` patterns leave files out; files named explicitly are always checked.

Work runs on a thread pool (the heavy parts, decoding and numpy, release the GIL) of
``--jobs`` workers, default the CPU count; ``PREFLIGHT_SERIAL=1`` forces one. Results come back
in input order through a bounded window, so memory stays flat for thousands of files.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from preflight.errors import ConfigError, PreflightError, SpecError, TargetNotFound
from preflight.metastudio import (
    MEDIA_EXTENSIONS,
    SLOTS,
    SPEC_SUFFIXES,
    guess_slot,
    guess_slot_from_name,
)
from preflight.model import FAMILIES, Finding, Report, Severity
from preflight.parallel import parallel_map
from preflight.safeio import file_key, read_capped, read_text
from preflight.spec import toml

if TYPE_CHECKING:
    import pathspec

    from preflight.rules.cache import ResultCache
    from preflight.rules.config import Config
    from preflight.rules.engine import Engine
    from preflight.spec import JobSpec

#: Environment variable that forces serial checking when set to 1/true/yes.
SERIAL_ENV = "PREFLIGHT_SERIAL"
#: Folders never entered.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".preflight_cache", "__pycache__", ".venv",
                       "node_modules", ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
#: Suffixes of the files a folder check looks at.
KNOWN_SUFFIXES = MEDIA_EXTENSIONS.union(SPEC_SUFFIXES)
#: The body used for quick checks of loose files, before `job` overrides are applied.
QUICK_JOB_DEFAULTS: Mapping[str, Any] = MappingProxyType({"name": "preflight quick check"})
#: Spec candidates larger than this are not read while looking for specs.
MAX_SPEC_BYTES = 1 << 20


# ---- the parallel runner ---------------------------------------------------------------------

def effective_jobs(jobs: int | None, environ: Mapping[str, str] | None = None) -> int:
    """Worker count: 1 when ``PREFLIGHT_SERIAL`` is set, else `jobs`, else the CPU count."""
    env = os.environ if environ is None else environ
    if env.get(SERIAL_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return 1
    if jobs is not None:
        if jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {jobs}")
        return jobs
    return os.cpu_count() or 1


# ---- discovery -------------------------------------------------------------------------------

def is_folder(path: str | Path) -> bool:
    """Whether a target is a folder to search (a folder named like a file, e.g. ``v.mp4/``,
    is a target in its own right and is reported as not a file)."""
    p = Path(path)
    return p.is_dir() and p.suffix.lower() not in KNOWN_SUFFIXES

@dataclass(frozen=True)
class Target:
    """One unit of work: a whole spec, or one media file in quick mode (as `slot`, with `job`
    as body when known, e.g. from a spec that names the file)."""

    kind: Literal["spec", "media"]
    path: Path
    slot: str | None = None
    job: Mapping[str, Any] | None = None
    spec: JobSpec | None = None
    #: How reports name the target: as typed, or its folder as typed joined with the rest.
    shown: str = ""
    #: Loose files named together, checked as one quick job: (slot, path as shown) each.
    group: tuple[tuple[str, Path], ...] = ()

    @property
    def label(self) -> str:
        """How reports name the target."""
        return self.shown or str(self.path)


def looks_like_spec(path: Path) -> bool:
    """A ``.toml``/``.json`` file whose top level has a ``job`` table (cheap: no validation)."""
    if path.suffix.lower() not in SPEC_SUFFIXES:
        return False
    try:
        text = read_text(path, MAX_SPEC_BYTES)
        data = json.loads(text) if path.suffix.lower() == ".json" else toml.loads(text)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("job"), dict)


def _ignore_spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


class _Ignores:
    """``.gitignore`` files met while walking, plus ``--exclude`` patterns for a root.

    A rule of a ``.gitignore`` above the root that matches the root itself (or a folder between
    it and that ``.gitignore``) is overridden: the folder was named, so it is searched. Rules
    about the files inside it still apply."""

    def __init__(self, root: Path, exclude: Sequence[str], gitignore: bool):
        self.root = root
        self.exclude = _ignore_spec(exclude) if exclude else None
        self.gitignore = gitignore
        self.levels: dict[Path, pathspec.GitIgnoreSpec] = {}
        #: Per level above the root: indexes of the patterns that match the root's own path.
        self.overridden: dict[Path, frozenset[int]] = {}

    def enter(self, folder: Path) -> None:
        if not self.gitignore:
            return
        f = folder / ".gitignore"
        try:
            lines = read_capped(f).decode("utf-8", "replace").splitlines()
        except OSError:
            return
        spec = _ignore_spec(lines)
        self.levels[folder] = spec
        if folder in self.root.parents:
            rel = self.root.relative_to(folder).parts
            hits = (spec.check_file("/".join(rel[:i]) + "/") for i in range(1, len(rel) + 1))
            self.overridden[folder] = frozenset(
                r.index for r in hits if r.include and r.index is not None)

    def ignored(self, path: Path, is_dir: bool) -> bool:
        return self.why(path, is_dir) is not None

    def why(self, path: Path, is_dir: bool) -> str | None:
        """``exclude`` or ``gitignore`` when `path` is left out, else None."""
        suffix = "/" if is_dir else ""
        if self.exclude is not None:
            rel = path.relative_to(self.root).as_posix() + suffix
            if self.exclude.match_file(rel):
                return "exclude"
        for folder, spec in self.levels.items():
            if folder == path or folder not in path.parents:
                continue
            result = spec.check_file(path.relative_to(folder).as_posix() + suffix)
            if result.include and result.index not in self.overridden.get(folder, ()):
                return "gitignore"
        return None


def is_hidden(name: str) -> bool:
    """A dot-name (``.cache``, ``._take.mp4`` from macOS): skipped when walking a folder."""
    return name.startswith(".")


def is_candidate(path: Path) -> bool:
    """A file a folder check looks at: media or a ``.toml``/``.json`` spec candidate."""
    return path.suffix.lower() in KNOWN_SUFFIXES


#: Entries looked at, at most, to count the candidate files inside one git-ignored folder.
MAX_COUNT_ENTRIES = 20_000


def _count_inside(folder: Path) -> int:
    """Candidate files under a (git-ignored) folder, for the skipped count (bounded)."""
    n, seen, stack = 0, 0, [folder]
    while stack and seen < MAX_COUNT_ENTRIES:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not is_hidden(entry.name) and entry.name not in SKIP_DIRS:
                        stack.append(Path(entry.path))
                elif not is_hidden(entry.name) and is_candidate(Path(entry.name)):
                    n += 1
            except OSError:
                continue
    return n


@dataclass
class Skipped:
    """What a folder walk left out because git ignores it: the paths (files, and folders not
    entered) and how many candidate files they hold."""

    paths: list[Path] = field(default_factory=list)
    files: int = 0

    def add(self, path: Path, is_dir: bool) -> None:
        """Note one ignored file or folder."""
        self.paths.append(path)
        self.files += _count_inside(path) if is_dir else 1


def walk(root: Path, exclude: Sequence[str] = (), gitignore: bool = True,
         skipped: Skipped | None = None) -> Iterator[Path]:
    """Candidate files (media and ``.toml``/``.json``) under `root`, sorted, ignores applied.

    Hidden folders and files below `root` (dot-names, like ruff and git tools skip) are not
    entered or listed, in a repository or not; `root` itself is walked even when hidden, and
    a hidden file named on the command line is checked (`discover`). Git-ignored files and
    folders are noted in `skipped`."""
    ignores = _Ignores(root, exclude, gitignore)
    # Honour .gitignore files above the root up to the repository top (where .git is).
    if gitignore:
        for parent in root.parents:
            ignores.enter(parent)
            if (parent / ".git").exists():
                break
    stack = [root]
    while stack:
        folder = stack.pop()
        ignores.enter(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subdirs: list[Path] = []
        for entry in entries:
            p = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_hidden(entry.name):
                continue
            if is_dir:
                if entry.name in SKIP_DIRS:
                    continue
                why = ignores.why(p, True)
                if why is None:
                    subdirs.append(p)
                elif why == "gitignore" and skipped is not None:
                    skipped.add(p, True)
                continue
            if not is_candidate(p):
                continue
            why = ignores.why(p, False)
            if why is None:
                yield p
            elif why == "gitignore" and skipped is not None:
                skipped.add(p, False)
        stack.extend(reversed(subdirs))


@dataclass(frozen=True)
class Found:
    """What a set of targets holds: the work, in input order, and what git ignores skipped."""

    targets: list[Target]
    skipped: Skipped = field(default_factory=Skipped)


def find(paths: Iterable[str | Path], *, exclude: Sequence[str] = (), gitignore: bool = True,
         slot: str | None = None, job: Mapping[str, Any] | None = None) -> Found:
    """Targets for the given files and folders, in input order (folders walked sorted), and
    the git-ignored files the walks skipped.

    Specs found are loaded so that the media they name are checked with them, not again alone.
    A path named here is checked even when git ignores it; `gitignore=False` also searches
    the ignored files inside folders.

    :raises TargetNotFound: a path is neither a file nor a folder.
    :raises ConfigError: a named file has an unknown extension.
    """
    from preflight.spec.loader import shown_path

    found: list[tuple[Path, bool, str]] = []  # (path, named explicitly, as shown)
    seen: set[Path] = set()
    skipped = Skipped()
    for raw in paths:
        p = Path(raw).absolute()
        typed = shown_path(raw)
        if is_folder(p):
            for f in walk(p, exclude, gitignore, skipped):
                if f not in seen:
                    seen.add(f)
                    shown = os.path.normpath(os.path.join(typed, f.relative_to(p)))
                    found.append((f, False, shown))
        elif p.exists() or p.is_symlink() or p.suffix.lower() in MEDIA_EXTENSIONS:
            # A missing media file named outright is checked (and reported as missing).
            if p not in seen:
                seen.add(p)
                found.append((p, True, typed))
        else:
            raise TargetNotFound(typed)
    targets: list[Target] = []
    named: set[tuple[int, int] | str] = set()  # one file however it is named or cased
    for p, explicit, shown in found:
        if p.suffix.lower() in SPEC_SUFFIXES:
            if explicit or looks_like_spec(p):
                spec = _try_load(Path(shown))  # a broken one is reported when checked
                targets.append(Target("spec", p, spec=spec, shown=shown))
                if spec is not None:
                    named.update(file_key(f) for _, f in spec.files())
            continue
        # A file named outright may be an ID card side by its name (id_front.jpg).
        s = slot or (guess_slot_from_name(p.name) if explicit else guess_slot(p.suffix))
        if s is None:
            raise ConfigError(f"{shown}: cannot tell which upload this file is from its "
                              f"extension {p.suffix or '(none)'!r}; pass --slot "
                              f"({', '.join(SLOTS)})", path=shown)
        targets.append(Target("media", p, slot=s, job=job, shown=shown))
    kept = [t for t in targets if t.kind == "spec" or file_key(t.path) not in named]
    return Found(kept, skipped)


def grouped(targets: Sequence[Target]) -> Target:
    """Loose media files named together as one quick-mode target: the rules that look at
    several files (the identity of the ID card and the presenter) see them all, and a body
    finding is said once."""
    first = targets[0]
    return Target("media", first.path, slot=first.slot, job=first.job, shown=first.label,
                  group=tuple((t.slot or "training_video", Path(t.label)) for t in targets))


def discover(paths: Iterable[str | Path], *, exclude: Sequence[str] = (), gitignore: bool = True,
             slot: str | None = None, job: Mapping[str, Any] | None = None) -> list[Target]:
    """The targets of `find` (without what git ignores skipped)."""
    return find(paths, exclude=exclude, gitignore=gitignore, slot=slot, job=job).targets


def _try_load(path: Path) -> JobSpec | None:
    from preflight.spec import load_spec

    try:
        return load_spec(path)
    except PreflightError:
        return None  # reported when the target is checked


# ---- checking --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """The result for one target: a report, or the error that stopped it (a broken spec; its
    report then holds what could still be judged, the body's findings)."""

    target: Target
    report: Report | None = None
    error: PreflightError | None = None
    pairs: tuple[tuple[str, Path], ...] = ()
    #: What the HTML report shows of the target (a `preflight.report.html.JobView`), when asked.
    view: Any = None


def problem_lines(outcome: Outcome, where: str) -> list[str]:
    """What stopped a target, as ``WHERE[:line:col]: error: ...`` lines: each problem of a
    broken spec once, at its line and column; another error without its path repeated. Control
    characters in names are shown as escapes, so no name forges a line or drives a terminal."""
    from preflight.report.text import visible

    err = outcome.error
    if isinstance(err, SpecError):
        return [visible(f"{where}{p.where}: error: {p.message}") for p in err.problems]
    text = str(err)
    for prefix in (f"{outcome.target.path}: ", f"{outcome.target.label}: "):
        text = text.removeprefix(prefix)
    return [visible(f"{where}: error: {text}")]


class Checker:
    """Checks one target at a time with shared configuration, engines and cache. Thread-safe."""

    def __init__(self, config: Config, *, edition: str | None = None,
                 cache: ResultCache | None = None, jobs: int = 1):
        self.config = config
        self.edition = edition
        self.cache = cache
        #: Files of one spec checked at once.
        self.jobs = jobs
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def engine(self, edition: str) -> Engine:
        """The engine for an edition (built once)."""
        from preflight.rules.engine import Engine

        with self._lock:
            if edition not in self._engines:
                self._engines[edition] = Engine(edition, self.config, self.cache, self.jobs)
            return self._engines[edition]

    def __call__(self, target: Target) -> Outcome:
        from preflight.metastudio import edition_of
        from preflight.spec import JobSpec, load_spec

        try:
            if target.kind == "spec":
                spec = target.spec or load_spec(target.label)
                ed = self.edition or self.config.edition or edition_of(spec.job)
                report = self.engine(ed).run(spec, whole_spec=True)
                return Outcome(target, report, pairs=tuple(spec.files()))
            body = {**QUICK_JOB_DEFAULTS, **(target.job or {})}
            quick = JobSpec(job=MappingProxyType(body))
            ed = self.edition or self.config.edition or edition_of(body)
            slot = target.slot or guess_slot(target.path.suffix) or "training_video"
            files = target.group or ((slot, Path(target.label)),)
            report = self.engine(ed).run(quick, whole_spec=False, files=files)
            pairs = tuple((s, Path(os.path.abspath(p))) for s, p in files)
            return Outcome(target, report, pairs=pairs)
        except SpecError as exc:
            return Outcome(target, self._body(exc), error=exc)
        except PreflightError as exc:
            return Outcome(target, error=exc)

    def _body(self, exc: SpecError) -> Report | None:
        """The body findings of a spec whose other parts are broken (so that one pass names
        every problem), or None when the body itself cannot be judged."""
        from preflight.metastudio import edition_of
        from preflight.spec import JobSpec

        spec = exc.partial
        if not isinstance(spec, JobSpec):
            return None
        try:
            ed = self.edition or self.config.edition or edition_of(spec.job)
            return self.engine(ed).run(spec, whole_spec=False, files=())
        except PreflightError:
            return None


def run(targets: Sequence[Target], checker: Callable[[Target], Outcome],
        jobs: int | None = None) -> Iterator[Outcome]:
    """Check every target, `jobs` at a time (see `effective_jobs`), yielding in input order."""
    return parallel_map(checker, targets, effective_jobs(jobs))


# ---- summary and merging ---------------------------------------------------------------------

@cache
def slot_families(slot: str) -> tuple[str, ...]:
    """The families whose rules judge a file in `slot` (e.g. VID, GRN, PKG for the video)."""
    from preflight.rules import registry

    fams = {SLOTS[slot].family} | {r.family for r in registry().values()
                               if r.target == "file" and slot in r.slots}
    order = list(FAMILIES)
    return tuple(sorted(fams, key=lambda f: order.index(f) if f in order else len(order)))


@dataclass
class FamilyCount:
    """One row of the summary table."""

    files: int = 0
    errors: int = 0
    warnings: int = 0
    infos: int = 0


@dataclass
class Summary:
    """Running totals over outcomes: files and findings per family, plus failed targets."""

    targets: int = 0
    specs: int = 0
    failed: int = 0
    families: dict[str, FamilyCount] = field(default_factory=dict)
    _files: set[tuple[str, str]] = field(default_factory=set)

    def _row(self, family: str) -> FamilyCount:
        return self.families.setdefault(family, FamilyCount())

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        self.targets += 1
        self.specs += outcome.target.kind == "spec"
        if outcome.error is not None or outcome.report is None:
            self.failed += 1
        else:
            if outcome.target.kind == "spec":
                self._count_file("REQ", outcome.target.path)
            for slot, path in outcome.pairs:
                for family in slot_families(slot):
                    self._count_file(family, path)
        if outcome.report is None:
            return
        for f in outcome.report.findings:  # a broken spec's body findings count too
            row = self._row(f.family)
            if f.severity is Severity.ERROR:
                row.errors += 1
            elif f.severity is Severity.WARNING:
                row.warnings += 1
            else:
                row.infos += 1

    def _count_file(self, family: str, path: Path) -> None:
        key = (family, os.path.abspath(path))  # one file however it is named
        if key not in self._files:
            self._files.add(key)
            self._row(family).files += 1

    @property
    def files(self) -> int:
        """Distinct files looked at (a file counts once, however many families judge it)."""
        return len({p for _, p in self._files})

    @property
    def errors(self) -> int:
        """Error findings in total."""
        return sum(r.errors for r in self.families.values())

    @property
    def warnings(self) -> int:
        """Warning findings in total."""
        return sum(r.warnings for r in self.families.values())

    def rows(self) -> list[tuple[str, FamilyCount]]:
        """Rows in family order."""
        order = list(FAMILIES)
        return sorted(self.families.items(),
                      key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_table(summary: Summary, cache_hits: int | None = None, skipped: int = 0) -> str:
    """The summary as a small fixed-width table (files, errors, warnings, infos per family).

    A family's row counts the files its rules judged; the total counts each file once.
    """
    lines = [f"{'family':<8}{'files':>7}{'errors':>8}{'warnings':>10}{'infos':>7}"]
    total = FamilyCount()
    for fam, row in summary.rows():
        lines.append(f"{fam:<8}{row.files:>7}{row.errors:>8}{row.warnings:>10}{row.infos:>7}")
        total.errors += row.errors
        total.warnings += row.warnings
        total.infos += row.infos
    lines.append(f"{'total':<8}{summary.files:>7}{total.errors:>8}{total.warnings:>10}{total.infos:>7}")
    loose = summary.targets - summary.specs
    parts = [_count(n, what) for n, what in ((summary.specs, "spec"), (loose, "loose file"))
             if n] or ["nothing"]
    notes = [f"{' and '.join(parts)} checked"]
    if summary.failed:
        notes.append(f"{summary.failed} could not be checked")
    if cache_hits is not None:
        notes.append(f"{cache_hits} file{'' if cache_hits == 1 else 's'} from cache")
    if skipped:
        notes.append(f"{_count(skipped, 'git-ignored file')} skipped")
    lines.append("(" + ", ".join(notes) + ")")
    return "\n".join(lines) + "\n"


def merge(outcomes: Iterable[Outcome], edition: str | None = None) -> Report:
    """One report for many outcomes: every finding in order, every file checked.

    :raises PreflightError: the first outcome that failed (e.g. a broken spec).
    """
    findings: list[Finding] = []
    files: dict[str, None] = {}
    editions: set[str] = set()
    bodies: set[tuple[str, str, str | None]] = set()  # quick-mode body findings, said once
    for o in outcomes:
        if o.error is not None:
            raise o.error
        if o.report is None:
            continue
        editions.add(o.report.edition)
        for f in o.report.findings:
            if f.path is None:
                key = (f.code, f.message, f.fix)
                if key in bodies:
                    continue
                bodies.add(key)
            findings.append(f)
        if o.target.kind == "spec":
            files[o.report.spec_path or o.target.label] = None
        files.update(dict.fromkeys(o.report.files))
    ed = edition or (editions.pop() if len(editions) == 1 else "mixed" if editions else "standard")
    return Report.build(ed, findings, files=files)


__all__ = [
    "SERIAL_ENV", "Checker", "FamilyCount", "Found", "Outcome", "Skipped", "Summary", "Target",
    "discover", "effective_jobs", "find", "grouped", "is_folder", "looks_like_spec", "merge",
    "parallel_map", "problem_lines", "run", "summary_table", "walk",
]
