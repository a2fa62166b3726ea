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
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from preflight.errors import ConfigError, PreflightError
from preflight.metastudio import MEDIA_EXTENSIONS, SLOTS, SPEC_SUFFIXES, guess_slot
from preflight.model import FAMILIES, Finding, Report, Severity
from preflight.safeio import file_key, read_capped, read_text

if TYPE_CHECKING:
    from concurrent.futures import Future

    import pathspec

    from preflight.rules.cache import ResultCache
    from preflight.rules.config import Config
    from preflight.rules.engine import Engine
    from preflight.spec import JobSpec

T = TypeVar("T")
R = TypeVar("R")

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


def parallel_map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """``map(fn, items)`` on `jobs` threads, yielding results in input order.

    At most ``2 * jobs`` results are in flight or waiting, so a slow first item holds back
    memory, not work. With ``jobs == 1`` it runs in the calling thread. An exception raised by
    `fn` is re-raised here, in order.
    """
    if jobs <= 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    window: deque[Future[R]] = deque()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="preflight") as pool:
        try:
            for item in items:
                window.append(pool.submit(fn, item))
                if len(window) >= 2 * jobs:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for fut in window:
                fut.cancel()


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
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("job"), dict)


def _ignore_spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


class _Ignores:
    """``.gitignore`` files met while walking, plus ``--exclude`` patterns for a root."""

    def __init__(self, root: Path, exclude: Sequence[str], gitignore: bool):
        self.root = root
        self.exclude = _ignore_spec(exclude) if exclude else None
        self.gitignore = gitignore
        self.levels: dict[Path, pathspec.GitIgnoreSpec] = {}

    def enter(self, folder: Path) -> None:
        if not self.gitignore:
            return
        f = folder / ".gitignore"
        try:
            lines = read_capped(f).decode("utf-8", "replace").splitlines()
        except OSError:
            return
        self.levels[folder] = _ignore_spec(lines)

    def ignored(self, path: Path, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        if self.exclude is not None:
            rel = path.relative_to(self.root).as_posix() + suffix
            if self.exclude.match_file(rel):
                return True
        for folder, spec in self.levels.items():
            if folder == path or folder not in path.parents:
                continue
            if spec.match_file(path.relative_to(folder).as_posix() + suffix):
                return True
        return False


def is_hidden(name: str) -> bool:
    """A dot-name (``.cache``, ``._take.mp4`` from macOS): skipped when walking a folder."""
    return name.startswith(".")


def walk(root: Path, exclude: Sequence[str] = (), gitignore: bool = True) -> Iterator[Path]:
    """Candidate files (media and ``.toml``/``.json``) under `root`, sorted, ignores applied.

    Hidden folders and files below `root` (dot-names, like ruff and git tools skip) are not
    entered or listed, in a repository or not; `root` itself is walked even when hidden, and
    a hidden file named on the command line is checked (`discover`)."""
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
                if entry.name not in SKIP_DIRS and not ignores.ignored(p, True):
                    subdirs.append(p)
                continue
            suffix = p.suffix.lower()
            if suffix not in MEDIA_EXTENSIONS and suffix not in SPEC_SUFFIXES:
                continue
            if not ignores.ignored(p, False):
                yield p
        stack.extend(reversed(subdirs))


def discover(paths: Iterable[str | Path], *, exclude: Sequence[str] = (), gitignore: bool = True,
             slot: str | None = None, job: Mapping[str, Any] | None = None) -> list[Target]:
    """Targets for the given files and folders, in input order (folders walked sorted).

    Specs found are loaded so that the media they name are checked with them, not again alone.

    :raises ConfigError: a path does not exist, or a named file has an unknown extension.
    :raises SpecError: a named spec file (not one found in a folder) cannot be read.
    """
    from preflight.spec import load_spec
    from preflight.spec.loader import shown_path

    found: list[tuple[Path, bool, str]] = []  # (path, named explicitly, as shown)
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw).absolute()
        typed = shown_path(raw)
        if is_folder(p):
            for f in walk(p, exclude, gitignore):
                if f not in seen:
                    seen.add(f)
                    shown = os.path.normpath(os.path.join(typed, f.relative_to(p)))
                    found.append((f, False, shown))
        elif p.exists() or p.is_symlink() or p.suffix.lower() in KNOWN_SUFFIXES:
            if p not in seen:
                seen.add(p)
                found.append((p, True, typed))
        else:
            raise ConfigError(f"{typed}: no such file or folder")
    targets: list[Target] = []
    named: set[tuple[int, int] | str] = set()  # one file however it is named or cased
    for p, explicit, shown in found:
        if p.suffix.lower() in SPEC_SUFFIXES:
            if explicit or looks_like_spec(p):
                spec = load_spec(shown) if explicit else _try_load(Path(shown))
                targets.append(Target("spec", p, spec=spec, shown=shown))
                if spec is not None:
                    named.update(file_key(f) for _, f in spec.files())
            continue
        s = slot or guess_slot(p.suffix)
        if s is None:
            raise ConfigError(f"{shown}: cannot tell which upload this file is from its "
                              f"extension {p.suffix or '(none)'!r}; pass --slot "
                              f"({', '.join(SLOTS)})")
        targets.append(Target("media", p, slot=s, job=job, shown=shown))
    return [t for t in targets if t.kind == "spec" or file_key(t.path) not in named]


def _try_load(path: Path) -> JobSpec | None:
    from preflight.spec import load_spec

    try:
        return load_spec(path)
    except PreflightError:
        return None  # reported when the target is checked


# ---- checking --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """The result for one target: a report, or the error that stopped it (a broken spec)."""

    target: Target
    report: Report | None = None
    error: PreflightError | None = None
    pairs: tuple[tuple[str, Path], ...] = ()


class Checker:
    """Checks one target at a time with shared configuration, engines and cache. Thread-safe."""

    def __init__(self, config: Config, *, edition: str | None = None,
                 cache: ResultCache | None = None):
        self.config = config
        self.edition = edition
        self.cache = cache
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def engine(self, edition: str) -> Engine:
        """The engine for an edition (built once)."""
        from preflight.rules.engine import Engine

        with self._lock:
            if edition not in self._engines:
                self._engines[edition] = Engine(edition, self.config, self.cache)
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
            report = self.engine(ed).run(quick, whole_spec=False,
                                         files=((slot, Path(target.label)),))
            return Outcome(target, report, pairs=((slot, target.path),))
        except PreflightError as exc:
            return Outcome(target, error=exc)


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
            return
        if outcome.target.kind == "spec":
            self._count_file("REQ", outcome.target.path)
        for slot, path in outcome.pairs:
            for family in slot_families(slot):
                self._count_file(family, path)
        for f in outcome.report.findings:
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


def summary_table(summary: Summary, cache_hits: int | None = None) -> str:
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
    lines.append("(" + ", ".join(notes) + ")")
    return "\n".join(lines) + "\n"


def merge(outcomes: Iterable[Outcome], edition: str | None = None) -> Report:
    """One report for many outcomes: every finding in order, every file checked.

    :raises PreflightError: the first outcome that failed (e.g. a broken spec).
    """
    findings: list[Finding] = []
    files: dict[str, None] = {}
    editions: set[str] = set()
    for o in outcomes:
        if o.error is not None:
            raise o.error
        if o.report is None:
            continue
        editions.add(o.report.edition)
        findings.extend(o.report.findings)
        if o.target.kind == "spec":
            files[o.report.spec_path or o.target.label] = None
        files.update(dict.fromkeys(o.report.files))
    ed = edition or (editions.pop() if len(editions) == 1 else "mixed" if editions else "standard")
    return Report.build(ed, findings, files=files)


__all__ = [
    "SERIAL_ENV", "Checker", "FamilyCount", "Outcome", "Summary", "Target",
    "discover", "effective_jobs", "is_folder", "looks_like_spec", "merge", "parallel_map", "run",
    "summary_table", "walk",
]
