"""Steps that make or change a job: create (one try), clean up after an unanswered create,
update a job whose review failed (one try). Each records before it sends and after it hears,
so that a kill at any moment leaves a record the state machine can continue from."""

from __future__ import annotations

from preflight.errors import NetworkError, ServiceError, SubmitError
from preflight.metastudio import WAIT_FILE_UPLOAD
from preflight.submitter.body import BodyDiff, all_urls, create_body, parse_time, update_body
from preflight.submitter.context import Context, Unanswered
from preflight.submitter.retry import THROTTLE_CODES, is_retryable_status
from preflight.submitter.state import JobRow

#: Seconds before the recorded start of a create that an orphan may carry as its create time
#: (clocks of this machine and the service differ a little) [inferred].
CLOCK_SLACK = 5.0


def _unanswered(exc: ServiceError | NetworkError) -> tuple[str, bool] | None:
    """(cause, maybe_done) for a failure worth another try; None for a refusal."""
    if isinstance(exc, NetworkError):
        return exc.cause, exc.maybe_sent
    if exc.status and is_retryable_status(exc.status, exc.error_code):
        throttled = exc.status == 429 or exc.error_code in THROTTLE_CODES
        return f"HTTP {exc.status}" + (f" {exc.error_code}" if exc.error_code else ""), \
            not throttled
    return None


def create(ctx: Context) -> str | Unanswered:
    """Create2dModelTrainingJob, one try; the job id, every upload URL and the body sent are
    recorded in one transaction. `Unanswered` when no usable answer came (the record stays
    ``creating`` when the service may have made the job, so the next step cleans up first).

    :raises ServiceError: the service refused the body.
    """
    body = create_body(ctx.manifest)
    client, store = ctx.client, ctx.store
    seq = store.begin_create(ctx.key, client.endpoint, client.credentials.project_id,
                             ctx.spec_path, str(body.get("name", "")))
    ctx.phase("creating the job")
    try:
        resp = client.create(body)
    except (ServiceError, NetworkError) as exc:
        retry = _unanswered(exc)
        if retry is None:
            store.abandon(seq, "create refused")
            raise
        if not retry[1]:
            store.abandon(seq, "create not sent")
        return Unanswered(exc, f"create job: {retry[0]}")
    job_id = resp.data.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        store.abandon(seq, "no job id")
        raise SubmitError("the service accepted the job but returned no job_id",
                          request_id=resp.request_id)
    try:
        urls = all_urls(ctx.manifest, resp.data)
    except SubmitError as exc:
        _discard(ctx, seq, job_id, str(exc), resp.request_id)
    store.record_created(seq, job_id, urls, body)
    ctx.note(job_id, f"created job {job_id} ({len(urls)} upload URLs recorded)")
    return job_id


def _discard(ctx: Context, seq: int, job_id: str, why: str, request_id: str | None) -> None:
    """The job just created cannot be completed (an upload URL field is missing for a slot
    that has a file): delete it so that no orphan is left, then fail."""
    try:
        ctx.client.delete(job_id)
    except SubmitError as exc:
        ctx.store.record_created(seq, job_id, [])
        raise SubmitError(f"{why}; deleting job {job_id} failed too ({exc}): delete it in "
                          "the console", request_id=request_id) from None
    ctx.store.abandon(seq, "upload URL missing")
    raise SubmitError(f"{why}; job {job_id} was deleted again, so nothing is left behind",
                      request_id=request_id)


def clean_up(ctx: Context, row: JobRow) -> None:
    """A create whose answer never arrived may have made a job we have no URLs for: look
    through every page of this name's jobs waiting for files and delete those made since the
    create was sent, then forget the attempt."""
    client = ctx.client
    known = {j.job_id for j in ctx.store.jobs() if j.job_id}
    try:
        listed = list(client.list_all(name=row.name, state=WAIT_FILE_UPLOAD))
    except SubmitError:
        ctx.note(None, "could not list jobs to clean up an interrupted create")
        listed = []
    for job in listed:
        created = parse_time(job.get("create_time"))
        jid = job.get("job_id")
        if (not jid or jid in known or job.get("name") != row.name
                or job.get("state", WAIT_FILE_UPLOAD) != WAIT_FILE_UPLOAD
                or created is None or created < row.started - CLOCK_SLACK):
            continue
        if client.app_user_id and job.get("app_user_id") not in (None, client.app_user_id):
            continue
        try:
            client.delete(str(jid))
        except SubmitError:
            continue
        ctx.note(str(jid), f"deleted job {jid}: created by an interrupted run whose upload "
                 "URLs were never received")
    ctx.store.abandon(row.seq, "interrupted create")


def update(ctx: Context, job_id: str, diff: BodyDiff) -> str | Unanswered:
    """Update2dModelTrainingJob after a failed review, one try: UPDATE_VIDEO, the new part
    counts and every changed body field; the fresh URLs are recorded before the first upload
    (dossier §2.4). `Unanswered` when no usable answer came (the record stays ``updating``:
    Show decides).

    :raises ServiceError: the service refused the update.
    """
    client, store = ctx.client, ctx.store
    body = update_body(ctx.manifest, diff.changes)
    seq = store.begin_update(ctx.key, client.endpoint, client.credentials.project_id,
                             ctx.spec_path, str(create_body(ctx.manifest).get("name", "")),
                             job_id)
    changed = ", ".join(c.field for c in diff.changes)
    ctx.phase(f"updating failed job {job_id} with the new files (UPDATE_VIDEO"
              + (f"; changed: {changed}" if changed else "") + ")")
    try:
        resp = client.update(job_id, body)
    except (ServiceError, NetworkError) as exc:
        retry = _unanswered(exc)
        if retry is None:
            store.abandon(seq, "update refused")
            raise
        return Unanswered(exc, f"update job: {retry[0]}")
    try:
        urls = all_urls(ctx.manifest, resp.data)
    except SubmitError as exc:
        store.abandon(seq, "update without URLs")
        raise SubmitError(f"{exc} (update of job {job_id})",
                          request_id=resp.request_id) from None
    store.record_updated(seq, job_id, urls, body)
    ctx.result.changes = [c.to_dict() for c in diff.changes]
    for name in diff.uncleared:
        ctx.warn(job_id, f"{name} was removed from the spec, but an update cannot clear it: "
                 "the job keeps its earlier value")
    ctx.note(job_id, f"updated job {job_id}: {len(urls)} fresh upload URLs recorded")
    return job_id
