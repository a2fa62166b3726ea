"""Every output a user names (``check -o``, ``--contact-sheet``, ``--format html -o``) goes
through the one safe writer: never onto an input (hard links and links to it included), never
a FIFO, device or folder (refused without blocking), written to a temp file and renamed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from preflight.safeio import refuse_output, temp_name, write_output, writing
from tests.adversarial.conftest import fingerprint, no_internal_error, run_cli


@pytest.fixture
def job(media_factory: object, tmp_path: Path) -> Path:
    """A spec naming a short take and a cover image, in its own folder."""
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(media_factory.video(seconds=1.0, width=360, height=640),  # type: ignore[attr-defined]
                media / "presenter.mp4")
    shutil.copy(media_factory.image(width=640, height=480),  # type: ignore[attr-defined]
                media / "cover.jpg")
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "x"\n[media]\ntraining_video = "media/presenter.mp4"\n'
                    'cover = "media/cover.jpg"\n', encoding="utf-8")
    return spec


def _inputs(spec: Path) -> list[Path]:
    return [spec, spec.parent / "media" / "presenter.mp4", spec.parent / "media" / "cover.jpg"]


def _target(spec: Path, kind: str) -> Path:
    """An output path of the given kind next to the job."""
    out = spec.parent / "out.json"
    if kind == "spec":
        return spec
    if kind == "take":
        return spec.parent / "media" / "presenter.mp4"
    if kind == "hardlink":
        os.link(spec, out)
    elif kind == "symlink":
        os.symlink(spec.parent / "media" / "presenter.mp4", out)
    elif kind == "fifo":
        os.mkfifo(out)
    elif kind == "folder":
        out.mkdir()
    return out


KINDS = ["spec", "take", "hardlink", "symlink", "fifo", "folder"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("option", [("--format", "json", "-o"), ("--contact-sheet",),
                                    ("--format", "html", "-o")])
def test_check_outputs_never_replace_inputs(job: Path, kind: str,
                                            option: tuple[str, ...]) -> None:
    target = _target(job, kind)
    before = fingerprint(_inputs(job))
    mode = os.lstat(target).st_mode
    r = run_cli("check", job, "--no-cache", *option, target, cwd=job.parent, timeout=60)
    no_internal_error(r)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert target.name in r.stderr
    assert fingerprint(_inputs(job)) == before
    assert os.lstat(target).st_mode == mode
    assert not [p for p in job.parent.iterdir() if p.name.startswith(".preflight-")]


def test_a_spec_named_file_is_refused_after_the_check(job: Path) -> None:
    """The take is not on the command line: refused by inode when the report is written."""
    take = job.parent / "media" / "presenter.mp4"
    link = job.parent / "hard.json"
    os.link(take, link)
    before = fingerprint(_inputs(job))
    r = run_cli("check", "avatar.toml", "--no-cache", "--format", "sarif", "-o", "hard.json",
                cwd=job.parent, timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "presenter.mp4" in r.stderr, r.stderr
    assert fingerprint(_inputs(job)) == before


def test_a_new_report_file_and_standard_output(job: Path) -> None:
    r = run_cli("check", job, "--no-cache", "--format", "json", "-o", job.parent / "r.json",
                cwd=job.parent, timeout=60)
    no_internal_error(r)
    assert json.loads((job.parent / "r.json").read_bytes())["schema"]
    r = run_cli("check", job, "--no-cache", "--format", "json", "-o", "-", cwd=job.parent,
                timeout=60)
    no_internal_error(r)
    assert json.loads(r.stdout)["schema"] and not (job.parent / "-").exists()


def test_writer_replaces_a_regular_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_bytes(b"old")
    src = tmp_path / "input.mp4"
    src.write_bytes(b"video")
    write_output(out, b"new", [src])
    assert out.read_bytes() == b"new" and src.read_bytes() == b"video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.mp4", "report.json"]


def test_writer_failure_leaves_the_target_and_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError), writing(out) as fh:
        fh.write(b"half")
        raise RuntimeError("interrupted")
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_writer_refuses_a_link_planted_while_writing(tmp_path: Path) -> None:
    out, victim = tmp_path / "report.json", tmp_path / "victim"
    victim.write_bytes(b"keep")
    with pytest.raises(OSError, match="symbolic link"), writing(out) as fh:
        fh.write(b"data")
        os.symlink(victim, out)
    assert victim.read_bytes() == b"keep" and os.path.islink(out)


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_refuse_output_names_the_input(tmp_path: Path, kind: str) -> None:
    src, out = tmp_path / "a.toml", tmp_path / "b.json"
    src.write_text("x", encoding="utf-8")
    (os.symlink if kind == "symlink" else os.link)(src, out)
    with pytest.raises(OSError) as err:
        refuse_output(out, [src])
    assert "a.toml" in str(err.value.strerror)


def test_temp_names_are_unpredictable_and_unused(tmp_path: Path) -> None:
    a, b = temp_name(tmp_path / "x.mp4", ".mp4"), temp_name(tmp_path / "x.mp4", ".mp4")
    assert a != b and a.suffix == b.suffix == ".mp4" and a.parent == tmp_path
    assert not a.exists() and not b.exists()


def test_a_media_file_of_a_checked_folder_is_never_an_output(job: Path) -> None:
    media = job.parent / "media"
    before = fingerprint(_inputs(job))
    r = run_cli("check", media, "--no-cache", "--format", "json", "-o", media / "cover.jpg",
                cwd=job.parent, timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "checked folder" in r.stderr, r.stderr
    assert fingerprint(_inputs(job)) == before
    r = run_cli("check", media, "--no-cache", "--format", "sarif", "-o", media / "r.sarif",
                cwd=job.parent, timeout=60)
    no_internal_error(r)
    assert r.returncode in (0, 1) and json.loads((media / "r.sarif").read_bytes())["runs"]
    assert fingerprint(_inputs(job)) == before
