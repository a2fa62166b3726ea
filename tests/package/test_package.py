"""Packaging: one-pass checksums, audio zip, manifest, materialized parts, verify, CLI."""

from __future__ import annotations

import hashlib
import itertools
import os
import wave
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import preflight
from preflight.cli import cli
from preflight.errors import PackageRefused, PackagingError
from preflight.manifest import Manifest
from preflight.packager.audiozip import build_audio_zip
from preflight.packager.builder import verify
from preflight.packager.hashing import hash_ranges
from preflight.parts import plan_parts

#: Only the rules about the body and packaging: these tests use synthetic bytes, not media.
CONFIG = 'select = ["REQ", "PKG"]\n'


def _wav(path: Path, seconds: float = 1.0, noise: bool = False) -> Path:
    frames = int(8000 * seconds)
    data = os.urandom(frames * 2) if noise else b"\0\1" * frames
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(data)
    return path


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A spec with a 3 MB "video", two audio files and a cover, plus a config for it."""
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "take.mp4").write_bytes(os.urandom(3_000_000))
    _wav(tmp_path / "media" / "voice.wav")
    (tmp_path / "media" / "extra.mp3").write_bytes(os.urandom(20_000))
    (tmp_path / "media" / "cover.jpg").write_bytes(os.urandom(5_000))
    (tmp_path / "preflight.toml").write_text(CONFIG, encoding="utf-8")
    spec = tmp_path / "avatar.toml"
    spec.write_text(
        '[job]\nname = "demo"\nvideo_multipart_count = 4\nis_background_replacement = false\n'
        'audio_source_type = "AUDIO"\n'
        '[media]\ntraining_video = "media/take.mp4"\n'
        'audio = ["media/voice.wav", "media/extra.mp3"]\ncover = "media/cover.jpg"\n'
        '[account]\nna_whitelisted = true\n', encoding="utf-8")
    return spec


def test_hash_ranges_match_hashlib(tmp_path: Path) -> None:
    data = os.urandom(1_234_567)
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    parts = plan_parts(len(data), 5)
    got = hash_ranges(f, parts, chunk=100_000, buffers=3)
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    for r, (md5, sha) in zip(parts, got.parts, strict=True):
        assert md5 == hashlib.md5(data[r.offset:r.end]).hexdigest()
        assert sha == hashlib.sha256(data[r.offset:r.end]).hexdigest()
    seen: list[int] = []
    hash_ranges(f, parts, lambda done, total: seen.append(done))
    assert seen[-1] == len(data) and seen == sorted(seen)


def test_hash_ranges_short_file(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 1000)
    with pytest.raises(PackagingError, match="ended"):
        hash_ranges(f, plan_parts(2000, 2))


def test_audio_zip_is_deterministic_and_flat(tmp_path: Path) -> None:
    quiet = _wav(tmp_path / "b.wav", 2.0)
    noisy = _wav(tmp_path / "c.wav", 1.0, noise=True)
    mp3 = tmp_path / "sub" / "a.mp3"
    mp3.parent.mkdir()
    mp3.write_bytes(b"\0" * 50_000)  # compressible, but MP3 is always stored
    one, two = tmp_path / "1.zip", tmp_path / "2.zip"
    entries = build_audio_zip([quiet, noisy, mp3], one)
    os.utime(quiet, (1_000_000, 1_000_000))  # timestamps of the inputs do not leak in
    build_audio_zip([noisy, mp3, quiet], two)
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["a.mp3", "b.wav", "c.wav"]
        kinds = {i.filename: i.compress_type for i in infos}
        assert kinds == {"a.mp3": zipfile.ZIP_STORED, "b.wav": zipfile.ZIP_DEFLATED,
                         "c.wav": zipfile.ZIP_STORED}
        assert zf.read("b.wav") == quiet.read_bytes()
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert [e.deflated for e in entries] == [False, True, False]


def test_audio_zip_refuses_collisions_and_non_audio(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    a, b = _wav(tmp_path / "take.wav"), _wav(tmp_path / "x" / "TAKE.wav")
    with pytest.raises(PackagingError, match="rename one"):
        build_audio_zip([a, b], tmp_path / "out.zip")
    txt = tmp_path / "notes.txt"
    txt.write_text("hi", encoding="utf-8")
    with pytest.raises(PackagingError, match="not an audio file"):
        build_audio_zip([a, txt], tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_package_manifest(job: Path, tmp_path: Path) -> None:
    pkg = preflight.package(job, tmp_path / "pkg")
    assert pkg.manifest_path == tmp_path / "pkg" / "manifest.json"
    m = Manifest.load(pkg.manifest_path)
    assert m == pkg.manifest and not m.forced
    assert m.job["video_multipart_count"] == 4 and m.spec_path == str(job)
    assert m.spec_sha256 == hashlib.sha256(job.read_bytes()).hexdigest()
    video = m.upload("training_video")
    assert video is not None
    data = Path(video.source).read_bytes()
    assert video.size == len(data) and video.content_type == "application/octet-stream"
    assert [p.part_number for p in video.parts] == [1, 2, 3, 4]
    last = video.parts[-1]
    assert video.parts[0].offset == 0 and last.offset + last.length == len(data)
    for a, b in itertools.pairwise(video.parts):
        assert a.offset + a.length == b.offset
    for p in video.parts:
        assert p.md5 == hashlib.md5(data[p.offset:p.offset + p.length]).hexdigest()
    assert video.sha256 == hashlib.sha256(data).hexdigest()
    audio = m.upload("audio")
    assert audio is not None and audio.content_type == "application/zip"
    assert audio.source == str(tmp_path / "pkg" / "audio.zip") and len(audio.parts) == 1
    assert len(audio.inputs) == 2
    cover = m.upload("cover")
    assert cover is not None and len(cover.parts) == 1 and cover.url_field == "cover_upload_url"
    with zipfile.ZipFile(audio.source) as zf:
        assert sorted(zf.namelist()) == ["extra.mp3", "voice.wav"]
    # same inputs, same zip bytes
    again = preflight.package(job, tmp_path / "pkg2")
    zip2 = again.manifest.upload("audio")
    assert zip2 is not None and Path(zip2.source).read_bytes() == Path(audio.source).read_bytes()


def test_package_auto_and_override(job: Path, tmp_path: Path) -> None:
    pkg = preflight.package(job, tmp_path / "pkg", parts="auto")
    assert pkg.manifest.job["video_multipart_count"] == 1
    pkg = preflight.package(job, tmp_path / "pkg", parts=7)
    video = pkg.manifest.upload("training_video")
    assert video is not None and len(video.parts) == 7


def test_package_refuses_errors_unless_forced(job: Path, tmp_path: Path) -> None:
    with pytest.raises(PackageRefused) as exc:
        preflight.package(job, tmp_path / "pkg", parts=1000)
    assert "1 error" in str(exc.value) and "--force" in str(exc.value)
    assert [f.code for f in exc.value.report.errors] == ["PKG001"]
    assert not (tmp_path / "pkg" / "manifest.json").exists()
    pkg = preflight.package(job, tmp_path / "pkg", parts=1000, force=True)
    assert pkg.forced and pkg.manifest.forced
    assert '"forced": true' in pkg.manifest_path.read_text(encoding="utf-8")


def test_materialize(job: Path, tmp_path: Path) -> None:
    pkg = preflight.package(job, tmp_path / "pkg", materialize=True)
    files = pkg.materialized["training_video"]
    assert len(files) == 4 and all(f.parent == tmp_path / "pkg" / "parts" for f in files)
    video = pkg.manifest.upload("training_video")
    assert video is not None
    assert b"".join(f.read_bytes() for f in files) == Path(video.source).read_bytes()
    assert verify(pkg.out_dir).ok
    files[1].unlink()
    assert [c.what for c in verify(pkg.out_dir).changes] == ["part file missing"]


def test_verify_detects_touch_and_edit(job: Path, tmp_path: Path) -> None:
    pkg = preflight.package(job, tmp_path / "pkg")
    assert verify(pkg.out_dir).ok and verify(pkg.out_dir, full=True).ok
    take = tmp_path / "media" / "take.mp4"
    st = take.stat()
    os.utime(take, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    fast = verify(pkg.out_dir)
    assert [(c.slot, c.what) for c in fast.changes] == [
        ("training_video", "modified (mtime changed)")]
    full = verify(pkg.out_dir, full=True)
    assert full.ok and "touched" in full.notes[0]
    with open(take, "r+b") as fh:  # same size, new bytes in part 3
        fh.seek(2_000_000)
        fh.write(b"edited")
    full = verify(pkg.out_dir, full=True)
    assert [c.what for c in full.changes] == ["content changed (part 3)"]
    voice = tmp_path / "media" / "voice.wav"
    voice.write_bytes(voice.read_bytes() + b"\0\0")
    whats = {(c.slot, c.what) for c in verify(pkg.out_dir).changes}
    assert ("audio", "size changed: 16044 -> 16046 bytes") in whats


def test_cli_package_and_verify(job: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "pkg"
    res = runner.invoke(cli, ["package", str(job), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "training_video" in res.output and "4 parts" in res.output
    res = runner.invoke(cli, ["package", "--verify", str(out)])
    assert res.exit_code == 0 and "current" in res.output
    (tmp_path / "media" / "cover.jpg").write_bytes(b"new cover")
    res = runner.invoke(cli, ["package", "--verify", str(out)])
    assert res.exit_code == 1 and "CHANGED cover" in res.output and "cover.jpg" in res.output
    res = runner.invoke(cli, ["package", str(job), "--out", str(out), "--parts", "1000"])
    assert res.exit_code == 1 and "PKG001" in res.output
    res = runner.invoke(cli, ["package", str(job), "--out", str(out), "--parts", "1000",
                              "--force"])
    assert res.exit_code == 0 and "DESPITE 1 ERROR" in res.output
    res = runner.invoke(cli, ["package", str(job), "--out", str(out), "--parts", "lots"])
    assert res.exit_code == 2
    res = runner.invoke(cli, ["package", "--verify", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_package_is_callable_after_submodule_import() -> None:
    import preflight.manifest  # the subpackage shares the name

    assert callable(preflight.package)
    assert "package" in preflight.__all__


def test_audio_files_are_left_out_unless_the_voice_comes_from_them(job: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    preflight.package(job, out)
    assert (out / "audio.zip").is_file()
    text = job.read_text(encoding="utf-8").replace('audio_source_type = "AUDIO"',
                                                   'audio_source_type = "VIDEO"')
    job.write_text(text, encoding="utf-8")
    pkg = preflight.package(job, out)
    assert pkg.manifest.upload("audio") is None
    assert not (out / "audio.zip").exists()
    assert "REQ030" in [f.code for f in pkg.report.findings]


def test_no_training_video_is_never_packaged(job: Path, tmp_path: Path) -> None:
    text = job.read_text(encoding="utf-8").replace('training_video = "media/take.mp4"\n', "")
    job.write_text(text, encoding="utf-8")
    with pytest.raises(PackageRefused) as refused:
        preflight.package(job, tmp_path / "pkg")
    assert "REQ034" in [f.code for f in refused.value.report.findings]
    with pytest.raises(PackagingError, match="no training video"):
        preflight.package(job, tmp_path / "pkg", force=True)
    assert not (tmp_path / "pkg" / "manifest.json").exists()
    result = CliRunner().invoke(cli, ["package", str(job), "--out", str(tmp_path / "p2")])
    assert result.exit_code == 1 and "REQ034" in result.output


def test_submit_parts_reuses_a_matching_package(job: Path, tmp_path: Path) -> None:
    from preflight.workflows.pipeline import submit

    out = tmp_path / "pkg"
    preflight.package(job, out, parts=3)
    stamp = (out / "manifest.json").stat().st_mtime_ns

    def notes(parts: object) -> list[str]:
        events: list[object] = []
        submit(job, package_dir=out, parts=parts, dry_run=True,  # type: ignore[arg-type]
               progress=events.append)
        return [getattr(e, "message", "") for e in events]

    assert any("reusing the package" in m for m in notes(3))
    assert (out / "manifest.json").stat().st_mtime_ns == stamp
    assert not any("reusing the package" in m for m in notes(2))
    video = Manifest.load(out / "manifest.json").upload("training_video")
    assert video is not None and len(video.parts) == 2
    assert any("reusing the package" in m for m in notes(None))
