"""`preflight fix`: a conforming MP4 copy of a training video, re-checked."""

from __future__ import annotations

import click

from preflight.cli._common import Outcome, edition_choice, show_findings
from preflight.cli.progress import Bars


@click.command("fix")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Where to write the conforming copy (never the input).")
@click.option("--edition", type=edition_choice, default="standard", show_default=True,
              help="Edition whose limits apply (duration: standard 3–10 min, Flexus 1–5 min).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the command; run nothing.")
@click.option("--rotate", type=click.Choice(["0", "90", "180", "270"]), default="0",
              help="Turn the picture clockwise by this many degrees (a take shot sideways; "
                   "PRS002 says which).")
def fix_cmd(file: str, output: str, edition: str, overwrite: bool, dry_run: bool,
            rotate: str) -> Outcome:
    """Make a conforming MP4 copy of a training video with the bundled ffmpeg.

    Remuxes without re-encoding when the codecs allow, scales and pads to the nearest
    accepted size (keeping orientation), trims to the edition's maximum duration, converts
    to 25 fps when slower (or constant when variable), deinterlaces, then re-checks the
    output. A file that cannot be read as a video (empty, truncated, not a video) exits 1.

    \b
    preflight fix take.mov -o take.fixed.mp4
    preflight fix sideways.mp4 --rotate 90 -o upright.mp4
    """
    from preflight.errors import ProbeError
    from preflight.fix import prepare
    from preflight.workflows.pipeline import fix_video

    try:
        job = prepare(file, output, edition=edition, overwrite=overwrite, rotate=int(rotate))
    except ProbeError as exc:  # a finding on the input (exit 1), not a usage error
        click.secho(f"preflight: cannot fix {file}: {exc.detail} — export it again", fg="red",
                    err=True)
        return Outcome(findings=True)
    for problem in job.plan.unfixable:
        click.secho(f"cannot fix: {problem}", fg="yellow", err=True)
    if not job.plan.needed:
        click.echo(f"{file} already meets the container/size/duration/frame-rate limits; "
                   "nothing to do")
        return Outcome(findings=bool(job.plan.unfixable))
    click.echo(f"fixing {file} -> {output} (edition {edition}):")
    for reason in job.plan.reasons:
        click.echo(f"  - {reason}")
    click.echo(f"$ {job.command_line}")
    if dry_run:
        return Outcome()
    with Bars(0.0, seconds=True) as bars:
        result = fix_video(job, progress=lambda done, total: bars.update("ffmpeg", done, total))
    click.echo(f"wrote {result.dst}; re-check with the VID rules:")
    assert result.report is not None
    show_findings(result.report, quiet=False)
    return Outcome(report=result.report)
