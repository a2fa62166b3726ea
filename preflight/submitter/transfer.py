"""The upload step: the parts not yet proven stored, PUT to their recorded URLs."""

from __future__ import annotations

import time
from pathlib import Path

from preflight.errors import PackagingError, ServiceError, SubmitError
from preflight.metastudio import MULTIPART_QUERY, REQUIRED_SLOT
from preflight.submitter.commands import multipart, verifier
from preflight.submitter.context import Context
from preflight.submitter.progress import ProgressEvent
from preflight.submitter.state import DONE, SENDING, UNPROVEN
from preflight.submitter.uploader import PartTask, Uploader, etag_matches


def check_sources(ctx: Context) -> None:
    """:raises PackagingError: a source file is gone or changed since packaging."""
    for upload in ctx.manifest.uploads:
        path = Path(upload.source)
        try:
            st = path.stat()
        except OSError:
            raise PackagingError(f"{upload.slot}: {path} is missing; package again") from None
        if st.st_size != upload.size or st.st_mtime_ns != upload.mtime_ns:
            raise PackagingError(f"{upload.slot}: {path} changed after packaging (size or "
                                 "modification time differs); package again")


def parts_left(ctx: Context, job_id: str) -> int:
    """Planned parts not proven stored (nor spent without proof) in the record."""
    rows = {(p.slot, p.part_number): p.status for p in ctx.store.parts(job_id)}
    return sum(1 for u in ctx.manifest.uploads for p in u.parts
               if rows.get((u.slot, p.part_number)) not in (DONE, UNPROVEN))


def _tasks(ctx: Context, job_id: str) -> list[PartTask]:
    result = ctx.result
    rows = {(p.slot, p.part_number): p for p in ctx.store.parts(job_id)}
    tasks: list[PartTask] = []
    listed: dict[str, dict[int, str | None]] = {}
    result.parts_total = result.bytes_total = result.parts_skipped = 0
    for upload in ctx.manifest.uploads:
        for part in upload.parts:
            row = rows.get((upload.slot, part.part_number))
            if row is None:
                raise SubmitError(f"the state store has no URL for {upload.slot} part "
                                  f"{part.part_number}; rerun with --new-job")
            result.parts_total += 1
            result.bytes_total += part.length
            if row.status in (DONE, UNPROVEN):
                result.parts_skipped += 1
                continue
            if upload.slot == REQUIRED_SLOT and row.status == SENDING:
                if upload.slot not in listed:
                    try:
                        listed[upload.slot] = multipart(ctx.client.command(
                            job_id, MULTIPART_QUERY[upload.slot]).data)
                    except ServiceError:
                        listed[upload.slot] = {}
                etag = listed[upload.slot].get(part.part_number, "")
                if part.part_number in listed[upload.slot] and etag_matches(
                        etag, part.md5) is not False:
                    ctx.store.mark(job_id, upload.slot, part.part_number, DONE, etag)
                    result.parts_skipped += 1
                    continue
            tasks.append(PartTask(job_id, upload.slot, part.part_number, row.url,
                                  upload.source, part.offset, part.length, part.md5,
                                  upload.content_type, row.status))
    return tasks


def upload(ctx: Context, job_id: str) -> None:
    """PUT every part not yet proven stored, ``ctx.jobs`` at a time.

    :raises SubmitError: a part could not be stored (the record keeps what was proven).
    """
    result = ctx.result
    started = time.monotonic()
    tasks = _tasks(ctx, job_id)
    done_bytes = result.bytes_total - sum(t.length for t in tasks)
    ctx.sink.emit(ProgressEvent("plan", total_bytes=result.bytes_total,
                                total_parts=result.parts_total, done_bytes=done_bytes,
                                done_parts=result.parts_total - len(tasks), job_id=job_id))
    if not tasks:
        return
    ctx.phase(f"uploading {len(tasks)} part(s) with {ctx.jobs} connection(s)")
    uploader = Uploader(ctx.client, ctx.store, verifier(ctx, job_id), ctx.sink, jobs=ctx.jobs)
    try:
        uploader.run(tasks)
    finally:
        result.bytes_sent += uploader.sent_bytes
        result.upload_seconds += time.monotonic() - started
    result.parts_uploaded += len(tasks)
