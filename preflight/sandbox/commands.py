"""Execute2dModelTrainingCommandByUser at the stand-in (dossier §2.1, §2.2).

A command given out of order (parts missing, the letter not uploaded, SUBMITVERIFYING before
the training- or action-video confirm, a job no longer waiting for files) is answered
``400`` with ``commond_result = EXCUTE_FAILED`` and the reason, as a strict service does; the
injected ``fail_command`` fault answers ``200`` with ``EXCUTE_FAILED`` (the other form clients
meet). SUBMITVERIFYING runs the automatic review (`preflight.sandbox.review`).
"""

from __future__ import annotations

import time
from typing import Any

from preflight.metastudio import (
    ACKNOWLEDGE_COMMANDS,
    AUTO_VERIFYING,
    COMMAND_FAILED,
    COMMAND_OK,
    COMMANDS,
    CONFIRM_GRANT_COMMAND,
    MULTIPART_CONFIRM,
    MULTIPART_QUERY,
    NA_ONLY_COMMANDS,
    REQUIRED_SLOT,
    WAIT_FILE_UPLOAD,
)
from preflight.sandbox.handler import _ErrorAnswer
from preflight.sandbox.review import review
from preflight.sandbox.store import Job, SandboxState

#: Fields a command body may carry (§2.1).
COMMAND_BODY_FIELDS = frozenset({"command", "command_message", "comment_data", "operation_reason"})
#: The slot whose parts a confirm command confirms.
CONFIRMS: dict[str, str] = {command: slot for slot, command in MULTIPART_CONFIRM.items()}


def _invalid(msg: str) -> _ErrorAnswer:
    return _ErrorAnswer(400, "MSS.00000003", f"Invalid parameter: {msg}")


def out_of_order(msg: str) -> _ErrorAnswer:
    """A refused command: 400 with the error body and ``commond_result = EXCUTE_FAILED``."""
    return _ErrorAnswer(400, "MSS.00000003", msg, commond_result=COMMAND_FAILED,
                       excute_failed_msg=msg,
                       error_info={"error_code": "MSS.00000003", "error_msg": msg})


def _multipart(state: SandboxState, job: Job, slot: str) -> list[dict[str, str]]:
    return [{"part_number": str(u.part_number), "etag": u.etag or ""}
            for u in state.parts(job, slot) if u.used]


def execute(state: SandboxState, job: Job, body: Any,
            entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Carry out one command on `job` (under the state's lock); (status, answer).

    :raises _ErrorAnswer: the command is invalid or out of order.
    """
    if not isinstance(body, dict) or not isinstance(body.get("command"), str):
        raise _invalid("'command' is required")
    extra = set(body) - COMMAND_BODY_FIELDS
    if extra:
        raise _invalid(f"unknown field '{sorted(extra)[0]}'")
    command = body["command"]
    entry["command"] = command
    if command not in COMMANDS:
        raise _invalid(f"unknown command {command}")
    ok: dict[str, Any] = {"commond_result": COMMAND_OK}
    with state.lock:
        for slot, query in MULTIPART_QUERY.items():
            if command == query:
                return 200, {**ok, "multipart_data": _multipart(state, job, slot)}
        if command in NA_ONLY_COMMANDS and not state.config.na_whitelisted:
            raise _invalid(f"{command} is only available to NA-whitelisted users")
        if command in ACKNOWLEDGE_COMMANDS or command in NA_ONLY_COMMANDS:
            return 200, ok
        if job.state != WAIT_FILE_UPLOAD:
            raise out_of_order(f"job state {job.state} does not accept {command}")
        if state.config.faults.take("fail_command", command):
            entry.update(fault="fail_command", result=COMMAND_FAILED)
            msg = f"{command} could not be executed (injected)"
            return 200, {"commond_result": COMMAND_FAILED, "excute_failed_msg": msg,
                         "error_info": {"error_code": "MSS.00000003", "error_msg": msg}}
        try:
            _order(state, job, command)
        except _ErrorAnswer:
            entry["result"] = COMMAND_FAILED
            raise
        if command in CONFIRMS:
            job.confirmed.add(CONFIRMS[command])
        elif command == CONFIRM_GRANT_COMMAND:
            job.confirmed.add("grant_file")
        else:  # SUBMITVERIFYING
            job.rejection = review(state, job)
            job.submitted_at = time.time()
            state.transition(job, AUTO_VERIFYING, "USER", job.submitted_at)
        return 200, ok


def _order(state: SandboxState, job: Job, command: str) -> None:
    """:raises _ErrorAnswer: what `command` needs has not happened yet."""
    if command in CONFIRMS:
        slot = CONFIRMS[command]
        parts = state.parts(job, slot)
        if not parts:
            raise out_of_order(f"no {slot} parts were requested")
        missing = [u.part_number for u in parts if not u.used]
        if missing:
            raise out_of_order(f"{slot} parts not uploaded: {missing}")
    elif command == CONFIRM_GRANT_COMMAND:
        if not state.uploaded(job, "grant_file"):
            raise out_of_order("the authorization letter has not been uploaded")
    else:  # SUBMITVERIFYING: every requested video confirmed first
        for slot, confirm in MULTIPART_CONFIRM.items():
            requested = slot == REQUIRED_SLOT or bool(state.parts(job, slot))
            if requested and slot not in job.confirmed:
                raise out_of_order(f"{slot} parts not confirmed ({confirm})")
