"""The git pre-commit hook: check staged media and job specs before they are committed.

Used through the pre-commit framework (``.pre-commit-hooks.yaml``, hook id ``preflight``) or
installed straight into ``.git/hooks/pre-commit`` by ``preflight hook install``.

A staged spec is checked whole. A staged media file that a staged spec names is checked with
that spec; any other staged media file is checked alone in quick mode, as the slot and with
the job body of a spec in the repository that names it, or with defaults when none does.
Files are read from the work tree (the pre-commit framework stashes unstaged changes first).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from preflight import shell
from preflight.errors import HookError, PreflightError, SpecError
from preflight.metastudio import MEDIA_EXTENSIONS, SPEC_SUFFIXES, is_spec_path
from preflight.model import Severity
from preflight.report.text import position
from preflight.safeio import file_key, read_capped
from preflight.spec import JobSpec
from preflight.spec.loader import outside
from preflight.workflows.batch import Outcome, Summary, Target, looks_like_spec, problem_lines

#: Files the hook looks at: videos, audio, images, PDF and avatar-style specs. The pre-commit
#: framework has no file-type tags for mp4/mov/mp3, so `.pre-commit-hooks.yaml` uses this regex.
FILES_REGEX = (
    r"(?i)(\.(" + "|".join(sorted(s.lstrip(".") for s in MEDIA_EXTENSIONS)) + ")"
    r"|(^|/)[^/]*avatar[^/]*\.(toml|json))$"
)
#: Marks a hook script written by `install` (and so removable by `uninstall`).
MARKER = "# preflight-hook: written by `preflight hook install`"
BACKUP_SUFFIX = ".preflight-backup"


def git(args: Sequence[str], cwd: Path) -> str:
    """Run git and return its standard output.

    :raises HookError: git is missing or the command failed.
    """
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              encoding="utf-8", errors="surrogateescape", check=False,
                              stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise HookError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        raise HookError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def repo_root(start: Path | None = None) -> Path:
    """The top folder of the work tree that contains `start` (default: current folder).

    :raises HookError: not inside a git work tree.
    """
    return Path(git(["rev-parse", "--show-toplevel"], start or Path.cwd()).strip())


def staged_files(root: Path) -> list[Path]:
    """Files added, copied, modified or renamed in the index, as absolute paths."""
    out = git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"], root)
    return [root / name for name in out.split("\0") if name]


def selected(paths: Iterable[Path]) -> list[Path]:
    """The paths the hook checks (those matching `FILES_REGEX`)."""
    rx = re.compile(FILES_REGEX)
    return [p for p in paths if rx.search(p.as_posix())]


def repo_specs(root: Path) -> list[JobSpec]:
    """Job specs anywhere in the repository (tracked or not ignored) that load cleanly."""
    from preflight.spec import load_spec

    try:
        names = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                     *(f"*{suffix}" for suffix in SPEC_SUFFIXES)], root).split("\0")
    except HookError:
        names = []
    specs = []
    for name in dict.fromkeys(n for n in names if n):
        p = root / name
        if looks_like_spec(p):
            try:
                specs.append(load_spec(p))
            except PreflightError:
                continue
    return specs


def plan(files: Iterable[str | Path], root: Path) -> list[Target]:
    """What to check for these (staged) files, in the order given."""
    from preflight.metastudio import guess_slot
    from preflight.spec import load_spec

    paths = [Path(f) if Path(f).is_absolute() else root / f for f in files]
    targets: list[Target] = []
    named: set[tuple[int, int] | str] = set()  # one file however it is named or cased
    media: list[Path] = []
    for p in paths:
        if is_spec_path(p):
            if not p.exists():
                continue
            if not looks_like_spec(p):
                # A mistyped spec is reported by loading it; other TOML/JSON is not ours.
                if not re.search(r"avatar[^/]*\.(toml|json)$", p.name, re.I):
                    continue
                targets.append(Target("spec", p))
                continue
            try:
                spec = load_spec(p)
            except PreflightError:
                targets.append(Target("spec", p))
                continue
            targets.append(Target("spec", p, spec=spec))
            named.update(file_key(f) for _, f in spec.files())
        elif p.suffix.lower() in MEDIA_EXTENSIONS and p.exists():
            media.append(p)
    rest = [p for p in media if file_key(p) not in named]
    owners: dict[tuple[int, int] | str, tuple[str, JobSpec]] = {}
    if rest:
        for spec in repo_specs(root):
            for slot, f in spec.files():
                owners.setdefault(file_key(f), (slot, spec))
    for p in rest:
        owner = owners.get(file_key(p))
        if owner is not None:
            targets.append(Target("media", p, slot=owner[0], job=owner[1].job))
        else:
            targets.append(Target("media", p, slot=guess_slot(p.suffix)))
    return targets


@dataclass
class HookResult:
    """Outcomes of one hook run with their summary."""

    outcomes: list[Outcome] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    cache_hits: int = 0
    strict: bool = False

    def _count(self, severity: Severity) -> int:
        return sum(o.report.count(severity) for o in self.outcomes if o.report is not None)

    @property
    def errors(self) -> int:
        """Error findings (those of a broken spec's body included)."""
        return self._count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        """Warning findings."""
        return self._count(Severity.WARNING)

    @property
    def infos(self) -> int:
        """Info findings."""
        return self._count(Severity.INFO)

    @property
    def problems(self) -> int:
        """Problems that stopped a target (every structural problem of a broken spec)."""
        return sum(len(o.error.problems) if isinstance(o.error, SpecError) else 1
                   for o in self.outcomes if o.error is not None)

    @property
    def failed(self) -> bool:
        """True when the commit must be refused (an error finding or a broken spec; with
        `strict`, a warning too)."""
        return bool(self.problems or self.errors or (self.strict and self.warnings))


def _excluded(paths: list[Path], root: Path, patterns: Sequence[str]) -> list[Path]:
    """`paths` without those matching the .gitignore-style `patterns` (relative to `root`)."""
    if not patterns:
        return paths
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    return [p for p in paths if not spec.match_file(_rel(p, root))]


def run(files: Iterable[str | Path], *, root: Path, jobs: int | None = None,
        cache_dir: Path | None = None, use_cache: bool = True,
        edition: str | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
        exclude: Sequence[str] = (), strict: bool = False,
        config: str | Path | None = None) -> HookResult:
    """Check the given files as the hook does, through the one check workflow: the
    repository's configuration (or `config`) with `select`/`ignore`/`edition` on top, its
    ``exclude`` and `exclude` leaving files out, per-file and spec ignores applied.

    :raises ConfigError: the repository's configuration (or an option) is invalid.
    """
    from preflight.rules.cache import ResultCache, default_dir
    from preflight.rules.config import config_for
    from preflight.workflows import batch
    from preflight.workflows.check import CheckOptions, start

    cfg = config_for(config, root).with_cli(select, ignore, edition)
    paths = [Path(f) if Path(f).is_absolute() else root / f for f in files]
    planned = plan(_excluded(paths, root, (*cfg.exclude, *exclude)), root)
    cache = ResultCache(cache_dir or default_dir(root)) if use_cache else None
    checked = start([], CheckOptions(edition, cfg, cache=cache, jobs=jobs),
                    found=batch.Found(planned))
    result = HookResult(strict=strict)
    for outcome in checked:
        result.summary.add(outcome)
        result.outcomes.append(outcome)
    if cache is not None:
        result.cache_hits = cache.stats.hits
        cache.close()
    return result


def _rel(path: Path | str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def short_report(result: HookResult, root: Path) -> list[str]:
    """The hook's output: one line per problem and finding, the summary, and how to see
    details."""
    lines: list[str] = []
    for o in result.outcomes:
        if o.error is not None:
            lines.extend(problem_lines(o, _rel(o.target.path, root)))
        if o.target.spec is not None:
            for slot, path in outside(o.target.spec):
                lines.append(f"{_rel(o.target.path, root)}: warning: media.{slot} = "
                             f"{o.target.spec.display(path)} is outside the spec's folder")
        if o.report is None:
            continue
        for f in o.report.findings:
            where = _rel(f.path, root) if f.path else _rel(o.target.path, root)
            lines.append(f"{where}{position(f)}: {f.code} [{f.severity.value}] {f.message}")
    files = len({p for o in result.outcomes for _, p in o.pairs}
                | {o.target.path for o in result.outcomes if o.target.kind == "spec"})
    head = "preflight: commit refused" if result.failed else "preflight: ok"
    counts = [(result.errors, "error"), (result.warnings, "warning"), (result.infos, "info")]
    if result.problems:
        said = [_plural(result.problems, "spec problem" if all(
            isinstance(o.error, SpecError) for o in result.outcomes if o.error is not None)
            else "problem")]
        said += [_plural(n, word) for n, word in counts if n]
    else:
        said = [_plural(n, word) for n, word in counts]
    text = f"{head}: {', '.join(said)} in {_plural(files, 'file')}"
    if result.cache_hits:
        text += f" ({result.cache_hits} from cache)"
    if result.strict and result.warnings and not result.errors and not result.problems:
        text += " (--strict: warnings refuse the commit)"
    lines.append(text)
    if result.errors or result.warnings or result.problems:
        lines.append("details: " + shell.join(
            ["preflight", "check", *(shell.path_arg(_rel(o.target.path, root))
                                     for o in result.outcomes)]))
    return lines


# ---- install / uninstall ---------------------------------------------------------------------

def hooks_dir(root: Path) -> Path:
    """Where git looks for hooks (honours core.hooksPath)."""
    out = git(["rev-parse", "--git-path", "hooks"], root).strip()
    p = Path(out)
    return p if p.is_absolute() else root / p


def script(python: str | None = None) -> str:
    """The pre-commit hook script: this interpreter, or `preflight` on PATH if it is gone."""
    py = shlex.quote(python or sys.executable)
    return (
        "#!/bin/sh\n"
        f"{MARKER}\n"
        "# Checks staged media and job specs; remove with `preflight hook uninstall`.\n"
        f"if [ -x {py} ]; then\n"
        f"    exec {py} -m preflight.cli hook run --staged\n"
        "fi\n"
        "exec preflight hook run --staged\n"
    )


def is_ours(path: Path) -> bool:
    """Whether a hook file was written by `install`."""
    try:
        return MARKER in read_capped(path).decode("utf-8", "replace")
    except OSError:
        return False


def install(root: Path, force: bool = False) -> tuple[Path, Path | None]:
    """Write the pre-commit hook; returns (hook, backup of a foreign hook or None).

    :raises HookError: a foreign pre-commit hook exists and `force` is false.
    """
    hook = hooks_dir(root) / "pre-commit"
    backup: Path | None = None
    if hook.exists() and not is_ours(hook):
        if not force:
            raise HookError(f"{hook} exists and was not written by preflight; "
                            "use --force to replace it (it is kept as "
                            f"pre-commit{BACKUP_SUFFIX})")
        backup = hook.with_name(hook.name + BACKUP_SUFFIX)
        os.replace(hook, backup)
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(script(), encoding="utf-8", newline="\n")  # LF: read by Git's sh
    hook.chmod(0o755)
    return hook, backup


def uninstall(root: Path) -> tuple[Path | None, Path | None]:
    """Remove our pre-commit hook (restoring a hook `install --force` set aside); returns
    (removed hook or None, restored hook or None). A foreign hook is left alone.

    :raises HookError: the pre-commit hook is not ours.
    """
    hook = hooks_dir(root) / "pre-commit"
    if not hook.exists():
        return None, None
    if not is_ours(hook):
        raise HookError(f"{hook} was not written by preflight; left alone")
    hook.unlink()
    backup = hook.with_name(hook.name + BACKUP_SUFFIX)
    if backup.exists():
        os.replace(backup, hook)
        return hook, hook
    return hook, None


__all__ = [
    "FILES_REGEX", "MARKER", "HookError", "HookResult", "install", "is_ours", "plan",
    "repo_root", "repo_specs", "run", "script", "selected", "short_report", "staged_files",
    "uninstall",
]
