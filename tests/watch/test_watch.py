"""The watcher: a take copied in slow chunks is judged once, after its last chunk; a bad take
is NOT READY with its findings; a good take replacing it is READY."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from preflight.rules.config import config_for
from preflight.workflows.watch import Watcher, WatchOptions, ignored
from preflight.workflows.watch_judge import Judge

#: The small test takes are short and faceless: the duration and presenter rules are off.
CONFIG = 'ignore = ["VID007", "PRS"]\n'
CHUNK = 64 * 1024


def _watcher(root: Path) -> Watcher:
    (root / "preflight.toml").write_text(CONFIG, encoding="utf-8")
    shoot = root / "shoot"
    shoot.mkdir()
    return Watcher(shoot, Judge(config_for(None, shoot)), WatchOptions(quiet=0.0))


def _poll(watcher: Watcher) -> list[Any]:
    """One polling step (what the polling observer does: look at the whole folder)."""
    watcher.rescan()
    return watcher.step()


def _verdicts(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.take.shown, e.take.verdict.word) for e in events if e.kind == "verdict"]


def test_slow_copy_then_bad_take_then_good_replacement(media_factory: Any,
                                                      tmp_path: Path) -> None:
    watcher = _watcher(tmp_path)
    assert watcher.start() == []
    bad = media_factory.video(width=360, height=640).read_bytes()
    good = media_factory.video().read_bytes()
    dst = watcher.root / "day1" / "take.mp4"
    dst.parent.mkdir()
    with dst.open("wb") as out:  # still open for writing: never judged, however long
        for i in range(0, len(bad), CHUNK):
            out.write(bad[i:i + CHUNK])
            out.flush()
            events = _poll(watcher) + _poll(watcher)
            assert _verdicts(events) == [], f"judged after {i + CHUNK} of {len(bad)} bytes"
            assert watcher.takes[str(dst)].state == "copying"
    events = _poll(watcher) + _poll(watcher)
    assert _verdicts(events) == [("day1/take.mp4", "NOT READY")]
    verdict = watcher.takes[str(dst)].verdict
    assert verdict is not None and "VID006" in [f.code for f in verdict.findings]
    assert verdict.commands and verdict.commands[0].startswith("preflight fix ")
    assert _poll(watcher) == []  # judged once

    tmp = watcher.root / "day1" / "take.part"
    tmp.write_bytes(good)
    tmp.replace(dst)  # replaced by a new version: judged again
    events = _poll(watcher) + _poll(watcher)
    assert _verdicts(events) == [("day1/take.mp4", "READY")]
    assert watcher.counts() == {"ready": 1, "not_ready": 0, "copying": 0}

    dst.unlink()
    assert [e.kind for e in _poll(watcher)] == ["gone"]
    assert watcher.takes == {}


def test_a_bad_file_is_a_finding_never_a_crash(tmp_path: Path) -> None:
    watcher = _watcher(tmp_path)
    (watcher.root / "broken.mp4").write_bytes(b"\x00not a video" * 100)
    events = watcher.start()
    assert _verdicts(events) == [("broken.mp4", "NOT READY")]


def test_hidden_companions_cache_and_outputs_are_ignored(tmp_path: Path) -> None:
    root = tmp_path
    out = root / "page.html"
    for name in ("._take.mp4", ".hidden/take.mp4", ".preflight_cache/x.mp4", "notes.txt"):
        assert ignored(root / name, root)
    assert ignored(root / "take.mp4", root, (root / "take.mp4",))
    assert not ignored(root / "a" / "take.mp4", root, (out,))


def test_with_a_spec_each_take_is_the_jobs_training_video(media_factory: Any,
                                                          tmp_path: Path) -> None:
    shutil.copy(media_factory.image(), tmp_path / "id_front.jpg")
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "Day one"\n\n[media]\nid_card_front = "id_front.jpg"\n',
                    encoding="utf-8")
    watcher = _watcher(tmp_path)
    watcher.judge.spec_path = spec
    [job] = watcher.job_events()
    assert job.job is not None and not job.job.verdict.ready
    filled = {name for name, _label, ok in job.job.slots if ok}
    assert filled == {"id_card_front"}
    assert "REQ034" in [f.code for f in job.job.verdict.findings]  # no training video yet
    assert watcher.job_events() == []  # asked again only when the spec changes
    shutil.copy(media_factory.video(width=360, height=640), watcher.root / "bad.mp4")
    shutil.copy(media_factory.video(), watcher.root / "good.mp4")
    events = watcher.start()
    assert sorted(_verdicts(events)) == [("bad.mp4", "NOT READY"), ("good.mp4", "READY")]
    bad = watcher.takes[str(watcher.root / "bad.mp4")].verdict
    assert bad is not None and [f.code for f in bad.findings if f.code.startswith("VID")] \
        == ["VID006"]
    # the job's own gaps (no ID card back, no letter) stay on the job panel
    assert all(f.slot == "training_video" for f in bad.findings)


def test_only_the_newest_takes_keep_their_frames(media_factory: Any, tmp_path: Path) -> None:
    watcher = _watcher(tmp_path)
    watcher.options.keep_views = 2
    video = media_factory.video(width=360, height=640)
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        shutil.copy(video, watcher.root / name)
        _poll(watcher)
        _poll(watcher)
    kept = {t.shown: t.verdict is not None and t.verdict.view is not None
            for t in watcher.takes.values()}
    assert kept == {"a.mp4": False, "b.mp4": True, "c.mp4": True}
    assert all(t.verdict is not None and t.verdict.findings for t in watcher.takes.values())


def test_a_take_landing_while_the_watch_starts_is_judged(tmp_path: Path,
                                                         media_factory: Any) -> None:
    """A file that lands right after the first look, before a polling observer would take its
    first snapshot, is still judged: the observer starts before the first look."""
    import threading

    from preflight.workflows.watch import WatchEvent

    (tmp_path / "preflight.toml").write_text(CONFIG, encoding="utf-8")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    watcher = Watcher(shoot, Judge(config_for(None, shoot)),
                      WatchOptions(quiet=0.2, poll=True, poll_interval=0.1))
    first_look = watcher.start

    def look_then_land() -> list[WatchEvent]:
        events = first_look()
        shutil.copy(media_factory.video(), shoot / "late.mp4")
        return events

    watcher.start = look_then_land  # type: ignore[method-assign]
    judged = threading.Event()
    stop = threading.Event()

    def on_event(event: WatchEvent) -> None:
        if event.kind == "verdict" and event.take is not None \
                and event.take.path.name == "late.mp4":
            judged.set()

    thread = threading.Thread(target=watcher.run, args=(on_event, stop), daemon=True)
    thread.start()
    try:
        assert judged.wait(60), f"late.mp4 never judged: {watcher.takes}"
    finally:
        stop.set()
        thread.join(timeout=30)
