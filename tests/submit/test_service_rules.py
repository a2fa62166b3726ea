"""The submitter the way the service expects it: lost answers resolved by Show, EXCUTE_FAILED on
the letter confirmation, missing URL fields, both answer shapes of the action-video query, the
state sets, and a stand-in that applies its own rules."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from preflight.errors import SetupError, SubmitError
from preflight.metastudio import (
    FINAL_STATES,
    TRAINING_STATES,
    is_failed,
    is_final,
)
from preflight.sandbox import Sandbox, running
from preflight.sandbox.store import Rejection
from preflight.submitter.flow import action_answer
from preflight.workflows.pipeline import submit
from tests.submit.conftest import FAST_RETRY, make_manifest
from tests.submit.test_flow import _assert_consistent, _run


def _forbidden(sb: Sandbox) -> list[dict[str, Any]]:
    """Commands the stand-in refused because of the job's state."""
    return [e for e in sb.journal() if e.get("op") == "command" and e.get("status") == 400]


def _commands(sb: Sandbox, name: str) -> list[dict[str, Any]]:
    return [e for e in sb.journal() if e.get("command") == name]


@pytest.mark.parametrize("op", ["create", "CONFIRM_MULTIPART_UPLOADED",
                                "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED",
                                "CONFIRM_AUTHORIZATION_LETTER", "SUBMITVERIFYING"])
def test_lost_answer_is_resolved_by_show_not_resent(sandbox: Sandbox, tmp_path: Path,
                                                    op: str) -> None:
    sandbox.config.faults.lose_answer.append(op)
    man = make_manifest(tmp_path / "job", parts=3, action=True)
    result = _run(sandbox, tmp_path, man)
    assert result.state == "JOB_SUCCESS"
    _assert_consistent(sandbox, man, result.job_id)
    assert _forbidden(sandbox) == []
    if op == "SUBMITVERIFYING":
        # the answer was lost after the job moved on: Show says so, nothing is resent
        assert len(_commands(sandbox, op)) == 1
    elif op in ("CONFIRM_MULTIPART_UPLOADED", "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED"):
        assert len(_commands(sandbox, op)) == 1  # Show had the download URL: proven
    lost = [e for e in sandbox.journal() if e.get("fault") == "lose_answer"]
    assert len(lost) == 1


def test_lost_answer_with_the_job_still_waiting_is_resent_once(sandbox: Sandbox,
                                                               tmp_path: Path) -> None:
    # a 500 before the command ran: Show says it did not take effect, so it is sent again
    man = make_manifest(tmp_path / "job", parts=2, audio=False)
    events: list[Any] = []
    sandbox.config.faults.fail_api.add(6)  # create, 2x GET_MULTIPART(verify) ... a command
    result = _run(sandbox, tmp_path, man, progress=events.append)
    assert result.state == "JOB_SUCCESS" and _forbidden(sandbox) == []
    retries = [e.message for e in events if e.kind == "retry"]
    assert retries and all(m and ": HTTP 500" in m and "retrying in" in m for m in retries)


def test_grant_confirmation_failure_is_a_warning(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.faults.fail_command.append("CONFIRM_AUTHORIZATION_LETTER")
    man = make_manifest(tmp_path / "job")
    result = _run(sandbox, tmp_path, man)
    assert result.state == "JOB_SUCCESS"
    assert len(result.warnings) == 1 and "EXCUTE_FAILED" in result.warnings[0]
    assert "(injected)" in result.warnings[0] and "goes on" in result.warnings[0]
    assert "SUBMITVERIFYING" in result.commands


def test_requested_urls_only_and_missing_url_deletes_the_job(tmp_path: Path) -> None:
    with running(advance_seconds=0.05, data_dir=tmp_path / "sb", urls="requested") as sb:
        man = make_manifest(tmp_path / "a", audio=False)
        man = replace(man, uploads=tuple(u for u in man.uploads if u.slot != "cover"))
        ok = _run(sb, tmp_path / "a", man)
        assert ok.state == "JOB_SUCCESS"
        create = next(e for e in sb.journal() if e.get("op") == "create")
        assert create["urls"] == 3 + 3  # 3 video parts, ID card front/back, letter
        # a cover on file, but the service issued no cover URL: clear error, no orphan
        man = make_manifest(tmp_path / "b")
        with pytest.raises(SubmitError, match="no cover_upload_url") as info:
            _run(sb, tmp_path / "b", man)
        assert "deleted again" in str(info.value)
        assert list(sb.state.jobs) == [ok.job_id]


def test_all_urls_stand_in_serves_the_same_client(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job", audio=False)
    assert _run(sandbox, tmp_path, man).state == "JOB_SUCCESS"
    create = next(e for e in sandbox.journal() if e.get("op") == "create")
    assert create["urls"] == 3 + 7  # every single-file slot too


def test_package_without_training_video_sends_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job")
    from dataclasses import replace

    man = replace(man, uploads=tuple(u for u in man.uploads if u.slot != "training_video"))
    with pytest.raises(SetupError, match="no training video"):
        _run(sandbox, tmp_path, man)
    assert [e for e in sandbox.journal() if e.get("kind") == "api"] == []


def test_action_video_query_answers_of_both_shapes() -> None:
    urls, parts = action_answer({"commond_result": "EXCUTE_SUCCESS",
                                 "action_video_upload_url": ["https://h/u1", "https://h/u2"]})
    assert urls == ["https://h/u1", "https://h/u2"] and parts == {}
    urls, parts = action_answer({"commond_result": "EXCUTE_SUCCESS", "multipart_data": [
        {"part_number": "1", "etag": '"abc"'}, {"part_number": " 2 ", "etag": None}, "junk"]})
    assert urls == [] and parts == {1: '"abc"', 2: None}


def test_action_video_query_is_never_proof(tmp_path: Path) -> None:
    # the action video's second PUT is stored but its answer lost: the query lists it, but
    # only Show (after confirm) could prove it, so it stays unproven and is said so
    # (an NA-whitelisted account: no ID documents, so the third PUT is the action video's)
    man = make_manifest(tmp_path / "job", action=True, images=False, audio=False, parts=1)
    with running(advance_seconds=0.05, data_dir=tmp_path / "na", na_whitelisted=True) as na:
        na.config.faults.lose_put.add(3)
        result = _run(na, tmp_path, man)
        assert result.state == "JOB_SUCCESS"
        assert any(u.startswith("action_video part") for u in result.unproven)
        _assert_consistent(na, man, result.job_id)


def test_state_sets() -> None:
    final = set(FINAL_STATES)
    assert final == {"JOB_SUCCESS", "JOB_FINISH", "JOB_REJECT", "AUTO_VERIFY_FAILED",
                     "MANUAL_VERIFY_FAILED", "WAIT_USER_CONFIRM"}
    for state in ("TRAIN_FAILED", "COMPILE_FAILED", "TRAINING_DATA_PREPROCESS_FAILED"):
        assert state in TRAINING_STATES and not is_final(state) and not is_failed(state)
    assert not is_final("SOMETHING_NEW") and not is_final(None)
    assert is_failed("AUTO_VERIFY_FAILED") and not is_failed("WAIT_USER_CONFIRM")


def test_stand_in_applies_its_own_rules(sandbox: Sandbox, tmp_path: Path) -> None:
    from preflight.submitter.session import connect

    client = connect(endpoint=sandbox.url, credentials=sandbox.credentials, retry=FAST_RETRY)
    cases = [
        ({"name": "x", "model_version": "V2"}, "deprecated"),
        ({"name": "x", "is_flexus": True}, "only supported_service"),
        ({"name": "x", "is_flexus": True, "supported_service": ["VIDEO_2D", "LIVE_2D"]},
         "only supported_service"),
        ({"name": "x", "voice_properties": {"job_tag": "NEWS", "sex": "MALE",
                                            "language": "CN"}}, "Flexus voice"),
    ]
    try:
        for body, needle in cases:
            with pytest.raises(SubmitError, match=needle):
                client.create(body)
        # AK/SK calls without X-Project-Id are refused
        call = client.prepare("GET", client.base_path)
        headers = {k: v for k, v in call.headers.items() if k != "X-Project-Id"}
        resp = httpx.get(call.url, headers=headers)
        assert resp.status_code == 401 and "X-Project-Id" in resp.json()["error_msg"]
    finally:
        client.close()


def test_dry_run_of_a_recorded_job_shows_the_resume_plan(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    from preflight.submitter.flow import DryRun

    man = make_manifest(tmp_path / "job", parts=3)
    sandbox.config.faults.fail_put.update(range(3, 40))  # only two uploads get through
    with pytest.raises(SubmitError):
        _run(sandbox, tmp_path, man, jobs=1)
    sandbox.config.faults.fail_put.clear()
    job_id = next(e["job_id"] for e in sandbox.journal() if e.get("op") == "create")
    before = len(sandbox.journal())
    plan = submit(manifest=man, endpoint=sandbox.url, credentials=sandbox.credentials,
                  dry_run=True, state_dir=tmp_path / "state")
    assert isinstance(plan, DryRun) and plan.resume_job == job_id
    assert len(sandbox.journal()) == before  # nothing sent
    methods = [(r["method"], r["url"]) for r in plan.requests]
    assert not any(m == "POST" and u.endswith("/jobs") for m, u in methods)  # no create
    assert len(plan.parts) == 8 - 2
    assert all(p["url"].endswith("?***") and "Signature" not in p["url"] for p in plan.parts)
    assert plan.to_dict()["resume"] == {"job_id": job_id, "phase": "created"}
    result = _run(sandbox, tmp_path, man)
    assert result.job_id == job_id and result.state == "JOB_SUCCESS"



def _failed_then_changed(sb: Sandbox, tmp: Path) -> tuple[Any, str]:
    """Submit a job the stand-in's review rejects, then change its video (same spec)."""
    man = make_manifest(tmp / "job", audio=False)
    job_id = _run(sb, tmp, man, wait=False).job_id
    with sb.state.lock:
        job = sb.state.jobs[job_id]
        job.rejection = Rejection("video resolution 1280x720 is not accepted")
        assert job.submitted_at is not None
        job.submitted_at -= 1.0  # the review step is over
        sb.state.advance(job)
        assert job.state == "AUTO_VERIFY_FAILED"
    changed = make_manifest(tmp / "job", audio=False, seed=1)
    return changed, job_id


def test_job_in_review_is_never_touched(tmp_path: Path) -> None:
    with running(advance_seconds=30, data_dir=tmp_path / "sb") as sb:
        man = make_manifest(tmp_path / "job", audio=False)
        job_id = _run(sb, tmp_path, man, wait=False).job_id
        before = len([e for e in sb.journal() if e.get("op") in ("command", "update")])
        changed = make_manifest(tmp_path / "job", audio=False, seed=1)
        with pytest.raises(SetupError, match="never touched") as info:
            _run(sb, tmp_path, changed, wait=False)
        assert job_id in str(info.value) and "AUTO_VERIFYING" in str(info.value)
        after = len([e for e in sb.journal() if e.get("op") in ("command", "update")])
        assert after == before and len(sb.state.jobs) == 1


def test_failed_job_is_updated_in_place(sandbox: Sandbox, tmp_path: Path) -> None:
    changed, job_id = _failed_then_changed(sandbox, tmp_path)
    result = _run(sandbox, tmp_path, changed)
    assert result.updated and result.job_id == job_id and result.state == "JOB_SUCCESS"
    assert len(sandbox.state.jobs) == 1


def test_lost_answer_to_update_is_not_resent(sandbox: Sandbox, tmp_path: Path) -> None:
    changed, job_id = _failed_then_changed(sandbox, tmp_path)
    sandbox.config.faults.lose_answer.append("update")
    with pytest.raises(SubmitError, match="never arrived") as info:
        _run(sandbox, tmp_path, changed)
    assert "--new-job" in str(info.value) and job_id in str(info.value)
    assert len([e for e in sandbox.journal() if e.get("op") == "update"]) == 1


def test_retry_lines_name_the_operation_not_none(capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.cli.progress import SubmitDisplay
    from preflight.submitter.progress import ProgressEvent

    with SubmitDisplay(False) as display:
        display(ProgressEvent("retry", message="create job: connection refused; retrying in "
                              "0.3 s"))
        display(ProgressEvent("retry", slot="cover", part_number=1,
                              message="upload: HTTP 500; retrying in 0.1 s"))
    err = capsys.readouterr().err
    assert "retry create job: connection refused; retrying in 0.3 s" in err
    assert "retry cover part 1: upload: HTTP 500" in err and "None" not in err
