"""The submission as an explicit state machine: the next step, decided from what the local
record says and what the service shows.

`decide` is pure and reads one table, `RULES`: the first rule whose local phase, service answer
and condition match names the next step. The runner (`preflight.submitter.runner`) carries the
step out, records what happened and asks again. The same table is printed in
``docs/submitting.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from preflight.metastudio import (
    PROCESSING_FAILED,
    REJECTED,
    REVIEW_FAILED,
    REVIEWING,
    RUNNING,
    STATE_CLASSES,
    SUCCEEDED,
    UPLOAD,
    USER_TURN,
)

# ---- what the local record says -----------------------------------------------------------------

#: No job for this spec and media; no earlier job of this spec to update.
NEW = "new"
#: A create was sent and its answer never recorded (lost answer, crash, kill -9).
CREATING = "creating"
#: No job for these media, but an earlier job of the same spec (its media or body changed).
EARLIER = "earlier"
#: An update was sent and its answer (the fresh upload URLs) never recorded.
UPDATING = "updating"
#: Job id and every upload URL recorded; uploads, confirms and SUBMITVERIFYING under way.
CREATED = "created"
#: SUBMITVERIFYING acknowledged (or shown to have taken effect): the job is only followed.
SUBMITTED = "submitted"
PHASES = (NEW, CREATING, EARLIER, UPDATING, CREATED, SUBMITTED)

# ---- what the service says ----------------------------------------------------------------------

#: Nothing asked yet: the record alone decides.
NOT_ASKED = "not asked"
#: Show answered 404: the job no longer exists.
GONE = "gone"
#: Show got no usable answer after its retries (network, 5xx).
LOST = "no answer"
#: Every answer: not asked, each state class (`preflight.metastudio.state_class`), gone, lost.
ANSWERS = (NOT_ASKED, *STATE_CLASSES, GONE, LOST)

# ---- steps --------------------------------------------------------------------------------------

SHOW = "show"
CREATE = "create"
CLEAN_UP = "clean up"
UPDATE = "update"
UPLOAD_PARTS = "upload parts"
CONFIRM = "confirm"
SUBMIT = "submit"
MARK_SUBMITTED = "mark submitted"
WAIT = "wait"
#: Steps after which the run ends, with what the run reports.
END_SUCCESS = "done: succeeded"
END_RUNNING = "done: left running"
END_USER = "done: the user's turn"
END_REVIEW_FAILED = "failed: review"
END_FAILED = "failed: after the review"
END_TIMEOUT = "failed: --timeout"
REFUSE_BUSY = "refuse: job running"
REFUSE_FIXED = "refuse: fixed field changed"
END_UPDATE_LOST = "failed: update answer lost"
END_GONE = "failed: job gone"
STOP = "stop: no answer"
ENDS = frozenset({END_SUCCESS, END_RUNNING, END_USER, END_REVIEW_FAILED, END_FAILED,
                  END_TIMEOUT, REFUSE_BUSY, REFUSE_FIXED, END_UPDATE_LOST, END_GONE, STOP})
STEPS = (SHOW, CREATE, CLEAN_UP, UPDATE, UPLOAD_PARTS, CONFIRM, SUBMIT, MARK_SUBMITTED, WAIT,
         *sorted(ENDS))


@dataclass(frozen=True)
class Record:
    """What the local record (and the run so far) says."""

    phase: str
    #: This run made or checked the record, so the service need not be asked first.
    fresh: bool = False
    parts_left: int = 0
    #: Confirm commands still to acknowledge, in order.
    confirms_left: tuple[str, ...] = ()
    #: Fields Update does not accept whose value differs from what the job got.
    fixed_changes: tuple[str, ...] = ()
    #: The state class the record saw last (before asking), if any.
    known: str | None = None
    wait: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class Step:
    """The next step; ``command`` names the confirm to send."""

    kind: str
    command: str | None = None

    @property
    def ends(self) -> bool:
        """Whether the run ends with this step."""
        return self.kind in ENDS


#: Conditions a rule may carry (the empty one always holds).
CONDITIONS: Mapping[str, Callable[[Record], bool]] = MappingProxyType({
    "": lambda r: True,
    "recorded by an earlier run": lambda r: not r.fresh,
    "a part is not uploaded": lambda r: r.parts_left > 0,
    "a confirm is not acknowledged": lambda r: bool(r.confirms_left),
    "a field Update does not accept changed, last seen review failed":
        lambda r: bool(r.fixed_changes) and r.known == REVIEW_FAILED,
    "a field Update does not accept changed": lambda r: bool(r.fixed_changes),
    "no --wait": lambda r: not r.wait,
    "--timeout reached": lambda r: r.timed_out,
})


@dataclass(frozen=True)
class Rule:
    """One row of the transition table."""

    phase: str
    answers: tuple[str, ...]
    when: str
    step: str
    why: str


def _r(phase: str, answers: tuple[str, ...] | str, when: str, step: str, why: str) -> Rule:
    return Rule(phase, (answers,) if isinstance(answers, str) else answers, when, step, why)


_ANY = ANSWERS
_RUNNING = (UPLOAD, REVIEWING, RUNNING)

#: The transition table: the first matching rule decides. A lost Show answer stops every phase.
RULES: tuple[Rule, ...] = (
    _r(NEW, LOST, "", STOP, "exit 3: nothing changed; a rerun decides again"),
    _r(NEW, _ANY, "", CREATE, "create the job; record its id and upload URLs in one transaction"),
    _r(CREATING, LOST, "", STOP, "exit 3: nothing changed; a rerun decides again"),
    _r(CREATING, _ANY, "", CLEAN_UP,
       "list every page of jobs; delete those the unanswered create made; then create"),
    _r(EARLIER, NOT_ASKED, "a field Update does not accept changed, last seen review failed",
       REFUSE_FIXED, "exit 2 before any request: delete the job and create a new one"),
    _r(EARLIER, NOT_ASKED, "", SHOW, "ask the service about the earlier job"),
    _r(EARLIER, REVIEW_FAILED, "a field Update does not accept changed", REFUSE_FIXED,
       "exit 2, nothing sent: delete the job and create a new one"),
    _r(EARLIER, REVIEW_FAILED, "", UPDATE,
       "UPDATE_VIDEO with the part counts and every changed body field; same job"),
    _r(EARLIER, (REVIEWING, RUNNING, PROCESSING_FAILED), "", REFUSE_BUSY,
       "exit 2: a job in review or training is never touched"),
    _r(EARLIER, LOST, "", STOP, "exit 3: nothing changed; a rerun decides again"),
    _r(EARLIER, (UPLOAD, SUCCEEDED, REJECTED, USER_TURN, GONE), "", CREATE,
       "the earlier job cannot take the new files: a new job"),
    _r(UPDATING, NOT_ASKED, "", SHOW, "did the unanswered update take effect?"),
    _r(UPDATING, REVIEW_FAILED, "", UPDATE, "it did not: send it again"),
    _r(UPDATING, GONE, "", END_GONE, "exit 3: the job was deleted; --new-job"),
    _r(UPDATING, LOST, "", STOP, "exit 3: nothing changed; a rerun decides again"),
    _r(UPDATING, _ANY, "", END_UPDATE_LOST,
       "exit 3: it did, but only the service knows the fresh URLs; --new-job"),
    _r(CREATED, NOT_ASKED, "recorded by an earlier run", SHOW,
       "ask where the job stands before sending anything"),
    _r(CREATED, (NOT_ASKED, UPLOAD), "a part is not uploaded", UPLOAD_PARTS,
       "PUT each part not proven stored to its recorded URL (once; verified after errors)"),
    _r(CREATED, (NOT_ASKED, UPLOAD), "a confirm is not acknowledged", CONFIRM,
       "send the next confirm once; after a lost answer Show decides about resending"),
    _r(CREATED, (NOT_ASKED, UPLOAD), "", SUBMIT,
       "send SUBMITVERIFYING once; after a lost answer Show decides about resending"),
    _r(CREATED, GONE, "", END_GONE, "exit 3: the job was deleted; --new-job"),
    _r(CREATED, LOST, "", STOP, "exit 3: nothing changed; a rerun decides again"),
    _r(CREATED, _ANY, "", MARK_SUBMITTED, "past WAIT_FILE_UPLOAD: the submission took effect"),
    _r(SUBMITTED, NOT_ASKED, "", SHOW, "ask for the job's state"),
    _r(SUBMITTED, SUCCEEDED, "", END_SUCCESS, "exit 0"),
    _r(SUBMITTED, USER_TURN, "", END_USER, "exit 0: the NA-whitelist user accepts or rejects"),
    _r(SUBMITTED, REVIEW_FAILED, "", END_REVIEW_FAILED,
       "exit 3 with the review's opinions; fix the files or body and rerun: same job"),
    _r(SUBMITTED, (PROCESSING_FAILED, REJECTED), "", END_FAILED,
       "exit 3 with the state, its reason and the next step; a rerun follows the job again"),
    _r(SUBMITTED, _RUNNING, "no --wait", END_RUNNING, "exit 0: the job goes on"),
    _r(SUBMITTED, _RUNNING, "--timeout reached", END_TIMEOUT,
       "exit 3: still running; `preflight status` or a rerun follows it"),
    _r(SUBMITTED, _RUNNING, "", WAIT, "sleep --poll-interval, then ask again"),
    _r(SUBMITTED, GONE, "", END_GONE, "exit 3: the job was deleted"),
    _r(SUBMITTED, LOST, "", STOP, "exit 3: nothing changed; a rerun decides again"),
)


def decide(record: Record, answer: str) -> Step:
    """The next step for a record and the service's answer (one of `ANSWERS`).

    :raises ValueError: an unknown phase or answer (a bug, not a service reply).
    """
    if record.phase not in PHASES or answer not in ANSWERS:
        raise ValueError(f"no transition for {record.phase!r} / {answer!r}")
    for rule in RULES:
        if rule.phase == record.phase and answer in rule.answers \
                and CONDITIONS[rule.when](record):
            command = record.confirms_left[0] if rule.step == CONFIRM else None
            return Step(rule.step, command)
    raise ValueError(f"no transition for {record.phase!r} / {answer!r}")  # pragma: no cover


#: What each sending step does when its own answer is lost (5xx, dropped connection, kill -9).
LOST_ANSWERS: Mapping[str, str] = MappingProxyType({
    CREATE: "the record stays `creating`: clean up (every page of the job list), then create",
    UPDATE: "the record stays `updating`: Show decides between sending it again and stopping",
    UPLOAD_PARTS: "ask the service (multipart listing, Show's download URL) whether the part "
                  "arrived before the same URL is tried again; never PUT a URL it recorded",
    CONFIRM: "Show first: a job past WAIT_FILE_UPLOAD, or the slot's download URL, proves it "
             "took effect; otherwise it is sent again",
    SUBMIT: "Show first: a job past WAIT_FILE_UPLOAD proves it took effect; otherwise it is "
            "sent again",
    SHOW: "retried with backoff; then the run stops (exit 3) and a rerun decides again",
})


def _cell(values: tuple[str, ...]) -> str:
    if values == ANSWERS:
        return "any"
    return ", ".join(f"`{v}`" for v in values)


def table_markdown() -> str:
    """The transition table and the lost-answer rules as Markdown (printed in the docs)."""
    lines = ["| local record | service says | when | next step | meaning |",
             "|---|---|---|---|---|"]
    for rule in RULES:
        lines.append(f"| `{rule.phase}` | {_cell(rule.answers)} | {rule.when or '-'} | "
                     f"**{rule.step}** | {rule.why} |")
    lines += ["", "| step | its answer is lost |", "|---|---|"]
    lines += [f"| **{step}** | {text} |" for step, text in LOST_ANSWERS.items()]
    return "\n".join(lines) + "\n"
