"""``--dry-run``: the requests a submission would send now, secrets redacted; nothing is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from preflight.manifest import Manifest
from preflight.metastudio import COUNT_FIELDS, MULTIPART_QUERY, REQUIRED_SLOT, SUBMIT_COMMAND
from preflight.submitter.body import Change, create_body, update_body
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.commands import needed
from preflight.submitter.redact import redact_url
from preflight.submitter.result import DryRun
from preflight.submitter.state import DONE, UNPROVEN, JobRow, PartRow


class Record(Protocol):
    """The read side of the state store a plan needs."""

    def latest(self, key: str) -> JobRow | None:
        """The newest attempt for a key."""

    def parts(self, job_id: str) -> list[PartRow]:
        """Every URL of a job."""

    def step_done(self, job_id: str, step: str) -> bool:
        """Whether a command was acknowledged."""


def _commands(manifest: Manifest) -> list[str]:
    return [*needed(manifest), SUBMIT_COMMAND]


def _resume_plan(manifest: Manifest, client: MetaStudioClient, store: Record, row: JobRow,
                 key: str) -> DryRun:
    """What a rerun would send for a recorded job: Show, the parts not yet uploaded (to their
    recorded URLs), the commands not yet acknowledged, polling. No create."""
    job_id = str(row.job_id)
    path = f"{client.base_path}/{job_id}"
    reqs = [client.prepare("GET", path).redacted()]
    parts: list[dict[str, Any]] = []
    if row.phase not in ("submitted", "final"):
        for p in store.parts(job_id):
            if p.status in (DONE, UNPROVEN):
                continue
            parts.append({"slot": p.slot, "part_number": p.part_number,
                          "url": redact_url(p.url), "status": p.status})
            reqs.append({"method": "PUT", "url": redact_url(p.url), "headers": {},
                         "body": f"<{p.slot} part {p.part_number}>"})
        for cmd in _commands(manifest):
            if not store.step_done(job_id, cmd):
                reqs.append(client.prepare("POST", f"{path}/command",
                                           body={"command": cmd}).redacted())
    reqs.append(client.prepare("GET", path).redacted())
    return DryRun(reqs, parts, key, resume_job=job_id, resume_phase=row.phase)


def update_plan(manifest: Manifest, client: MetaStudioClient, job_id: str,
                changes: tuple[Change, ...], key: str) -> DryRun:
    """What a rerun after a failed review would send: Show, the update with UPDATE_VIDEO,
    the part counts and the changed fields, the PUTs to the fresh URLs, the commands, Show."""
    plan = dry_run(manifest, client, None, key)
    path = f"{client.base_path}/{job_id}"
    show = client.prepare("GET", path).redacted()
    update = client.prepare("PUT", path, body=update_body(manifest, changes)).redacted()
    rest = [{**r, "url": r["url"].replace("{job_id}", job_id)} for r in plan.requests[1:]]
    return DryRun([show, update, *rest], plan.parts, key, resume_job=job_id,
                  resume_phase="update")


def dry_run(manifest: Manifest, client: MetaStudioClient, store: Record | None, key: str,
            new_job: bool = False) -> DryRun:
    """The requests that would be sent, with secrets redacted; nothing is sent. For a job
    already recorded for this spec and media, the resume plan (no create)."""
    row = None if new_job or store is None else store.latest(key)
    if store is not None and row is not None and row.job_id \
            and not row.phase.startswith("abandoned"):
        return _resume_plan(manifest, client, store, row, key)
    body = create_body(manifest)
    reqs = [client.prepare("POST", client.base_path, body=body).redacted()]
    parts: list[dict[str, Any]] = []
    for u in manifest.uploads:
        for p in u.parts:
            parts.append({"slot": u.slot, "url_field": u.url_field,
                          "part_number": p.part_number, "source": u.source,
                          "offset": p.offset, "length": p.length, "md5": p.md5,
                          "content_type": u.content_type})
            reqs.append({"method": "PUT", "url": f"<{u.url_field}"
                         + (f"[{p.part_number - 1}]" if u.slot in COUNT_FIELDS else "")
                         + ">", "headers": {"Content-Type": u.content_type,
                                            "Content-Length": str(p.length)},
                         "body": f"<{p.length} bytes of {Path(u.source).name} at "
                                 f"{p.offset}>"})
    commands = _commands(manifest)
    commands.insert(0, MULTIPART_QUERY[REQUIRED_SLOT])
    for cmd in commands:
        reqs.append(client.prepare("POST", f"{client.base_path}/{{job_id}}/command",
                                   body={"command": cmd}).redacted())
    reqs.append(client.prepare("GET", f"{client.base_path}/{{job_id}}").redacted())
    return DryRun(reqs, parts, key)
