"""What a submission reports: the run's result (how it ended and why) and the dry-run plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preflight.metastudio import (
    REVIEW_FAILED,
    REVIEW_FAILED_STATES,
    SUCCESS_STATES,
)

#: How a run ended (``SubmitResult.outcome``): the job's state class where it has one
#: (`SUCCEEDED`, `USER_TURN`, `REVIEW_FAILED`), or one of these.
LEFT_RUNNING = "running"
FAILED = "failed"
TIMED_OUT = "timed-out"
#: Outcomes that exit 3 (the service failed the job, or --timeout ran out first).
FAILING_OUTCOMES = frozenset({REVIEW_FAILED, FAILED, TIMED_OUT})


def failure_reason(logs: list[dict[str, Any]], state: str | None) -> str:
    """The reason the service gives for a state: the newest ``operation_logs`` entry of that
    state (else the newest with an error code), with its description and error code."""
    chosen = next((e for e in reversed(logs) if e.get("log_type") == state), None) \
        or next((e for e in reversed(logs) if e.get("error_code")), None)
    if chosen is None:
        return "the service gives no reason (no operation_logs entry)"
    text = str(chosen.get("log_description") or "no description")
    code = chosen.get("error_code")
    who = chosen.get("operate_user")
    return text + (f" (error_code {code})" if code else "") + (f", by {who}" if who else "")


@dataclass
class SubmitResult:
    """What happened. ``success`` is None while the job is still running."""

    job_id: str
    state: str | None
    endpoint: str
    state_path: str
    created: bool = False
    resumed: bool = False
    #: The failed job was updated with fresh URLs (UPDATE_VIDEO) and submitted again.
    updated: bool = False
    submitted_now: bool = False
    parts_total: int = 0
    parts_uploaded: int = 0
    parts_skipped: int = 0
    bytes_sent: int = 0
    bytes_total: int = 0
    seconds: float = 0.0
    commands: list[str] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    operation_logs: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds spent uploading (parts only) and waiting for the review (polling).
    upload_seconds: float = 0.0
    wait_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: (slot, part) uploads whose arrival the service cannot prove.
    unproven: list[str] = field(default_factory=list)
    #: How the run ended: succeeded, running, user-turn, review-failed, failed, timed-out.
    outcome: str = LEFT_RUNNING
    #: For a failed job: the service's reason (operation_logs) and what to do next.
    reason: str | None = None
    next_step: str | None = None
    #: Body fields the update after a failed review changed ({field, was, now}).
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def success(self) -> bool | None:
        """True in a success state, False when the run failed (the review, training or
        processing failed, the user rejected it, or --timeout ran out), None otherwise."""
        if self.outcome in FAILING_OUTCOMES:
            return False
        if self.state in SUCCESS_STATES:
            return True
        if self.state in REVIEW_FAILED_STATES:
            return False
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no secrets: URLs are not included)."""
        return {
            "job_id": self.job_id, "state": self.state, "success": self.success,
            "outcome": self.outcome, "reason": self.reason, "next_step": self.next_step,
            "endpoint": self.endpoint, "state_store": self.state_path, "created": self.created,
            "resumed": self.resumed, "updated": self.updated, "changes": self.changes,
            "submitted_now": self.submitted_now,
            "parts": {"total": self.parts_total, "uploaded": self.parts_uploaded,
                      "skipped": self.parts_skipped},
            "bytes": {"sent": self.bytes_sent, "total": self.bytes_total},
            "seconds": round(self.seconds, 3), "upload_seconds": round(self.upload_seconds, 3),
            "wait_seconds": round(self.wait_seconds, 3), "commands": self.commands,
            "uploads": self.uploads, "operation_logs": self.operation_logs,
            "warnings": self.warnings, "unproven": self.unproven,
        }


@dataclass
class DryRun:
    """The requests ``submit`` would send, secrets redacted, and the part plan."""

    requests: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    key: str
    #: The recorded job a rerun would continue (no create), with its phase; None for new.
    resume_job: str | None = None
    resume_phase: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dry_run": True, "submission_key": self.key, "requests": self.requests,
                "parts": self.parts, "resume": None if self.resume_job is None else
                {"job_id": self.resume_job, "phase": self.resume_phase}}
