"""Library entry points: ``submit`` and ``status``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from preflight.errors import PackagingError, SubmitError
from preflight.package.manifest import Manifest
from preflight.submit.credentials import Credentials, resolve_endpoint
from preflight.submit.flow import (
    DryRun,
    Submission,
    SubmitResult,
    default_state_path,
    is_final,
    make_client,
    redacted_parts,
)
from preflight.submit.progress import ProgressCallback, ProgressEvent
from preflight.submit.retry import RetryPolicy
from preflight.submit.state import StateStore

PACKAGE_DIR = Path(".preflight") / "package"
DRY_RUN_CREDENTIALS = Credentials(project_id="{project_id}", ak="{HUAWEICLOUD_SDK_AK}",
                                  sk="dry-run-placeholder")


def _spec_manifest(spec: str | Path, package_dir: str | Path | None, *, force: bool,
                   parts: int | str | None, progress: ProgressCallback | None) -> Manifest:
    """Reuse an unchanged package for this spec, or check and package it now."""
    from preflight.package.builder import MANIFEST_NAME, package, verify

    spec_path = Path(spec).absolute()
    out = Path(package_dir) if package_dir else spec_path.parent / PACKAGE_DIR
    if (out / MANIFEST_NAME).is_file() and parts is None:
        try:
            ver = verify(out)
        except PackagingError:
            ver = None
        if ver is not None and ver.ok and Path(ver.manifest.spec_path) == spec_path:
            if progress:
                progress(ProgressEvent("note", message=f"reusing the package in {out} "
                                       "(sources unchanged)"))
            return ver.manifest
    if progress:
        progress(ProgressEvent("phase", message=f"checking and packaging into {out}"))
    return package(spec_path, out, force=force, parts=parts).manifest


def _app_user_id(spec: str | Path | None, given: str | None) -> str | None:
    if given is not None or spec is None:
        return given
    from preflight.spec import load_spec

    return load_spec(spec).account.app_user_id


def submit(
    spec: str | Path | None = None,
    *,
    manifest: Manifest | str | Path | None = None,
    package_dir: str | Path | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    app_user_id: str | None = None,
    state_dir: str | Path | None = None,
    jobs: int = 4,
    parts: int | str | None = None,
    new_job: bool = False,
    wait: bool = False,
    poll_interval: float = 5.0,
    wait_timeout: float | None = None,
    dry_run: bool = False,
    force: bool = False,
    sandbox: bool = False,
    progress: ProgressCallback | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> SubmitResult | DryRun:
    """Check, package, create, upload, confirm and submit a job; resume it if interrupted.

    ``spec`` is an ``avatar.toml``; or pass a ``manifest`` (object or ``manifest.json`` path)
    to skip check and packaging. Credentials come from the environment unless given.
    ``sandbox=True`` starts an in-process stand-in service with throwaway credentials and
    submits to it. ``dry_run`` returns the requests that would be sent.

    :raises SubmitError: the service or the network refused (exit code 3 in the CLI).
    :raises PackagingError: the package cannot be built (e.g. error findings without force).
    """
    if spec is None and manifest is None:
        raise SubmitError("give a spec file or a manifest")
    man: Manifest | None = None
    if isinstance(manifest, Manifest):
        man = manifest
    elif manifest is not None:
        man = Manifest.load(Path(manifest))
    user = _app_user_id(spec if spec else ((man.spec_path if man else None) or None),
                        app_user_id)
    with ExitStack() as stack:
        if sandbox:
            from preflight.sandbox import running

            sb = stack.enter_context(running(advance_seconds=0.3))
            endpoint, region, credentials = sb.url, None, sb.credentials
            poll_interval = min(poll_interval, 0.2)
            if progress:
                progress(ProgressEvent("note", message=f"sandbox service running at {sb.url}"))
        if dry_run:
            creds = credentials
            if creds is None:
                try:
                    creds = Credentials.from_env()
                except SubmitError:
                    creds = DRY_RUN_CREDENTIALS
            base = resolve_endpoint(region, endpoint) if (region or endpoint) \
                else "https://metastudio.{region}.myhuaweicloud.com"
            from preflight.submit.client import MetaStudioClient

            client = MetaStudioClient(base, creds, app_user_id=user, transport=transport)
        else:
            client = make_client(region=region, endpoint=endpoint, credentials=credentials,
                                 app_user_id=user, transport=transport, retry=retry, jobs=jobs)
        stack.callback(client.close)
        if man is None:  # credentials and endpoint are known good before the long part
            assert spec is not None
            man = _spec_manifest(spec, package_dir, force=force, parts=parts,
                                 progress=progress)
        spec_path = str(Path(spec).absolute()) if spec else (man.spec_path or "")
        if dry_run:
            store_path = default_state_path(spec_path or None, state_dir)
            return _dry(man, client, spec_path, store_path)
        store = StateStore(default_state_path(spec_path or None, state_dir))
        stack.callback(store.close)
        run = Submission(man, client, store, spec_path=spec_path, jobs=jobs, new_job=new_job,
                         progress=progress, poll_interval=poll_interval,
                         wait_timeout=wait_timeout)
        return run.run(wait=wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _dry(man: Manifest, client: Any, spec_path: str, store_path: Path) -> DryRun:
    class _NoStore:
        path = store_path

        def latest(self, key: str) -> None:
            return None

    run = Submission(man, client, _NoStore(), spec_path=spec_path)  # type: ignore[arg-type]
    return run.dry_run()


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (download URLs redacted)."""
        from preflight.submit.redact import redact_url

        shown = {k: (redact_url(v) if isinstance(v, str) and k.endswith("_url") else v)
                 for k, v in self.service.items()}
        return {"job_id": self.job_id, "state": self.state, "name": self.name,
                "final": self.final, "history": self.history, "local": self.local,
                "service": shown}


def status(
    target: str | Path | None = None,
    *,
    region: str | None = None,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    app_user_id: str | None = None,
    state_dir: str | Path | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[JobStatus]:
    """State and history of jobs: for a spec (jobs submitted from it, newest first), a job id,
    or, with no target, the jobs in the state store of the current directory.

    :raises SubmitError: unknown job, no credentials, or the service refused.
    """
    spec_path: Path | None = None
    job_ids: list[tuple[str, str | None]] = []  # (job_id, endpoint recorded)
    if target is not None and Path(target).suffix.lower() in (".toml", ".json") \
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
        raise SubmitError(f"no submitted job recorded {where}; give a job id")
    user = _app_user_id(spec_path, app_user_id)
    out: list[JobStatus] = []
    clients: dict[str, Any] = {}
    try:
        for job_id, recorded in job_ids[:1] if spec_path else job_ids:
            base = endpoint or (None if region else recorded)
            key = f"{region}|{base}"
            if key not in clients:
                if base is None and region is None:
                    raise SubmitError("no endpoint: give --region or --endpoint")
                clients[key] = make_client(region=region, endpoint=base, credentials=credentials,
                                           app_user_id=user, transport=transport)
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


ProgressFactory = Callable[[], ProgressCallback]
