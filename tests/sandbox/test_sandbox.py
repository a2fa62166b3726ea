"""The stand-in service on its own: API shapes, validation, auth, upload URLs, state machine."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from preflight.errors import ConfigError, ServiceError
from preflight.metastudio.credentials import Credentials
from preflight.sandbox import FaultPlan, Sandbox, running
from preflight.submitter.client import MetaStudioClient


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with running(advance_seconds=0.05, data_dir=tmp_path / "sb", token="tok-123456") as s:
        yield s


@pytest.fixture
def client(sb: Sandbox) -> Iterator[MetaStudioClient]:
    from preflight.submitter.retry import NO_RETRY

    with MetaStudioClient(sb.url, sb.credentials, retry=NO_RETRY) as c:
        yield c


DOCUMENT_URL_FIELDS = ("id_card_image1_upload_url", "id_card_image2_upload_url",
                       "grant_file_upload_url")


def _err(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[int | None, str | None]:
    return exc.value.status, exc.value.error_code


def test_create_returns_documented_url_fields(client: MetaStudioClient) -> None:
    data = client.create({"name": "x", "video_multipart_count": 3,
                          "action_video_multipart_count": 2}).data
    assert len(data["training_video_upload_url"]) == 3
    assert len(data["action_video_upload_url"]) == 2
    for f in ("audio_upload_url", "cover_upload_url", "id_card_image1_upload_url",
              "id_card_image2_upload_url", "grant_file_upload_url",
              "pre_beauty_image_upload_url", "post_beauty_image_upload_url"):
        assert isinstance(data[f], str) and "Signature=" in data[f]
    assert isinstance(data["job_id"], str)


@pytest.mark.parametrize("body,fragment", [
    ({}, "'name' is required"),
    ({"name": "x", "nmae": "y"}, "unknown field 'nmae'"),
    ({"name": "x", "video_multipart_count": 0}, "1~1000"),
    ({"name": "x", "video_multipart_count": "auto"}, "integer"),
    ({"name": "x", "video_multipart_count": 1001}, "1~1000"),
    ({"name": "x", "video_multipart_count": "3"}, "integer"),
    ({"name": "x", "model_version": "V4"}, "model_version"),
    ({"name": "x", "audio_source_type": "MIC"}, "audio_source_type"),
    ({"name": "x", "supported_service": ["VIDEO_3D"]}, "supported_service"),
    ({"name": "x", "command_message": "GO"}, "command_message"),
    ({"name": "x", "voice_properties": {"job_tag": "NEWS", "sex": "MALE"}}, "language"),
    ({"name": "x", "is_flexus": "true"}, "boolean"),
])
def test_create_validation_errors(client: MetaStudioClient, body: dict[str, Any],
                                  fragment: str) -> None:
    with pytest.raises(ServiceError) as info:
        client.create(body)
    assert _err(info) == (400, "MSS.00000003")
    assert fragment in (info.value.error_msg or "")


def test_error_body_shape_and_request_id(sb: Sandbox) -> None:
    resp = httpx.post(f"{sb.url}/v1/{sb.config.project_id}/digital-human-training-manage/"
                      "user/jobs", content=b"{}")
    assert resp.status_code == 401
    assert set(resp.json()) == {"error_code", "error_msg"} and resp.headers["X-Request-Id"]
    resp = httpx.get(f"{sb.url}/nothing")
    assert resp.json()["error_code"] == "MSS.00010003"


def test_signature_checks(sb: Sandbox) -> None:
    for creds, code in [
        (Credentials(project_id=sb.config.project_id, ak=sb.config.ak, sk="nope"), "APIG.0301"),
        (Credentials(project_id=sb.config.project_id, ak="OTHER", sk=sb.config.sk), "APIG.0301"),
        (Credentials(project_id="other", ak=sb.config.ak, sk=sb.config.sk), "MSS.00010009"),
        (Credentials(project_id=sb.config.project_id, token="bad"), "APIG.0307"),
    ]:
        with MetaStudioClient(sb.url, creds) as c, pytest.raises(ServiceError) as info:
            c.list()
        assert info.value.error_code == code
    with MetaStudioClient(sb.url, Credentials(project_id=sb.config.project_id,
                                              token="tok-123456")) as c:
        assert c.list().data == {"count": 0, "jobs": []}


def test_clock_skew_refused(sb: Sandbox) -> None:
    from datetime import UTC, datetime, timedelta

    late = MetaStudioClient(sb.url, sb.credentials,
                            now=lambda: datetime.now(UTC) - timedelta(minutes=20))
    with late as c, pytest.raises(ServiceError, match="15 minutes"):
        c.list()


def _put(url: str, data: bytes, ctype: str = "application/octet-stream") -> httpx.Response:
    return httpx.put(url, content=data, headers={"Content-Type": ctype})


def test_upload_urls_single_use_content_type_md5_etag(sb: Sandbox,
                                                      client: MetaStudioClient) -> None:
    data = client.create({"name": "x"}).data
    url = data["training_video_upload_url"][0]
    body = b"hello world" * 1000
    assert _put(url, body, "video/mp4").status_code == 403  # wrong Content-Type
    resp = _put(url, body)
    assert resp.status_code == 200
    assert resp.headers["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert _put(url, body).status_code == 403  # spent
    assert _put(data["audio_upload_url"], b"PK", "application/octet-stream").status_code == 403
    assert _put(data["audio_upload_url"], b"PK", "application/zip").status_code == 200
    bad_sig = url.split("Signature=")[0] + "Signature=" + "0" * 64
    assert _put(bad_sig, body).status_code == 403
    stored = list((sb.data_dir / "uploads").rglob("training_video.part0001"))
    assert stored and stored[0].read_bytes() == body
    accepted = [e for e in sb.journal() if e.get("kind") == "put" and e.get("accepted")]
    assert len(accepted) == 2


def test_state_machine_commands_show_list_delete(sb: Sandbox, client: MetaStudioClient) -> None:
    data = client.create({"name": "flow", "video_multipart_count": 2}).data
    job = data["job_id"]
    with pytest.raises(ServiceError):  # parts missing
        client.command(job, "CONFIRM_MULTIPART_UPLOADED")
    with pytest.raises(ServiceError):  # not confirmed yet
        client.command(job, "SUBMITVERIFYING")
    for i, url in enumerate(data["training_video_upload_url"]):
        assert _put(url, bytes([i]) * 10).status_code == 200
    for field in DOCUMENT_URL_FIELDS:
        assert _put(data[field], b"scan").status_code == 200
    parts = client.command(job, "GET_MULTIPART_UPLOADED").data["multipart_data"]
    assert parts == [{"part_number": "1", "etag": hashlib.md5(b"\0" * 10).hexdigest()},
                     {"part_number": "2", "etag": hashlib.md5(b"\1" * 10).hexdigest()}]
    assert client.command(job, "CONFIRM_MULTIPART_UPLOADED").data["commond_result"] \
        == "EXCUTE_SUCCESS"
    client.command(job, "SUBMITVERIFYING")
    with pytest.raises(ServiceError) as info:  # once only
        client.command(job, "SUBMITVERIFYING")
    assert info.value.error_code == "MSS.00000003"
    with pytest.raises(ServiceError):
        client.command(job, "CONFIRM_ACCEPT")  # NA whitelist only
    with pytest.raises(ServiceError):
        client.command(job, "FLY")
    states = []
    for _ in range(50):
        show = client.show(job).data
        states.append(show["state"])
        if show["state"] == "JOB_SUCCESS":
            break
        time.sleep(0.02)
    assert states[-1] == "JOB_SUCCESS" and show["training_video_download_url"]
    assert [x["log_type"] for x in show["operation_logs"]][-1] == "JOB_SUCCESS"
    listed = client.list(state="JOB_SUCCESS", name="flow").data
    assert listed["count"] == 1 and listed["jobs"][0]["job_id"] == job
    with pytest.raises(ServiceError):
        client.list(limit=101)
    client.delete(job)
    with pytest.raises(ServiceError) as info:
        client.show(job)
    assert info.value.status == 404


def test_faults_from_file_and_validation(tmp_path: Path) -> None:
    f = tmp_path / "faults.json"
    f.write_text(json.dumps({"fail_put": [3], "throttle": 1, "slow_ms": 5}), encoding="utf-8")
    plan = FaultPlan.load(f)
    assert plan.put_fault(3) == "fail_put" and plan.api_fault(1) == "throttle"
    assert plan.slow_ms == 5
    with pytest.raises(ConfigError, match="unknown key"):
        FaultPlan.from_dict({"explode": [1]})


def test_throttle_answer(sb: Sandbox, client: MetaStudioClient) -> None:
    sb.config.faults.throttle.add(1)
    with pytest.raises(ServiceError) as info:
        client.list()
    assert _err(info) == (429, "APIGW.0308")


def test_non_loopback_refused() -> None:
    with pytest.raises(ConfigError, match="loopback"), running(host="0.0.0.0"):
        pass


def test_big_body_is_streamed_not_buffered(sb: Sandbox, client: MetaStudioClient) -> None:
    """A 64 MiB PUT goes to disk in chunks; the server thread never holds it in memory."""
    import tracemalloc

    url = client.create({"name": "big"}).data["cover_upload_url"]
    chunk = b"\x5a" * (1 << 20)

    def body() -> Iterator[bytes]:
        for _ in range(64):
            yield chunk

    tracemalloc.start()
    resp = httpx.put(url, content=body(), headers={"Content-Type": "application/octet-stream",
                                                  "Content-Length": str(64 << 20)})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert resp.status_code == 200
    assert peak < 16 << 20
