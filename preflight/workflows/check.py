"""The check workflow: `check` a spec, loose files in quick mode, or whole folders."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from preflight.errors import ConfigError, SpecError
from preflight.metastudio import SLOTS, edition_of, guess_slot_from_name, is_spec_path
from preflight.model import Report
from preflight.rules.cache import ResultCache
from preflight.rules.config import Config, config_for
from preflight.rules.engine import Engine
from preflight.safeio import MAX_TEXT_BYTES
from preflight.spec import JobSpec, load_spec
from preflight.spec.loader import check_depth, shown_path
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


def quick_files(paths: Iterable[str | Path], slot: str | None) -> list[tuple[str, Path]]:
    """(slot, path) pairs for loose files: the given slot, or one guessed from the extension."""
    if slot is not None and slot not in SLOTS:
        raise ConfigError(f"unknown slot {slot!r}; expected one of {', '.join(SLOTS)}")
    out = []
    for p in paths:
        path = Path(shown_path(p))  # as typed: reports name it so
        s = slot or guess_slot_from_name(path.name)
        if s is None:
            raise ConfigError(
                f"{path}: cannot tell which upload this file is from its extension "
                f"{path.suffix or '(none)'!r}; pass --slot ({', '.join(SLOTS)})"
            )
        out.append((s, path))
    return out


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
    contact_sheet: str | Path | None = None,
) -> Report:
    """Check a whole job spec, loose media files in quick mode, or whole folders.

    A `JobSpec` or a `.toml`/`.json` path is checked whole: the body, every file it names, and the
    rules that need the whole job (ID documents, audio for AUDIO source...). Any other path(s)
    are checked as `slot` (guessed from the extension when None) against `job` (a body;
    defaults to a minimal one) without those whole-job rules.

    When a path is a folder, every spec found in it is checked whole and every media file no
    spec names is checked alone, `jobs` at a time (default: CPU count), skipping
    ``.gitignore``-d files and `exclude` patterns; the findings come back as one report.

    `cache` (a `ResultCache` or its folder) reuses the findings of files unchanged since an
    earlier check; None checks everything afresh.

    `contact_sheet` (a PNG path) also writes the sampled frames of the video with the green
    mask overlaid (see `preflight.workflows.contact_sheet`).

    :raises SpecError: unreadable or structurally invalid spec.
    :raises ConfigError: invalid configuration, edition or slot.
    """
    if contact_sheet is not None:
        from preflight.workflows.contact_sheet import checked_with_sheet

        # The sheet needs the sampled frames: never served from the cache.
        if not isinstance(spec_or_paths, JobSpec | str | Path):
            spec_or_paths = list(spec_or_paths)
        cfg = config_for(config, _near(spec_or_paths))
        return checked_with_sheet(
            lambda: check(spec_or_paths, edition=edition, config=cfg, slot=slot, job=job,
                          cache=None, jobs=jobs, exclude=exclude),
            Path(contact_sheet), cfg,
        )
    rc = _cache(cache)
    if isinstance(spec_or_paths, JobSpec):
        return _check_spec(spec_or_paths, edition, config, rc)
    items = [spec_or_paths] if isinstance(spec_or_paths, str | Path) else list(spec_or_paths)
    if not items:
        raise ConfigError("nothing to check: give a spec file, media files or folders")
    kind = classify(items)
    if kind in ("batch", "mixed"):
        cfg = config_for(config, Path(items[0]).absolute())
        targets = batch.discover(items, exclude=tuple(exclude), slot=slot, job=job)
        checker = batch.Checker(cfg, edition=edition, cache=rc)
        return batch.merge(batch.run(targets, checker, jobs), edition)
    if len(items) == 1 and is_spec_path(items[0]):
        return _check_spec(load_spec(items[0]), edition, config, rc)
    files = quick_files(items, slot)
    body = {**QUICK_JOB_DEFAULTS, **(job or {})}
    spec = JobSpec(job=MappingProxyType(body))
    cfg = config_for(config, files[0][1].absolute().parent)
    ed = edition or cfg.edition or edition_of(body)
    return Engine(ed, cfg, rc).run(spec, whole_spec=False, files=files)


@dataclass(frozen=True)
class Viewed:
    """A check with what the HTML report shows: the merged report, one view per job, and the
    batch outcomes (failed targets included) for the summary."""

    report: Report
    jobs: tuple[JobView, ...]
    outcomes: tuple[batch.Outcome, ...] = ()


def check_views(
    targets: Iterable[str | Path],
    *,
    edition: str | None = None,
    config: Config | str | Path | None = None,
    slot: str | None = None,
    job: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    exclude: Iterable[str] = (),
) -> Viewed:
    """Check like `check` (never from the cache: the pictures need the sampled frames) and
    gather, per job, the body and the pictures of each file (frames with the green mask and
    face boxes, image thumbnails) for `preflight.report.html.render_jobs`.

    :raises SpecError: unreadable or structurally invalid spec (not one found in a folder).
    :raises ConfigError: invalid configuration, edition or slot.
    """
    from preflight.workflows.contact_sheet import gathering, job_view

    items = list(targets)
    if not items:
        raise ConfigError("nothing to check: give a spec file, media files or folders")
    kind = classify(items)
    cfg = config_for(config, _near(items))
    if kind in ("batch", "mixed"):
        found = batch.discover(items, exclude=tuple(exclude), slot=slot, job=job)
        checker = batch.Checker(cfg, edition=edition, cache=None)

        def one(target: batch.Target) -> tuple[batch.Outcome, JobView]:
            with gathering() as (seen, faces):
                outcome = checker(target)
            return outcome, _target_view(target, outcome, seen, faces, cfg)

        done = list(batch.parallel_map(one, found, batch.effective_jobs(jobs)))
        outcomes = tuple(o for o, _ in done)
        report = batch.merge([o for o in outcomes if o.error is None], edition)
        return Viewed(report, tuple(v for _, v in done), outcomes)
    with gathering() as (seen, faces):
        if is_spec_path(items[0]):
            spec = load_spec(items[0])
            report = _check_spec(spec, edition, cfg, None)
            body, pairs = spec.job, spec.files()
        else:
            pairs = quick_files(items, slot)
            body = {**QUICK_JOB_DEFAULTS, **(job or {})}
            report = check(items, edition=edition, config=cfg, slot=slot, job=job)
    return Viewed(report, (job_view(report, body, pairs, seen, faces, cfg),))


def _target_view(target: batch.Target, outcome: batch.Outcome, seen: Any, faces: Any,
                 config: Config) -> JobView:
    """The view of one batch target (a spec, or one loose file)."""
    from preflight.report.html import JobView
    from preflight.workflows.contact_sheet import job_view

    if outcome.report is None:
        empty = Report.build(edition_of(target.job or {}), [], spec_path=target.label)
        return JobView(empty, title=target.label, error=str(outcome.error or "not checked"))
    if target.kind == "spec":
        spec = target.spec or load_spec(target.path)
        body: Mapping[str, Any] = spec.job
    else:
        body = {**QUICK_JOB_DEFAULTS, **(target.job or {})}
    view = job_view(outcome.report, body, outcome.pairs, seen, faces, config)
    return view if target.kind == "spec" else replace(view, title=target.label)


def _near(target: JobSpec | str | Path | Iterable[str | Path]) -> Path:
    """Where the configuration of a check is looked for: next to the spec or first path."""
    if isinstance(target, JobSpec):
        return target.base_dir
    first = target if isinstance(target, str | Path) else next(iter(target), ".")
    return Path(first).absolute().parent


def _check_spec(spec: JobSpec, edition: str | None, config: Config | str | Path | None,
                cache: ResultCache | None) -> Report:
    """A whole spec: body, every file it names and the whole-job rules."""
    cfg = config_for(config, spec.base_dir)
    ed = edition or cfg.edition or edition_of(spec.job)
    return Engine(ed, cfg, cache).run(spec, whole_spec=True)


def _cache(cache: ResultCache | str | Path | None) -> ResultCache | None:
    if cache is None or isinstance(cache, ResultCache):
        return cache
    return ResultCache(cache)
