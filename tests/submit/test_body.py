"""What an update after a failed review sends: the changed fields, judged against what the job
got (the local record, else Show's echo, else the API default)."""

from __future__ import annotations

from pathlib import Path

from preflight.metastudio import FIXED_BODY_FIELDS, UPDATABLE_BODY_FIELDS, UPDATE_FIELDS
from preflight.sandbox import Sandbox
from preflight.submitter.body import Change, compare, update_body
from preflight.submitter.state import StateStore
from tests.submit.conftest import make_manifest
from tests.submit.test_outcomes import _api, _rejected_job, _run


def test_field_sets_follow_the_update_call() -> None:
    assert "model_version" in FIXED_BODY_FIELDS and "is_only_human_model" in FIXED_BODY_FIELDS
    assert "batch_name" in UPDATABLE_BODY_FIELDS and not UPDATABLE_BODY_FIELDS & FIXED_BODY_FIELDS
    assert set(UPDATE_FIELDS) >= UPDATABLE_BODY_FIELDS
    assert "command_message" not in UPDATABLE_BODY_FIELDS


def test_compare_prefers_the_record_then_show_then_the_default() -> None:
    new = {"name": "a", "batch_name": "b2", "is_background_replacement": True, "tags": ["t"]}
    sent = {"name": "a", "batch_name": "b1", "tags": ["t"]}
    diff = compare(new, sent, {"batch_name": "from-show", "is_background_replacement": False})
    assert diff.changes == (Change("batch_name", "b1", "b2"),
                            Change("is_background_replacement", False, True))
    diff = compare(new, None, {"batch_name": "b2", "tags": ["t"], "name": "a"})
    assert diff.changes == ()  # the default true, and Show agrees with the rest
    assert compare({"name": "a"}, {"name": "a", "is_background_replacement": False}, {}).changes \
        == (Change("is_background_replacement", False, True),)  # left out: the default again


def test_compare_names_what_update_cannot_do() -> None:
    diff = compare({"name": "a", "model_version": "V3.3"}, {"name": "a", "batch_name": "x"}, {})
    assert diff.fixed == (Change("model_version", "V3.2", "V3.3"),) and diff.uncleared == (
        "batch_name",)
    # unknown before (neither recorded nor shown, no default): only the service can judge it
    assert compare({"name": "a", "is_ondemand_resource": True}, None, {}).fixed == ()


def test_update_body_carries_counts_and_changes_only(tmp_path: Path) -> None:
    man = make_manifest(tmp_path, parts=4, action=True)
    assert update_body(man, (Change("contact", None, "x"),)) == {
        "command_message": "UPDATE_VIDEO", "video_multipart_count": 4,
        "action_video_multipart_count": 2, "contact": "x"}


def test_without_a_record_show_echo_decides(sandbox: Sandbox, tmp_path: Path) -> None:
    """A state store written before bodies were kept: what Show echoes counts."""
    job_id = _rejected_job(sandbox, tmp_path, {"batch_name": "spring", "tags": ["a"]})
    store = StateStore(tmp_path / "state" / "preflight-state.sqlite")
    with store.tx() as db:
        db.execute("DELETE FROM sent")
    store.close()
    result = _run(sandbox, tmp_path, make_manifest(tmp_path / "job", job={
        "batch_name": "summer", "tags": ["a"]}), wait=True)
    assert result.job_id == job_id and result.state == "JOB_SUCCESS"
    update = next(e for e in _api(sandbox) if e.get("op") == "update")
    assert update["body"] == {"command_message": "UPDATE_VIDEO", "video_multipart_count": 3,
                              "batch_name": "summer"}
    assert result.changes == [{"field": "batch_name", "was": "spring", "now": "summer"}]
