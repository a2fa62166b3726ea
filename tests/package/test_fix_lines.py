"""The ``fix`` of a VID or PRS finding is the one ``preflight fix FILE -o OUT`` line of that
file, a user can paste: run as printed, it writes a copy on which the finding is gone (the raw
ffmpeg command of the whole plan is in ``details["ffmpeg"]``). Unreadable inputs exit 1 with
"cannot fix"; a take no fix can make pass is refused before anything is encoded."""

from __future__ import annotations

import hashlib
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli, main
from preflight.model import Finding
from preflight.workflows.check import check

JOB: dict[str, Any] = {"name": "t", "is_background_replacement": True}
#: Short clips stand for too-long takes: the duration rule allows 0.5–1.5 s here.
LIMITS = '[rules]\n"video-duration" = { options = { min_seconds = 0.5, max_seconds = 1.5 } }\n'
#: The generated test pattern has no face: the face rules (which would block a fix) are off.
NO_FACE = 'ignore = ["PRS"]\n' + LIMITS


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _finding(path: Path, code: str, job: dict[str, Any] | None = None) -> Finding | None:
    report = check(path, slot="training_video", job=job or JOB)
    return next((f for f in report.findings if f.code == code), None)


def _paste(line: str) -> int:
    argv = shlex.split(line)
    assert argv[:2] == ["preflight", "fix"], line
    return main(argv[1:])


@pytest.mark.parametrize(("code", "params", "seconds"), [
    ("VID003", {"container": "mov", "suffix": ".mp4"}, 1.0),
    ("VID004", {"codec": "mpeg4"}, 1.0),
    ("VID006", {"width": 720, "height": 1280}, 1.0),
    ("VID007", {}, 2.0),
    ("VID008", {"fps": 15}, 1.0),
    ("VID009", {"vfr": True}, 1.0),
    ("VID010", {"interlaced": True}, 1.0),
])
def test_pasted_fix_line_removes_the_finding(media_factory: Any, tmp_path: Path, code: str,
                                             params: dict[str, Any], seconds: float) -> None:
    (tmp_path / "preflight.toml").write_text(NO_FACE, encoding="utf-8")
    src = tmp_path / "take 3.mp4"  # a space: the line must be quoted
    shutil.copyfile(media_factory.video(seconds=seconds, **params), src)
    before = _sha(src)
    f = _finding(src, code)
    assert f is not None and f.fix is not None
    out = tmp_path / "take 3.fixed.mp4"
    assert f.fix == shlex.join(["preflight", "fix", str(src), "-o", str(out)])
    assert f.details["ffmpeg"].startswith("ffmpeg ") and shlex.quote(str(src)) in f.details[
        "ffmpeg"]
    assert _paste(f.fix) == 0
    assert _sha(src) == before  # never the input
    assert _finding(out, code) is None
    assert _finding(src, code) is not None  # the check still sees the original


def test_fix_line_names_the_edition_and_the_path_of_the_finding(
        media_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line uses the finding's path, as the user typed it (the result cache keys on that
    too); a Flexus check's line keeps the Flexus limits."""
    shutil.copyfile(media_factory.video(width=1280, height=720, seconds=1), tmp_path / "t.mp4")
    (tmp_path / "preflight.toml").write_text(NO_FACE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    flexus = {"name": "t", "is_flexus": True, "is_background_replacement": False}
    f = _finding(Path("t.mp4"), "VID006", flexus)
    assert f is not None and f.path == "t.mp4"
    assert f.fix == "preflight fix t.mp4 --edition flexus -o t.fixed.mp4"
    f = _finding(tmp_path / "t.mp4", "VID006", flexus)
    assert f is not None and f.fix == shlex.join(
        ["preflight", "fix", str(tmp_path / "t.mp4"), "--edition", "flexus", "-o",
         str(tmp_path / "t.fixed.mp4")])
    result = CliRunner().invoke(cli, ["check", "t.mp4", "--no-cache"])
    line = next(ln.strip() for ln in result.output.splitlines() if "fix: preflight" in ln)
    assert line == "fix: preflight fix t.mp4 -o t.fixed.mp4"
    assert _paste(line.removeprefix("fix: ")) == 0
    assert _finding(tmp_path / "t.fixed.mp4", "VID006") is None


@pytest.mark.parametrize("kind", ["truncated", "text", "empty", "audio-only"])
def test_cannot_fix_an_unreadable_file(media_factory: Any, tmp_path: Path, kind: str) -> None:
    src = tmp_path / "take.mp4"
    if kind == "truncated":
        data = media_factory.video(seconds=2).read_bytes()
        src.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        src.write_text("not a video\n", encoding="utf-8")
    elif kind == "empty":
        src.write_bytes(b"")
    else:
        shutil.copyfile(media_factory.audio(seconds=1, fmt="mp3"), src)
    before = _sha(src)
    out = tmp_path / "take.fixed.mp4"
    result = CliRunner().invoke(cli, ["fix", str(src), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert f"cannot fix {src}: " in result.stderr and "export it again" in result.stderr
    assert "nothing to do" not in result.output and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".*part*"))
    assert _sha(src) == before


def _fix_copy(video: Path, tmp_path: Path, config: str) -> Any:
    """Run ``fix`` on a copy of ``video`` in ``tmp_path`` with ``config`` beside it."""
    (tmp_path / "preflight.toml").write_text(config, encoding="utf-8")
    src = tmp_path / "t.mp4"
    shutil.copyfile(video, src)
    return CliRunner().invoke(cli, ["fix", str(src), "-o", str(tmp_path / "o.mp4")])


def test_fix_of_a_conforming_video_has_nothing_to_do(media_factory: Any, tmp_path: Path
                                                     ) -> None:
    result = _fix_copy(media_factory.video(width=1080, height=1920, seconds=1), tmp_path,
                       NO_FACE)
    assert result.exit_code == 0 and "nothing to do" in result.output
    assert not (tmp_path / "o.mp4").exists()


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.media.faces import FaceMedia
    from tests.media.factory import shared_dir

    return FaceMedia(shared_dir(tmp_path_factory, "faces"))


def test_sideways_720p_take_gets_one_plan(faces: Any, tmp_path: Path) -> None:
    """A presenter shot sideways at 1280x720: VID006 (size) and PRS002 (orientation) point at
    the same line, whose one command turns the picture upright and scales it to 1080x1920;
    pasted, it leaves neither finding (and the face is found)."""
    import av

    (tmp_path / "preflight.toml").write_text(
        '[rules]\n"video-duration" = { options = { min_seconds = 1, max_seconds = 10 } }\n',
        encoding="utf-8")
    src = tmp_path / "sideways.mp4"
    shutil.copyfile(faces.video(turn=90), src)
    report = check(src, slot="training_video", job=JOB)
    size = next(f for f in report.findings if f.code == "VID006")
    upright = next(f for f in report.findings if f.code == "PRS002")
    out = tmp_path / "sideways.fixed.mp4"
    assert size.fix == upright.fix == shlex.join(
        ["preflight", "fix", str(src), "--rotate", "270", "-o", str(out)])
    assert size.details["ffmpeg"] == upright.details["ffmpeg"]
    assert "transpose=2,scale=1080:1920" in size.details["ffmpeg"]
    dry = CliRunner().invoke(cli, [*shlex.split(size.fix or "")[1:], "--dry-run"])
    assert dry.exit_code == 0 and "turn the picture 270°" in dry.output
    assert "scale and pad to 1080x1920" in dry.output and not out.exists()
    assert _paste(size.fix or "") == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0].codec_context
        assert (v.width, v.height) == (1080, 1920)
    after = check(out, slot="training_video", job=JOB)
    assert not {"VID006", "PRS001", "PRS002"} & {f.code for f in after.findings}


def test_auto_rotation_without_the_flag(faces: Any, tmp_path: Path) -> None:
    """``fix`` finds the turn itself: the line without ``--rotate`` makes the same plan."""
    (tmp_path / "preflight.toml").write_text(
        '[rules]\n"video-duration" = { options = { min_seconds = 1, max_seconds = 10 } }\n',
        encoding="utf-8")
    src = tmp_path / "s.mp4"
    shutil.copyfile(faces.video(turn=90), src)
    res = CliRunner().invoke(cli, ["fix", str(src), "-o", str(tmp_path / "o.mp4"), "--dry-run"])
    assert res.exit_code == 0 and "turn the picture 270° clockwise" in res.output
    res = CliRunner().invoke(cli, ["fix", str(src), "-o", str(tmp_path / "o.mp4"), "--dry-run",
                                   "--rotate", "0"])
    assert "turn the picture" not in res.output and res.exit_code == 1  # would stay sideways
    assert "cannot fix: PRS002" in res.stderr and "--rotate 270 turns it upright" in res.stderr


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_take_no_fix_can_save_encodes_nothing(media_factory: Any, tmp_path: Path,
                                                dry_run: bool) -> None:
    """A sideways 720p take of 1 s under the 3-minute minimum: the plan says first that the
    duration cannot be fixed, writes nothing, and exits 1 (with --dry-run too, after the plan)."""
    (tmp_path / "preflight.toml").write_text('ignore = ["PRS"]\n', encoding="utf-8")
    src = tmp_path / "short.mp4"
    shutil.copyfile(media_factory.video(width=1280, height=720, seconds=1), src)
    before = _sha(src)
    out = tmp_path / "short.fixed.mp4"
    argv = ["fix", str(src), "-o", str(out)] + (["--dry-run"] if dry_run else [])
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0].startswith("cannot fix: duration 1.0 s is under 180 s")
    assert "nothing written" in result.stderr
    assert "scale and pad to 1920x1080" in result.output
    assert ("$ " in result.output) is dry_run
    assert not out.exists() and not list(tmp_path.glob(".*part*"))
    assert _sha(src) == before


def test_no_face_blocks_the_fix(media_factory: Any, tmp_path: Path) -> None:
    """The test pattern shows no face (PRS001): no fix repairs that, so none is encoded."""
    result = _fix_copy(media_factory.video(width=1280, height=720, seconds=1), tmp_path, LIMITS)
    assert result.exit_code == 1 and "cannot fix: PRS001 face-present" in result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_a_name_that_starts_with_a_dash(media_factory: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``-r take.mp4`` would be read as an option: the line writes ``./-r take.mp4``."""
    (tmp_path / "preflight.toml").write_text(NO_FACE, encoding="utf-8")
    shutil.copyfile(media_factory.video(width=1280, height=720, seconds=1),
                    tmp_path / "-r take.mp4")
    monkeypatch.chdir(tmp_path)
    f = _finding(Path("-r take.mp4"), "VID006")
    assert f is not None
    assert f.fix == "preflight fix './-r take.mp4' -o './-r take.fixed.mp4'"
    assert f.details["ffmpeg"].endswith(" './-r take.fixed.mp4'")
    assert _paste(f.fix) == 0
    assert _finding(tmp_path / "-r take.fixed.mp4", "VID006") is None


def test_an_action_video_is_fixed_as_an_action_video(media_factory: Any, tmp_path: Path) -> None:
    """The line of an action video's finding names the slot; the take is checked and
    re-checked as an action video (the presenter rules of the training video do not apply)."""
    (tmp_path / "preflight.toml").write_text(LIMITS, encoding="utf-8")
    src = tmp_path / "action.mp4"
    shutil.copyfile(media_factory.video(width=1280, height=720, seconds=1), src)
    report = check(src, slot="action_video", job=JOB)
    f = next(f for f in report.findings if f.code == "VID006")
    out = tmp_path / "action.fixed.mp4"
    assert f.fix == shlex.join(["preflight", "fix", str(src), "--slot", "action_video", "-o",
                                str(out)])
    assert _paste(f.fix) == 0  # no PRS001: the face rules judge the training video only
    after = check(out, slot="action_video", job=JOB)
    assert "VID006" not in {x.code for x in after.findings}


@pytest.mark.parametrize("selection", [["VID"], ["VID006"], ["VID", "GRN"]])
def test_a_size_finding_says_the_same_whatever_the_selection(faces: Any, tmp_path: Path,
                                                              selection: list[str]) -> None:
    """VID006's fix line turns a sideways presenter upright whether or not the PRS rules are
    selected: the selection changes which findings are printed, never what one says."""
    (tmp_path / "preflight.toml").write_text(
        '[rules]\n"video-duration" = { options = { min_seconds = 1, max_seconds = 10 } }\n',
        encoding="utf-8")
    src = tmp_path / "sideways.mp4"
    shutil.copyfile(faces.video(turn=90), src)
    every = next(f for f in check(src, slot="training_video", job=JOB).findings
                 if f.code == "VID006")
    (tmp_path / "preflight.toml").write_text(
        (tmp_path / "preflight.toml").read_text(encoding="utf-8").replace(
            "[rules]", f"select = {selection!r}\n[rules]").replace("'", '"'), encoding="utf-8")
    chosen = check(src, slot="training_video", job=JOB, cache=tmp_path / "other-cache")
    assert not {f.code for f in chosen.findings} & {"PRS001", "PRS002"}
    size = next(f for f in chosen.findings if f.code == "VID006")
    assert size == every and "--rotate 270" in (size.fix or "")
