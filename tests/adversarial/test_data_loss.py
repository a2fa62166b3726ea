"""Data loss: no output replaces a device, FIFO, socket, folder, link or input; the state
store never follows a link."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from pathlib import Path

import pytest

from preflight.safeio import check_output
from preflight.sandbox import Sandbox
from tests.adversarial.conftest import fingerprint, no_internal_error, run_cli
from tests.platform import posix_only
from tests.submit.conftest import make_manifest


@posix_only
def test_check_output_refuses_devices_without_touching_them() -> None:
    before = os.stat("/dev/null")
    with pytest.raises(OSError, match="device"):
        check_output("/dev/null")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


@posix_only
@pytest.mark.parametrize("kind", ["fifo", "socket", "symlink", "folder"])
def test_fix_overwrite_never_replaces_a_special_file(media_factory: object, tmp_path: Path,
                                                     kind: str) -> None:
    src = tmp_path / "take.mp4"
    src.write_bytes(b"\0" * 100)  # refused before the input is even probed
    target = tmp_path / "out.mp4"
    victim = tmp_path / "victim.mp4"
    victim.write_bytes(b"keep me")
    held = None
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        held = socket.socket(socket.AF_UNIX)
        held.bind(str(target))
    elif kind == "symlink":
        os.symlink(victim, target)
    else:
        target.mkdir()
    before = fingerprint([victim])
    mode = os.lstat(target).st_mode
    try:
        r = run_cli("fix", src, "-o", target, "--overwrite", timeout=30)
    finally:
        if held is not None:
            held.close()
    no_internal_error(r)
    assert r.returncode == 2, r.stderr
    assert str(target) in r.stderr
    assert os.lstat(target).st_mode == mode and fingerprint([victim]) == before


@posix_only
def test_fix_on_a_fifo_says_what_it_is(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "take.mp4")
    r = run_cli("fix", tmp_path / "take.mp4", "-o", tmp_path / "out.mp4", timeout=30)
    no_internal_error(r)
    assert r.returncode == 2 and "FIFO" in r.stderr and "no such file" not in r.stderr


def test_package_out_folder_holding_inputs_with_colliding_names(tmp_path: Path) -> None:
    (tmp_path / "take.mp4").write_bytes(os.urandom(5000))
    (tmp_path / "manifest.json").write_bytes(b"\xff\xd8\xff\xe0 a cover")
    (tmp_path / "audio.zip").write_bytes(b"\x89PNG an id card")
    (tmp_path / "a.wav").write_bytes(b"RIFF" + b"\0" * 100)
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "x"\naudio_source_type = "AUDIO"\n[media]\n'
                    'training_video = "take.mp4"\ncover = "manifest.json"\n'
                    'id_card_front = "audio.zip"\naudio = ["a.wav"]\n', encoding="utf-8")
    inputs = [tmp_path / n for n in ("take.mp4", "manifest.json", "audio.zip", "a.wav",
                                     "avatar.toml")]
    before = fingerprint(inputs)
    r = run_cli("package", spec, "--out", tmp_path, "--force", cwd=tmp_path, timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "would overwrite the input" in r.stderr, r.stderr
    assert fingerprint(inputs) == before
    # the same folder is fine when no name collides
    (tmp_path / "manifest.json").rename(tmp_path / "cover.jpg")
    (tmp_path / "audio.zip").rename(tmp_path / "front.png")
    spec.write_text(spec.read_text().replace("manifest.json", "cover.jpg")
                    .replace('"audio.zip"', '"front.png"'), encoding="utf-8")
    ok = run_cli("package", spec, "--out", tmp_path, "--force", timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "manifest.json").is_file() and (tmp_path / "audio.zip").is_file()


def _submit(sb: Sandbox, tmp: Path, state: Path) -> tuple[Path, Path]:
    man = make_manifest(tmp / "job")
    pkg = tmp / "job" / "pkg"
    pkg.mkdir()
    man.save(pkg / "manifest.json")
    return Path(man.spec_path), pkg


def _env(sb: Sandbox) -> dict[str, str]:
    return {"HUAWEICLOUD_SDK_AK": sb.config.ak, "HUAWEICLOUD_SDK_SK": sb.config.sk,
            "HUAWEICLOUD_SDK_PROJECT_ID": sb.config.project_id}


@pytest.mark.parametrize("dangling", [False, True])
def test_state_store_is_never_opened_through_a_link(sandbox: Sandbox, tmp_path: Path,
                                                    dangling: bool) -> None:
    state = tmp_path / "state"
    state.mkdir()
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_text("precious\n")
        victim.chmod(0o644)
    os.symlink(victim, state / "preflight-state.sqlite")
    spec, pkg = _submit(sandbox, tmp_path, state)
    r = run_cli("submit", spec, "--endpoint", sandbox.url, "--package-dir", pkg,
                "--state-dir", state, env=_env(sandbox), timeout=60)
    no_internal_error(r)
    assert r.returncode != 0 and "symbolic link" in r.stderr, r.stderr
    if dangling:
        assert not victim.exists()
    else:
        assert stat.S_IMODE(victim.stat().st_mode) == 0o644
        assert hashlib.sha256(victim.read_bytes()).hexdigest() == hashlib.sha256(
            b"precious\n").hexdigest()
    assert not any(e.get("op") == "create" for e in sandbox.journal())  # nothing was sent
