"""Fixtures for submit tests: manifests built directly from random bytes, and a sandbox."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preflight.manifest import Manifest, Part, Upload
from preflight.metastudio import OCTET_STREAM, ZIP
from preflight.sandbox import Sandbox, running
from preflight.submitter.retry import RetryPolicy

URL_FIELDS = {
    "training_video": "training_video_upload_url", "action_video": "action_video_upload_url",
    "audio": "audio_upload_url", "cover": "cover_upload_url",
    "id_card_front": "id_card_image1_upload_url", "id_card_back": "id_card_image2_upload_url",
    "grant_file": "grant_file_upload_url",
}


def make_upload(path: Path, slot: str, size: int, parts: int = 1, seed: int = 0) -> Upload:
    """Write `size` pseudo-random bytes to `path` and describe them as an upload."""
    data = hashlib.shake_256(f"{slot}-{seed}".encode()).digest(size)
    path.write_bytes(data)
    step = -(-size // parts)
    plist = []
    for i in range(parts):
        chunk = data[i * step:(i + 1) * step]
        plist.append(Part(i + 1, i * step, len(chunk), hashlib.md5(chunk).hexdigest(),
                          hashlib.sha256(chunk).hexdigest()))
    st = path.stat()
    return Upload(slot=slot, url_field=URL_FIELDS[slot], source=str(path), size=size,
                  mtime_ns=st.st_mtime_ns, sha256=hashlib.sha256(data).hexdigest(),
                  content_type=ZIP if slot == "audio" else OCTET_STREAM, parts=tuple(plist))


def make_manifest(tmp: Path, *, video_size: int = 300_000, parts: int = 3, audio: bool = True,
                  images: bool = True, action: bool = False, name: str = "demo",
                  job: dict[str, Any] | None = None, seed: int = 0) -> Manifest:
    """A manifest over fresh files in `tmp` (spec file included)."""
    tmp.mkdir(parents=True, exist_ok=True)
    spec = tmp / "avatar.toml"
    spec.write_text(f'[job]\nname = "{name}"\n', encoding="utf-8")
    ups = [make_upload(tmp / "take.mp4", "training_video", video_size, parts, seed)]
    body: dict[str, Any] = {"name": name, "video_multipart_count": parts,
                            "is_background_replacement": False}
    if action:
        ups.append(make_upload(tmp / "action.mp4", "action_video", 150_000, 2, seed))
        body["action_video_multipart_count"] = 2
    if audio:
        ups.append(make_upload(tmp / "audio.zip", "audio", 20_000, 1, seed))
        body["audio_source_type"] = "AUDIO"
    if images:
        for slot in ("cover", "id_card_front", "id_card_back", "grant_file"):
            ups.append(make_upload(tmp / f"{slot}.png", slot, 5_000, 1, seed))
    body.update(job or {})
    return Manifest(spec_path=str(spec), spec_sha256=hashlib.sha256(spec.read_bytes()).hexdigest(),
                    edition="standard", job=body, uploads=tuple(ups), tool_version="test",
                    created="2026-01-01T00:00:00Z")


FAST_RETRY = RetryPolicy(attempts=5, base=0.01, cap=0.05)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """An in-process sandbox on a free loopback port; jobs advance every 0.05 s."""
    with running(advance_seconds=0.05, data_dir=tmp_path / "sandbox") as sb:
        yield sb


@pytest.fixture
def env_creds(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> dict[str, str]:
    """Put the sandbox's credentials into the environment like a user would."""
    env = {"HUAWEICLOUD_SDK_AK": sandbox.config.ak, "HUAWEICLOUD_SDK_SK": sandbox.config.sk,
           "HUAWEICLOUD_SDK_PROJECT_ID": sandbox.config.project_id}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def secrets_of(sb: Sandbox) -> list[str]:
    """Strings that must never be shown."""
    return [sb.config.sk]
