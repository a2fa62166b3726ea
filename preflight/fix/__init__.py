"""`preflight fix`: make a conforming copy of a training video with the bundled ffmpeg.

    >>> job = prepare("take.mov", "take.fixed.mp4", edition="standard", findings=report.findings)
    >>> job.blockers                     # what no fix can repair: nothing is encoded then
    >>> print(job.command_line)          # exactly what `run` executes
    >>> result = run(job)                # writes a temp file, then renames it into place

One plan per file (`preflight.rules.conform`): rotation, size, frame rate, scan, duration,
codecs and container change in one ffmpeg command. `preflight.workflows.fixing.plan_fix`
checks the take first (so the plan knows the rotation and what cannot be repaired), and
`preflight.workflows.pipeline.fix_video` runs a job and re-checks its output.

The ffmpeg binary is imageio-ffmpeg's (never a system one). The input is never written:
an output that resolves to the input is refused, and the output only appears once ffmpeg
has finished successfully.
"""

from __future__ import annotations

import collections
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import PreflightError, ProbeError
from preflight.rules.conform import (
    FixPlan,
    blockers,
    ffmpeg_args,
    plan_for,
    probe_facts,
    shell_line,
)
from preflight.safeio import check_output, kind_problem, replace_file

if TYPE_CHECKING:
    from preflight.model import Finding, Report
    from preflight.rules.config import Config

#: progress(done_seconds, total_seconds), called from the calling thread.
Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class FixJob:
    """A planned fix: the input facts, the plan and the exact command that will run."""

    src: Path
    dst: Path
    tmp: Path
    edition: str
    facts: Mapping[str, Any]
    plan: FixPlan
    args: tuple[str, ...]
    #: What no fix can repair (see `preflight.rules.conform.blockers`); `run` refuses a job
    #: with any, so nothing is encoded when the result could not pass.
    blockers: tuple[str, ...] = ()
    #: The upload the video is for (the output is re-checked as that slot).
    slot: str = "training_video"

    @property
    def can_pass(self) -> bool:
        """True when the planned output can pass the check (no blockers)."""
        return not self.blockers

    @property
    def command_line(self) -> str:
        """The command as one shell line."""
        return shell_line(list(self.args))

    @property
    def total_seconds(self) -> float:
        """Expected output duration (for progress)."""
        duration = float(self.facts.get("duration") or 0.0)
        return min(duration, self.plan.trim) if self.plan.trim is not None else duration


@dataclass(frozen=True)
class FixResult:
    """What `run` did: the output path and the output's check report."""

    job: FixJob
    dst: Path
    #: The output's check (filled in by `preflight.workflows.fix_video`).
    report: Report | None = None


def ffmpeg_exe() -> str:
    """imageio-ffmpeg's bundled ffmpeg binary.

    :raises PreflightError: imageio-ffmpeg has no binary for this platform.
    """
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError, OSError) as exc:
        raise PreflightError(f"no ffmpeg binary from imageio-ffmpeg: {exc}") from None


def video_facts(path: Path) -> dict[str, Any]:
    """Plain facts of a video for `plan_for`.

    :raises ProbeError: the file is empty, truncated, not media or has no video track.
    """
    from preflight.inspect.probe import probe_video

    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise ProbeError(path, exc.strerror or str(exc)) from None
    if empty:
        raise ProbeError(path, "is empty (0 bytes)")
    probe = probe_video(path)
    if probe.truncated:
        raise ProbeError(path, f"is truncated: the file ends before the data its header "
                               f"announces ({probe.file_size} bytes)")
    if not probe.video_tracks:
        what = f" ({probe.general_format} data)" if probe.general_format else ""
        raise ProbeError(path, f"has no video track{what}")
    return probe_facts(probe)


def duration_limits(edition: str, config: Config | str | Path | None = None,
                    near: Path | None = None) -> tuple[float | None, float | None]:
    """(min, max) seconds of the `video-duration` rule for this edition and configuration,
    so that a fix trims to the limits the check applies; (None, None) if it has none."""
    from preflight.rules import by_name
    from preflight.rules.config import config_for, resolve

    rule = by_name().get("video-duration")
    if rule is None:
        return None, None
    opts = resolve(edition, config_for(config, near or Path.cwd()))[rule.code].options
    try:
        return float(opts["min_seconds"]), float(opts["max_seconds"])
    except (KeyError, TypeError, ValueError):
        return None, None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def prepare(
    src: str | Path,
    dst: str | Path,
    *,
    edition: str = "standard",
    overwrite: bool = False,
    min_duration: float | None = None,
    max_duration: float | None = None,
    ffmpeg: str | None = None,
    config: Config | str | Path | None = None,
    rotate: int = 0,
    findings: Iterable[Finding] = (),
    slot: str = "training_video",
) -> FixJob:
    """Probe ``src`` and plan the fix into ``dst``. Nothing is written.

    Duration limits are those of the `video-duration` rule in ``edition`` and the
    configuration (found next to ``src`` when not given); ``min_duration``/``max_duration``
    override them. ``rotate`` turns the picture clockwise by 90, 180 or 270 degrees.
    ``findings`` (a check of ``src``) add their errors that no plan repairs to the job's
    ``blockers``. ``slot`` is the upload the video is for (training or action video).

    :raises PreflightError: ``dst`` is the input, exists (without ``overwrite``) or is a folder.
    :raises ProbeError: ``src`` is not a readable video (empty, truncated, not media, or no
        video track).
    """
    s, d = Path(src).absolute(), Path(dst).absolute()
    if not s.exists():
        raise PreflightError(f"{s}: no such file")
    problem = kind_problem(s)
    if problem:
        raise PreflightError(f"{s}: {problem}")
    if _same(s, d):
        raise PreflightError(f"output {d} is the input file; choose another output path")
    if d.is_dir():
        raise PreflightError(f"output {d} is a folder; give a file name such as "
                             f"{d / (s.stem + '.fixed.mp4')}")
    if d.exists() and not overwrite:
        raise PreflightError(f"output {d} exists; pass --overwrite to replace it")
    if not d.parent.is_dir():
        raise PreflightError(f"output folder {d.parent} does not exist")
    try:
        check_output(d, [s])
    except OSError as exc:
        raise PreflightError(f"output {d} {exc.strerror}") from None
    if min_duration is None and max_duration is None:
        min_duration, max_duration = duration_limits(edition, config, s.parent)
    facts = video_facts(s)
    plan = plan_for(facts, edition=edition, min_duration=min_duration,
                    max_duration=max_duration, rotate=rotate)
    from preflight.safeio import temp_name  # unpredictable: no link can be planted there

    tmp = temp_name(d, ".mp4")
    args = ffmpeg_args(s, tmp, plan, ffmpeg or ffmpeg_exe(), overwrite=True, progress=True)
    return FixJob(s, d, tmp, edition, facts, plan, tuple(args), blockers(plan, findings), slot)


def _parse_time(line: str) -> float | None:
    key, _, value = line.partition("=")
    if key == "out_time_us":
        try:
            return int(value) / 1e6
        except ValueError:
            return None
    return None


def run(job: FixJob, *, progress: Progress | None = None) -> FixResult:
    """Run the planned command and move the output into place.

    :raises PreflightError: the job has blockers (nothing is encoded), or ffmpeg failed
        (with the end of its log).
    """
    if job.blockers:
        raise PreflightError(f"{job.src}: no fix can make this take pass: "
                             + "; ".join(job.blockers))
    before = job.src.stat()
    tail: collections.deque[str] = collections.deque(maxlen=30)
    total = job.total_seconds
    proc = subprocess.Popen(
        list(job.args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
    )
    assert proc.stdout is not None and proc.stderr is not None
    err = proc.stderr

    def drain() -> None:
        for line in err:
            tail.append(line.rstrip())

    reader = threading.Thread(target=drain, daemon=True, name="preflight-ffmpeg-log")
    reader.start()
    ok = False
    try:
        best = 0.0
        for line in proc.stdout:
            t = _parse_time(line.strip())
            if t is not None and t > best and progress is not None:
                best = t
                progress(min(t, total) if total else t, total)
        rc = proc.wait()
        reader.join()
        if rc != 0:
            log = "\n".join(tail) or "(no output)"
            raise PreflightError(f"ffmpeg failed (exit code {rc}):\n{log}")
        if progress is not None:
            progress(total, total)
        try:
            replace_file(job.tmp, job.dst, [job.src])
        except OSError as exc:
            raise PreflightError(f"output {job.dst} {exc.strerror or exc}") from None
        ok = True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
        err.close()
        if not ok:
            job.tmp.unlink(missing_ok=True)
    after = job.src.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise PreflightError(f"{job.src} changed while it was being converted")  # never by us
    return FixResult(job, job.dst)
