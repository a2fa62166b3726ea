"""Leaks and trust: no signed request over plain http to another host, no credentials in the
endpoint, secrets scrubbed from ServiceError.error_msg, certificate failures not retried."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from preflight.errors import NetworkError, ServiceError, SetupError
from preflight.metastudio.credentials import Credentials, resolve_endpoint
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import RetryPolicy
from tests.adversarial.conftest import no_internal_error, run_cli
from tests.submit.conftest import make_manifest

SK = "sk-very-secret-value-1234"
CREDS = Credentials(project_id="p1", ak="AK1", sk=SK)


def test_plain_http_only_to_loopback_unless_insecure() -> None:
    assert resolve_endpoint(endpoint="http://127.0.0.1:9") == "http://127.0.0.1:9"
    assert resolve_endpoint(endpoint="http://localhost:9") == "http://localhost:9"
    assert resolve_endpoint(endpoint="http://[::1]:9") == "http://[::1]:9"
    with pytest.raises(SetupError, match=r"refusing plain http:// to metastudio\.example\.com"):
        resolve_endpoint(endpoint="http://metastudio.example.com")
    assert resolve_endpoint(endpoint="http://metastudio.example.com", insecure_http=True) \
        == "http://metastudio.example.com"


@pytest.mark.parametrize("url", ["https://user:hunter2@metastudio.example.com",
                                 "https://:hunter2@metastudio.example.com",
                                 "http://user:hunter2@127.0.0.1:9"])
def test_credentials_in_the_endpoint_are_refused(url: str) -> None:
    with pytest.raises(SetupError, match="credentials") as info:
        resolve_endpoint(endpoint=url)
    assert "hunter2" not in str(info.value)


def _package(tmp: Path) -> tuple[Path, Path]:
    man = make_manifest(tmp / "job")
    pkg = tmp / "job" / "pkg"
    pkg.mkdir()
    man.save(pkg / "manifest.json")
    return Path(man.spec_path), pkg


def test_cli_refuses_http_and_userinfo_and_shows_no_password(tmp_path: Path) -> None:
    spec, pkg = _package(tmp_path)
    http = run_cli("submit", spec, "--endpoint", "http://metastudio.example.com",
                   "--package-dir", pkg, "--dry-run", timeout=60)
    no_internal_error(http)
    assert http.returncode != 0 and "--insecure-http" in http.stderr
    allowed = run_cli("submit", spec, "--endpoint", "http://metastudio.example.com",
                      "--insecure-http", "--package-dir", pkg, "--dry-run", timeout=60)
    assert allowed.returncode == 0, allowed.stderr
    userinfo = run_cli("submit", spec, "--endpoint", "https://bob:hunter2@metastudio.example.com",
                       "--package-dir", pkg, "--dry-run", timeout=60)
    no_internal_error(userinfo)
    assert userinfo.returncode != 0
    assert "hunter2" not in userinfo.stdout + userinfo.stderr
    assert not list(tmp_path.rglob("*.sqlite"))  # no state file recorded the URL


def test_service_error_msg_is_scrubbed() -> None:
    echo = (f"bad signature for SK {SK}; upload to "
            "https://obs.example.com/b/o?X-Amz-Signature=abcdef&AccessKeyId=AK1 refused")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error_code": "MSS.0001", "error_msg": echo})

    client = MetaStudioClient("https://metastudio.example.com", CREDS,
                              transport=httpx.MockTransport(handler),
                              retry=RetryPolicy(attempts=1))
    with pytest.raises(ServiceError) as info:
        client.show("job-1")
    err = info.value
    assert err.error_msg is not None
    for shown in (err.error_msg, str(err)):
        assert SK not in shown and "abcdef" not in shown
    assert "bad signature" in err.error_msg


def test_certificate_failure_is_not_retried() -> None:
    calls = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                                                "verify failed: self-signed certificate")
        cause.verify_message = "self-signed certificate"
        raise httpx.ConnectError("certificate verify failed", request=request) from cause

    client = MetaStudioClient("https://metastudio.example.com", CREDS,
                              transport=httpx.MockTransport(handler),
                              retry=RetryPolicy(attempts=6, sleep=slept.append))
    with pytest.raises(NetworkError, match="self-signed certificate") as info:
        client.show("job-1")
    assert len(calls) == 1 and slept == []
    assert "not retried" in str(info.value)
