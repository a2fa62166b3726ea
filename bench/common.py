"""Shared helpers for the benchmarks: the cache dir and the big generated inputs.

Inputs are generated once (encode a 10 s clip, then concatenate copies of it with stream copy, so
a 4.5 GB file takes about a minute to make) and reused by every later run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

#: Default cache directory (outside the repository); override with $PREFLIGHT_BENCH_DIR.
DEFAULT_CACHE = Path.home() / ".cache" / "metastudio-preflight-bench"

CLIP_SECONDS = 10
WIDTH, HEIGHT = 3840, 2160
BITRATE = "60M"


def cache_dir() -> Path:
    """The benchmark cache directory, created if needed."""
    d = Path(os.environ.get("PREFLIGHT_BENCH_DIR") or DEFAULT_CACHE).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    return d


def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled with imageio-ffmpeg (no system ffmpeg needed)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _clip(cache: Path) -> Path:
    """A 10 s 3840x2160 25 fps H.264 ~60 Mb/s green-screen clip with AAC audio."""
    out = cache / f"clip-{WIDTH}x{HEIGHT}-{CLIP_SECONDS}s.mp4"
    if out.exists():
        return out
    tmp = out.with_suffix(".part.mp4")
    d = CLIP_SECONDS
    _run([
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"color=c=0x00b140:s={WIDTH}x{HEIGHT}:r=25:d={d}",
        "-f", "lavfi", "-i", f"testsrc2=s=1200x1800:r=25:d={d}",
        "-f", "lavfi", "-i", f"sine=f=220:sample_rate=48000:d={d}",
        "-filter_complex", "[0][1]overlay=x='1320+200*sin(t)':y=360,format=yuv420p[v]",
        "-map", "[v]", "-map", "2",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
        "-b:v", BITRATE, "-minrate", BITRATE, "-maxrate", BITRATE, "-bufsize", BITRATE,
        "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "128k",
        "-movflags", "+faststart", str(tmp),
    ])
    tmp.replace(out)
    return out


def _split(clip: Path) -> tuple[Path, Path]:
    """Video-only and audio-only copies of the clip, so each stream concatenates without gaps."""
    v, a = clip.with_suffix(".v.mp4"), clip.with_suffix(".a.m4a")
    if not (v.exists() and a.exists()):
        _run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip),
              "-map", "0:v", "-c", "copy", str(v), "-map", "0:a", "-c", "copy", str(a)])
    return v, a


def concat_copies(clip: Path, copies: int, out: Path) -> Path:
    """Concatenate `copies` of `clip` into `out` with stream copy (moov at the front)."""
    parts = _split(clip)
    listings = []
    for part in parts:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8",
                                         dir=out.parent) as fh:
            fh.write("".join(f"file '{part.name}'\n" for _ in range(copies)))
            listings.append(Path(fh.name))
    tmp = out.with_suffix(".part.mp4")
    try:
        _run([
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "concat", "-safe", "0", "-i", str(listings[0]),
            "-f", "concat", "-safe", "0", "-i", str(listings[1]),
            "-map", "0:v", "-map", "1:a", "-c", "copy", "-movflags", "+faststart", str(tmp),
        ])
        tmp.replace(out)
    finally:
        for listing in listings:
            listing.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return out


def big_video(cache_dir: Path, minutes: int = 10) -> Path:
    """A `minutes`-long 3840x2160 ~60 Mb/s MP4 (about 4.5 GB for 10 minutes), made once."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"green-4k-{minutes}min-v2.mp4"
    if out.exists():
        return out
    clip = _clip(cache_dir)
    return concat_copies(clip, minutes * 60 // CLIP_SECONDS, out)


def run_alone(run: Callable[[Path], list[dict[str, Any]]]) -> NoReturn:
    """Run one benchmark module by itself: print its rows, exit 1 when a target is missed."""
    rows = run(cache_dir())
    for row in rows:
        mark = "ok  " if row["ok"] else "MISS"
        print(f"{mark} {row['name']}: {row['measured']} (target {row['target']})")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)
