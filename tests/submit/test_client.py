"""Client and retry policy through httpx.MockTransport: exact requests, retries, error mapping."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from preflight.errors import CommandFailed, NetworkError, ServiceError, SetupError
from preflight.metastudio.credentials import Credentials, resolve_endpoint
from preflight.metastudio.signer import parse_authorization, verify
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import RetryPolicy, is_retryable_status

SK = "s3cr3t-SK-value-0123456789"
TOKEN = "MIIToken-abcdefghijklmnop"
PID = "0123456789abcdef0123456789abcdef"
CREDS = Credentials(project_id=PID, ak="AKTEST", sk=SK)


def _client(handler: Callable[[httpx.Request], httpx.Response], *, sleeps: list[float],
            creds: Credentials = CREDS, attempts: int = 4) -> MetaStudioClient:
    policy = RetryPolicy(attempts=attempts, base=0.5, cap=4.0, sleep=sleeps.append)
    return MetaStudioClient("https://metastudio.cn-north-4.myhuaweicloud.com", creds,
                            app_user_id="user-1", transport=httpx.MockTransport(handler),
                            retry=policy)


def _json(status: int, data: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=data, headers={"X-Request-Id": "req-42", **headers})


def test_signed_request_bytes_verify_and_carry_project_and_user() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json(200, {"job_id": "j1", "training_video_upload_url": ["u"]})

    c = _client(handler, sleeps=[])
    resp = c.create({"name": "demo"})
    assert resp.data["job_id"] == "j1" and resp.request_id == "req-42"
    req = seen[0]
    assert req.url.path == f"/v1/{PID}/digital-human-training-manage/user/jobs"
    assert req.content == b'{"name":"demo"}'
    assert req.headers["X-Project-Id"] == PID and req.headers["X-App-UserId"] == "user-1"
    assert req.headers["Content-Type"] == "application/json"
    auth = parse_authorization(req.headers["Authorization"])
    assert auth is not None and auth.access == "AKTEST"
    assert {"host", "x-sdk-date", "x-project-id", "x-app-userid", "content-type"} <= set(
        auth.signed_headers)
    assert verify("POST", req.url.path, [], dict(req.headers), req.content, sk=SK, auth=auth,
                  date=req.headers["X-Sdk-Date"])


def test_query_is_sent_in_canonical_form() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json(200, {"count": 0, "jobs": []})

    _client(handler, sleeps=[]).list(name="名 字", state="WAIT_FILE_UPLOAD", limit=10)
    assert seen[0].url.query == b"limit=10&name=%E5%90%8D%20%E5%AD%97&state=WAIT_FILE_UPLOAD"


def test_token_auth_sends_token_and_no_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json(200, {"state": "WAIT_FILE_UPLOAD"})

    _client(handler, sleeps=[], creds=Credentials(project_id=PID, token=TOKEN)).show("j1")
    assert seen[0].headers["X-Auth-Token"] == TOKEN
    assert "Authorization" not in seen[0].headers


@pytest.mark.parametrize("status,body", [
    (500, {"error_code": "MSS.00000004", "error_msg": "internal"}),
    (503, {}),
    (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}),
    (400, {"error_code": "APIGW.0308", "error_msg": "throttled"}),
])
def test_transient_answers_are_retried_with_backoff(status: int, body: dict[str, str]) -> None:
    calls, sleeps = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return _json(status, body)
        return _json(200, {"state": "AUTO_VERIFYING"})

    assert _client(handler, sleeps=sleeps).show("j1").data["state"] == "AUTO_VERIFYING"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential, jittered


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    calls, sleeps = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return _json(429, {}, **{"Retry-After": "60"})
        return _json(200, {})

    _client(handler, sleeps=sleeps).show("j1")
    assert sleeps == [4.0]


@pytest.mark.parametrize("status,code", [(400, "MSS.00000003"), (401, "APIG.0301"),
                                         (403, "APIG.0302"), (404, "MSS.00010003")])
def test_client_errors_are_not_retried_and_carry_code_msg_request_id(status: int,
                                                                      code: str) -> None:
    calls, sleeps = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _json(status, {"error_code": code, "error_msg": "Invalid parameter"})

    with pytest.raises(ServiceError) as info:
        _client(handler, sleeps=sleeps).show("j1")
    assert len(calls) == 1 and sleeps == []
    err = info.value
    assert (err.status, err.error_code, err.error_msg, err.request_id) == (
        status, code, "Invalid parameter", "req-42")
    assert code in str(err) and "req-42" in str(err)
    assert exit_code_of(err) == 3


def exit_code_of(err: BaseException) -> int:
    from preflight.cli import exit_code

    return exit_code(error=err)


def test_gateway_style_error_body_is_understood() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _json(401, {"error": {"code": "APIG.0301", "message": "Incorrect IAM auth"}})

    with pytest.raises(ServiceError) as info:
        _client(handler, sleeps=[]).show("j1")
    assert info.value.error_code == "APIG.0301" and "authentication" in str(info.value)


def test_clock_skew_is_explained() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _json(401, {"error_code": "APIG.0301", "error_msg": "signature expired"},
                     Date="Mon, 01 Jan 2024 00:00:00 GMT")

    with pytest.raises(ServiceError, match="15 min"):
        _client(handler, sleeps=[]).show("j1")


def test_connection_errors_retry_then_fail_clearly() -> None:
    calls, sleeps = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(NetworkError) as info:
        _client(handler, sleeps=sleeps, attempts=3).show("j1")
    assert len(calls) == 3 and len(sleeps) == 2 and not info.value.maybe_sent


def test_create_is_sent_once_even_on_500() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _json(500, {"error_code": "MSS.00000004", "error_msg": "boom"})

    with pytest.raises(ServiceError):
        _client(handler, sleeps=[]).create({"name": "x"})
    assert len(calls) == 1


def test_excute_failed_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"command": "CONFIRM_MULTIPART_UPLOADED"}
        return _json(200, {"commond_result": "EXCUTE_FAILED", "excute_failed_msg": "parts missing"})

    with pytest.raises(ServiceError, match="parts missing"):
        _client(handler, sleeps=[]).command("j1", "CONFIRM_MULTIPART_UPLOADED")


@pytest.mark.parametrize("status", [200, 400, 500])
def test_command_answer_is_read_from_the_body_whatever_the_status(status: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _json(status, {"commond_result": "EXCUTE_FAILED", "excute_failed_msg": "no letter",
                              "error_info": {"error_code": "MSS.00000003",
                                             "error_msg": "no letter"}})

    with pytest.raises(CommandFailed) as info:
        _client(handler, sleeps=[]).command("j1", "CONFIRM_AUTHORIZATION_LETTER")
    assert info.value.status == status and info.value.error_msg == "no letter"
    assert info.value.error_code == "MSS.00000003" and len(calls) == 1  # an answer: no retry


def test_command_status_alone_decides_only_without_a_command_result() -> None:
    def ok_as_400(request: httpx.Request) -> httpx.Response:
        return _json(400, {"commond_result": "EXCUTE_SUCCESS"})

    assert _client(ok_as_400, sleeps=[]).command("j1", "SUBMITVERIFYING").status == 400

    def odd(request: httpx.Request) -> httpx.Response:
        return _json(400, {"commond_result": "MAYBE", "error_code": "MSS.00000003",
                           "error_msg": "state"})

    with pytest.raises(ServiceError) as info:
        _client(odd, sleeps=[]).command("j1", "SUBMITVERIFYING")
    assert not isinstance(info.value, CommandFailed) and info.value.status == 400

    def plain(request: httpx.Request) -> httpx.Response:
        return _json(400, {"error_code": "MSS.00000003", "error_msg": "bad"})

    with pytest.raises(ServiceError) as info:
        _client(plain, sleeps=[]).command("j1", "SUBMITVERIFYING")
    assert not isinstance(info.value, CommandFailed)


@pytest.mark.parametrize("total,count_field,offsets", [
    (0, True, [0]), (100, True, [0]), (101, True, [0, 100]), (250, True, [0, 100, 200]),
    (250, False, [0, 100, 200]), (200, False, [0, 100, 200])])
def test_list_all_pages_through_every_job(total: int, count_field: bool,
                                          offsets: list[int]) -> None:
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        queries.append(q)
        offset, limit = int(q["offset"]), int(q["limit"])
        page = [{"job_id": f"j{i}"} for i in range(offset, min(total, offset + limit))]
        return _json(200, {"jobs": page, **({"count": total} if count_field else {})})

    jobs = list(_client(handler, sleeps=[]).list_all(name="demo", state="WAIT_FILE_UPLOAD"))
    assert [j["job_id"] for j in jobs] == [f"j{i}" for i in range(total)]
    assert all(q["limit"] == "100" and q["name"] == "demo" for q in queries)
    assert [int(q["offset"]) for q in queries] == offsets


def test_list_all_stops_when_the_service_ignores_offset() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _json(200, {"count": 1000, "jobs": [{"job_id": f"j{i}"} for i in range(100)]})

    assert len(list(_client(handler, sleeps=[]).list_all())) == 100 and len(calls) == 2


def test_secrets_never_in_repr_or_errors() -> None:
    assert SK not in repr(CREDS) and TOKEN not in repr(Credentials(project_id=PID, token=TOKEN))

    def handler(request: httpx.Request) -> httpx.Response:
        return _json(400, {"error_code": "X", "error_msg": f"bad signature {SK} in "
                           "https://obs.example.com/x?Signature=abc&AccessKeyId=k"})

    with pytest.raises(ServiceError) as info:
        _client(handler, sleeps=[]).show("j1")
    assert SK not in str(info.value) and "Signature=abc" not in str(info.value)


def test_retryable_classification() -> None:
    assert is_retryable_status(500) and is_retryable_status(429)
    assert is_retryable_status(400, "APIGW.0308")
    assert not is_retryable_status(400, "MSS.00000003") and not is_retryable_status(401)


def test_credentials_from_env() -> None:
    env = {"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_SK": "SK",
           "HUAWEICLOUD_SDK_PROJECT_ID": "p"}
    assert Credentials.from_env(env).kind == "aksk"
    assert Credentials.from_env({"HUAWEICLOUD_SDK_TOKEN": "t",
                                 "HUAWEICLOUD_SDK_PROJECT_ID": "p"}).kind == "token"
    with pytest.raises(SetupError, match="HUAWEICLOUD_SDK_SK"):
        Credentials.from_env({"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_PROJECT_ID": "p"})
    with pytest.raises(SetupError, match="project id"):
        Credentials.from_env({"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_SK": "SK"})
    with pytest.raises(SetupError, match="never read from the command line"):
        Credentials.from_env({"HUAWEICLOUD_SDK_PROJECT_ID": "p"})


def test_endpoints() -> None:
    assert resolve_endpoint("cn-north-4") == "https://metastudio.cn-north-4.myhuaweicloud.com"
    assert resolve_endpoint("ap-southeast-3").endswith("ap-southeast-3.myhuaweicloud.com")
    assert resolve_endpoint(endpoint="http://127.0.0.1:9/x") == "http://127.0.0.1:9"
    with pytest.raises(SetupError, match="unknown region"):
        resolve_endpoint("eu-west-0")
    with pytest.raises(SetupError):
        resolve_endpoint()
    with pytest.raises(SetupError, match=r"has no scheme: write https://127\.0\.0\.1:8765"):
        resolve_endpoint(endpoint="127.0.0.1:8765")
    with pytest.raises(SetupError, match="not an http"):
        resolve_endpoint(endpoint="ftp://example.com")
