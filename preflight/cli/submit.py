"""`preflight submit`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from preflight.cli._common import (
    Outcome,
    count_option,
    region_choice,
    show_findings,
    warn_outside,
)
from preflight.cli.progress import SubmitDisplay
from preflight.errors import PackageRefused

if TYPE_CHECKING:
    from preflight.submitter.flow import DryRun, SubmitResult


def _show_dry_run(result: DryRun, fmt: str) -> None:
    data = result.to_dict()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if result.resume_job:
        click.echo(f"dry run: nothing is sent. Job {result.resume_job} is already recorded "
                   f"({result.resume_phase}): a rerun continues it, no create. Requests, in "
                   "order:")
    else:
        click.echo("dry run: nothing is sent. Requests, in order:")
    for req in data["requests"]:
        click.echo(f"\n{req['method']} {req['url']}")
        for k, v in req["headers"].items():
            click.echo(f"  {k}: {v}")
        if req.get("body") is not None:
            body = req["body"]
            click.echo("  " + (body if isinstance(body, str)
                               else json.dumps(body, ensure_ascii=False)))


def _show_result(result: SubmitResult, fmt: str) -> None:
    from preflight.parts import human

    summary = result.to_dict()
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    how = "created" if result.created else ("updated" if result.updated else "resumed")
    click.echo(f"job {result.job_id} ({how}) state {result.state}")
    for change in result.changes:
        was = "(unknown)" if change["was"] is None else json.dumps(change["was"],
                                                                   ensure_ascii=False)
        click.echo(f"  changed: {change['field']}: {was} → "
                   f"{json.dumps(change['now'], ensure_ascii=False)}")
    rate = (f", {human(result.bytes_sent / result.upload_seconds)}/s"
            if result.upload_seconds > 0 and result.bytes_sent else "")
    click.echo(f"  upload: {result.parts_uploaded} part(s), {human(result.bytes_sent)} in "
               f"{result.upload_seconds:.1f} s{rate}; {result.parts_skipped} part(s) already "
               f"there; {result.parts_total} in total ({human(result.bytes_total)})")
    if result.wait_seconds:
        click.echo(f"  review: waited {result.wait_seconds:.1f} s (total {result.seconds:.1f} s)")
    for up in summary["uploads"]:
        click.echo(f"  {up['slot']:<18} {human(up['size']):>10}  {up['parts']} "
                   f"part(s)  {up['content_type']}")
    if result.commands:
        click.echo(f"  commands: {', '.join(result.commands)}")
    for text in result.warnings:
        click.echo(f"  warning: {text}")
    for text in result.unproven:
        click.echo(f"  not provable: {text}")
    if result.success is False:
        for line in review_lines(result.operation_logs):
            click.echo(f"  {line}")
    click.echo(f"  state store: {result.state_path}")


def review_lines(logs: list[dict[str, Any]]) -> list[str]:
    """The operation_logs entries a user acts on: each with its error code, the review opinion
    and the rule that catches the same problem before upload (e.g. 44005901 ↔ VID006)."""
    from preflight.metastudio import REVIEW_ERROR_RULES, REVIEW_FAILED_STATES

    out = []
    for log in logs:
        code = str(log.get("error_code") or "")
        if not code and log.get("log_type") not in REVIEW_FAILED_STATES:
            continue
        rule = REVIEW_ERROR_RULES.get(code)
        hint = f"  ← {rule} catches this before upload (preflight check)" if rule else ""
        out.append(f"review {log.get('log_type', '')} {log.get('operate_time', '')}: "
                   f"error_code={code or '-'} opinion: {log.get('log_description', '')}{hint}")
    return out


@click.command("submit")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=str))
@click.option("--region", type=region_choice,
              help="Service region (endpoint metastudio.REGION.myhuaweicloud.com).")
@click.option("--endpoint", metavar="URL", help="Service base URL instead of a region "
              "(e.g. a `preflight sandbox`).")
@click.option("--insecure-http", is_flag=True, help="Allow a plain http:// endpoint on "
              "another machine (requests are signed, but travel unencrypted).")
@click.option("--sandbox", "use_sandbox", is_flag=True,
              help="Start a local stand-in service in-process and submit to it (no account "
              "or credentials needed).")
@click.option("--app-user-id", metavar="ID", help="X-App-UserId header (default: "
              "[account] app_user_id of the spec).")
@click.option("--package-dir", type=click.Path(file_okay=False, path_type=str),
              help="Package folder: reused when it holds a current manifest for this spec, "
              "else packaged into (default .preflight/package next to the spec).")
@click.option("--parts", metavar="N|auto", help="Training-video part count for packaging.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where the resume state lives (default .preflight next to the spec).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
              envvar="PREFLIGHT_UPLOAD_JOBS", help="Concurrent uploads.")
@click.option("--new-job", is_flag=True, help="Create a new job even if this spec and media "
              "were already submitted.")
@click.option("--wait", is_flag=True, help="Poll the job until a final state.")
@click.option("--poll-interval", type=click.FloatRange(0.05), default=10.0, show_default=True,
              help="Seconds between polls with --wait.")
@click.option("--timeout", "wait_timeout", type=click.FloatRange(0), default=None,
              help="Stop waiting after this many seconds; exit 3 if the job is still running "
              "then (it goes on).")
@click.option("--force", "--no-check", "force", is_flag=True, help="Package and send even when "
              "the check finds errors (e.g. to see the review reject a take).")
@click.option("--dry-run", is_flag=True, help="Print the requests that would be sent "
              "(secrets redacted) and send nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Summary format.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines, only the summary.")
def submit_cmd(spec: str, region: str | None, endpoint: str | None, insecure_http: bool,
               use_sandbox: bool,
               app_user_id: str | None, package_dir: str | None, parts: str | None,
               state_dir: str | None, jobs: int, new_job: bool, wait: bool,
               poll_interval: float, wait_timeout: float | None, force: bool, dry_run: bool,
               fmt: str, quiet: bool) -> Outcome:
    """Check, package, upload and submit a job; rerun to resume after any interruption.

    Credentials come from the environment: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and
    HUAWEICLOUD_SDK_PROJECT_ID (or HUAWEICLOUD_SDK_TOKEN with the project id).
    Exit 3 when the service or the network refuses the submission, when the job ends
    failed (review, training or processing failure, rejected), or when --timeout runs out
    while it still runs.

    \b
    preflight submit avatar.toml --region cn-north-4 --wait
    preflight submit avatar.toml --sandbox --wait
    preflight submit avatar.toml --region cn-north-4 --dry-run
    """
    from preflight.submitter.flow import DryRun
    from preflight.workflows.pipeline import submit

    if use_sandbox and (region or endpoint):
        raise click.UsageError("--sandbox replaces --region/--endpoint")
    if not (use_sandbox or region or endpoint or dry_run):
        raise click.UsageError("give --region, --endpoint URL or --sandbox")
    warn_outside(spec)
    try:
        with SubmitDisplay(quiet or fmt == "json") as display:
            result = submit(spec, region=region, endpoint=endpoint, sandbox=use_sandbox,
                            app_user_id=app_user_id, package_dir=package_dir,
                            parts=count_option(parts, "--parts"), state_dir=state_dir,
                            jobs=jobs, new_job=new_job, wait=wait, poll_interval=poll_interval,
                            wait_timeout=wait_timeout, force=force, dry_run=dry_run,
                            progress=display, insecure_http=insecure_http)
    except PackageRefused as exc:
        show_findings(exc.report)
        click.echo(f"preflight: {exc}", err=True)
        return Outcome(report=exc.report)
    if isinstance(result, DryRun):
        _show_dry_run(result, fmt)
        return Outcome()
    _show_result(result, fmt)
    if result.success is False:
        _show_failure(result)
        return Outcome(service_failed=True)
    return Outcome()


def _show_failure(result: SubmitResult) -> None:
    """Why the run failed and what to do next (stderr)."""
    from preflight.submitter.result import TIMED_OUT

    if result.outcome == TIMED_OUT:
        click.echo(f"preflight: {result.reason}", err=True)
    else:
        click.echo(f"preflight: job {result.job_id} ended in {result.state}"
                   + (f": {result.reason}" if result.reason else ""), err=True)
    if result.next_step:
        click.echo(f"preflight: next: {result.next_step}", err=True)
