"""Inputs that used to end in "internal error": each is now a clear error naming the input,
exit 2 (3 for the service's answer)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from preflight.errors import SubmitError
from preflight.manifest import Manifest
from preflight.metastudio.credentials import Credentials
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import RetryPolicy
from preflight.submitter.session import send
from tests.adversarial.conftest import no_internal_error, run_cli
from tests.submit.conftest import make_manifest


def _spec_json(tmp: Path, text: str) -> Path:
    p = tmp / "avatar.json"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("body, needle", [
    ('{"job": ' + "[" * 1000 + "]" * 1000 + "}", "nested"),
    ('{"job": {"name": ' + "9" * 5000 + "}}", "digits"),
    ('{"job": {"name": "\\ud800"}}', "not valid Unicode"),
    ('{"job": {"name": "a"}, "media": {"cover": "c\\ud800.jpg"}}', "media.cover"),
    ('{"job": {"name": "a"}, "media": {"cover": "c\\u0000.jpg"}}', "NUL"),
    ('{"job": {"name": "a"}, "media": {"cover": "' + "d/" * 2500 + 'c.jpg"}}', "characters"),
    ('{"job": {"name": "a"}, "media": {"cover": "' + "n" * 300 + '.jpg"}}', "255 bytes"),
])
def test_odd_specs_are_clear_errors(tmp_path: Path, body: str, needle: str) -> None:
    spec = _spec_json(tmp_path, body)
    for cmd in (("check",), ("package", "--out", str(tmp_path / "pkg"), "--force")):
        r = run_cli(*cmd, spec, timeout=60)
        no_internal_error(r)
        assert r.returncode == 2, r.stdout + r.stderr
        assert str(spec) in r.stderr and needle in r.stderr, r.stderr


def test_deeply_nested_toml_is_a_clear_error(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text("[job]\nname = " + "[" * 1000 + "]" * 1000 + "\n", encoding="utf-8")
    r = run_cli("check", spec, timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "nested" in r.stderr


@pytest.mark.parametrize("value, needle", [
    ("[" * 1000 + "]" * 1000, "nested"),
    ('{"name": ' + "7" * 5000 + "}", "digits"),
    ('{"name": "\\ud800"}', "not valid Unicode"),
])
def test_odd_job_json_is_a_clear_error(tmp_path: Path, value: str, needle: str) -> None:
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    r = run_cli("check", tmp_path / "cover.jpg", "--job-json", value, "--no-cache", timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "--job-json" in r.stderr and needle in r.stderr, r.stderr


def test_report_to_dev_full_is_a_clear_error(tmp_path: Path) -> None:
    """A device is never an output (``-o -`` is standard output)."""
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    r = run_cli("check", tmp_path / "cover.jpg", "--no-cache", "-o", "/dev/full", timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "/dev/full" in r.stderr and "is a device" in r.stderr


def test_a_full_disk_while_writing_the_report_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from click.testing import CliRunner

    from preflight.cli import cli

    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "report.json"
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "cover.jpg"), "--no-cache",
                                 "--format", "json", "-o", str(out)])
    assert r.exit_code == 2 and "No space" in r.output and str(out) in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cover.jpg"]


def test_upload_url_with_nul_from_the_service_is_a_service_error(tmp_path: Path) -> None:
    man: Manifest = make_manifest(tmp_path / "job", parts=1, audio=False, images=False)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/jobs"):
            return httpx.Response(200, json={
                "job_id": "j1", "training_video_upload_url": ["https://obs.test/a\x00b?sig=1"]})
        if request.method == "GET":
            return httpx.Response(200, json={"job_id": "j1", "state": "WAIT_FILE_UPLOAD"})
        return httpx.Response(200, json={})

    client = MetaStudioClient("https://metastudio.example.com",
                              Credentials(project_id="p", ak="a", sk="s" * 8),
                              transport=httpx.MockTransport(handler),
                              retry=RetryPolicy(attempts=1))
    with pytest.raises(SubmitError, match="unusable URL in training_video_upload_url"):
        send(man, client, spec_path=man.spec_path, state_dir=tmp_path / "state")


def test_non_utf8_file_names_in_every_format(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    raw = folder + b"/caf\xe9.jpg"
    with open(raw, "wb") as fh:
        fh.write(b"\xff\xd8\xff not really a jpeg")
    name = os.fsdecode(raw)
    for fmt in ("text", "json", "sarif", "junit", "github"):
        for cache in (("--no-cache",), ("--cache-dir", str(tmp_path / "cache"))):
            out = tmp_path / f"report.{fmt}"
            r = run_cli("check", name, "--format", fmt, *cache, "-o", out, timeout=60)
            no_internal_error(r)
            assert r.returncode == 1, (fmt, r.stdout + r.stderr)
            assert out.stat().st_size > 0
