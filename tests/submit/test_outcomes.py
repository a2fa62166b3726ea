"""How a submission ends and what reaches the job, against the stand-in: body fixes after a
rejected review reach the same job, fields Update does not accept are refused before any
request, a training failure or --timeout ends non-zero, 400 + EXCUTE_FAILED for the letter is a
warning, and orphan clean-up reads every page of the job list."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from preflight.errors import SetupError
from preflight.sandbox import Sandbox, running
from preflight.sandbox.store import Rejection
from preflight.submitter.flow import SubmitResult, create_body, make_client, submission_key
from preflight.submitter.state import StateStore
from tests.submit.conftest import make_manifest
from tests.submit.test_cli_submit import CLI, _args, _env, _package
from tests.submit.test_flow import _run as run_flow


def _run(sb: Sandbox, tmp: Path, man: Any, **kw: Any) -> SubmitResult:
    kw.setdefault("wait", False)
    return run_flow(sb, tmp, man, **kw)


def _api(sb: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sb.journal() if e.get("kind") == "api"]


def _reject(sb: Sandbox, job_id: str) -> None:
    """The stand-in's review rejects the submitted job (its review step is over)."""
    with sb.state.lock:
        job = sb.state.jobs[job_id]
        job.rejection = Rejection("resolution not accepted")
        job.submitted_at = time.time() - 1.0
    with make_client(endpoint=sb.url, credentials=sb.credentials) as client:
        assert client.show(job_id).data["state"] == "AUTO_VERIFY_FAILED"


def _rejected_job(sb: Sandbox, tmp: Path, job: dict[str, Any]) -> str:
    """Submit a job, have the review reject it, and let submit see the rejection (so the
    record knows it)."""
    man = make_manifest(tmp / "job", job=job)
    job_id = _run(sb, tmp, man).job_id
    _reject(sb, job_id)
    seen = _run(sb, tmp, man, wait=True)
    assert seen.state == "AUTO_VERIFY_FAILED" and seen.success is False
    assert seen.outcome == "review-failed" and seen.job_id == job_id
    return job_id


def test_body_fix_after_a_rejection_reaches_the_same_job(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    job_id = _rejected_job(sandbox, tmp_path, {"batch_name": "spring", "tags": ["a"]})
    fixed = make_manifest(tmp_path / "job", job={
        "batch_name": "summer", "tags": ["a"], "is_background_replacement": True,
        "supported_service": ["VIDEO_2D"]})
    result = _run(sandbox, tmp_path, fixed, wait=True)
    assert result.updated and result.job_id == job_id and result.state == "JOB_SUCCESS"
    updates = [e for e in _api(sandbox) if e.get("op") == "update"]
    assert len(updates) == 1 and updates[0]["job_id"] == job_id
    assert updates[0]["body"] == {
        "command_message": "UPDATE_VIDEO", "video_multipart_count": 3,
        "batch_name": "summer", "is_background_replacement": True,
        "supported_service": ["VIDEO_2D"]}  # tags and audio_source_type unchanged: not sent
    assert {c["field"]: (c["was"], c["now"]) for c in result.changes} == {
        "batch_name": ("spring", "summer"), "is_background_replacement": (False, True),
        "supported_service": (None, ["VIDEO_2D"])}
    with make_client(endpoint=sandbox.url, credentials=sandbox.credentials) as client:
        shown = client.show(job_id)
    assert shown.data["batch_name"] == "summer" and shown.data["supported_service"] == [
        "VIDEO_2D"]
    assert len([e for e in _api(sandbox) if e.get("op") == "create"]) == 1


def test_a_second_fix_sends_only_what_changed_since_the_first(sandbox: Sandbox,
                                                              tmp_path: Path) -> None:
    job_id = _rejected_job(sandbox, tmp_path, {"batch_name": "spring"})
    first = make_manifest(tmp_path / "job", job={"batch_name": "summer"})
    assert _run(sandbox, tmp_path, first).updated
    _reject(sandbox, job_id)
    second = make_manifest(tmp_path / "job", job={"batch_name": "summer", "contact": "x@y"})
    result = _run(sandbox, tmp_path, second, wait=True)
    assert result.job_id == job_id and result.state == "JOB_SUCCESS"
    last = [e for e in _api(sandbox) if e.get("op") == "update"][-1]
    assert last["body"] == {"command_message": "UPDATE_VIDEO", "video_multipart_count": 3,
                            "contact": "x@y"}


@pytest.mark.parametrize("change", [{"is_only_human_model": True}, {"model_version": "V3.3"},
                                    {"is_flexus": True, "supported_service": ["VIDEO_2D"]}])
def test_a_field_update_does_not_accept_is_refused_before_any_request(
        sandbox: Sandbox, tmp_path: Path, change: dict[str, Any]) -> None:
    _rejected_job(sandbox, tmp_path, {})
    before = len(_api(sandbox))
    changed = make_manifest(tmp_path / "job", job=change)
    field = next(k for k in change if k != "supported_service")
    with pytest.raises(SetupError, match=field) as info:
        _run(sandbox, tmp_path, changed)
    assert "delete the job" in str(info.value).lower() and "--new-job" in str(info.value)
    assert len(_api(sandbox)) == before  # not even a Show


def test_when_the_record_does_not_know_the_review_failed_only_show_is_asked(
        sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job")
    job_id = _run(sandbox, tmp_path, man).job_id
    _reject(sandbox, job_id)
    before = len(_api(sandbox))
    with pytest.raises(SetupError, match="is_only_human_model"):
        _run(sandbox, tmp_path, make_manifest(tmp_path / "job",
                                              job={"is_only_human_model": True}))
    assert [e["op"] for e in _api(sandbox)[before:]] == ["show"]


@pytest.fixture
def slow_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A stand-in whose review takes 30 s a step: a job stays in review unless moved."""
    with running(advance_seconds=30, data_dir=tmp_path / "slow") as sb:
        yield sb


def _move_when_submitted(sb: Sandbox, state: str, log: dict[str, Any]) -> threading.Thread:
    """Once a job is submitted, staff move it to `state` (with an operation_logs entry)."""
    def move() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sb.state.lock:
                jobs = [j for j in sb.state.jobs.values() if j.submitted_at is not None]
                if jobs:
                    jobs[0].state = state
                    jobs[0].logs.append({"operate_time": "2026-01-01T00:00:00Z",
                                         "log_type": state, "operate_user": "ADMIN", **log})
                    return
            time.sleep(0.01)
    thread = threading.Thread(target=move, daemon=True)
    thread.start()
    return thread


def test_train_failed_ends_submit_wait_non_zero_and_a_rerun_follows_it_again(
        slow_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = slow_sandbox
    spec, pkg, _ = _package(tmp_path, parts=2)
    mover = _move_when_submitted(sb, "TRAIN_FAILED", {
        "log_description": "training failed: the face leaves the frame", "error_code": "E42"})
    first = subprocess.run(_args(sb, spec, pkg, "--wait"), env=_env(sb),
                           capture_output=True, text=True, timeout=120)
    mover.join(timeout=5)
    assert first.returncode == 3, first.stderr
    assert "ended in TRAIN_FAILED: training failed: the face leaves the frame" in first.stderr
    assert "error_code E42" in first.stderr and "next:" in first.stderr
    status = subprocess.run([*CLI, "status", str(spec), "--state-dir", str(pkg.parent / "state")],
                            env=_env(sb), capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "failed after the review" in status.stdout
    with sb.state.lock:  # staff retry the training: the job moves back and finishes
        job = next(iter(sb.state.jobs.values()))
        job.state, job.submitted_at = "TRAINING", time.time() - 100
        sb.config.advance_seconds = 0.05
    again = subprocess.run(_args(sb, spec, pkg, "--wait", "--format", "json"),
                           env=_env(sb), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["state"] == "JOB_SUCCESS" and summary["job_id"] == job.job_id
    assert summary["outcome"] == "succeeded" and not summary["created"]


def test_timeout_while_running_exits_3_with_its_own_message(slow_sandbox: Sandbox,
                                                           tmp_path: Path) -> None:
    spec, pkg, _ = _package(tmp_path, parts=2)
    r = subprocess.run(_args(slow_sandbox, spec, pkg, "--wait", "--timeout", "0.3",
                                    "--format", "json"),
                       env=_env(slow_sandbox), capture_output=True, text=True, timeout=120)
    assert r.returncode == 3, r.stderr
    assert "--timeout 0.3 s reached while job" in r.stderr and "still in AUTO_VERIFYING" in r.stderr
    summary = json.loads(r.stdout)
    assert summary["outcome"] == "timed-out" and summary["success"] is False


def test_job_reject_ends_non_zero(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job")
    job_id = _run(sandbox, tmp_path, man).job_id
    with sandbox.state.lock:
        job = sandbox.state.jobs[job_id]
        job.state = "JOB_REJECT"
        job.logs.append({"log_type": "JOB_REJECT", "log_description": "not my face"})
    result = _run(sandbox, tmp_path, man, wait=True)
    assert result.outcome == "failed" and result.success is False
    assert result.reason == "not my face" and "--new-job" in (result.next_step or "")


class _LetterRefused(httpx.BaseTransport):
    """Forwards to the stand-in, but answers the letter's confirmation 400 + EXCUTE_FAILED the
    way the service answers some refusals."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/command") and json.loads(
                request.read()).get("command") == "CONFIRM_AUTHORIZATION_LETTER":
            self.refused += 1
            return httpx.Response(400, json={
                "commond_result": "EXCUTE_FAILED", "excute_failed_msg": "letter not required",
                "error_info": {"error_code": "MSS.00000003", "error_msg": "letter not required"}},
                headers={"X-Request-Id": "req-letter"})
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_letter_refused_as_400_excute_failed_warns_and_goes_on(sandbox: Sandbox,
                                                               tmp_path: Path) -> None:
    relay = _LetterRefused()
    man = make_manifest(tmp_path / "job")
    result = _run(sandbox, tmp_path, man, wait=True, transport=relay)
    assert relay.refused == 1 and result.state == "JOB_SUCCESS"
    assert len(result.warnings) == 1 and "HTTP 400" in result.warnings[0]
    assert "letter not required" in result.warnings[0] and "goes on" in result.warnings[0]
    assert result.commands[-1] == "SUBMITVERIFYING"


def test_orphan_clean_up_reads_every_page(sandbox: Sandbox, tmp_path: Path) -> None:
    """101 jobs of the same name by another user fill the first page; the orphan of an
    interrupted create sits on the second and is still deleted."""
    other = make_client(endpoint=sandbox.url, credentials=sandbox.credentials,
                        app_user_id="other-user")
    man = make_manifest(tmp_path / "job", images=False, audio=False)
    body = create_body(man)
    others = [other.create(body).data["job_id"] for _ in range(101)]
    other.close()
    mine = make_client(endpoint=sandbox.url, credentials=sandbox.credentials, app_user_id="me")
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    key = submission_key(man, mine.endpoint, mine.credentials.project_id, "me")
    store.begin_create(key, mine.endpoint, mine.credentials.project_id, man.spec_path, "demo")
    orphan = mine.create(body).data["job_id"]  # its answer "never arrived"
    mine.close()
    store.close()
    result = _run(sandbox, tmp_path, man, app_user_id="me")
    assert orphan in sandbox.state.deleted and result.job_id != orphan
    assert not set(others) & sandbox.state.deleted
    assert len([e for e in _api(sandbox) if e.get("op") == "list"]) >= 2


def test_dry_run_after_a_rejection_shows_the_update_of_the_same_job(sandbox: Sandbox,
                                                                    tmp_path: Path) -> None:
    from preflight.submitter.flow import DryRun
    from preflight.workflows.pipeline import submit

    job_id = _rejected_job(sandbox, tmp_path, {"batch_name": "spring"})
    before = len(sandbox.journal())

    def dry(job: dict[str, Any]) -> Any:
        return submit(manifest=make_manifest(tmp_path / "job", job=job), endpoint=sandbox.url,
                      credentials=sandbox.credentials, state_dir=tmp_path / "state",
                      dry_run=True)

    plan = dry({"batch_name": "fall"})
    assert isinstance(plan, DryRun) and plan.resume_job == job_id
    assert len(sandbox.journal()) == before
    methods = [(r["method"], r["body"]) for r in plan.requests[:2]]
    assert methods == [("GET", None), ("PUT", {"command_message": "UPDATE_VIDEO",
                                               "video_multipart_count": 3,
                                               "batch_name": "fall"})]
    assert not any(r["method"] == "POST" and r["url"].endswith("/jobs") for r in plan.requests)
    with pytest.raises(SetupError, match="model_version"):
        dry({"model_version": "V3.3"})


def test_the_steps_of_a_fresh_submission(sandbox: Sandbox, tmp_path: Path) -> None:
    from preflight.submitter.runner import Submission

    man = make_manifest(tmp_path / "job", action=True)
    store = StateStore(tmp_path / "state.sqlite")
    with make_client(endpoint=sandbox.url, credentials=sandbox.credentials) as client:
        run = Submission(man, client, store, spec_path=man.spec_path)
        result = run.run()
    store.close()
    assert result.outcome == "running" and result.created
    assert [step for _, _, step in run.trail] == [
        "create", "upload parts", "confirm", "confirm", "confirm", "submit", "show",
        "done: left running"]
    assert run.trail[-1][1] == "reviewing"
    assert result.commands == ["CONFIRM_MULTIPART_UPLOADED",
                               "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED",
                               "CONFIRM_AUTHORIZATION_LETTER", "SUBMITVERIFYING"]


def test_going_back_to_the_first_version_after_a_second_rejection_updates_again(
        sandbox: Sandbox, tmp_path: Path) -> None:
    job_id = _rejected_job(sandbox, tmp_path, {"batch_name": "spring"})
    assert _run(sandbox, tmp_path, make_manifest(tmp_path / "job",
                                                 job={"batch_name": "summer"})).updated
    _reject(sandbox, job_id)
    back = _run(sandbox, tmp_path, make_manifest(tmp_path / "job", job={"batch_name": "spring"}),
                wait=True)
    assert back.updated and back.job_id == job_id and back.state == "JOB_SUCCESS"
    assert back.changes == [{"field": "batch_name", "was": "summer", "now": "spring"}]
    assert len([e for e in _api(sandbox) if e.get("op") == "create"]) == 1
