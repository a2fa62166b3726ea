"""`preflight sandbox`: a local MetaStudio stand-in service."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preflight.cli._common import Outcome

if TYPE_CHECKING:
    from preflight.sandbox.background import BackgroundState

#: Seconds `--background` waits for the service to listen.
START_TIMEOUT = 60.0


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to bind (127.0.0.1, ::1 or localhost only).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port (0 = any free port; the bound URL is printed).")
@click.option("--project-id", envvar="HUAWEICLOUD_SDK_PROJECT_ID", help="Project id to accept "
              "(default: $HUAWEICLOUD_SDK_PROJECT_ID or a random one).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where uploads, the journal and generated credentials go (default: a temp "
              "folder).")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=str),
              help="JSON-lines journal of every request (default DATA_DIR/journal.jsonl).")
@click.option("--advance-seconds", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Seconds per state step after SUBMITVERIFYING.")
@click.option("--fail-put", multiple=True, type=click.IntRange(1), metavar="N",
              help="Answer the N-th upload PUT with HTTP 500.")
@click.option("--drop-put", multiple=True, type=click.IntRange(1), metavar="N",
              help="Drop the connection half-way through the N-th PUT body.")
@click.option("--lose-put", multiple=True, type=click.IntRange(1), metavar="N",
              help="Store the N-th PUT but drop the connection before answering.")
@click.option("--throttle", multiple=True, type=click.IntRange(1), metavar="N",
              help="Answer the N-th API call with 429 APIGW.0308.")
@click.option("--fail-api", multiple=True, type=click.IntRange(1), metavar="N",
              help="Answer the N-th API call with 500 MSS.00000004.")
@click.option("--urls", "url_mode", type=click.Choice(["all", "requested"]), default="all",
              show_default=True, help="Issue upload URLs for every slot, or only for the slots "
              "the job asks for (training video; action video when counted; audio for AUDIO; "
              "ID cards and letter).")
@click.option("--na-whitelisted", is_flag=True, help="Serve an NA-whitelisted account: the "
              "review needs no ID documents and the NA-only commands are accepted.")
@click.option("--lose-answer", multiple=True, metavar="OP",
              help="Carry out the first OP (create, update, show, or a command such as "
              "SUBMITVERIFYING) but drop the connection without an answer; repeatable.")
@click.option("--fail-command", multiple=True, metavar="COMMAND",
              help="Answer the first COMMAND with EXCUTE_FAILED; repeatable.")
@click.option("--slow", "slow_ms", type=click.IntRange(0), default=0, metavar="MS",
              help="Delay every response by MS milliseconds.")
@click.option("--faults", "faults_file", type=click.Path(dir_okay=False, path_type=str),
              help="JSON file of faults, e.g. {\"fail_put\": [3], \"throttle\": [1]}.")
@click.option("--background", is_flag=True,
              help="Start detached, print the URL and PID, and return (stop: --stop).")
@click.option("--stop", "stop_it", is_flag=True,
              help="Stop the stand-in started with --background.")
@click.option("--state-file", hidden=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def sandbox_cmd(ctx: click.Context, host: str, port: int, project_id: str | None,
                data_dir: str | None, journal: str | None, advance_seconds: float,
                fail_put: tuple[int, ...], drop_put: tuple[int, ...], lose_put: tuple[int, ...],
                throttle: tuple[int, ...], fail_api: tuple[int, ...], url_mode: str,
                na_whitelisted: bool, lose_answer: tuple[str, ...],
                fail_command: tuple[str, ...], slow_ms: int, faults_file: str | None,
                background: bool, stop_it: bool, state_file: Path | None) -> Outcome | None:
    """Run a local MetaStudio-compatible service for trying `preflight submit`.

    It accepts AK/SK signatures for $HUAWEICLOUD_SDK_AK / $HUAWEICLOUD_SDK_SK (and the token in
    $HUAWEICLOUD_SDK_TOKEN); when they are unset it makes throwaway ones and writes them to
    DATA_DIR/credentials.env (never printed). Without --data-dir that is a temporary folder,
    removed with everything in it when the service stops. Stop with Ctrl-C (or SIGTERM);
    with --background it runs detached (one per user) until `preflight sandbox --stop`.

    \b
    preflight sandbox --port 8765 --data-dir /tmp/sbx
    . /tmp/sbx/credentials.env
    preflight submit avatar.toml --endpoint http://127.0.0.1:8765 --wait
    \b
    preflight sandbox --background --port 8765     # prints URL, PID, credentials file
    preflight sandbox --stop
    """
    import secrets
    import shutil
    import tempfile

    from preflight.sandbox import FaultPlan, Sandbox, config_from_env, write_credentials
    from preflight.sandbox.background import (
        BackgroundState,
        process_identity,
        remove_state,
        state_dir,
        write_state,
    )
    from preflight.sandbox.config import check_loopback

    if stop_it:
        if background:
            raise click.UsageError("--stop and --background exclude each other")
        return _stop()
    check_loopback(host)  # before anything is written
    if background:
        return _start_background(ctx, state_dir() / "sandbox.json")

    plan = FaultPlan.load(Path(faults_file)) if faults_file else FaultPlan()
    plan.fail_put.update(fail_put)
    plan.drop_put.update(drop_put)
    plan.lose_put.update(lose_put)
    plan.throttle.update(throttle)
    plan.fail_api.update(fail_api)
    plan.lose_answer.extend(lose_answer)
    plan.fail_command.extend(fail_command)
    plan.slow_ms = slow_ms or plan.slow_ms
    folder = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="preflight-sandbox-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        config, made_up = config_from_env(
            os.environ, project_id=project_id, host=host, port=port, data_dir=folder,
            journal=Path(journal) if journal else None, faults=plan,
            advance_seconds=advance_seconds, urls=url_mode, na_whitelisted=na_whitelisted,
            shutdown_token=secrets.token_urlsafe(32) if state_file is not None else None)
        sb = Sandbox(config)
        try:
            credentials = write_credentials(folder, config) if made_up else None
            if credentials is not None:
                from preflight.shell import source_env

                click.echo(f"credentials: {source_env(credentials)}")
            click.echo(f"project id: {config.project_id}")
            click.echo(f"journal: {sb.journal_path}")
            if state_file is not None:  # started by --background: tell the starter
                write_state(state_file, BackgroundState(
                    pid=os.getpid(), url=sb.url, project_id=config.project_id,
                    data_dir=str(folder), journal=str(sb.journal_path),
                    log=str(state_file.with_name("sandbox.log")),
                    credentials=str(credentials) if credentials else None,
                    started=time.time(), identity=process_identity(os.getpid()),
                    shutdown_token=config.shutdown_token))
            if state_file is None:
                click.echo("Ctrl-C stops it (`preflight sandbox --background` runs it detached)",
                           err=True)
            click.echo(f"sandbox listening on {sb.url}")  # last: scripts read the URL here
            sys.stdout.flush()
            sb.serve_forever()
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (handled the same way)
            pass
        finally:
            sb.stop()
            if state_file is not None:
                remove_state(state_file, os.getpid())
    finally:
        if not data_dir:  # a folder of our own: its uploads and throwaway credentials go too
            shutil.rmtree(folder, ignore_errors=True)
    return None


def _forwarded(ctx: click.Context) -> list[str]:
    """The options given on this command line (not their defaults), for the detached run."""
    args: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if (not isinstance(param, click.Option) or name is None
                or name in ("background", "stop_it", "state_file")
                or ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT):
            continue
        flag = max(param.opts, key=len)
        value = ctx.params[name]
        for v in (value if param.multiple else (value,)):
            args += [flag] if param.is_flag else [flag, str(v)]
    return args


def _describe(state: BackgroundState) -> None:
    click.echo(f"sandbox running in the background at {state.url} (PID {state.pid})")
    click.echo(f"project id: {state.project_id}")
    if state.credentials:
        from preflight.shell import source_env

        click.echo(f"credentials: {source_env(state.credentials)}")
    click.echo(f"journal: {state.journal}")
    click.echo(f"log: {state.log}")


def _start_background(ctx: click.Context, state_path: Path) -> Outcome:
    """Start this command detached and wait until it listens."""
    from preflight.sandbox.background import launch

    argv = [sys.executable, "-m", "preflight.cli", "sandbox", *_forwarded(ctx),
            "--state-file", str(state_path)]
    state = launch(argv, state_path, timeout=START_TIMEOUT)
    _describe(state)
    click.echo("stop it with: preflight sandbox --stop")
    return Outcome()


def _stop() -> Outcome:
    from preflight.sandbox.background import read_state, remove_state, state_dir, stop

    path = state_dir() / "sandbox.json"
    state = read_state(path)
    if state is None:
        click.echo("preflight: no sandbox runs in the background")
        return Outcome()
    how = stop(state, path)
    if how == "gone":
        click.echo(f"preflight: the sandbox at {state.url} (PID {state.pid}) was not running; "
                   "forgot it")
    else:
        click.echo(f"preflight: stopped the sandbox at {state.url} (PID {state.pid})"
                   + (" by a signal: it did not answer the stop request" if how == "signalled"
                      else ""))
    remove_state(path, state.pid)
    return Outcome()
