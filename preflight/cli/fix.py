"""`preflight fix`: one fix plan per take, run as one ffmpeg command, then re-checked."""

from __future__ import annotations

import click

from preflight.cli._common import Outcome, edition_choice, show_findings
from preflight.cli.progress import Bars
from preflight.metastudio import family_slots


@click.command("fix")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Where to write the conforming copy (never the input).")
@click.option("--edition", type=edition_choice, default="standard", show_default=True,
              help="Edition whose limits apply (duration: standard 3–10 min, Flexus 1–5 min).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--dry-run", is_flag=True,
              help="Print the plan and the command; run nothing (exit 1 when no fix can make "
                   "the take pass).")
@click.option("--slot", type=click.Choice(family_slots("VID")),
              default="training_video", show_default=True,
              help="The upload the video is for; it is checked and re-checked as that.")
@click.option("--rotate", type=click.Choice(["auto", "0", "90", "180", "270"]), default="auto",
              show_default=True,
              help="Turn the picture clockwise by this many degrees; auto turns it the way the "
                   "face check (PRS002) finds the presenter upright.")
def fix_cmd(file: str, output: str, edition: str, overwrite: bool, dry_run: bool,
            slot: str, rotate: str) -> Outcome:
    """Make a conforming MP4 copy of a training video with the bundled ffmpeg.

    Checks the take first (VID and PRS rules) and makes one plan: turn a sideways presenter
    upright, scale and pad to the nearest accepted size, convert to 25 fps when slower (or
    constant when variable), deinterlace, trim to the edition's maximum, remux or re-encode —
    all in one ffmpeg command — then re-checks the output. What no fix can repair (a take
    that is too short, no face, no audio) is said first, and then nothing is encoded (exit 1).
    A file that cannot be read as a video (empty, truncated, not a video) exits 1.

    \b
    preflight fix take.mov -o take.fixed.mp4
    preflight fix take.mov -o take.fixed.mp4 --dry-run
    """
    from preflight.errors import ProbeError
    from preflight.workflows.fixing import plan_fix
    from preflight.workflows.pipeline import fix_video

    try:
        job = plan_fix(file, output, edition=edition, overwrite=overwrite, slot=slot,
                       rotate=None if rotate == "auto" else int(rotate))
    except ProbeError as exc:  # a finding on the input (exit 1), not a usage error
        click.secho(f"preflight: cannot fix {file}: {exc.detail} — export it again", fg="red",
                    err=True)
        return Outcome(findings=True)
    for problem in job.blockers:
        click.secho(f"cannot fix: {problem}", fg="red", err=True)
    if not job.plan.needed and job.can_pass:
        click.echo(f"{file} already meets the container/size/duration/frame-rate limits; "
                   "nothing to do")
        return Outcome()
    if job.plan.needed:
        click.echo(f"plan for {file} -> {output} (edition {edition}):")
        for reason in job.plan.reasons:
            click.echo(f"  - {reason}")
        if dry_run or job.can_pass:
            click.echo(f"$ {job.command_line}")
    if not job.can_pass:
        click.secho(f"nothing written: no fix can make {file} pass (see above)", fg="red",
                    err=True)
        return Outcome(findings=True)
    if dry_run:
        return Outcome()
    with Bars(0.0, seconds=True) as bars:
        result = fix_video(job, progress=lambda done, total: bars.update("ffmpeg", done, total))
    click.echo(f"wrote {result.dst}; re-check with the VID and PRS rules:")
    assert result.report is not None
    show_findings(result.report, quiet=False)
    return Outcome(report=result.report)
