"""Plan the fix of a take from a check of it: one plan per file, and what no fix can repair.

    >>> job = plan_fix("take.mov", "take.fixed.mp4")
    >>> job.blockers        # e.g. ("duration 20.0 s is under 180 s: record a longer take",)
    >>> job.plan.reasons    # every change, in one ffmpeg command (job.command_line)

The take is checked as a training video with the VID and PRS rules (the container, stream and
presenter rules; the green-screen rules depend on the job and are left to the spec's check),
so the plan turns a sideways presenter upright (PRS002) in the same command that scales and
pads it, and any error the plan cannot repair (a short take, no face, a silent track) is a
blocker: `preflight.fix.run` then encodes nothing.
"""

from __future__ import annotations

from pathlib import Path

from preflight.fix import FixJob, prepare
from preflight.rules.config import Config, config_for
from preflight.rules.conform import rotation_of
from preflight.workflows.check import check

#: The rule families a take is checked with before (and after) a fix.
FIX_FAMILIES = ("VID", "PRS")


def plan_fix(src: str | Path, dst: str | Path, *, edition: str = "standard",
             overwrite: bool = False, rotate: int | None = None,
             config: Config | str | Path | None = None,
             slot: str = "training_video") -> FixJob:
    """Check ``src`` and plan its fix into ``dst``; nothing is written.

    ``rotate`` (degrees clockwise) overrides the turn the face check finds (None: use it).
    ``slot`` is the upload the video is for: the take is checked (and re-checked) as that.
    Rules the configuration ignores neither run nor block.

    :raises PreflightError: the output is the input, exists (without ``overwrite``) or is a
        folder.
    :raises ProbeError: ``src`` is not a readable video.
    """
    cfg = config_for(config, Path(src).absolute().parent)
    # Output and input problems stop here, before the (slower) check.
    prepare(src, dst, edition=edition, overwrite=overwrite, config=cfg, rotate=rotate or 0)
    report = check(Path(src), slot=slot, edition=edition,
                   config=cfg.with_cli(FIX_FAMILIES))
    turn = rotation_of(report.findings) if rotate is None else rotate
    return prepare(src, dst, edition=edition, overwrite=overwrite, config=cfg, rotate=turn,
                   findings=report.findings, slot=slot)
