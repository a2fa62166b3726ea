"""Upload benchmark: the 10-minute 4K file (~4.5 GB) to the local sandbox over loopback.

Rows (name, measured, target, ok):
- `preflight` upload (8 parts, 4 connections, streamed byte ranges) vs `curl -T` of the same file
  to the same sandbox in the same run: throughput ratio >= 0.7;
- peak memory (max RSS) of the uploading client process: < 150 MB.

The sandbox runs in its own process (as `preflight sandbox`) and writes every body to disk with
an MD5, exactly as in the tests; the client process is measured with wait4's rusage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import big_video
from preflight.manifest import Manifest, Part, Upload
from preflight.metastudio import OCTET_STREAM
from preflight.packager.hashing import hash_ranges
from preflight.parts import plan_parts

MB = 1e6
PARTS = 8
JOBS = 4
CLI = [sys.executable, "-c", "import sys; from preflight.cli import main; sys.exit(main())"]
CLIENT = """
import json, sys
from preflight.workflows.pipeline import submit
r = submit(manifest=sys.argv[1], endpoint=sys.argv[2], state_dir=sys.argv[3], jobs=int(sys.argv[4]))
print(json.dumps(r.to_dict()))
"""


def _manifest(video: Path, out: Path) -> Path:
    size = video.stat().st_size
    ranges = plan_parts(size, PARTS)
    digests = hash_ranges(video, ranges)
    parts = tuple(Part(r.part_number, r.offset, r.length, md5, sha)
                  for r, (md5, sha) in zip(ranges, digests.parts, strict=True))
    st = video.stat()
    up = Upload(slot="training_video", url_field="training_video_upload_url", source=str(video),
                size=size, mtime_ns=st.st_mtime_ns, sha256=digests.sha256,
                content_type=OCTET_STREAM, parts=parts)
    man = Manifest(spec_path="", spec_sha256="0" * 64, edition="standard",
                   job={"name": "upload benchmark", "video_multipart_count": PARTS,
                        "is_background_replacement": True},
                   uploads=(up,), tool_version="bench", created="2026-01-01T00:00:00Z")
    path = out / "manifest.json"
    man.save(path)
    return path


def _start_sandbox(data: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*CLI, "sandbox", "--port", "0", "--data-dir", str(data)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox did not start")
        if line.startswith("sandbox listening on"):
            return proc, line.split()[-1]


def _child(args: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Run a child; return (stdout, wall seconds, peak RSS in MB)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        proc = subprocess.Popen(args, stdout=out, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        text = out.read()
    if proc.returncode:
        raise RuntimeError(f"{args[:4]} failed with {proc.returncode}")
    return text, wall, usage.ru_maxrss * 1024 / MB


def _curl_url(endpoint: str, env: dict[str, str]) -> str:
    from preflight.metastudio.credentials import Credentials
    from preflight.submitter.client import MetaStudioClient

    with MetaStudioClient(endpoint, Credentials.from_env(env)) as c:
        data = c.create({"name": "curl reference"}).data
    return str(data["training_video_upload_url"][0])


def _clear(data: Path) -> None:
    shutil.rmtree(data / "uploads", ignore_errors=True)


def run(cache_dir: Path) -> list[dict[str, Any]]:
    """Run the upload benchmark; returns the result rows."""
    video = big_video(cache_dir, minutes=10)
    size = video.stat().st_size
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=cache_dir))
    env = {**os.environ, "HUAWEICLOUD_SDK_AK": "BENCHAK", "HUAWEICLOUD_SDK_SK": "bench-sk-123",
           "HUAWEICLOUD_SDK_PROJECT_ID": "0" * 32, "NO_COLOR": "1"}
    sandbox = None
    try:
        manifest = _manifest(video, work)  # also warms the page cache
        sandbox, url = _start_sandbox(work / "sandbox", env)
        curl = shutil.which("curl")
        t_curl = None
        if curl:
            target = _curl_url(url, env)
            _, t_curl, _ = _child([curl, "-sS", "-f", "-o", "/dev/null", "-T", str(video), "-H",
                                   "Content-Type: application/octet-stream", target], env)
            _clear(work / "sandbox")
        text, wall, rss = _child([sys.executable, "-c", CLIENT, str(manifest), url,
                                  str(work / "state"), str(JOBS)], env)
        result = json.loads(text.strip().splitlines()[-1])
        t_ours = float(result["seconds"])
        ours = f"{size / MB / t_ours:.0f} MB/s ({t_ours:.1f} s; process {wall:.1f} s)"
        if t_curl is not None:
            ratio = t_curl / t_ours
            rows.append({
                "name": f"upload {size / 1e9:.2f} GB to the sandbox, {PARTS} parts, --jobs "
                        f"{JOBS}, vs curl -T",
                "measured": f"{ratio:.2f}x (preflight {ours}, curl {size / MB / t_curl:.0f} MB/s "
                            f"({t_curl:.1f} s))",
                "target": ">= 0.7x", "ok": ratio >= 0.7,
            })
        else:
            rows.append({"name": "upload vs curl -T", "measured": f"curl not found; preflight "
                         f"{ours}", "target": ">= 0.7x", "ok": False})
        rows.append({"name": "peak RSS of the uploading client (4.5 GB, 8 parts, 4 connections)",
                     "measured": f"{rss:.0f} MB", "target": "< 150 MB", "ok": rss < 150})
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=30)
            if sandbox.stdout is not None:
                sandbox.stdout.close()
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    from bench.common import run_alone

    run_alone(run)
