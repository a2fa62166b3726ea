"""`preflight fix`: the plan, the exact ffmpeg command, and real conversions of short clips."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.errors import PreflightError
from preflight.fix import prepare, run
from preflight.rules.conform import ffmpeg_args, fix_command, nearest_size, plan_for, shell_line
from preflight.workflows.pipeline import fix_video

BASE = {"container": "mp4", "video_codec": "h264", "audio_codec": "aac", "width": 1920,
        "height": 1080, "display_width": 1920, "display_height": 1080, "rotation": 0,
        "duration": 300.0, "fps": 25.0}


def _clip(path: Path, size: str, seconds: float, *, rate: int = 30, fmt: str = "mov",
          vcodec: str = "libx264", acodec: str = "pcm_s16le") -> Path:
    """A short test clip; by default H.264 + PCM in a MOV container, whatever the name."""
    subprocess.run([
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}",
        "-c:v", vcodec, "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", acodec,
        "-f", fmt, str(path),
    ], check=True)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_conforming_video_needs_nothing() -> None:
    plan = plan_for(BASE, edition="standard")
    assert not plan.needed and plan.remux_only and plan.video == "copy"
    assert fix_command(BASE, Path("x.mp4"), edition="standard") is None


def test_remux_only_when_codecs_allow() -> None:
    plan = plan_for({**BASE, "container": "mov", "video_codec": "hevc"}, edition="standard")
    assert plan.needed and plan.remux_only
    args = ffmpeg_args(Path("in.mov"), Path("out.mp4"), plan)
    assert args[args.index("-c:v") + 1] == "copy" and args[args.index("-c:a") + 1] == "copy"
    assert "+faststart" in args and args[-3:] == ["-f", "mp4", "out.mp4"] and "-n" in args


def test_reencode_scale_trim_fps() -> None:
    facts = {**BASE, "container": "matroska", "video_codec": "vp9", "audio_codec": "opus",
             "width": 720, "height": 1280, "display_width": 720, "display_height": 1280,
             "duration": 400.0, "fps": 24.0}
    plan = plan_for(facts, edition="flexus")
    assert (plan.width, plan.height, plan.fps, plan.trim) == (1080, 1920, 25, 299.0)
    assert plan.video == "encode" and plan.audio == "encode" and len(plan.reasons) == 6
    line = shell_line(ffmpeg_args(Path("my take.mkv"), Path("out.mp4"), plan, "/opt/ff"))
    assert line.startswith("/opt/ff ") and "'my take.mkv'" in line
    assert "scale=1080:1920:force_original_aspect_ratio=decrease" in line and "fps=25" in line
    assert "-c:v libx264" in line and "-c:a aac" in line and "-t 299" in line


def test_rotation_uses_display_size_and_short_is_unfixable() -> None:
    facts = {**BASE, "width": 1920, "height": 1080, "display_width": 1080,
             "display_height": 1920, "rotation": 90, "duration": 30.0}
    plan = plan_for(facts, edition="standard")
    assert plan.width is None and plan.remux_only and plan.unfixable
    assert nearest_size(2560, 1440) == (1920, 1080) and nearest_size(3000, 1700) == (3840, 2160)
    assert nearest_size(1000, 1000) == (1920, 1080) and nearest_size(2000, 3600) == (2160, 3840)


def test_never_writes_over_the_input(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(b"x")
    with pytest.raises(PreflightError, match="is the input"):
        ffmpeg_args(src, tmp_path / "." / "in.mp4", plan_for(BASE, edition="standard"))
    with pytest.raises(PreflightError, match="is the input"):
        prepare(src, tmp_path / "sub" / ".." / "in.mp4")
    (tmp_path / "link.mp4").symlink_to(src)
    with pytest.raises(PreflightError, match="is the input"):
        prepare(src, tmp_path / "link.mp4")


def test_fix_mov_named_mp4(tmp_path: Path) -> None:
    """A 1280x720 30 fps MOV (PCM audio) named .mp4 becomes a 1920x1080 MP4 that passes every
    VID rule; the duration limits come from the configuration (here 0.5–2 s, so a 3 s clip
    is trimmed the way an 11-minute take is trimmed to 599 s)."""
    (tmp_path / "preflight.toml").write_text(  # the test pattern has no face: no PRS rules
        'ignore = ["PRS"]\n'
        '[rules]\n"video-duration" = { options = { min_seconds = 0.5, max_seconds = 2.0 } }\n',
        encoding="utf-8")
    src = _clip(tmp_path / "take.mp4", "1280x720", 3.0)
    before = _sha(src)
    job = prepare(src, tmp_path / "fixed.mp4")
    assert job.plan.video == "encode" and job.plan.audio == "encode" and job.plan.trim == 1.0
    seen: list[float] = []
    result = fix_video(job, progress=lambda done, total: seen.append(done))
    assert _sha(src) == before
    assert seen and seen[-1] == pytest.approx(1.0)
    assert not list(tmp_path.glob(".*part*"))
    with av.open(str(result.dst)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (1920, 1080)
        assert c.metadata.get("major_brand") == "isom"
        assert float(c.duration or 0) / av.time_base == pytest.approx(1.0, abs=0.1)
        assert [s.codec_context.name for s in c.streams] == ["h264", "aac"]
    assert result.report is not None
    assert {f.family for f in result.report.findings} <= {"VID"}
    assert not result.report.errors, [f.message for f in result.report.errors]
    again = prepare(result.dst, tmp_path / "again.mp4")
    assert not again.plan.needed


def test_fix_duration_limits_follow_the_edition(tmp_path: Path) -> None:
    src = _clip(tmp_path / "take.mp4", "1920x1080", 0.2, rate=25, acodec="aac")
    assert prepare(src, tmp_path / "o.mp4").plan.unfixable  # 0.2 s < 3 min
    job = prepare(src, tmp_path / "o.mp4", edition="flexus", max_duration=0.1)
    assert job.plan.trim == pytest.approx(0.05)  # half the limit when it is under 2 s


def test_fix_remux_keeps_stream(tmp_path: Path) -> None:
    src = _clip(tmp_path / "take.mov", "1920x1080", 1.0, rate=25, acodec="aac")
    job = prepare(src, tmp_path / "out.mp4", max_duration=10.0)
    assert job.plan.remux_only and job.plan.reasons == ("container is mov, not MP4: remux to MP4",)
    run(job)
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.metadata.get("major_brand") == "isom"
    with pytest.raises(PreflightError, match="exists"):
        prepare(src, tmp_path / "out.mp4")


def test_cli_fix(tmp_path: Path) -> None:
    src = _clip(tmp_path / "take.mp4", "1280x720", 1.0)
    runner = CliRunner()
    res = runner.invoke(cli, ["fix", str(src), "-o", str(src)])
    assert res.exit_code == 2 and "is the input" in res.output
    # 1 s under the 3-minute minimum, and no face: the plan is shown, nothing is written.
    res = runner.invoke(cli, ["fix", str(src), "-o", str(tmp_path / "o.mp4"), "--dry-run"])
    assert res.exit_code == 1 and "scale and pad to 1920x1080" in res.output
    assert "cannot fix: duration" in res.stderr and "cannot fix: PRS001" in res.stderr
    assert "$ " in res.output and "libx264" in res.output
    assert not (tmp_path / "o.mp4").exists()
    (tmp_path / "preflight.toml").write_text(
        'ignore = ["PRS"]\n'
        '[rules]\n"video-duration" = { options = { min_seconds = 0.5, max_seconds = 2.0 } }\n',
        encoding="utf-8")
    res = runner.invoke(cli, ["fix", str(src), "-o", str(tmp_path / "o.mp4"), "--dry-run"])
    assert res.exit_code == 0 and "cannot fix" not in res.stderr
    res = runner.invoke(cli, ["fix", str(src), "-o", str(tmp_path / "o.mp4")])
    assert "wrote" in res.output and "re-check" in res.output
    assert res.exit_code == 0, res.output


def test_blocked_job_is_never_run(tmp_path: Path) -> None:
    """The library refuses to encode a job with blockers too."""
    src = _clip(tmp_path / "take.mp4", "1280x720", 0.5, rate=25, acodec="aac")
    job = prepare(src, tmp_path / "o.mp4")
    assert job.blockers and not job.can_pass
    with pytest.raises(PreflightError, match="no fix can make this take pass"):
        run(job)
    assert not (tmp_path / "o.mp4").exists()


def test_scaling_up_says_a_new_take_looks_sharper() -> None:
    small = plan_for({**BASE, "display_width": 1280, "display_height": 720}, edition="standard")
    assert "scaled up from 720p" in small.reasons[0] and "1080P or higher" in small.reasons[0]
    big = plan_for({**BASE, "display_width": 2560, "display_height": 1440}, edition="standard")
    assert big.reasons == ("size 2560x1440 is not accepted: scale and pad to 1920x1080",)
