"""The library entry points: `check` a spec or loose files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from preflight.cache import ResultCache
from preflight.config import Config, find_config, load_config
from preflight.engine import Engine, infer_edition
from preflight.errors import ConfigError, SpecError
from preflight.model import Report
from preflight.spec import JobSpec, load_spec
from preflight.spec.schema import SLOTS, guess_slot

SPEC_SUFFIXES = (".toml", ".json")
#: The body used for quick checks of loose files, before `job` overrides are applied.
QUICK_JOB_DEFAULTS: Mapping[str, Any] = MappingProxyType({"name": "preflight quick check"})


def is_spec_path(path: str | Path) -> bool:
    """Whether a path names a job spec (TOML/JSON) rather than a media file."""
    return Path(path).suffix.lower() in SPEC_SUFFIXES


def _config(config: Config | str | Path | None, near: Path) -> Config:
    if isinstance(config, Config):
        return config
    if config is not None:
        return load_config(config)
    found = find_config(near)
    return load_config(found) if found else Config()


def parse_job_json(text: str) -> dict[str, Any]:
    """Parse a `--job-json` value into a body mapping.

    :raises SpecError: not JSON or not an object.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"--job-json is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise SpecError("--job-json must be a JSON object, e.g. '{\"is_flexus\": true}'")
    return data


def quick_files(paths: Iterable[str | Path], slot: str | None) -> list[tuple[str, Path]]:
    """(slot, path) pairs for loose files: the given slot, or one guessed from the extension."""
    if slot is not None and slot not in SLOTS:
        raise ConfigError(f"unknown slot {slot!r}; expected one of {', '.join(SLOTS)}")
    out = []
    for p in paths:
        path = Path(p).absolute()
        s = slot or guess_slot(path.suffix)
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
    mask overlaid (see `preflight.contact_sheet`).

    :raises SpecError: unreadable or structurally invalid spec.
    :raises ConfigError: invalid configuration, edition or slot.
    """
    if contact_sheet is not None:
        from preflight.contact_sheet import checked_with_sheet

        # The sheet needs the sampled frames: never served from the cache.
        return checked_with_sheet(
            lambda: check(spec_or_paths, edition=edition, config=config, slot=slot, job=job,
                          cache=None, jobs=jobs, exclude=exclude),
            Path(contact_sheet),
        )
    rc = _cache(cache)
    if isinstance(spec_or_paths, JobSpec):
        return _check_spec(spec_or_paths, edition, config, rc)
    items = [spec_or_paths] if isinstance(spec_or_paths, str | Path) else list(spec_or_paths)
    if not items:
        raise ConfigError("nothing to check: give a spec file, media files or folders")
    from preflight import batch

    if any(batch.is_folder(p) for p in items) or (
        len(items) > 1 and any(is_spec_path(p) for p in items)
    ):
        cfg = _config(config, Path(items[0]).absolute())
        targets = batch.discover(items, exclude=tuple(exclude), slot=slot, job=job)
        checker = batch.Checker(cfg, edition=edition, cache=rc)
        return batch.merge(batch.run(targets, checker, jobs), edition)
    if len(items) == 1 and is_spec_path(items[0]):
        return _check_spec(load_spec(items[0]), edition, config, rc)
    files = quick_files(items, slot)
    body = {**QUICK_JOB_DEFAULTS, **(job or {})}
    spec = JobSpec(job=MappingProxyType(body))
    cfg = _config(config, files[0][1].parent)
    ed = edition or cfg.edition or infer_edition(body)
    return Engine(ed, cfg, rc).run(spec, whole_spec=False, files=files)


def _check_spec(spec: JobSpec, edition: str | None, config: Config | str | Path | None,
                cache: ResultCache | None) -> Report:
    """A whole spec: body, every file it names and the whole-job rules."""
    cfg = _config(config, spec.base_dir)
    ed = edition or cfg.edition or infer_edition(spec.job)
    return Engine(ed, cfg, cache).run(spec, whole_spec=True)


def _cache(cache: ResultCache | str | Path | None) -> ResultCache | None:
    if cache is None or isinstance(cache, ResultCache):
        return cache
    return ResultCache(cache)
