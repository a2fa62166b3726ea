"""Commands that change a job (the confirms and SUBMITVERIFYING), each sent once per try with
Show deciding about a resend, and the read-only queries that prove a part arrived."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from preflight.errors import CommandFailed, NetworkError, ServiceError, SubmitError
from preflight.manifest import Manifest
from preflight.metastudio import (
    ACTION_SLOT,
    CONFIRM_GRANT_COMMAND,
    GRANT_SLOT,
    MULTIPART_CONFIRM,
    MULTIPART_DATA,
    MULTIPART_QUERY,
    REQUIRED_SLOT,
    SLOTS,
    WAIT_FILE_UPLOAD,
)
from preflight.submitter.context import Context
from preflight.submitter.retry import THROTTLE_CODES, is_retryable_status
from preflight.submitter.uploader import PartTask, etag_matches


def multipart(data: Mapping[str, Any]) -> dict[int, str | None]:
    """Part number -> ETag from a ``multipart_data`` answer (part numbers come as strings)."""
    out: dict[int, str | None] = {}
    items = data.get(MULTIPART_DATA)
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            n = int(str(item.get("part_number", "")).strip())
        except ValueError:
            continue
        etag = item.get("etag")
        out[n] = str(etag) if etag is not None else None
    return out


def action_answer(data: Mapping[str, Any]) -> tuple[list[str], dict[int, str | None]]:
    """Both shapes a GET_ACTION_VIDEO_MULTIPART_UPLOADED answer may take: a list of upload
    URLs (any list of strings in the answer, as its doc text says "upload addresses"), or
    uploaded-part data in ``multipart_data`` like GET_MULTIPART_UPLOADED's."""
    urls: list[str] = []
    for key, value in data.items():
        if key != MULTIPART_DATA and isinstance(value, list) and value and all(
                isinstance(v, str) for v in value):
            urls.extend(value)
    return urls, multipart(data)


def needed(manifest: Manifest) -> list[str]:
    """The confirm commands this package needs before SUBMITVERIFYING, in order."""
    out = [MULTIPART_CONFIRM[REQUIRED_SLOT]]
    if manifest.upload(ACTION_SLOT) is not None:
        out.append(MULTIPART_CONFIRM[ACTION_SLOT])
    if manifest.upload(GRANT_SLOT) is not None:
        out.append(CONFIRM_GRANT_COMMAND)
    return out


def took_effect(ctx: Context, job_id: str, command: str) -> bool:
    """After a lost answer (or an interrupted run): does Show say the command took effect?
    A job past WAIT_FILE_UPLOAD accepts none of these commands any more, so it counts as
    done; a confirm is proven by the slot's download URL. Otherwise resending is allowed
    (the job still waits for its files)."""
    data = ctx.client.show(job_id).data
    state = data.get("state")
    if state is not None and state != WAIT_FILE_UPLOAD:
        return True
    for slot, confirm in MULTIPART_CONFIRM.items():
        if command == confirm:
            return any(data.get(f) for f in SLOTS[slot].download_fields)
    return False


def send_once(ctx: Context, job_id: str, command: str) -> None:
    """Send a non-idempotent command (CONFIRM_*, SUBMITVERIFYING). Throttling and refused
    connections are retried as is; after a 5xx or a lost answer the job is shown first and the
    command is only sent again when Show says it did not take effect."""
    client, store = ctx.client, ctx.store
    policy = client.retry
    marker = f"{command}:sent"
    if store.step_done(job_id, marker) and took_effect(ctx, job_id, command):
        ctx.note(job_id, f"{command}: sent by an interrupted run and already in effect")
        return
    for attempt in range(1, policy.attempts + 1):
        store.record_step(job_id, marker)
        try:
            client.command(job_id, command, retry=False)
            return
        except CommandFailed:
            raise
        except ServiceError as exc:
            if not (exc.status and is_retryable_status(exc.status, exc.error_code)) \
                    or attempt == policy.attempts:
                raise
            lost = not (exc.status == 429 or exc.error_code in THROTTLE_CODES)
            why = f"HTTP {exc.status}" + (f" {exc.error_code}" if exc.error_code else "")
        except NetworkError as exc:
            if attempt == policy.attempts:
                raise
            lost, why = exc.maybe_sent, exc.cause
        if lost and took_effect(ctx, job_id, command):
            ctx.note(job_id, f"{command}: the answer was lost ({why}); the job shows it took "
                     "effect, so it is not sent again")
            return
        delay = policy.delay(attempt)
        checked = " (the job shows it did not take effect)" if lost else ""
        ctx.retrying(f"{command}: {why}{checked}; retrying in {delay:.1f} s")
        policy.sleep(delay)


def confirm(ctx: Context, job_id: str, command: str) -> None:
    """Send one confirm once and record it. The training video's parts are listed first and
    compared with the plan; an EXCUTE_FAILED answer to the letter's confirmation (as 200 or
    as 400) is a warning and the run goes on (when it is required is undocumented, §2.1)."""
    if command == MULTIPART_CONFIRM[REQUIRED_SLOT]:
        video = ctx.manifest.upload(REQUIRED_SLOT)
        assert video is not None  # the runner refuses a package without one
        listed = multipart(ctx.client.command(job_id, MULTIPART_QUERY[REQUIRED_SLOT]).data)
        if listed:
            missing = [p.part_number for p in video.parts if p.part_number not in listed]
            wrong = [p.part_number for p in video.parts
                     if etag_matches(listed.get(p.part_number), p.md5) is False]
            if missing or wrong:
                raise SubmitError(f"the service is missing training-video parts {missing} or "
                                  f"holds wrong bytes for {wrong}")
    ctx.phase(command)
    try:
        send_once(ctx, job_id, command)
    except CommandFailed as exc:
        if command != CONFIRM_GRANT_COMMAND:
            raise
        ctx.warn(job_id, f"{CONFIRM_GRANT_COMMAND} answered EXCUTE_FAILED (HTTP {exc.status}): "
                 f"{exc.error_msg or exc}; when it is required is undocumented, so the "
                 "submission goes on")
        ctx.store.record_step(job_id, command)
        return
    ctx.store.record_step(job_id, command)
    ctx.result.commands.append(command)


def verifier(ctx: Context, job_id: str) -> Callable[[PartTask], bool | None]:
    """Asks the service whether a part arrived: True (yes), False (no), None (unknown)."""
    def verify(task: PartTask) -> bool | None:
        query = MULTIPART_QUERY.get(task.slot)
        if task.slot == ACTION_SLOT:
            _action_listing(ctx, job_id, task)
            return _verify_show(ctx, job_id, task.slot)
        if query is not None:
            try:
                parts = multipart(ctx.client.command(job_id, query).data)
            except ServiceError:
                parts = {}
                if task.slot != REQUIRED_SLOT:
                    return _verify_show(ctx, job_id, task.slot)
            if task.part_number not in parts:
                return False if task.slot == REQUIRED_SLOT else None
            match = etag_matches(parts[task.part_number], task.md5)
            if match is False:
                raise SubmitError(f"{task.slot} part {task.part_number}: the service holds "
                                  f"different bytes (ETag {parts[task.part_number]} ≠ MD5 "
                                  f"{task.md5}); rerun with --new-job")
            return True
        return _verify_show(ctx, job_id, task.slot)
    return verify


def _action_listing(ctx: Context, job_id: str, task: PartTask) -> None:
    """Ask GET_ACTION_VIDEO_MULTIPART_UPLOADED. Its answer is documented as "the action
    video's part upload addresses" (unlike GET_MULTIPART_UPLOADED's "uploaded part info"), so
    it may be a URL list or part data: never proof that a part arrived. Part data with a
    different ETag still means the service holds other bytes."""
    try:
        data = ctx.client.command(job_id, MULTIPART_QUERY[ACTION_SLOT]).data
    except ServiceError:
        return
    _urls, parts = action_answer(data)  # URLs are never used: only ours are recorded
    etag = parts.get(task.part_number)
    if etag_matches(etag, task.md5) is False:
        raise SubmitError(f"action_video part {task.part_number}: the service holds "
                          f"different bytes (ETag {etag} ≠ MD5 {task.md5}); rerun with "
                          "--new-job")


def _verify_show(ctx: Context, job_id: str, slot: str) -> bool | None:
    fields = SLOTS[slot].download_fields if slot in SLOTS else None
    if not fields:
        return None
    data = ctx.client.show(job_id).data
    return True if any(data.get(f) for f in fields) else None
