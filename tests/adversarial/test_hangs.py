"""Hangs and unbounded work: quadratic PDF scans, endless special files, huge frames and
huge strings are all bounded, with a clear message naming the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from preflight.inspect.image import count_pages
from tests.adversarial.conftest import CLI, bounded, no_internal_error, run_cli
from tests.media.factory import ffmpeg
from tests.platform import linux_only, posix_only


def _spec(tmp: Path, media: str, job: str = "") -> Path:
    spec = tmp / "avatar.toml"
    spec.write_text('[job]\nname = "adv"\naudio_source_type = "AUDIO"\n' + job
                    + "[media]\n" + media + "[account]\nna_whitelisted = true\n",
                    encoding="utf-8")
    return spec


def test_pdf_with_thousands_of_page_tree_markers_is_scanned_linearly(tmp_path: Path) -> None:
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4\n" + b"/Type/Pages " * 300_000 + b"\n%%EOF\n")
    r = run_cli("check", letter, "--slot", "grant_file", "--no-cache", timeout=30)
    no_internal_error(r)
    assert r.returncode == 1 and "no pages" in r.stdout, r.stdout + r.stderr


def test_page_count_reads_the_page_tree_and_page_objects() -> None:
    assert count_pages(b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>") == 2
    assert count_pages(b"<< /Count 7 /Type/Pages >>") == 7
    assert count_pages(b"1 0 obj << /Type /Page /Parent 2 0 R >> endobj") == 1
    assert count_pages(b"<< /Type /Outlines /Count 5 >>") == 0
    assert bounded(lambda: count_pages(b"/Type/Pages " * 200_000), 30) == 0


@posix_only
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_audio_linked_to_an_endless_device_is_never_read(tmp_path: Path, device: str) -> None:
    (tmp_path / "take.mp4").write_bytes(b"\0" * 1000)
    os.symlink(device, tmp_path / "voice.wav")
    spec = _spec(tmp_path, 'training_video = "take.mp4"\naudio = ["voice.wav"]\n')
    out = tmp_path / "pkg"
    r = run_cli("package", spec, "--out", out, "--force", timeout=30)
    no_internal_error(r)
    assert r.returncode == 2 and "voice.wav" in r.stderr and "not a regular file" in r.stderr
    assert not list(out.glob("*.tmp")) and not list(out.glob(".preflight-*.part"))
    assert not (out / "audio.zip").exists()
    dry = run_cli("submit", spec, "--dry-run", "--force", "--package-dir", out, timeout=30)
    no_internal_error(dry)
    assert dry.returncode == 2 and "not a regular file" in dry.stderr
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 1_000_000


@posix_only
def test_sigterm_while_zipping_removes_the_temporary_zip(tmp_path: Path) -> None:
    """An interrupted package leaves no temporary zip behind."""
    big = tmp_path / "voice.wav"
    with open(big, "wb") as fh:
        fh.truncate(3 * 1024**3)  # sparse: costs no disk, takes a while to zip
    (tmp_path / "take.mp4").write_bytes(b"\0" * 1000)
    spec = _spec(tmp_path, 'training_video = "take.mp4"\naudio = ["voice.wav"]\n')
    out = tmp_path / "pkg"
    proc = subprocess.Popen([*CLI, "package", str(spec), "--out", str(out), "--force"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(out.glob(".preflight-*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(out.glob(".preflight-*.part")), "the zip was never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "interrupted" in err, err
    assert not list(out.glob(".preflight-*.part")) and not (out / "audio.zip").exists()


@posix_only
@pytest.mark.parametrize("kind", ["fifo", "zero", "huge"])
def test_config_spec_and_manifest_special_or_huge_files_are_refused(tmp_path: Path,
                                                                    kind: str) -> None:
    if kind == "fifo":
        target = tmp_path / "pipe.toml"
        os.mkfifo(target)
    elif kind == "zero":
        target = Path("/dev/zero")
    else:
        target = tmp_path / "huge.toml"
        target.write_bytes(b"# " + b"x" * (50 * 1024 * 1024) + b"\n")
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    results = [
        run_cli("check", tmp_path / "cover.jpg", "--config", target, "--no-cache", timeout=30),
        run_cli("check", target, timeout=30) if kind != "zero" else None,
        run_cli("package", "--verify", target, timeout=30),
    ]
    for r in results:
        if r is None:
            continue
        no_internal_error(r)
        assert r.returncode == 2, r.stdout + r.stderr
        assert str(target) in r.stderr
        assert ("regular file" in r.stderr or "limit" in r.stderr), r.stderr


@posix_only
def test_fifo_in_every_slot_does_not_block_package(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "take.mp4")
    spec = _spec(tmp_path, 'training_video = "take.mp4"\n')
    r = run_cli("package", spec, "--out", tmp_path / "pkg", "--force", timeout=30)
    no_internal_error(r)
    assert r.returncode == 2 and "FIFO" in r.stderr


@linux_only
def test_video_frames_above_8k_are_judged_from_the_header(tmp_path: Path) -> None:
    """A frame of 8448x4480 is reported without decoding it."""
    video = tmp_path / "huge.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "color=c=green:s=8448x4480:d=0.08:r=25", "-c:v", "libx264", "-preset",
                    "ultrafast", "-frames:v", "2", "-pix_fmt", "yuv420p", str(video)],
                   check=True, timeout=120, capture_output=True)
    r = run_cli("check", video, "--slot", "training_video", "--no-cache", "--format", "json",
                timeout=60)
    no_internal_error(r)
    assert "8448x4480" in r.stdout and "not decoded" in r.stdout, r.stdout
    # FFmpeg is never even opened on it (opening probes streams by decoding frames): the
    # whole check stays far below the ~57 MB one such frame costs, on top of the interpreter.
    # VmHWM: the peak of this process image (ru_maxrss would count the forking parent).
    measure = ("import sys\nfrom preflight.workflows.check import check\n"
               "check([sys.argv[1]], slot='training_video', cache=None)\n"
               "print(next(line.split()[1] for line in open('/proc/self/status')"
               " if line.startswith('VmHWM')))")
    peak = subprocess.run([sys.executable, "-c", measure, str(video)], capture_output=True,
                          text=True, timeout=60, check=True)
    assert int(peak.stdout.split()[-1]) < 100_000, peak.stdout  # KiB


def test_a_huge_string_in_a_spec_gets_no_spelling_search(tmp_path: Path) -> None:
    value = "Q" * 3_000_000  # under the spec size cap, far over the suggestion limit
    spec = _spec(tmp_path, "", job=f'audio_source_typ = "x"\nvoice_name = "{value}"\n'
                 f'{"k" * 500_000} = 1\n')
    r = run_cli("check", spec, "--no-cache", timeout=60)
    no_internal_error(r)
    assert r.returncode == 1
    assert "did you mean 'audio_source_type'" in r.stdout


def test_a_spec_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "' + "x" * (50 * 1024 * 1024) + '"\n', encoding="utf-8")
    r = run_cli("check", spec, timeout=60)
    no_internal_error(r)
    assert r.returncode == 2 and "limit" in r.stderr and str(spec) in r.stderr


@linux_only
def test_contact_sheet_of_a_video_above_8k_does_not_decode_it(tmp_path: Path) -> None:
    """The sheet samples frames itself when the check did not (a cache hit, an error): the
    header check guards that path too, so the sheet says why and memory stays bounded."""
    video = tmp_path / "huge.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "color=c=green:s=8448x4480:d=0.08:r=25", "-c:v", "libx264", "-preset",
                    "ultrafast", "-frames:v", "2", "-pix_fmt", "yuv420p", str(video)],
                   check=True, timeout=120, capture_output=True)
    sheet = tmp_path / "sheet.png"
    measure = ("import sys\nfrom pathlib import Path\n"
               "from preflight.workflows.contact_sheet import write_contact_sheet\n"
               "write_contact_sheet(Path(sys.argv[2]), Path(sys.argv[1]))\n"
               "print(next(line.split()[1] for line in open('/proc/self/status')"
               " if line.startswith('VmHWM')))")
    peak = subprocess.run([sys.executable, "-c", measure, str(video), str(sheet)],
                          capture_output=True, text=True, timeout=60, check=True)
    assert sheet.is_file()
    assert int(peak.stdout.split()[-1]) < 110_000, peak.stdout  # KiB
