"""Result-cache benchmark on the 10-minute 4K file (~4.5 GB).

Rows (name, measured, target, ok):
- re-check of the unchanged file as a whole new process (`preflight check FILE`, cache warm,
  byte code compiled as after an install): <= 0.3 s, and the media libraries (av, numpy,
  PIL, pymediainfo) are not even imported;
- the same check with --no-cache, for scale;
- a hit in process (`check(..., cache=...)`), and how many bytes a hit reads (head + tail).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import big_video

JOB = '{"name": "bench", "is_background_replacement": true}'
_PROBE = ("import sys, json; from preflight.workflows.check import check; "
          "check([sys.argv[1]], job=json.loads(sys.argv[3]), cache=sys.argv[2]); "
          "print(json.dumps(sorted(m for m in ('av', 'numpy', 'PIL', 'pymediainfo') "
          "if m in sys.modules)))")


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("preflight")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "preflight.cli"]


#: As installed: byte-code caches are written and used (a session may have disabled them).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=False, env=ENV)  # warm: page cache, .pyc
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, env=ENV)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(cache_dir: Path) -> list[dict[str, Any]]:
    """Run the cache benchmark; returns the result rows."""
    from preflight.rules.cache import FINGERPRINT_BYTES, ResultCache
    from preflight.workflows.check import check

    big = big_video(cache_dir, minutes=10)
    with tempfile.TemporaryDirectory(prefix="preflight-cache-bench-") as tmp:
        results = Path(tmp) / "cache"
        cmd = [*_cli(), "check", str(big), "--job-json", JOB, "--cache-dir", str(results)]
        subprocess.run(cmd, capture_output=True, check=False)  # fills the cache
        t_hit = _timed(cmd, 9)
        t_miss = _timed([*cmd, "--no-cache"], 3)
        loaded = json.loads(subprocess.run(
            [sys.executable, "-c", _PROBE, str(big), str(results), JOB],
            capture_output=True, text=True, check=True).stdout)
        rc = ResultCache(results)
        times = []
        for _ in range(9):
            t = time.perf_counter()
            check(big, job=json.loads(JOB), cache=rc)
            times.append(time.perf_counter() - t)
        t_lib = statistics.median(times)
        hits = rc.stats.hits
        rc.close()
    return [
        {"name": "re-check unchanged 10-min 4K file, new process (cache hit)",
         "measured": f"{t_hit:.3f} s", "target": "<= 0.3 s", "ok": t_hit <= 0.3},
        {"name": "media libraries imported on a cache hit",
         "measured": ", ".join(loaded) or "none", "target": "none", "ok": not loaded},
        {"name": "same check with --no-cache, new process",
         "measured": f"{t_miss:.2f} s ({t_miss / t_hit:.0f}x the cached run)",
         "target": "-", "ok": True},
        {"name": "cache hit in process (check(..., cache=...))",
         "measured": f"{t_lib * 1000:.1f} ms, reads {2 * FINGERPRINT_BYTES // 1024} KiB "
                     f"({hits}/9 hits)",
         "target": "9/9 hits", "ok": hits == 9},
    ]


if __name__ == "__main__":
    from bench.common import run_alone

    run_alone(run)
