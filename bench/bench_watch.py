"""`preflight watch` benchmark: a 5-minute 1080p take copied into a watched folder.

Rows (name, measured, target, ok):
- seconds from the last byte written (the copy closed) to the verdict, quiet window (1 s, the
  default) included, native file-system events: <= 3 s;
- the CPU seconds of that verdict (the judge alone), a figure the shared machine's load does
  not distort.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import concat_copies, ffmpeg_exe

TARGET_SECONDS = 3.0
TAKES = 500
KEEP = 50
CHUNK = 4 << 20
SECONDS = 10


def take_1080p(cache_dir: Path, minutes: int = 5) -> Path:
    """A `minutes`-long 1920x1080 25 fps H.264 green-screen take with audio, made once."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"green-1080p-{minutes}min.mp4"
    if out.exists():
        return out
    clip = cache_dir / f"clip-1920x1080-{SECONDS}s.mp4"
    if not clip.exists():
        tmp = clip.with_suffix(".part.mp4")
        subprocess.run([
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"color=c=0x00b140:s=1920x1080:r=25:d={SECONDS}",
            "-f", "lavfi", "-i", f"testsrc2=s=600x900:r=25:d={SECONDS}",
            "-f", "lavfi", "-i", f"sine=f=220:sample_rate=48000:d={SECONDS}",
            "-filter_complex", "[0][1]overlay=x='660+100*sin(t)':y=180,format=yuv420p[v]",
            "-map", "[v]", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
            "-b:v", "12M", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(tmp),
        ], check=True, stdin=subprocess.DEVNULL, capture_output=True)
        tmp.replace(clip)
    return concat_copies(clip, minutes * 60 // SECONDS, out)


def run(cache_dir: Path) -> list[dict[str, Any]]:
    """Copy the take into a watched folder and time its verdict; returns the result rows."""
    from preflight.workflows.watch import QUIET_SECONDS, Watcher, WatchEvent, WatchOptions
    from preflight.workflows.watch_judge import Judge

    take = take_1080p(cache_dir)
    with tempfile.TemporaryDirectory(prefix="preflight-watch-bench-") as tmp:
        shoot = Path(tmp) / "shoot"
        shoot.mkdir()
        cpu: list[float] = []

        class Timed(Judge):
            def __call__(self, path: Path, *, listing: bool = False) -> Any:
                t = time.process_time()
                verdict = super().__call__(path, listing=listing)
                cpu.append(time.process_time() - t)
                return verdict

        watcher = Watcher(shoot, Timed(), WatchOptions(quiet=QUIET_SECONDS))
        got = threading.Event()
        at: list[float] = []

        def seen(ev: WatchEvent) -> None:
            if ev.kind == "verdict":
                at.append(time.perf_counter())
                got.set()

        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(seen, stop), daemon=True)
        thread.start()
        time.sleep(0.5)
        with take.open("rb") as src, (shoot / "take.mp4").open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        done = time.perf_counter()
        got.wait(120)
        stop.set()
        thread.join(30)
        took = at[0] - done if at else float("inf")
        grown = _memory_after(watcher, TAKES)
    return [
        {"name": f"verdict after a 5-min 1080p copy ({watcher.mode}, quiet window "
                 f"{QUIET_SECONDS:g} s)",
         "measured": f"{took:.2f} s", "target": f"<= {TARGET_SECONDS:g} s",
         "ok": took <= TARGET_SECONDS},
        {"name": "CPU seconds of that verdict", "measured": f"{cpu[-1]:.2f} s" if cpu else "-",
         "target": "-", "ok": bool(cpu)},
        {"name": f"memory held after {TAKES} verdicts with frames (page keeps {KEEP})",
         "measured": f"{grown / 1e6:.0f} MB", "target": "< 300 MB",
         "ok": grown < 300e6},
    ]


def _memory_after(watcher: Any, takes: int) -> int:
    """Bytes the watcher and its page hold after `takes` verdicts, each with its own copy of
    the frames of the benchmark take (traced allocations, so the figure is the watcher's)."""
    import tracemalloc
    from dataclasses import replace

    from preflight.workflows.watch import Take, WatchEvent
    from preflight.workflows.watch_page import Board

    verdict = next(t.verdict for t in watcher.takes.values() if t.verdict is not None)
    view = verdict.view
    if view is None or not any(f.pictures for f in view.files):
        raise RuntimeError("the benchmark take has no frames to hold")
    board = Board(watcher)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(takes):
        pictures = tuple(replace(p, src="".join([p.src[:1], p.src[1:]]))
                         for f in view.files for p in f.pictures)
        files = tuple(replace(f, pictures=pictures) for f in view.files)
        mine = replace(verdict, view=replace(view, files=files))
        path = watcher.root / f"take{i:03}.mp4"
        take = Take(path, path.name, 1, i, 0.0, 0.0, verdict=mine, judged=(1, i))
        watcher.takes[str(path)] = take
        watcher._seq += 1
        take.seq = watcher._seq
        watcher._trim()
        board.update(WatchEvent("verdict", take))
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return held


if __name__ == "__main__":
    from bench.common import run_alone

    run_alone(run)
