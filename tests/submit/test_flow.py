"""End to end against the sandbox on a free loopback port: happy path, faults, resume."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from preflight.errors import ServiceError, SubmitError
from preflight.sandbox import Sandbox
from preflight.submitter.flow import DryRun, SubmitResult, create_body
from preflight.submitter.state import StateStore
from preflight.workflows.pipeline import submit
from tests.submit.conftest import FAST_RETRY, make_manifest


def _run(sb: Sandbox, tmp: Path, man: Any, **kw: Any) -> SubmitResult:
    kw.setdefault("wait", True)
    kw.setdefault("retry", FAST_RETRY)
    result = submit(manifest=man, endpoint=sb.url, credentials=sb.credentials,
                    state_dir=tmp / "state", poll_interval=0.02, **kw)
    assert isinstance(result, SubmitResult)
    return result


def _puts(sb: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sb.journal() if e.get("kind") == "put"]


def _assert_consistent(sb: Sandbox, man: Any, job_id: str) -> None:
    """One job; each URL accepted once; every part stored with the planned MD5."""
    journal = sb.journal()
    creates = [e for e in journal if e.get("op") == "create" and e.get("status") == 200]
    live = {e["job_id"] for e in creates} - set(sb.state.deleted)
    assert live == {job_id}
    accepted = collections.Counter(e["token"] for e in _puts(sb) if e.get("accepted"))
    assert accepted and max(accepted.values()) == 1
    stored = {(e["slot"], e["part_number"]): e["md5"] for e in _puts(sb)
              if e.get("accepted") and e["job_id"] == job_id}
    planned = {(u.slot, p.part_number): p.md5 for u in man.uploads for p in u.parts}
    assert stored == planned


def test_happy_path_three_parts_audio_zip_images(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job", parts=3)
    events: list[Any] = []
    result = _run(sandbox, tmp_path, man, progress=events.append)
    assert result.state == "JOB_SUCCESS" and result.success is True
    assert result.created and result.parts_total == 8 and result.parts_uploaded == 8
    assert result.bytes_sent == result.bytes_total == sum(u.size for u in man.uploads)
    assert result.commands == ["CONFIRM_MULTIPART_UPLOADED", "CONFIRM_AUTHORIZATION_LETTER",
                               "SUBMITVERIFYING"]
    _assert_consistent(sandbox, man, result.job_id)
    journal = sandbox.journal()
    create = next(e for e in journal if e.get("op") == "create")
    assert create["body"] == create_body(man)  # only API fields
    ctypes = {e["slot"] for e in _puts(sandbox)}
    assert ctypes == {"training_video", "audio", "cover", "id_card_front", "id_card_back",
                      "grant_file"}
    kinds = {e.kind for e in events}
    assert {"phase", "plan", "bytes", "part", "state"} <= kinds
    assert sum(e.nbytes for e in events if e.kind == "bytes") == result.bytes_total


def test_action_video_is_confirmed(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job", action=True, audio=False)
    result = _run(sandbox, tmp_path, man)
    assert "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED" in result.commands
    assert result.state == "JOB_SUCCESS"
    _assert_consistent(sandbox, man, result.job_id)


@pytest.mark.parametrize("fault", [
    {"fail_put": {2}}, {"drop_put": {1}}, {"lose_put": {2}}, {"lose_put": {6}},
    {"throttle": {1, 3}}, {"fail_api": {1}}, {"fail_api": {4}}, {"slow_ms": 20},
    {"fail_put": {1, 2}, "drop_put": {3}, "throttle": {2}},
])
def test_injected_faults_are_recovered(sandbox: Sandbox, tmp_path: Path,
                                       fault: dict[str, Any]) -> None:
    for key, value in fault.items():
        if key == "slow_ms":
            sandbox.config.faults.slow_ms = value
        else:
            getattr(sandbox.config.faults, key).update(value)
    man = make_manifest(tmp_path / "job", parts=3)
    result = _run(sandbox, tmp_path, man)
    assert result.state == "JOB_SUCCESS"
    _assert_consistent(sandbox, man, result.job_id)
    refused_reuse = [e for e in _puts(sandbox) if e.get("error_code") == "AccessDenied"]
    assert refused_reuse == []  # a URL the service recorded is never PUT again


def test_rerun_resumes_without_new_job_and_only_polls(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job")
    first = _run(sandbox, tmp_path, man, wait=False)
    second = _run(sandbox, tmp_path, man)
    assert second.job_id == first.job_id and second.resumed and not second.created
    assert second.parts_uploaded == 0 and not second.submitted_now
    assert second.state == "JOB_SUCCESS"
    _assert_consistent(sandbox, man, first.job_id)
    third = _run(sandbox, tmp_path, man, new_job=True)
    assert third.job_id != first.job_id and third.created


def test_resume_after_interrupted_upload_skips_recorded_parts(sandbox: Sandbox,
                                                              tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job", parts=3)
    sandbox.config.faults.fail_put.update({3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    with pytest.raises(SubmitError):
        _run(sandbox, tmp_path, man, jobs=1,
             retry=type(FAST_RETRY)(attempts=2, base=0.01, cap=0.02))
    sandbox.config.faults.fail_put.clear()
    before = sum(1 for e in _puts(sandbox) if e.get("accepted"))
    assert before == 2
    result = _run(sandbox, tmp_path, man)
    assert result.resumed and result.parts_skipped == 2 and result.parts_uploaded == 6
    _assert_consistent(sandbox, man, result.job_id)


def test_part_marked_sending_is_verified_not_reput(sandbox: Sandbox, tmp_path: Path) -> None:
    """A kill after the service stored a part but before the store said done."""
    man = make_manifest(tmp_path / "job", parts=3)
    sandbox.config.faults.lose_put.add(1)
    sandbox.config.faults.fail_api.update({2, 3, 4, 5, 6, 7, 8, 9, 10})  # verification fails
    with pytest.raises(SubmitError):
        _run(sandbox, tmp_path, man, jobs=1,
             retry=type(FAST_RETRY)(attempts=1, base=0.01, cap=0.02))
    sandbox.config.faults.fail_api.clear()
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    statuses = {(p.slot, p.part_number): p.status for p in store.parts(store.jobs()[0].job_id
                                                                        or "")}
    store.close()
    assert statuses[("training_video", 1)] == "sending"
    result = _run(sandbox, tmp_path, man)
    assert result.state == "JOB_SUCCESS"
    _assert_consistent(sandbox, man, result.job_id)
    assert [e for e in _puts(sandbox) if e.get("error_code") == "AccessDenied"] == []


def test_interrupted_create_leaves_exactly_one_job(sandbox: Sandbox, tmp_path: Path) -> None:
    """A crash between sending create and recording its answer: the orphan is deleted."""
    from preflight.submitter.flow import make_client, submission_key

    man = make_manifest(tmp_path / "job")
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    client = make_client(endpoint=sandbox.url, credentials=sandbox.credentials)
    key = submission_key(man, client.endpoint, client.credentials.project_id, None)
    store.begin_create(key, client.endpoint, client.credentials.project_id, man.spec_path,
                       "demo")
    orphan = client.create(create_body(man)).data["job_id"]
    client.close()
    store.close()
    result = _run(sandbox, tmp_path, man)
    assert result.job_id != orphan and orphan in sandbox.state.deleted
    _assert_consistent(sandbox, man, result.job_id)


def _first_run_fails_after(sb: Sandbox, tmp: Path, man: Any, accepted: int) -> str:
    sb.config.faults.fail_put.update(range(accepted + 1, accepted + 40))
    with pytest.raises(SubmitError):
        _run(sb, tmp, man, jobs=1, retry=type(FAST_RETRY)(attempts=1, base=0.01, cap=0.02))
    sb.config.faults.fail_put.clear()
    store = StateStore(tmp / "state" / "preflight-state.sqlite")
    job_id = store.jobs()[0].job_id
    store.close()
    assert job_id
    return job_id


def test_spent_or_expired_url_is_reported_clearly(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job", parts=3, audio=False, images=False)
    job_id = _first_run_fails_after(sandbox, tmp_path, man, 1)
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    row = next(p for p in store.parts(job_id) if p.status != "done")
    with store.tx() as db:  # the URL no longer verifies (expired / revoked)
        db.execute("UPDATE parts SET url=? WHERE job_id=? AND slot=? AND part_number=?",
                   (row.url.replace("Signature=", "Signature=0"), job_id, row.slot,
                    row.part_number))
    store.close()
    with pytest.raises(SubmitError, match="spent or expired") as info:
        _run(sandbox, tmp_path, man)
    assert "Signature=" not in str(info.value) and "--new-job" in str(info.value)


def test_url_the_service_recorded_counts_as_done(sandbox: Sandbox, tmp_path: Path) -> None:
    """Even if the local record was lost, a part the service lists is not sent again."""
    man = make_manifest(tmp_path / "job", parts=3, audio=False)
    job_id = _first_run_fails_after(sandbox, tmp_path, man, 1)
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    done = next(p for p in store.parts(job_id) if p.status == "done")
    store.mark(job_id, done.slot, done.part_number, "sending")
    store.close()
    result = _run(sandbox, tmp_path, man)
    assert result.state == "JOB_SUCCESS" and result.parts_skipped == 1
    _assert_consistent(sandbox, man, job_id)


def test_validation_error_is_not_retried_and_maps_to_exit_3(sandbox: Sandbox,
                                                            tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job", job={"model_version": "V9"})
    with pytest.raises(ServiceError) as info:
        _run(sandbox, tmp_path, man)
    assert info.value.status == 400 and info.value.error_code == "MSS.00000003"
    assert info.value.request_id
    creates = [e for e in sandbox.journal() if e.get("op") == "create"]
    assert len(creates) == 1


def test_wrong_credentials_fail_with_auth_message(sandbox: Sandbox, tmp_path: Path) -> None:
    from preflight.metastudio.credentials import Credentials

    bad = Credentials(project_id=sandbox.config.project_id, ak=sandbox.config.ak,
                      sk="wrong-secret-key-value")
    man = make_manifest(tmp_path / "job")
    with pytest.raises(ServiceError) as info:
        submit(manifest=man, endpoint=sandbox.url, credentials=bad, state_dir=tmp_path / "s",
               retry=FAST_RETRY)
    assert info.value.status == 401 and "authentication" in str(info.value)
    assert "wrong-secret-key-value" not in str(info.value)


def test_token_auth_end_to_end(tmp_path: Path) -> None:
    from preflight.metastudio.credentials import Credentials
    from preflight.sandbox import running

    with running(token="tok-abcdef-123456", advance_seconds=0.02, na_whitelisted=True) as sb:
        creds = Credentials(project_id=sb.config.project_id, token="tok-abcdef-123456")
        man = make_manifest(tmp_path / "job", audio=False, images=False)
        result = submit(manifest=man, endpoint=sb.url, credentials=creds, wait=True,
                        poll_interval=0.02, state_dir=tmp_path / "s", retry=FAST_RETRY)
        assert isinstance(result, SubmitResult) and result.state == "JOB_SUCCESS"


def test_dry_run_sends_nothing_and_redacts(sandbox: Sandbox, tmp_path: Path) -> None:
    man = make_manifest(tmp_path / "job")
    plan = submit(manifest=man, endpoint=sandbox.url, credentials=sandbox.credentials,
                  dry_run=True, state_dir=tmp_path / "s")
    assert isinstance(plan, DryRun)
    assert sandbox.journal() == []
    text = str(plan.to_dict())
    assert sandbox.config.sk not in text and "Signature=***" in text
    assert plan.requests[0]["body"] == create_body(man)
    assert len(plan.parts) == 8


def test_changed_source_is_refused_before_sending(sandbox: Sandbox, tmp_path: Path) -> None:
    from preflight.errors import PackagingError

    man = make_manifest(tmp_path / "job")
    Path(man.uploads[0].source).write_bytes(b"different")
    with pytest.raises(PackagingError, match="changed after packaging"):
        _run(sandbox, tmp_path, man)
    assert sandbox.journal() == []


def test_status_of_job_and_state_dump_is_redacted(sandbox: Sandbox, tmp_path: Path) -> None:
    from preflight.submitter.session import status

    man = make_manifest(tmp_path / "job")
    result = _run(sandbox, tmp_path, man)
    got = status(result.job_id, endpoint=sandbox.url, credentials=sandbox.credentials,
                 state_dir=tmp_path / "state")
    assert got[0].state == "JOB_SUCCESS" and got[0].final
    assert [h["log_type"] for h in got[0].history][-1] == "JOB_SUCCESS"
    assert got[0].local is not None and all("Signature" not in p["url"]
                                            for p in got[0].local["parts"])
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    dump = str(store.dump())
    store.close()
    assert "Signature=" not in dump and "?***" in dump


def test_library_export(sandbox: Sandbox, tmp_path: Path) -> None:
    import preflight

    assert "submit" in preflight.__all__
    man = make_manifest(tmp_path / "job", audio=False, images=False)
    result = preflight.submit(manifest=man, endpoint=sandbox.url,
                              credentials=sandbox.credentials, state_dir=tmp_path / "s")
    assert isinstance(result, SubmitResult) and result.state in ("AUTO_VERIFYING",
                                                                 "MANUAL_VERIFYING", "TRAINING",
                                                                 "JOB_SUCCESS")


def test_state_store_is_private(tmp_path: Path) -> None:
    """The store keeps single-use upload URLs: only the owner may read it."""
    path = tmp_path / "state" / "preflight-state.sqlite"
    StateStore(path).close()
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)  # an older, world-readable store is tightened when opened
    StateStore(path).close()
    assert path.stat().st_mode & 0o777 == 0o600
