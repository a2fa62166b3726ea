"""The check workflow: `check` a spec, loose files in quick mode, or whole folders."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from preflight.errors import ConfigError, SpecError
from preflight.metastudio import SLOTS, edition_of, is_spec_path
from preflight.model import Report
from preflight.rules.cache import ResultCache
from preflight.rules.config import Config, config_for, ignores_req
from preflight.safeio import MAX_TEXT_BYTES
from preflight.spec import JobSpec, load_spec
from preflight.spec.loader import check_depth, outside_warnings, shown_path
from preflight.workflows import batch
from preflight.workflows.batch import QUICK_JOB_DEFAULTS

if TYPE_CHECKING:
    from preflight.report.html import JobView


def classify(targets: Iterable[str | Path]) -> Literal["spec", "files", "batch", "mixed"]:
    """How `check` treats its targets: one spec checked whole, loose media files in quick
    mode, a batch (folders, or several specs), or a mix of specs and files (refused)."""
    items = list(targets)
    specs = [t for t in items if is_spec_path(t)]
    if any(batch.is_folder(t) for t in items) or len(specs) > 1:
        return "batch"
    if specs and len(specs) < len(items):
        return "mixed"
    return "spec" if specs else "files"


def parse_job_json(text: str) -> dict[str, Any]:
    """Parse a `--job-json` value into a body mapping.

    :raises SpecError: not JSON or not an object.
    """
    if len(text) > MAX_TEXT_BYTES:
        raise SpecError(f"--job-json is {len(text):,} characters long (over {MAX_TEXT_BYTES:,})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"--job-json is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise SpecError("--job-json is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise SpecError(f"--job-json is not usable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError("--job-json must be a JSON object, e.g. '{\"is_flexus\": true}'")
    check_depth(data, where="--job-json")
    return data


#: Git-ignored paths named in the note after a folder walk (the rest are counted).
SKIPPED_SHOWN = 5


@dataclass(frozen=True)
class CheckRun:
    """One check of some targets, ready to run: what was found (and what git ignores
    skipped), with the configuration and the checker every target goes through.

    Iterating runs the check and yields one `batch.Outcome` per target (a spec, or one media
    file) as it completes, in input order; `report` merges outcomes into one `Report`.
    Every output (text, JSON, SARIF, JUnit, GitHub, HTML), the library's `check` and the
    git hook read the outcomes of this one path.
    """

    kind: Literal["spec", "files", "batch", "mixed"]
    config: Config
    found: batch.Found
    checker: Callable[[batch.Target], batch.Outcome]
    jobs: int
    edition: str | None = None
    cache: ResultCache | None = None

    @property
    def targets(self) -> list[batch.Target]:
        """The work, in input order."""
        return self.found.targets

    @property
    def skipped(self) -> batch.Skipped:
        """What git ignores left out of the folder walks."""
        return self.found.skipped

    def __iter__(self) -> Iterator[batch.Outcome]:
        targets = self.found.targets
        # One target runs in the calling thread (what it samples is gathered there).
        return batch.parallel_map(self.checker, targets, min(self.jobs, max(len(targets), 1)))

    def notes(self, here: str) -> list[str]:
        """What to tell before the findings: the git-ignored files skipped (paths relative
        to `here`), each spec path outside its spec's folder, and that an ignored REQ error
        still stops `package` and `submit`."""
        out = []
        skipped = self.skipped
        if skipped.files:
            names = [os.path.relpath(p, here) if p.is_relative_to(here) else str(p)
                     for p in skipped.paths[:SKIPPED_SHOWN]]
            more = len(skipped.paths) - len(names)
            listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
            n = skipped.files
            out.append(f"skipped {n} git-ignored file{'' if n == 1 else 's'} ({listed}); "
                       "--no-respect-gitignore checks them")
        specs = [t.spec for t in self.targets if t.spec is not None]
        for spec in specs:
            out.extend(outside_warnings(spec, spec.label))
        if self.config.ignores_req() or any(ignores_req(s.ignore) for s in specs):
            out.append("note: ignored REQ errors still stop `preflight package` and "
                       "`preflight submit` (the service would refuse the body)")
        return out

    def report(self, outcomes: Iterable[batch.Outcome] | None = None) -> Report:
        """One report of the outcomes (run now when None): a single spec's own report, else
        every finding in order.

        :raises PreflightError: the first target that could not be checked.
        """
        done = list(self if outcomes is None else outcomes)
        if self.kind == "spec" and len(done) == 1:
            first = done[0]
            if first.error is not None:
                raise first.error
            assert first.report is not None
            return first.report
        return batch.merge(done, self.edition)


@dataclass(frozen=True)
class CheckOptions:
    """What a check is asked besides its targets (the parameters of `check`); `views` also
    gathers what the HTML report shows of each target (never from the cache: the pictures
    need the sampled frames)."""

    edition: str | None = None
    config: Config | str | Path | None = None
    slot: str | None = None
    job: Mapping[str, Any] | None = None
    cache: ResultCache | str | Path | None = None
    jobs: int | None = None
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    views: bool = False


def start(targets: JobSpec | str | Path | Iterable[str | Path],
          options: CheckOptions = CheckOptions(), *,
          found: batch.Found | None = None) -> CheckRun:
    """Find what the targets hold and prepare their check (see `CheckRun`); `found` skips the
    search (the git hook plans its own targets).

    :raises TargetNotFound: a target is neither a file nor a folder.
    :raises ConfigError: nothing to check, or an invalid configuration, edition or slot.
    """
    slot, job, views = options.slot, options.job, options.views
    if slot is not None and slot not in SLOTS:
        raise ConfigError(f"unknown slot {slot!r}; expected one of {', '.join(SLOTS)}")
    items: list[JobSpec | str | Path] = (
        [targets] if isinstance(targets, JobSpec | str | Path) else list(targets))
    if not items and found is None:
        raise ConfigError("nothing to check: give a spec file, media files or folders")
    paths = [t for t in items if not isinstance(t, JobSpec)]
    kind = "spec" if len(items) == 1 and isinstance(items[0], JobSpec) else classify(paths)
    if found is not None:
        kind = "batch"
    cfg = config_for(options.config, _near(items[0] if items else "."))
    if found is None:
        if paths:
            found = batch.find(paths, exclude=(*cfg.exclude, *options.exclude),
                               gitignore=options.respect_gitignore and cfg.respect_gitignore,
                               slot=slot, job=job)
        else:
            found = batch.Found([_spec_target(s) for s in items if isinstance(s, JobSpec)])
        if not found.targets:
            raise ConfigError(nothing_found(paths, found.skipped))
        if kind == "files" and len(found.targets) > 1:
            found = batch.Found([batch.grouped(found.targets)], found.skipped)
    rc = None if views else _cache(options.cache)
    edition = options.edition
    jobs = batch.effective_jobs(options.jobs)
    checker: Callable[[batch.Target], batch.Outcome] = batch.Checker(cfg, edition=edition,
                                                                     cache=rc, jobs=jobs)
    if views:
        checker = _Viewer(checker, cfg, retitle=kind == "batch")
    return CheckRun(kind, cfg, found, checker, jobs, edition, rc)


def binding_config(config: Config | str | Path | None, near: Path) -> Config:
    """The configuration to check a body about to be packaged or sent with: as found, except
    that no selection or ignore (in the configuration or the spec) hides a REQ error."""
    return config_for(config, near).binding_body()


def nothing_found(paths: Iterable[str | Path], skipped: batch.Skipped) -> str:
    """Why a check of these targets has nothing to do (and what git ignores skipped)."""
    named = ", ".join(shown_path(p) for p in paths) or "the targets"
    text = f"{named}: nothing to check: no job specs or media files found"
    if skipped.files:
        text += (f" ({skipped.files} git-ignored file{'' if skipped.files == 1 else 's'} "
                 "skipped; --no-respect-gitignore checks them)")
    return text


def _spec_target(spec: JobSpec) -> batch.Target:
    return batch.Target("spec", spec.path or Path.cwd(), spec=spec, shown=spec.label or "")


class _Viewer:
    """A checker that also gathers, per target, what the HTML report shows."""

    def __init__(self, checker: Callable[[batch.Target], batch.Outcome], config: Config,
                 retitle: bool):
        self.checker, self.config, self.retitle = checker, config, retitle

    def __call__(self, target: batch.Target) -> batch.Outcome:
        from preflight.workflows.contact_sheet import gathering

        with gathering() as (seen, faces):
            outcome = self.checker(target)
        view = _target_view(target, outcome, seen, faces, self.config, self.retitle)
        return replace(outcome, view=view)


def check(
    spec_or_paths: JobSpec | str | Path | Iterable[str | Path],
    *,
    edition: str | None = None,
    config: Config | str | Path | None = None,
    slot: str | None = None,
    job: Mapping[str, Any] | None = None,
    cache: ResultCache | str | Path | None = None,
    jobs: int | None = None,
    exclude: Iterable[str] = (),
    respect_gitignore: bool = True,
    contact_sheet: str | Path | None = None,
) -> Report:
    """Check a whole job spec, loose media files in quick mode, or whole folders.

    A `JobSpec` or a `.toml`/`.json` path is checked whole: the body, every file it names, and the
    rules that need the whole job (ID documents, audio for AUDIO source...). Any other path(s)
    are checked as `slot` (guessed from the extension when None) against `job` (a body;
    defaults to a minimal one) without those whole-job rules.

    When a path is a folder, every spec found in it is checked whole and every media file no
    spec names is checked alone, `jobs` at a time (default: CPU count), skipping `exclude`
    patterns (and the configuration's) and, unless `respect_gitignore` is false, files git
    ignores inside it; the findings come back as one report. A path named here is checked
    even when git ignores it. The files of one spec are checked `jobs` at a time too.

    `cache` (a `ResultCache` or its folder) reuses the findings of files unchanged since an
    earlier check; None checks everything afresh.

    `contact_sheet` (a PNG path) also writes the sampled frames of the video with the green
    mask overlaid (see `preflight.workflows.contact_sheet`).

    :raises TargetNotFound: a path is neither a file nor a folder.
    :raises SpecError: unreadable or structurally invalid spec.
    :raises ConfigError: nothing to check; invalid configuration, edition or slot.
    """
    if not isinstance(spec_or_paths, JobSpec | str | Path):
        spec_or_paths = list(spec_or_paths)
    sheet = contact_sheet is not None  # the sheet is drawn from frames sampled in this thread
    run = start(spec_or_paths, CheckOptions(
        edition, config, slot, job, None if sheet else cache, 1 if sheet else jobs,
        tuple(exclude), respect_gitignore))
    if contact_sheet is None:
        return run.report()
    from preflight.workflows.contact_sheet import checked_with_sheet

    # The sheet needs the sampled frames: never served from the cache.
    return checked_with_sheet(run.report, Path(contact_sheet), run.config)


@dataclass(frozen=True)
class Viewed:
    """A check with what the HTML report shows: the merged report, one view per job, and the
    batch outcomes (failed targets included) for the summary."""

    report: Report
    jobs: tuple[JobView, ...]
    outcomes: tuple[batch.Outcome, ...] = ()


def viewed(run: CheckRun, outcomes: Iterable[batch.Outcome]) -> Viewed:
    """The HTML report's input from a run with views: one view per target (loose files named
    together are one), a target that could not be checked included."""
    done = tuple(outcomes)
    report = batch.merge([o for o in done if o.error is None], run.edition) \
        if run.kind == "batch" else run.report(done)
    return Viewed(report, tuple(o.view for o in done if o.view is not None), done)


def check_views(
    targets: Iterable[str | Path],
    *,
    edition: str | None = None,
    config: Config | str | Path | None = None,
    slot: str | None = None,
    job: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    exclude: Iterable[str] = (),
    respect_gitignore: bool = True,
) -> Viewed:
    """Check like `check` (never from the cache: the pictures need the sampled frames) and
    gather, per job, the body and the pictures of each file (frames with the green mask and
    face boxes, image thumbnails) for `preflight.report.html.render_jobs`.

    :raises SpecError: unreadable or structurally invalid spec (not one found in a folder).
    :raises ConfigError: invalid configuration, edition or slot.
    """
    run = start(list(targets), CheckOptions(edition, config, slot, job, None, jobs,
                                            tuple(exclude), respect_gitignore, views=True))
    return viewed(run, run)


def _target_view(target: batch.Target, outcome: batch.Outcome, seen: Any, faces: Any,
                 config: Config, retitle: bool = True) -> JobView:
    """The view of one target (a spec, or one loose file)."""
    from preflight.report.html import JobView
    from preflight.workflows.contact_sheet import job_view

    if outcome.error is not None or outcome.report is None:
        empty = Report.build(edition_of(target.job or {}), [], spec_path=target.label)
        return JobView(empty, title=target.label, error=str(outcome.error or "not checked"))
    if target.kind == "spec":
        spec = target.spec or load_spec(target.path)
        body: Mapping[str, Any] = spec.job
    else:
        body = {**QUICK_JOB_DEFAULTS, **(target.job or {})}
    view = job_view(outcome.report, body, outcome.pairs, seen, faces, config)
    return view if target.kind == "spec" or not retitle else replace(view, title=target.label)


def _near(target: JobSpec | str | Path) -> Path:
    """Where the configuration of a check is looked for: next to the spec or file, in the
    folder."""
    if isinstance(target, JobSpec):
        return target.base_dir
    return Path(target).absolute()


def _cache(cache: ResultCache | str | Path | None) -> ResultCache | None:
    if cache is None or isinstance(cache, ResultCache):
        return cache
    return ResultCache(cache)
