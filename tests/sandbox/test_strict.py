"""What the stand-in enforces like a strict service (docs/sandbox.md lists each choice): upload
probes, command order, the review's documents and audio, and the cross-field refusals that
`check` reports as errors."""

from __future__ import annotations

import base64
import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from preflight.errors import CommandFailed, ServiceError
from preflight.sandbox import Sandbox, running
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import NO_RETRY

OCTET = {"Content-Type": "application/octet-stream"}
#: One client for the raw requests (an SSL context per call would cost 75 ms each).
HTTP = httpx.Client(timeout=30)
DOCUMENTS = ("id_card_image1_upload_url", "id_card_image2_upload_url", "grant_file_upload_url")
VOICE = {"job_tag": "NEWS", "sex": "MALE", "language": "CN"}
FLEXUS = {"is_flexus": True, "is_background_replacement": False,
          "supported_service": ["VIDEO_2D"], "audio_source_type": "VIDEO"}


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with running(advance_seconds=0.05, data_dir=tmp_path / "sb") as s:
        yield s


@pytest.fixture
def client(sb: Sandbox) -> Iterator[MetaStudioClient]:
    with MetaStudioClient(sb.url, sb.credentials, retry=NO_RETRY) as c:
        yield c


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _accepted(sb: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sb.journal() if e.get("kind") == "put" and e.get("accepted")]


# ---- uploads ----------------------------------------------------------------------------------

def test_content_md5_mismatch_is_refused_and_the_url_stays_usable(
        sb: Sandbox, client: MetaStudioClient) -> None:
    url = client.create({"name": "x"}).data["training_video_upload_url"][0]
    body = b"take bytes" * 100
    bad = HTTP.put(url, content=body, headers={**OCTET, "Content-MD5": _md5_b64(b"other")})
    assert bad.status_code == 400 and "<Code>BadDigest</Code>" in bad.text
    assert _accepted(sb) == []
    good = HTTP.put(url, content=body, headers={**OCTET, "Content-MD5": _md5_b64(body)})
    assert good.status_code == 200 and good.headers["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert HTTP.put(url, content=body, headers=OCTET).status_code == 403  # now spent


@pytest.mark.parametrize("digest", ["not base64!", base64.b64encode(b"short").decode()])
def test_malformed_content_md5_is_refused(client: MetaStudioClient, digest: str) -> None:
    url = client.create({"name": "x"}).data["training_video_upload_url"][0]
    resp = HTTP.put(url, content=b"x", headers={**OCTET, "Content-MD5": digest})
    assert resp.status_code == 400 and "<Code>InvalidDigest</Code>" in resp.text
    assert HTTP.put(url, content=b"x", headers=OCTET).status_code == 200


def test_authorization_header_on_a_signed_url_is_refused(sb: Sandbox,
                                                         client: MetaStudioClient) -> None:
    url = client.create({"name": "x"}).data["training_video_upload_url"][0]
    resp = HTTP.put(url, content=b"x", headers={**OCTET, "Authorization": "SDK-HMAC-SHA256 a"})
    assert resp.status_code == 400 and "<Code>InvalidArgument</Code>" in resp.text
    assert _accepted(sb) == []
    assert HTTP.put(url, content=b"x", headers=OCTET).status_code == 200


def test_chunked_put_is_accepted(sb: Sandbox, client: MetaStudioClient) -> None:
    url = client.create({"name": "x"}).data["training_video_upload_url"][0]
    pieces = [b"a" * 70_000, b"b" * 3, b"c" * 1_500_000]

    def body() -> Iterator[bytes]:
        yield from pieces

    resp = HTTP.put(url, content=body(), headers=OCTET)  # a generator: chunked coding
    assert resp.status_code == 200, resp.text
    whole = b"".join(pieces)
    assert resp.headers["ETag"] == f'"{hashlib.md5(whole).hexdigest()}"'
    entry = _accepted(sb)[0]
    assert entry["chunked"] is True and entry["bytes"] == len(whole)
    assert Path(sb.state.uploads[urlsplit(url).path.rsplit("/", 1)[1]].path or "").read_bytes() \
        == whole


def _raw_put(url: str, head: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as s:
        s.sendall(f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode()
                  + body)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_broken_chunked_body_is_refused_without_using_the_url(
        sb: Sandbox, client: MetaStudioClient) -> None:
    url = client.create({"name": "x"}).data["training_video_upload_url"][0]
    head = "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n"
    answer = _raw_put(url, head, b"zz\r\nhello\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b"IncompleteBody" in answer
    answer = _raw_put(url, head, b"3\r\nhello\r\n0\r\n\r\n")  # more data than announced
    assert answer.startswith(b"HTTP/1.1 400")
    answer = _raw_put(url, head, b"5\r\nhel")  # cut off: no answer, like a broken network
    assert answer == b""
    assert _accepted(sb) == []
    answer = _raw_put(url, head, b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


def test_put_without_length_or_chunks_is_refused(client: MetaStudioClient) -> None:
    url = client.create({"name": "x"}).data["training_video_upload_url"][0]
    answer = _raw_put(url, "Content-Type: application/octet-stream\r\n", b"")
    assert answer.startswith(b"HTTP/1.1 411")


# ---- command order ------------------------------------------------------------------------------

def _refused_400(call: Any) -> dict[str, Any]:
    """The body of a command refused with 400 + EXCUTE_FAILED."""
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.status == 400 and info.value.error_code == "MSS.00000003"
    assert not isinstance(info.value, CommandFailed)  # not a 200 answer
    return {"msg": info.value.error_msg}


def _raw_command(sb: Sandbox, client: MetaStudioClient, job: str, command: str) -> httpx.Response:
    call = client.prepare("POST", f"{client.base_path}/{job}/command", body={"command": command})
    return HTTP.post(call.url, headers=call.headers, content=call.body)


def test_out_of_order_commands_answer_400_with_excute_failed(
        sb: Sandbox, client: MetaStudioClient) -> None:
    data = client.create({"name": "x", "video_multipart_count": 2}).data
    job = data["job_id"]
    for command, reason in (("CONFIRM_MULTIPART_UPLOADED", "parts not uploaded"),
                            ("CONFIRM_AUTHORIZATION_LETTER", "letter has not been uploaded"),
                            ("SUBMITVERIFYING", "not confirmed")):
        resp = _raw_command(sb, client, job, command)
        body = resp.json()
        assert resp.status_code == 400, (command, body)
        assert body["commond_result"] == "EXCUTE_FAILED" and reason in body["excute_failed_msg"]
        assert body["error_code"] == "MSS.00000003"
        assert body["error_info"]["error_msg"] == body["excute_failed_msg"]
    refused = [e for e in sb.journal() if e.get("op") == "command"]
    assert [e["status"] for e in refused] == [400, 400, 400]


def test_submit_needs_the_action_video_confirm(sb: Sandbox, client: MetaStudioClient) -> None:
    data = client.create({"name": "x", "action_video_multipart_count": 1}).data
    job = data["job_id"]
    for field in ("training_video_upload_url", "action_video_upload_url"):
        assert HTTP.put(data[field][0], content=b"v", headers=OCTET).status_code == 200
    client.command(job, "CONFIRM_MULTIPART_UPLOADED")
    resp = _raw_command(sb, client, job, "SUBMITVERIFYING")
    assert resp.status_code == 400
    assert "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED" in resp.json()["excute_failed_msg"]
    client.command(job, "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED")
    assert client.command(job, "SUBMITVERIFYING").data["commond_result"] == "EXCUTE_SUCCESS"


# ---- the review ---------------------------------------------------------------------------------

def _submit(sb: Sandbox, client: MetaStudioClient, body: dict[str, Any],
            skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Create, upload every issued URL but those in `skip`, confirm, submit; the final Show."""
    data = client.create(body).data
    job = data["job_id"]
    for field, urls in data.items():
        if not field.endswith("_upload_url") or field in skip:
            continue
        ctype = "application/zip" if field == "audio_upload_url" else OCTET["Content-Type"]
        for url in urls if isinstance(urls, list) else [urls]:
            assert HTTP.put(url, content=b"bytes", headers={"Content-Type": ctype}
                             ).status_code == 200
    client.command(job, "CONFIRM_MULTIPART_UPLOADED")
    if "action_video_upload_url" in data:
        client.command(job, "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED")
    client.command(job, "SUBMITVERIFYING")
    for _ in range(200):
        show = client.show(job).data
        if show["state"] in ("JOB_SUCCESS", "AUTO_VERIFY_FAILED"):
            return dict(show)
        time.sleep(0.02)
    raise AssertionError(show)


def _reason(show: dict[str, Any]) -> str:
    failed = [e for e in show["operation_logs"] if e["log_type"] == "AUTO_VERIFY_FAILED"]
    assert show["state"] == "AUTO_VERIFY_FAILED" and len(failed) == 1, show
    return str(failed[0]["log_description"])


@pytest.mark.parametrize("missing", DOCUMENTS)
def test_review_fails_without_an_id_document(sb: Sandbox, client: MetaStudioClient,
                                             missing: str) -> None:
    show = _submit(sb, client, {"name": "x"}, skip=(missing,))
    assert "identity documents missing" in _reason(show)


def test_review_passes_with_documents_or_for_an_na_account(sb: Sandbox, client: MetaStudioClient,
                                                           tmp_path: Path) -> None:
    assert _submit(sb, client, {"name": "x"})["state"] == "JOB_SUCCESS"
    with running(advance_seconds=0.05, data_dir=tmp_path / "na", na_whitelisted=True) as na, \
            MetaStudioClient(na.url, na.credentials, retry=NO_RETRY) as c:
        assert _submit(na, c, {"name": "x"}, skip=DOCUMENTS)["state"] == "JOB_SUCCESS"
        assert c.command(c.list().data["jobs"][0]["job_id"], "CONFIRM_PENDING").status == 200


def test_review_fails_for_audio_without_the_zip_unless_no_voice_is_trained(
        sb: Sandbox, client: MetaStudioClient) -> None:
    audio = {"name": "x", "audio_source_type": "AUDIO"}
    assert "no audio zip" in _reason(_submit(sb, client, audio, skip=("audio_upload_url",)))
    assert _submit(sb, client, audio)["state"] == "JOB_SUCCESS"
    no_voice = {"name": "x", **FLEXUS, "audio_source_type": "AUDIO", "is_only_human_model": True}
    assert _submit(sb, client, no_voice, skip=("audio_upload_url",))["state"] == "JOB_SUCCESS"


# ---- create -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fragment"), [
    ({"model_version": "V3"}, "deprecated"),
    ({"model_version": "V2"}, "deprecated"),
    ({"is_only_human_model": True}, "is_only_human_model is valid only for Flexus"),
    ({"is_fast_flexus": True, "model_version": "V3.3", "is_background_replacement": False,
      "supported_service": ["VIDEO_2D"], "is_only_human_model": True}, "is_only_human_model"),
    ({"is_fast_flexus": True, "model_version": "V3.3", "is_background_replacement": False,
      "supported_service": ["VIDEO_2D"], "voice_properties": VOICE}, "voice_properties"),
    ({"model_version": "V3.3"}, "fast Flexus model"),
    ({**FLEXUS, "is_background_replacement": True}, "real scene"),
    ({"is_flexus": True, "supported_service": ["VIDEO_2D"]}, "real scene"),
])
def test_create_refuses_what_check_reports_as_an_error(client: MetaStudioClient,
                                                       body: dict[str, Any],
                                                       fragment: str) -> None:
    with pytest.raises(ServiceError) as info:
        client.create({"name": "x", **body})
    assert info.value.status == 400 and fragment in (info.value.error_msg or "")


@pytest.mark.parametrize("body", [
    {"supported_service": ["VIDEO_2D", "VIDEO_2D"]},
    {**FLEXUS, "supported_service": ["VIDEO_2D", "VIDEO_2D"]},
    {"model_version": "V3.2", "is_only_human_model": False},
    {**FLEXUS, "is_only_human_model": True, "voice_properties": VOICE},
    {**FLEXUS, "is_fast_flexus": True, "model_version": "V3.3"},
    {"is_fast_flexus": True, "model_version": "V3.3", "is_background_replacement": False,
     "supported_service": ["VIDEO_2D"]},
])
def test_create_accepts_what_check_only_warns_about(client: MetaStudioClient,
                                                    body: dict[str, Any]) -> None:
    assert client.create({"name": "x", **body}).status == 200
