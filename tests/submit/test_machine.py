"""The submission state machine, table-driven: every local phase × every service answer
(including no answer), with the conditions that split a cell; the state classes; and the
transition table printed in docs/submitting.md being the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preflight.metastudio import (
    JOB_SUCCESS,
    KNOWN_STATES,
    PROCESSING_FAILED,
    PROCESSING_FAILED_STATES,
    REJECTED,
    REVIEW_FAILED,
    REVIEW_FAILED_STATES,
    REVIEWING,
    RUNNING,
    STATE_CLASSES,
    SUCCEEDED,
    TRAINING_STATES,
    UPLOAD,
    USER_TURN,
    WAIT_FILE_UPLOAD,
    state_class,
)
from preflight.submitter import machine as m
from preflight.submitter.machine import Record, decide

ROOT = Path(__file__).resolve().parents[2]
ALL = m.ANSWERS
ACTIVE = (UPLOAD, REVIEWING, RUNNING)

#: (phase, answer) -> the step for a plain record of that phase (fresh, nothing left to do
#: unless the phase implies it, no fixed-field change, no --wait).
PLAIN: dict[tuple[str, str], str] = {}
for a in ALL:
    PLAIN[(m.NEW, a)] = m.STOP if a == m.LOST else m.CREATE
    PLAIN[(m.CREATING, a)] = m.STOP if a == m.LOST else m.CLEAN_UP
    PLAIN[(m.EARLIER, a)] = {
        m.NOT_ASKED: m.SHOW, REVIEW_FAILED: m.UPDATE, REVIEWING: m.REFUSE_BUSY,
        RUNNING: m.REFUSE_BUSY, PROCESSING_FAILED: m.REFUSE_BUSY, m.LOST: m.STOP,
    }.get(a, m.CREATE)
    PLAIN[(m.UPDATING, a)] = {
        m.NOT_ASKED: m.SHOW, REVIEW_FAILED: m.UPDATE, m.GONE: m.END_GONE, m.LOST: m.STOP,
    }.get(a, m.END_UPDATE_LOST)
    PLAIN[(m.CREATED, a)] = {
        m.NOT_ASKED: m.SUBMIT, UPLOAD: m.SUBMIT, m.GONE: m.END_GONE, m.LOST: m.STOP,
    }.get(a, m.MARK_SUBMITTED)
    PLAIN[(m.SUBMITTED, a)] = {
        m.NOT_ASKED: m.SHOW, SUCCEEDED: m.END_SUCCESS, USER_TURN: m.END_USER,
        REVIEW_FAILED: m.END_REVIEW_FAILED, PROCESSING_FAILED: m.END_FAILED,
        REJECTED: m.END_FAILED, m.GONE: m.END_GONE, m.LOST: m.STOP,
    }.get(a, m.END_RUNNING)


def test_the_answers_are_the_state_classes_plus_three() -> None:
    assert set(m.ANSWERS) == {*STATE_CLASSES, m.NOT_ASKED, m.GONE, m.LOST}
    assert len(PLAIN) == len(m.PHASES) * len(m.ANSWERS)


@pytest.mark.parametrize("phase,answer", sorted(PLAIN))
def test_every_phase_and_answer_of_a_plain_record(phase: str, answer: str) -> None:
    record = Record(phase, fresh=True)
    assert decide(record, answer).kind == PLAIN[(phase, answer)]


@pytest.mark.parametrize("answer", ALL)
def test_created_record_of_an_earlier_run_asks_first(answer: str) -> None:
    got = decide(Record(m.CREATED, fresh=False, parts_left=3), answer).kind
    expected = {m.NOT_ASKED: m.SHOW, UPLOAD: m.UPLOAD_PARTS}.get(answer, PLAIN[(m.CREATED,
                                                                               answer)])
    assert got == expected


@pytest.mark.parametrize("answer", (m.NOT_ASKED, UPLOAD))
def test_created_goes_parts_then_confirms_in_order_then_submit(answer: str) -> None:
    confirms = ("CONFIRM_MULTIPART_UPLOADED", "CONFIRM_AUTHORIZATION_LETTER")
    assert decide(Record(m.CREATED, fresh=True, parts_left=1, confirms_left=confirms),
                  answer).kind == m.UPLOAD_PARTS
    step = decide(Record(m.CREATED, fresh=True, confirms_left=confirms), answer)
    assert (step.kind, step.command) == (m.CONFIRM, confirms[0])
    step = decide(Record(m.CREATED, fresh=True, confirms_left=confirms[1:]), answer)
    assert (step.kind, step.command) == (m.CONFIRM, confirms[1])
    assert decide(Record(m.CREATED, fresh=True), answer).kind == m.SUBMIT


@pytest.mark.parametrize("answer", ALL)
@pytest.mark.parametrize("timed_out", [False, True])
def test_submitted_with_wait(answer: str, timed_out: bool) -> None:
    got = decide(Record(m.SUBMITTED, wait=True, timed_out=timed_out), answer).kind
    if answer in ACTIVE:
        assert got == (m.END_TIMEOUT if timed_out else m.WAIT)
    else:
        assert got == PLAIN[(m.SUBMITTED, answer)]


@pytest.mark.parametrize("answer", ALL)
@pytest.mark.parametrize("known", [None, REVIEW_FAILED, SUCCEEDED, REVIEWING])
def test_earlier_job_with_a_field_update_does_not_accept(answer: str, known: str | None) -> None:
    got = decide(Record(m.EARLIER, fixed_changes=("is_flexus",), known=known), answer).kind
    if answer == m.NOT_ASKED:
        # refused without a request when the record saw the review fail, else asked first
        assert got == (m.REFUSE_FIXED if known == REVIEW_FAILED else m.SHOW)
    elif answer == REVIEW_FAILED:
        assert got == m.REFUSE_FIXED
    else:  # a job that cannot be updated anyway: as without the change
        assert got == PLAIN[(m.EARLIER, answer)]


def test_ends_and_steps_are_named_once() -> None:
    assert len(set(m.STEPS)) == len(m.STEPS)
    assert {r.step for r in m.RULES} <= set(m.STEPS)
    assert {r.when for r in m.RULES} <= set(m.CONDITIONS)
    assert all(decide(Record(m.SUBMITTED), a).ends for a in (SUCCEEDED, m.LOST))
    with pytest.raises(ValueError):
        decide(Record("nowhere"), m.NOT_ASKED)
    with pytest.raises(ValueError):
        decide(Record(m.NEW), "maybe")


def test_every_sending_step_says_what_a_lost_answer_does() -> None:
    assert set(m.LOST_ANSWERS) == {m.CREATE, m.UPDATE, m.UPLOAD_PARTS, m.CONFIRM, m.SUBMIT,
                                   m.SHOW}


@pytest.mark.parametrize("state", sorted(KNOWN_STATES))
def test_every_documented_state_has_its_class(state: str) -> None:
    cls = state_class(state)
    if state == WAIT_FILE_UPLOAD:
        assert cls == UPLOAD
    elif state in REVIEW_FAILED_STATES:
        assert cls == REVIEW_FAILED
    elif state.endswith("_FAILED"):
        assert cls == PROCESSING_FAILED and state in PROCESSING_FAILED_STATES
    elif state == JOB_SUCCESS:
        assert cls == SUCCEEDED
    elif state in TRAINING_STATES:
        assert cls == RUNNING
    else:
        assert cls in (REVIEWING, RUNNING, SUCCEEDED, REJECTED, USER_TURN)


def test_unknown_states_run_unless_they_failed() -> None:
    assert state_class("SOMETHING_NEW") == RUNNING
    assert state_class("SOMETHING_NEW_FAILED") == PROCESSING_FAILED
    assert {"TRAIN_FAILED", "TRAINING_DATA_PREPROCESS_FAILED"} <= PROCESSING_FAILED_STATES
    assert not REVIEW_FAILED_STATES & PROCESSING_FAILED_STATES


def test_docs_print_the_current_table() -> None:
    text = (ROOT / "docs" / "submitting.md").read_text("utf-8")
    found = re.search(r"<!-- transition-table -->\n(.*?)<!-- /transition-table -->", text,
                      re.S)
    assert found, "docs/submitting.md lacks the transition-table markers"
    assert found.group(1) == m.table_markdown(), (
        "docs/submitting.md is stale: paste preflight.submitter.machine.table_markdown()")
