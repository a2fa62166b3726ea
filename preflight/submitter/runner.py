"""The thin runner of the submission state machine: read the record, ask `decide`, carry the
step out, repeat until an end (see `preflight.submitter.machine` for the table)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from preflight.errors import NetworkError, ServiceError, SetupError, SubmitError
from preflight.manifest import Manifest
from preflight.metastudio import (
    REJECTED,
    REQUIRED_SLOT,
    REVIEW_FAILED,
    REVIEWING,
    RUNNING,
    SLOTS,
    SUBMIT_COMMAND,
    SUCCEEDED,
    UPLOAD,
    USER_TURN,
    state_class,
)
from preflight.metastudio import REVIEW_FAILED as REVIEW_FAILED_CLASS
from preflight.submitter import jobs, machine, transfer
from preflight.submitter.body import BodyDiff, compare, create_body, submission_key
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.commands import confirm, needed, send_once
from preflight.submitter.context import Context, Unanswered
from preflight.submitter.machine import Record, Step, decide
from preflight.submitter.plan import dry_run, update_plan
from preflight.submitter.progress import ProgressCallback, ProgressEvent, ProgressSink
from preflight.submitter.result import (
    FAILED,
    LEFT_RUNNING,
    TIMED_OUT,
    DryRun,
    SubmitResult,
    failure_reason,
)
from preflight.submitter.retry import is_retryable_status
from preflight.submitter.state import DONE, UNPROVEN, JobRow, StateStore

#: A step repeated this many times in a row without the record moving stops the run.
MAX_REPEATS = 12
_OUTCOMES = {machine.END_SUCCESS: SUCCEEDED, machine.END_RUNNING: LEFT_RUNNING,
             machine.END_USER: USER_TURN, machine.END_REVIEW_FAILED: REVIEW_FAILED,
             machine.END_FAILED: FAILED, machine.END_TIMEOUT: TIMED_OUT}


class Submission:
    """One run of the submission against one client and one state store."""

    def __init__(self, manifest: Manifest, client: MetaStudioClient, store: StateStore, *,
                 spec_path: str, jobs: int = 4, new_job: bool = False,
                 progress: ProgressCallback | None = None, poll_interval: float = 5.0,
                 wait_timeout: float | None = None, sleep: Callable[[float], None] = time.sleep):
        self.manifest, self.client, self.store = manifest, client, store
        self.spec_path, self.jobs, self.new_job = spec_path, jobs, new_job
        self.sink = ProgressSink(progress)
        self.poll_interval, self.wait_timeout, self.sleep = poll_interval, wait_timeout, sleep
        self.key = submission_key(manifest, client.endpoint, client.credentials.project_id,
                                  client.app_user_id)
        client.on_retry = lambda text: self.sink.emit(ProgressEvent("retry", message=text))
        #: (phase, answer, step) of every decision, in order.
        self.trail: list[tuple[str, str, str]] = []
        self._floor = 0
        self._fresh = self._earlier_done = False
        self._earlier: JobRow | None = None
        self._shown: dict[str, Any] = {}
        self._shown_job: str | None = None
        self._lost: Exception | None = None
        self._wait = False
        self._wait_started: float | None = None
        self.ctx = Context(manifest, client, store, self.sink, self.key, spec_path,
                           SubmitResult(job_id="", state=None, endpoint=client.endpoint,
                                        state_path=str(store.path)), jobs)

    def dry_run(self) -> DryRun:
        """The requests that would be sent now (secrets redacted); nothing is sent. After a
        review failure the record saw, the update of that job with its changed fields.

        :raises SetupError: a field Update does not accept changed (a run would refuse too).
        """
        row = None if self.new_job else self._row()
        earlier = self._earlier_row() if row is None and not self.new_job else None
        if earlier is not None and earlier.job_id and earlier.state \
                and state_class(earlier.state) == REVIEW_FAILED_CLASS:
            self._earlier = earlier
            decided = decide(Record(machine.EARLIER, fixed_changes=tuple(
                c.field for c in self._diff(earlier.job_id).fixed), known=REVIEW_FAILED_CLASS),
                REVIEW_FAILED_CLASS)
            if decided.kind == machine.REFUSE_FIXED:
                self._end(decided, REVIEW_FAILED_CLASS)
            return update_plan(self.manifest, self.client, earlier.job_id,
                               self._diff(earlier.job_id).changes, self.key)
        return dry_run(self.manifest, self.client, self.store, self.key, self.new_job)

    # -- the loop ------------------------------------------------------------------------------

    def run(self, *, wait: bool = False) -> SubmitResult:
        """Do (or continue) the submission until the table says it ends.

        :raises SetupError: nothing can be sent (no training video; a job that must not be
            touched; a change Update does not accept).
        :raises SubmitError: the service or the network failed after sending began.
        """
        started = time.monotonic()
        result = self.ctx.result
        if self.manifest.upload(REQUIRED_SLOT) is None:
            raise SetupError("the package has no training video: a job without one can never "
                             "be submitted, so nothing is sent (REQ034)")
        if self.new_job:
            rows = self.store.jobs()
            self._floor = rows[0].seq if rows else 0
        self._wait = wait
        row = self._row()
        if row is None or row.phase not in ("submitted", "final"):
            transfer.check_sources(self.ctx)  # a submitted job needs no media: it is followed
        if row is not None and row.job_id and row.phase in ("created", "submitted", "final"):
            result.resumed, result.job_id = True, row.job_id
            self.ctx.note(row.job_id, f"continuing job {row.job_id}")
        answer = machine.NOT_ASKED
        tries: Counter[str] = Counter()
        repeats: Counter[tuple[str, str | None, int]] = Counter()
        policy = self.client.retry
        while True:
            record = self._observe()
            step = decide(record, answer)
            self.trail.append((record.phase, answer, step.kind))
            if step.ends:
                self._end(step, answer)
                break
            progress = (step.kind, step.command, record.parts_left)
            if step.kind not in (machine.SHOW, machine.WAIT):
                repeats[progress] += 1
                if repeats[progress] > MAX_REPEATS:
                    raise SubmitError(f"the submission does not advance ({step.kind} "
                                      f"{MAX_REPEATS} times without effect); run submit "
                                      "again later")
            answer_or_retry = self._do(step, answer)
            if isinstance(answer_or_retry, Unanswered):
                tries[step.kind] += 1
                if tries[step.kind] >= policy.attempts:
                    raise answer_or_retry.error
                delay = policy.delay(tries[step.kind])
                self.ctx.retrying(f"{answer_or_retry.why}; retrying in {delay:.1f} s")
                policy.sleep(delay)
                answer = machine.NOT_ASKED
                continue
            answer = answer_or_retry
            self._fresh = True
        if self._wait_started is not None:
            result.wait_seconds = time.monotonic() - self._wait_started
        self._summarise(started)
        return result

    def _row(self) -> JobRow | None:
        """The newest record for this key, unless its job has moved on since under another
        key (updated with other files or fields): then the record is history."""
        row = self.store.latest(self.key)
        if row is None or row.seq <= self._floor:
            return None
        if row.job_id and not row.phase.startswith("abandoned"):
            newest = next((j for j in self.store.jobs() if j.job_id == row.job_id
                           and not j.phase.startswith("abandoned")), row)
            if newest.seq > row.seq:
                return None
        return row

    def _earlier_row(self) -> JobRow | None:
        """The newest job recorded for this spec on this service under another key (its
        media or body changed since)."""
        for j in self.store.jobs():
            if j.seq <= self._floor:
                break
            if (j.key != self.key and j.job_id is not None and not j.phase.startswith("abandoned")
                    and j.spec_path == self.spec_path and j.endpoint == self.client.endpoint
                    and j.project_id == self.client.credentials.project_id):
                return j
        return None

    def _diff(self, job_id: str) -> BodyDiff:
        shown = self._shown if self._shown_job == job_id else {}
        return compare(create_body(self.manifest), self.store.sent_body(job_id), shown)

    def _observe(self) -> Record:
        """What the record says now, as the machine's `Record`."""
        row = self._row()
        if row is None or row.phase.startswith("abandoned"):
            earlier = None if self.new_job or self._earlier_done else self._earlier_row()
            self._earlier = earlier
            if earlier is None or earlier.job_id is None:
                return Record(machine.NEW)
            diff = self._diff(earlier.job_id)
            return Record(machine.EARLIER, fixed_changes=tuple(c.field for c in diff.fixed),
                          known=state_class(earlier.state) if earlier.state else None)
        if row.phase == "creating":
            return Record(machine.CREATING)
        if row.phase == "updating":
            return Record(machine.UPDATING)
        job_id = str(row.job_id)
        self.ctx.result.job_id = job_id
        if row.phase == "created":
            return Record(machine.CREATED, fresh=self._fresh,
                          parts_left=transfer.parts_left(self.ctx, job_id),
                          confirms_left=tuple(c for c in needed(self.manifest)
                                              if not self.store.step_done(job_id, c)))
        if self._wait and self._wait_started is None:
            self._wait_started = time.monotonic()
            self.ctx.phase("waiting for the review")
        timed_out = (self._wait_started is not None and self.wait_timeout is not None
                     and time.monotonic() - self._wait_started >= self.wait_timeout)
        return Record(machine.SUBMITTED, wait=self._wait, timed_out=timed_out)

    # -- the steps -----------------------------------------------------------------------------

    def _do(self, step: Step, answer: str) -> str | Unanswered:
        """Carry out one step; the service's answer for the next decision, or `Unanswered`."""
        ctx, kind = self.ctx, step.kind
        row = self._row()
        job_id = ctx.result.job_id
        if kind == machine.SHOW:
            return self._show(row)
        if kind == machine.CREATE:
            self._earlier_done = True
            made = jobs.create(ctx)
            if isinstance(made, Unanswered):
                return made
            ctx.result.job_id, ctx.result.created = made, True
        elif kind == machine.CLEAN_UP:
            assert row is not None
            jobs.clean_up(ctx, row)
        elif kind == machine.UPDATE:
            target = self._earlier.job_id if self._earlier is not None else None
            if row is not None and row.phase == "updating":
                self.store.abandon(row.seq, "interrupted update")
                target = row.job_id
            assert target is not None
            self._earlier_done = True
            updated = jobs.update(ctx, target, self._diff(target))
            if isinstance(updated, Unanswered):
                return updated
            ctx.result.job_id, ctx.result.updated = updated, True
        elif kind == machine.UPLOAD_PARTS:
            transfer.upload(ctx, job_id)
        elif kind == machine.CONFIRM:
            assert step.command is not None
            confirm(ctx, job_id, step.command)
        elif kind == machine.SUBMIT:
            ctx.phase(SUBMIT_COMMAND)
            send_once(ctx, job_id, SUBMIT_COMMAND)
            ctx.result.commands.append(SUBMIT_COMMAND)
            ctx.result.submitted_now = True
            self.store.set_phase(job_id, "submitted")
        elif kind == machine.MARK_SUBMITTED:
            self.store.set_phase(job_id, "submitted", ctx.result.state)
            return answer
        elif kind == machine.WAIT:
            self.sleep(self.poll_interval)
        return machine.NOT_ASKED

    def _show(self, row: JobRow | None) -> str:
        """Show the job the record is about (or the earlier job); its state class."""
        earlier = row is None or row.phase.startswith("abandoned")
        job_id = (self._earlier.job_id if earlier and self._earlier else
                  row.job_id if row is not None else None)
        assert job_id is not None
        try:
            data = self.client.show(job_id).data
        except ServiceError as exc:
            if exc.status == 404:
                return machine.GONE
            if exc.status and is_retryable_status(exc.status, exc.error_code):
                self._lost = exc
                return machine.LOST
            raise
        except NetworkError as exc:
            self._lost = exc
            return machine.LOST
        self._shown, self._shown_job = data, job_id
        raw = data.get("state")
        state = str(raw) if raw is not None else None
        # a Show without a state: still waiting for files while uploading, else in progress
        cls = state_class(state) if state else (
            UPLOAD if row is not None and row.phase == "created" else RUNNING)
        if earlier:
            return cls
        result = self.ctx.result
        result.state = state
        logs = data.get("operation_logs")
        result.operation_logs = [x for x in logs if isinstance(x, dict)] if isinstance(
            logs, list) else []
        self.sink.emit(ProgressEvent("state", job_id=job_id, state=state))
        if row is not None and row.phase in ("submitted", "final"):
            stop = cls not in (UPLOAD, REVIEWING, RUNNING)
            self.store.set_phase(job_id, "final" if stop else "submitted", state)
        return cls

    # -- the ends ------------------------------------------------------------------------------

    def _end(self, step: Step, answer: str) -> None:
        """Fill in how the run ended, or raise for the ends that are errors."""
        result, kind = self.ctx.result, step.kind
        job_id, state = result.job_id, result.state
        if kind in _OUTCOMES:
            result.outcome = _OUTCOMES[kind]
            if kind in (machine.END_REVIEW_FAILED, machine.END_FAILED):
                result.reason = failure_reason(result.operation_logs, state)
            result.next_step = self._next_step(kind, answer)
            if kind == machine.END_TIMEOUT:
                result.reason = (f"--timeout {self.wait_timeout:g} s reached while job "
                                 f"{job_id} is still in {state}")
            return
        shown_state = self._shown.get("state")
        earlier = self._earlier.job_id if self._earlier else job_id
        if kind == machine.REFUSE_BUSY:
            raise SetupError(
                f"job {earlier} from this spec is in {shown_state} (review or training): it is "
                "never touched while it runs, and Update accepts a job only after a failed "
                "review; follow it with `preflight status`, or pass --new-job to create "
                "another job")
        if kind == machine.REFUSE_FIXED:
            assert earlier is not None
            fixed = self._diff(earlier).fixed
            raise SetupError(
                f"{'; '.join(c.text() for c in fixed)}: Update2dModelTrainingJob does not "
                f"accept {', '.join(c.field for c in fixed)}, so job {earlier} cannot take "
                "this change (nothing was sent). Delete the job (MetaStudio console) and "
                "create a new one with `preflight submit --new-job`, or undo the change")
        if kind == machine.END_UPDATE_LOST:
            row = self._row()
            if row is not None:
                self.store.abandon(row.seq, "update answer lost")
            raise SubmitError(f"job {row.job_id if row else job_id} was updated but the answer "
                              "with its fresh upload URLs never arrived; it now waits in "
                              f"{shown_state} for files whose URLs only the service knows: "
                              "rerun with --new-job")
        if kind == machine.END_GONE:
            gone = (self._row() or self._earlier)
            raise SubmitError(f"job {gone.job_id if gone else job_id} no longer exists on the "
                              "service; rerun with --new-job", status=404)
        assert kind == machine.STOP and self._lost is not None
        raise self._lost

    def _next_step(self, kind: str, answer: str) -> str | None:
        if kind == machine.END_REVIEW_FAILED:
            return ("fix what the review names (files or body fields) and run submit again on "
                    "the same spec: the same job is updated and submitted again")
        if kind == machine.END_FAILED and answer == REJECTED:
            return ("the result was rejected (CONFIRM_REJECT): submit again with --new-job to "
                    "train a new model")
        if kind == machine.END_FAILED:
            return ("the service's staff normally retry a failed training and may move the job "
                    "back: `preflight status` or a rerun of submit follows it again; or delete "
                    "the job and submit with --new-job")
        if kind == machine.END_TIMEOUT:
            return ("the job goes on: follow it with `preflight status`, or run submit "
                    "--wait again")
        return None

    def _summarise(self, started: float) -> None:
        result = self.ctx.result
        if result.parts_total == 0 and (result.created or result.updated
                                        or result.submitted_now):
            result.parts_total = sum(len(u.parts) for u in self.manifest.uploads)
            result.bytes_total = sum(u.size for u in self.manifest.uploads)
            result.parts_skipped = result.parts_total - result.parts_uploaded
        result.uploads = [{"slot": u.slot, "source": u.source, "size": u.size,
                           "parts": len(u.parts), "content_type": u.content_type}
                          for u in self.manifest.uploads]
        result.unproven = self._unproven(result.job_id)
        result.seconds = time.monotonic() - started

    def _unproven(self, job_id: str) -> list[str]:
        """Uploads the service cannot confirm: parts marked unproven, and slots without a
        download field in Show whose PUT answer carried no matching ETag."""
        out = []
        for p in self.store.parts(job_id):
            slot = SLOTS.get(p.slot)
            if p.status == UNPROVEN:
                out.append(f"{p.slot} part {p.part_number}: URL spent, arrival not provable")
            elif p.status == DONE and slot is not None and not slot.download_fields \
                    and not p.etag:
                out.append(f"{p.slot}: the service shows no download URL for it, and the "
                           "upload answer carried no ETag: arrival not provable")
        return out
