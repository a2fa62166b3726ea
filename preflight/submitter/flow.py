"""``submit``: check → package → create → record → upload → confirm → SUBMITVERIFYING → poll,
as a state machine (`preflight.submitter.machine`) run by `Submission`
(`preflight.submitter.runner`). Every step is resumable from the state store
(`preflight.submitter.state`).

This module gathers the names callers use, and builds clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from preflight.metastudio.credentials import Credentials, resolve_endpoint
from preflight.submitter.body import create_body, submission_key
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.commands import action_answer
from preflight.submitter.redact import redact_url
from preflight.submitter.result import DryRun, SubmitResult
from preflight.submitter.retry import RetryPolicy
from preflight.submitter.runner import Submission
from preflight.submitter.state import FILE_NAME, StateStore

__all__ = ["DryRun", "Submission", "SubmitResult", "action_answer", "create_body",
           "default_state_path", "make_client", "redacted_parts", "submission_key"]


def default_state_path(spec_path: str | Path | None, state_dir: str | Path | None) -> Path:
    """``--state-dir/preflight-state.sqlite`` or ``.preflight/`` next to the spec."""
    if state_dir is not None:
        return Path(state_dir) / FILE_NAME
    base = Path(spec_path).absolute().parent if spec_path else Path.cwd()
    return base / ".preflight" / FILE_NAME


def make_client(*, region: str | None = None, endpoint: str | None = None,
                credentials: Credentials | None = None, app_user_id: str | None = None,
                transport: httpx.BaseTransport | None = None, http: httpx.Client | None = None,
                retry: RetryPolicy | None = None, jobs: int = 4,
                timeout: float = 60.0, insecure_http: bool = False) -> MetaStudioClient:
    """A client for ``--region``/``--endpoint`` with environment credentials by default."""
    base = resolve_endpoint(region, endpoint, insecure_http=insecure_http)
    creds = credentials or Credentials.from_env()
    return MetaStudioClient(base, creds, app_user_id=app_user_id, client=http,
                            transport=transport, retry=retry, max_connections=jobs + 2,
                            timeout=timeout)


def redacted_parts(store: StateStore, job_id: str) -> list[dict[str, Any]]:
    """Parts of a job for display (URLs without their query)."""
    return [{"slot": p.slot, "part_number": p.part_number, "url": redact_url(p.url),
             "status": p.status, "etag": p.etag} for p in store.parts(job_id)]
