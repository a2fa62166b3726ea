"""`preflight status`: a job's state and review history from the service."""

from __future__ import annotations

import json
from typing import Any

import click

from preflight.cli._common import Outcome, region_choice
from preflight.cli.submit import review_lines


@click.command("status")
@click.argument("target", required=False, metavar="[SPEC|JOB_ID]")
@click.option("--region", type=region_choice,
              help="Service region (default: the endpoint recorded when submitting).")
@click.option("--endpoint", metavar="URL", help="Service base URL.")
@click.option("--insecure-http", is_flag=True, help="Allow a plain http:// endpoint on "
              "another machine (requests are signed, but travel unencrypted).")
@click.option("--app-user-id", metavar="ID", help="X-App-UserId header.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where the resume state lives (default .preflight next to the spec).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def status_cmd(target: str | None, region: str | None, endpoint: str | None,
               insecure_http: bool, app_user_id: str | None, state_dir: str | None,
               fmt: str) -> Outcome:
    """Show a job's state and history from the service.

    \b
    preflight status avatar.toml        # the job submitted from this spec
    preflight status 3f2a...            # any job id (give --region or --endpoint)
    """
    from preflight.submitter.result import failure_reason
    from preflight.submitter.session import status
    from preflight.submitter.state import DONE

    results = status(target, region=region, endpoint=endpoint, app_user_id=app_user_id,
                     state_dir=state_dir, insecure_http=insecure_http)
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
        return Outcome()
    for r in results:
        click.echo(f"job {r.job_id}  {r.name or ''}  state {r.state}"
                   + ("  (final)" if r.final else "")
                   + ("  (failed after the review)" if r.failed else ""))
        if r.failed:
            click.echo(f"  reason: {failure_reason(r.history, r.state)}; the service's staff "
                       "may move it back: run status again to follow it")
        for line in review_lines(r.history):
            click.echo(f"  {line}")
        for log in r.history:
            code = f" error_code={log['error_code']}" if log.get("error_code") else ""
            click.echo(f"  {log.get('operate_time', ''):<22} {log.get('operate_user', ''):<6} "
                       f"{log.get('log_type', '')}: {log.get('log_description', '')}{code}")
        local: Any = r.local
        if local:
            parts = local.get("parts", [])
            done = sum(1 for p in parts if p["status"] == DONE)
            click.echo(f"  local: {local['phase']}, {done}/{len(parts)} upload(s) done")
    return Outcome()
