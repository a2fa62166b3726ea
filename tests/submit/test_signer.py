"""SDK-HMAC-SHA256: the dossier's test vectors (§4.2) and byte-identity with the official SDK."""

from __future__ import annotations

import json
import random
import string
from types import SimpleNamespace
from typing import Any

import pytest

from preflight.metastudio import signer

HOST = "service.endpoint.myhuaweicloud.com"
DATE = "20200608T023900Z"


def _vector(method: str, body: bytes) -> signer.Signed:
    headers = {"X-Sdk-Date": DATE, "TEST_UNDERSCORE": "TEST_VALUE"}
    return signer.sign(method, HOST, "/resources", [("size", "1")], headers, body,
                       ak="AccessKey", sk="SecretKey")


def test_get_vector() -> None:
    signed = _vector("GET", b"")
    assert signed.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
        "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842")


def test_post_vector() -> None:
    body = b'{"name":"test","id":1}'
    assert signer.payload_hash(body, {}) == (
        "8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c")
    signed = _vector("POST", body)
    assert signed.headers["Authorization"].endswith(
        "Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f")


def test_canonical_request_vector() -> None:
    headers = {"Host": HOST, "X-Sdk-Date": DATE, "TEST_UNDERSCORE": "TEST_VALUE"}
    assert signer.canonical_request("GET", "/resources", [("size", "1")], headers, b"") == (
        "GET\n/resources/\nsize=1\nhost:service.endpoint.myhuaweicloud.com\n"
        "x-sdk-date:20200608T023900Z\n\nhost;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_query_vector() -> None:
    params: list[tuple[str, Any]] = [("limit", 1), ("enable", True),
                                     ("test", "一 (&=?!#%.*)"), ("path", "/tmp/123")]
    pairs = [(k, signer.query_value(v)) for k, v in params]
    pairs += [("multi", "1"), ("multi", "2"), ("multi", "3")]
    assert signer.canonical_query(pairs) == (
        "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123"
        "&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29")


def test_parse_and_verify_roundtrip() -> None:
    signed = signer.sign("POST", HOST, "/v1/p/jobs", [("a", "1")],
                         {"Content-Type": "application/json"}, b"{}", ak="AK", sk="SK")
    auth = signer.parse_authorization(signed.headers["Authorization"])
    assert auth is not None and auth.access == "AK"
    date = signed.headers["X-Sdk-Date"]
    assert signer.verify("POST", "/v1/p/jobs", [("a", "1")], signed.headers, b"{}", sk="SK",
                         auth=auth, date=date)
    assert not signer.verify("POST", "/v1/p/jobs", [("a", "2")], signed.headers, b"{}",
                             sk="SK", auth=auth, date=date)
    assert signer.parse_authorization("Basic abc") is None


# -- byte-identity with huaweicloudsdkcore -----------------------------------------------------

_UNI = "一二三éßΩ😀 "
_PUNCT = "!#$&'()*+,/:;=?@[]%-._~ "


def _text(rng: random.Random, alphabet: str, lo: int = 1, hi: int = 12) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _request(rng: random.Random) -> dict[str, Any]:
    alpha = string.ascii_letters + string.digits
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "get"])
    segs = [_text(rng, alpha + "-_.~" + (_UNI if rng.random() < 0.3 else "")
                  + (" %" if rng.random() < 0.1 else ""))
            for _ in range(rng.randint(1, 5))]
    path = "/" + "/".join(segs) + ("/" if rng.random() < 0.3 else "")
    query: list[tuple[str, str]] = []
    keys = [_text(rng, alpha + ("_é" if rng.random() < 0.3 else ""), 1, 6)
            for _ in range(rng.randint(0, 5))]
    for k in keys:
        for _ in range(rng.choice([1, 1, 2, 3])):  # repeats
            query.append((k, _text(rng, alpha + _PUNCT + _UNI, 0, 10)))
    headers = {"X-Sdk-Date": "20260115T101112Z"}
    for _ in range(rng.randint(0, 6)):
        name = "X-" + _text(rng, string.ascii_letters + ("_" if rng.random() < 0.3 else ""),
                            1, 8)
        headers[name] = rng.choice(["", " padded ", "v" + _text(rng, alpha + " ;,=", 1, 10)])
    if rng.random() < 0.7:
        headers["Content-Type"] = rng.choice(["application/json", "application/json;charset=UTF-8",
                                              "application/octet-stream", "text/plain"])
    if rng.random() < 0.5:
        headers["X-Project-Id"] = _text(rng, string.hexdigits.lower(), 32, 32)
    if rng.random() < 0.3:
        headers["X-App-UserId"] = _text(rng, alpha, 3, 20)
    if rng.random() < 0.2:
        headers["Host"] = "metastudio.cn-north-4.myhuaweicloud.com:8443"
    kind = rng.random()
    if kind < 0.3:
        body = b""
    elif kind < 0.7:
        body = json.dumps({"name": _text(rng, alpha + _UNI), "n": rng.randint(0, 999)},
                          ensure_ascii=False).encode("utf-8")
    else:
        body = rng.randbytes(rng.randint(1, 300))
    return {"method": method, "path": path, "query": query, "headers": headers, "body": body}


@pytest.mark.parametrize("seed", range(6))
def test_identical_to_official_sdk_signer(seed: int) -> None:
    sdk_signer = pytest.importorskip("huaweicloudsdkcore.signer.signer")
    sdk_request = pytest.importorskip("huaweicloudsdkcore.sdk_request")
    rng = random.Random(seed)
    for _ in range(60):  # 6 x 60 = 360 randomized requests
        r = _request(rng)
        host = "metastudio.cn-north-4.myhuaweicloud.com"
        req = sdk_request.SdkRequest(method=r["method"], schema="https", host=host,
                                     resource_path=r["path"], query_params=list(r["query"]),
                                     header_params=dict(r["headers"]), body=r["body"])
        creds = SimpleNamespace(ak="AKIDEXAMPLE", sk="sk/with+chars=")
        sdk_signer.Signer(creds).sign(req)
        ours = signer.sign(r["method"], host, r["path"], r["query"], r["headers"], r["body"],
                           ak="AKIDEXAMPLE", sk="sk/with+chars=")
        assert ours.headers["Authorization"] == req.header_params["Authorization"], r
        sdk_query = req.uri.partition("?")[2]
        assert ours.query == sdk_query, r
        sdk_signed = req.header_params["Authorization"].split("SignedHeaders=")[1].split(",")[0]
        assert sdk_signed.split(";") == sorted(
            k.lower() for k in ours.headers if "_" not in k and k != "Authorization")
