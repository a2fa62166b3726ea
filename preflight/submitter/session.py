"""The submitter's entry points: ``connect`` a client, ``send`` a built package, ``status``.

`preflight.submit` (`preflight.workflows.submit`) checks and packages a spec, then uses these.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from preflight.errors import SetupError, SubmitBusy
from preflight.manifest import Manifest
from preflight.metastudio import (
    PROCESSING_FAILED,
    REJECTED,
    chinese_characters,
    is_final,
    is_spec_path,
    state_class,
)
from preflight.metastudio.credentials import Credentials, resolve_endpoint
from preflight.spec import load_spec
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.flow import (
    DryRun,
    Submission,
    SubmitResult,
    default_state_path,
    make_client,
    redacted_parts,
    submission_key,
)
from preflight.submitter.progress import ProgressCallback
from preflight.submitter.retry import RetryPolicy
from preflight.submitter.state import StateStore

DRY_RUN_CREDENTIALS = Credentials(project_id="{project_id}", ak="{HUAWEICLOUD_SDK_AK}",
                                  sk="dry-run-placeholder")


def connect(
    *,
    region: str | None = None,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    app_user_id: str | None = None,
    jobs: int = 4,
    dry_run: bool = False,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    insecure_http: bool = False,
) -> MetaStudioClient:
    """A signed client for the endpoint (or region). For a dry run, missing credentials and
    endpoint become placeholders, since nothing is sent.

    :raises SetupError: no usable credentials or endpoint.
    """
    if dry_run:
        creds = credentials
        if creds is None:
            try:
                creds = Credentials.from_env()
            except SetupError:
                creds = DRY_RUN_CREDENTIALS
        base = resolve_endpoint(region, endpoint, insecure_http=insecure_http) \
            if (region or endpoint) \
            else "https://metastudio.{region}.myhuaweicloud.com"
        return MetaStudioClient(base, creds, app_user_id=app_user_id, transport=transport)
    return make_client(region=region, endpoint=endpoint, credentials=credentials,
                       app_user_id=app_user_id, transport=transport, retry=retry, jobs=jobs,
                       insecure_http=insecure_http)


def send(
    manifest: Manifest,
    client: MetaStudioClient,
    *,
    spec_path: str = "",
    state_dir: str | Path | None = None,
    jobs: int = 4,
    new_job: bool = False,
    wait: bool = False,
    poll_interval: float = 5.0,
    wait_timeout: float | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> SubmitResult | DryRun:
    """Create (or resume), upload, confirm and submit the job of a built package; with
    ``dry_run``, return the requests that would be sent instead.

    :raises SubmitError: the service or the network refused (exit code 3 in the CLI).
    """
    if dry_run:
        return _dry(manifest, client, spec_path, default_state_path(spec_path or None, state_dir),
                    new_job)
    state_path = default_state_path(spec_path or None, state_dir)
    with submission_lock(state_path, submission_key(
            manifest, client.endpoint, client.credentials.project_id, client.app_user_id)):
        store = StateStore(state_path)
        try:
            run = Submission(manifest, client, store, spec_path=spec_path, jobs=jobs,
                             new_job=new_job, progress=progress, poll_interval=poll_interval,
                             wait_timeout=wait_timeout)
            return run.run(wait=wait)
        finally:
            store.close()


@contextmanager
def submission_lock(state_path: Path, key: str, timeout: float = 0.0) -> Iterator[Path]:
    """Hold the OS lock of one submission (``<state dir>/locks/<key>.lock``) from before the
    job is created until the run ends, so a second run of the same job cannot create a
    second job. The kernel releases it when the process dies, even by ``kill -9``.

    :raises SubmitBusy: another process holds it (after `timeout` seconds).
    """
    from filelock import FileLock, Timeout

    folder = state_path.parent / "locks"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise SubmitBusy(f"cannot create the lock folder {folder}: {exc.strerror or exc}"
                         ) from None
    path = folder / f"{key[:32]}.lock"
    if path.is_symlink():
        raise SubmitBusy(f"{path} is a symbolic link; refusing to use it as a lock")
    lock = FileLock(str(path), timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise SubmitBusy(
            "another preflight submit of this job is running (it holds the lock "
            f"{path}); wait for it to finish, or follow it with `preflight status`") from None
    except OSError as exc:
        raise SubmitBusy(f"cannot lock {path}: {exc.strerror or exc}") from None
    try:
        yield path
    finally:
        lock.release()


def _dry(man: Manifest, client: Any, spec_path: str, store_path: Path,
         new_job: bool = False) -> DryRun:
    """The requests a submit would send now: the whole flow for a new job, or the resume plan
    of a job already recorded for this spec and media (read from the state store, which is
    not created or changed)."""
    if store_path.is_file():
        store = StateStore(store_path)
        try:
            return Submission(man, client, store, spec_path=spec_path,
                              new_job=new_job).dry_run()
        finally:
            store.close()

    class _NoStore:
        path = store_path

        def latest(self, key: str) -> None:
            return None

        def jobs(self) -> list[Any]:
            return []

    run = Submission(man, client, _NoStore(), spec_path=spec_path)  # type: ignore[arg-type]
    return run.dry_run()


def _check_local_service(job_id: str, base: str) -> None:
    """A job recorded against a loopback endpoint (a `preflight sandbox` stand-in): say so
    when nothing listens there any more, instead of retrying a dead port.

    :raises SetupError: the local service is gone.
    """
    parts = urlsplit(base)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=2.0).close()
    except OSError:
        raise SetupError(f"job {job_id} was submitted to a local service at {base}, which no "
                         "longer runs (a stand-in keeps its jobs in memory, so they are gone); "
                         "start it again and resubmit, or give --endpoint/--region") from None


@dataclass
class JobStatus:
    """A job as the service reports it, plus what the local state store knows."""

    job_id: str
    state: str | None
    name: str | None
    final: bool
    service: dict[str, Any]
    local: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Failed after the review (training, preprocessing, ...) or rejected by the user:
        staff may still move it back, so it is not final."""
        return self.state is not None and state_class(self.state) in (PROCESSING_FAILED,
                                                                       REJECTED)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (download URLs redacted)."""
        from preflight.submitter.redact import redact_url

        shown = {k: (redact_url(v) if isinstance(v, str) and k.endswith("_url") else v)
                 for k, v in self.service.items()}
        return {"job_id": self.job_id, "state": self.state, "name": self.name,
                "final": self.final, "failed": self.failed, "history": self.history,
                "local": self.local, "service": shown}


def status(
    target: str | Path | None = None,
    *,
    region: str | None = None,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    app_user_id: str | None = None,
    state_dir: str | Path | None = None,
    transport: httpx.BaseTransport | None = None,
    insecure_http: bool = False,
) -> list[JobStatus]:
    """State and history of jobs: for a spec (jobs submitted from it, newest first), a job id,
    or, with no target, the jobs in the state store of the current directory.

    :raises SubmitError: unknown job, no credentials, or the service refused.
    """
    spec_path: Path | None = None
    job_ids: list[tuple[str, str | None]] = []  # (job_id, endpoint recorded)
    if target is not None and is_spec_path(target) \
            and Path(target).is_file():
        spec_path = Path(target).absolute()
    store_path = default_state_path(spec_path, state_dir)
    store = StateStore(store_path) if store_path.is_file() else None
    locals_: dict[str, dict[str, Any]] = {}
    try:
        if store is not None:
            for row in store.jobs():
                if not row.job_id:
                    continue
                if spec_path is not None and row.spec_path != str(spec_path):
                    continue
                if target is not None and spec_path is None and row.job_id != str(target):
                    continue
                if row.job_id not in locals_:
                    locals_[row.job_id] = {"phase": row.phase, "spec": row.spec_path,
                                           "endpoint": row.endpoint,
                                           "parts": redacted_parts(store, row.job_id)}
                    job_ids.append((row.job_id, row.endpoint))
    finally:
        if store is not None:
            store.close()
    if target is not None and spec_path is None and not job_ids:
        job_ids.append((str(target), None))
    if not job_ids:
        where = f"for {spec_path}" if spec_path else f"in {store_path}"
        raise SetupError(f"nothing to look up: no submitted job recorded {where}; give a "
                         "spec that was submitted or a job id")
    if app_user_id is not None and (chinese_characters(app_user_id) or not app_user_id.strip()
                                    or not app_user_id.isascii()
                                    or not app_user_id.isprintable()):
        raise SetupError(f"--app-user-id {app_user_id!r}: X-App-UserId must be printable ASCII "
                         "without Chinese characters (CJK punctuation and full-width forms "
                         "count), and not blank")
    user = app_user_id if app_user_id is not None or spec_path is None \
        else load_spec(spec_path).account.app_user_id
    out: list[JobStatus] = []
    clients: dict[str, Any] = {}
    try:
        for job_id, recorded in job_ids[:1] if spec_path else job_ids:
            base = endpoint or (None if region else recorded)
            key = f"{region}|{base}"
            if key not in clients:
                if base is None and region is None:
                    raise SetupError("no endpoint: give --region or --endpoint")
                if base is not None and base == recorded and endpoint is None:
                    _check_local_service(job_id, base)
                clients[key] = make_client(region=region, endpoint=base, credentials=credentials,
                                           app_user_id=user, transport=transport,
                                           insecure_http=insecure_http)
            data = clients[key].show(job_id).data
            state = data.get("state")
            logs = data.get("operation_logs")
            out.append(JobStatus(job_id=job_id, state=str(state) if state else None,
                                 name=data.get("name"), final=is_final(state),
                                 service=data, local=locals_.get(job_id),
                                 history=[x for x in logs if isinstance(x, dict)]
                                 if isinstance(logs, list) else []))
    finally:
        for c in clients.values():
            c.close()
    return out


