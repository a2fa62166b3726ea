"""Media-check benchmark on the 10-minute 4K file (~4.5 GB) and a 3-minute one.

Rows (name, measured, target, ok), all measured in the same run with a warm page cache:
- full check of the 10-min 4K file (every rule, incl. sampling 8 frames for GRN), in process,
  beside the same check without the presenter analysis (`--ignore PRS`, face extra unavailable);
- that check vs a bare pymediainfo parse of the same file (`MediaInfo.parse(path)`, default
  options): <= 10x; the header-only parse the check itself uses is shown too;
- that check vs a subprocess baseline (ffmpeg -i probe + 8 ffmpeg processes extracting the same
  8 frames scaled to 320 px, the imageio-ffmpeg binary): >= 3x faster;
- 10-min vs 3-min check time: <= 1.3 (flat in the file size);
- `preflight --help` cold start (new process): <= 0.25 s.

The presenter rules' cost is measured by `bench_presenter.py`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_presenter import no_face_extra
from bench.common import big_video, ffmpeg_exe
from preflight.rules.config import Config

JOB = {"name": "bench", "is_background_replacement": True}


def _median(fn: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _check(path: Path, config: Any = None) -> Any:
    from preflight.workflows.check import check

    return check(path, slot="training_video", job=JOB, config=config)


def _bare_parse(path: Path, **options: Any) -> Any:
    from pymediainfo import MediaInfo

    return MediaInfo.parse(path, **options)


def _subprocess_baseline(path: Path, duration: float, count: int = 8) -> None:
    """What a script would do with the ffmpeg binary: probe, then one process per frame."""
    exe = ffmpeg_exe()
    subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, check=False)
    for i in range(count):
        t = duration * (i + 0.5) / count
        subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-ss", f"{t:.3f}",
                        "-i", str(path), "-frames:v", "1", "-vf", "scale=320:-2",
                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                       capture_output=True, check=True)


def _cold_start() -> float:
    exe = Path(sys.executable).with_name("preflight")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "preflight.cli",
                                                     "--help"]
    times = []
    for _ in range(7):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(cache_dir: Path) -> list[dict[str, Any]]:
    """Run the check benchmark; returns the result rows."""
    big = big_video(cache_dir, minutes=10)
    short = big_video(cache_dir, minutes=3)
    report = _check(big)  # warm-up: page cache, imports, codec init
    _check(short)
    errors = [f.code for f in report.errors]
    without = Config().with_cli(ignore=["PRS"])

    def bare() -> None:
        with no_face_extra():
            _check(big, without)

    # Interleaved, so that both files (and both rule sets) see the same load.
    longs, shorts, bares = [], [], []
    for _ in range(7):
        longs.append(_median(lambda: _check(big), 1))
        shorts.append(_median(lambda: _check(short), 1))
        bares.append(_median(bare, 1))
    t_full, t_short = statistics.median(longs), statistics.median(shorts)
    t_off = statistics.median(bares)
    t_bare = _median(lambda: _bare_parse(big), 9)
    t_header = _median(lambda: _bare_parse(big, parse_speed=0), 9)
    duration = 600.0
    t_sub = _median(lambda: _subprocess_baseline(big, duration), 3)
    t_help = _cold_start()
    gb = big.stat().st_size / 1e9
    return [
        {"name": f"full check, 10-min 4K ({gb:.1f} GB)",
         "measured": f"{t_full:.2f} s with PRS | {t_off:.2f} s without (wall)"
                     + (f" (errors: {', '.join(errors)})" if errors else ""),
         "target": "<= 1.0 s", "ok": t_full <= 1.0},
        {"name": "full check vs bare pymediainfo parse",
         "measured": f"{t_full / t_bare:.1f}x (default parse {t_bare * 1000:.0f} ms; "
                     f"header-only parse as used by the check {t_header * 1000:.0f} ms)",
         "target": "<= 10x", "ok": t_full / t_bare <= 10},
        {"name": "subprocess ffmpeg probe + 8 frames vs full check",
         "measured": f"{t_sub / t_full:.1f}x faster (baseline {t_sub:.2f} s)",
         "target": ">= 3x", "ok": t_sub / t_full >= 3},
        {"name": "10-min vs 3-min check time",
         "measured": f"{t_full / t_short:.2f} (3-min {t_short:.2f} s)",
         "target": "<= 1.3", "ok": t_full / t_short <= 1.3},
        {"name": "preflight --help cold start",
         "measured": f"{t_help:.3f} s", "target": "<= 0.25 s", "ok": t_help <= 0.25},
    ]


if __name__ == "__main__":
    from bench.common import run_alone

    run_alone(run)
