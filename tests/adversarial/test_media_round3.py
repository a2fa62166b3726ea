"""Hostile media, round 3: a decompression bomb judged from its header within a memory budget
(one file, and a folder with the default ``--jobs``), a display matrix that is not a quarter
turn, an animated PNG and invalid EXIF orientations, a video whose name is not UTF-8, a PDF
whose pages sit in a compressed object stream, and a state store that cannot be opened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from preflight.inspect.image import inspect_pdf, load_reduced, page_tree_count
from preflight.workflows.check import check
from tests.adversarial.conftest import CLI, no_internal_error, run_cli
from tests.adversarial.hostile import tall_png
from tests.helpers import assert_codes

MB = 1024 * 1024


def peak_rss(*args: str | os.PathLike[str],
             cwd: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run `preflight ARGS` in a fresh process and return the peak resident memory (bytes)
    of that process alone (measured by a parent that has no other child)."""
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors='replace',"
             " stdin=subprocess.DEVNULL)\n"
             "sys.stderr.write(r.stderr); sys.stdout.write(r.stdout)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
             "sys.exit(r.returncode)\n")
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PREFLIGHT_SERIAL", None)
    r = subprocess.run([sys.executable, "-c", probe, *CLI, *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, errors="replace", timeout=300,
                       stdin=subprocess.DEVNULL)
    *rest, last = r.stderr.rstrip("\n").split("\n")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return int(last) * scale, subprocess.CompletedProcess(r.args, r.returncode, r.stdout,
                                                          "\n".join(rest))


def test_a_tall_png_bomb_is_judged_from_its_header(tmp_path: Path) -> None:
    bomb = tmp_path / "card.png"
    bomb.write_bytes(tall_png())
    assert bomb.stat().st_size < 200_000
    peak, r = peak_rss("check", bomb, "--slot", "id_card_front", "--no-cache", "--format",
                       "json", cwd=tmp_path)
    no_internal_error(r)
    assert peak < 500 * MB, f"peak {peak / MB:.0f} MB"
    found = json.loads(r.stdout)["findings"]
    assert any(f["code"] == "IMG002" and "1x79000000" in f["message"] for f in found), found
    assert r.returncode == 1
    page = tmp_path / "report.html"  # the page's thumbnail and size read no pixels either
    peak, r = peak_rss("check", bomb, "--slot", "id_card_front", "--format", "html", "-o",
                       page, cwd=tmp_path)
    no_internal_error(r)
    assert peak < 500 * MB and r.returncode == 1, f"peak {peak / MB:.0f} MB"
    assert "1x79000000" in page.read_text(encoding="utf-8")


def test_a_folder_of_bombs_stays_within_the_budget(tmp_path: Path) -> None:
    """Eight jobs (more than the default on most machines): bombs refused from the header,
    and large real images (each about 200 MB decoded) decoded a few at a time within the
    shared budget, presenter rules included."""
    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "bomb1.png").write_bytes(tall_png())
    for i in range(2, 5):
        shutil.copy(folder / "bomb1.png", folder / f"bomb{i}.png")
    (folder / "big1.png").write_bytes(tall_png(7000, 7000, colour=2))
    for i in range(2, 5):
        shutil.copy(folder / "big1.png", folder / f"big{i}.png")
    peak, r = peak_rss("check", folder, "--slot", "id_card_front", "--no-cache", "--jobs", "8",
                       cwd=tmp_path)
    no_internal_error(r)
    assert peak < 1024 * MB, f"peak {peak / MB:.0f} MB"
    assert r.stdout.count("IMG002") == 4 and "big1.png: IMG002" not in r.stdout, r.stdout


def test_load_reduced_keeps_the_aspect_and_the_colours(tmp_path: Path) -> None:
    p = tmp_path / "pal.png"
    Image.new("RGB", (3000, 1000), (200, 30, 40)).convert("P").save(p)
    small = load_reduced(p, 80_000_000, 1280)
    assert small.mode == "RGB" and max(small.size) <= 1280 and small.size[0] > 2 * small.size[1]
    r, g, b = small.getpixel((10, 10))
    assert r > 150 and g < 80 and b < 80


@pytest.mark.parametrize("rotation,tilted", [(45, True), (30, True), (90, False), (0, False)])
def test_a_display_matrix_that_is_not_a_quarter_turn(media_factory: object, rotation: int,
                                                     tilted: bool) -> None:
    video = media_factory.video(width=360, height=640, seconds=1.0,  # type: ignore[attr-defined]
                                rotation=rotation)
    report = check([video], slot="training_video", config=None, cache=None)
    quarter = [f for f in report.findings if f.code == "VID006" and "quarter" in f.message]
    assert bool(quarter) is tilted, [f.message for f in report.findings]
    if tilted:
        assert_codes(report, expect=["VID006"])
        assert str(360 - rotation) in quarter[0].message or str(rotation) in quarter[0].message


def _jpeg(path: Path, orientation: int | None) -> Path:
    img = Image.new("RGB", (1200, 800), (120, 130, 140))
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(path, "JPEG", exif=exif.tobytes())
    return path


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_invalid_exif_orientations_are_flagged(tmp_path: Path, value: int) -> None:
    report = check([_jpeg(tmp_path / "card.jpg", value)], slot="id_card_front", cache=None)
    assert_codes(report, expect=["IMG005"])
    assert any("invalid EXIF orientation" in f.message and str(value) in f.message
               for f in report.findings)


@pytest.mark.parametrize("value", [None, 1])
def test_an_upright_or_untagged_photo_is_not_flagged(tmp_path: Path, value: int | None) -> None:
    report = check([_jpeg(tmp_path / "card.jpg", value)], slot="id_card_front", cache=None)
    assert_codes(report, absent=["IMG005"])


def test_an_animated_png_is_not_an_id_card(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (1200, 800), c) for c in ((10, 20, 30), (200, 100, 50))]
    apng = tmp_path / "card.png"
    frames[0].save(apng, "PNG", save_all=True, append_images=frames[1:])
    report = check([apng], slot="id_card_front", cache=None)
    assert_codes(report, expect=["IMG003"])
    still = tmp_path / "still.png"
    frames[0].save(still, "PNG")
    assert_codes(check([still], slot="id_card_front", cache=None), absent=["IMG003"])


def test_a_video_named_with_an_invalid_byte_is_read(media_factory: object,
                                                    tmp_path: Path) -> None:
    name = os.fsdecode(b"\xff take.mp4")
    shutil.copy(media_factory.video(width=360, height=640, seconds=1.0),  # type: ignore[attr-defined]
                tmp_path / name)
    report = check([tmp_path / name], slot="training_video", cache=None)
    assert_codes(report, absent=["VID002"])
    r = run_cli("check", name, "--slot", "training_video", "--no-cache", "--format", "json",
                cwd=tmp_path)
    no_internal_error(r)
    assert "VID002" not in r.stdout


def objstm_pdf(pages: int = 2) -> bytes:
    """A PDF 1.5 whose catalog, page tree and pages sit in a compressed object stream,
    found through a cross-reference stream: no ``/Type /Page`` in the raw bytes."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    body, offsets = b"", []
    for o in objs:
        offsets.append(len(body))
        body += o + b"\n"
    header = " ".join(f"{i + 1} {off}" for i, off in enumerate(offsets)).encode() + b"\n"
    data = zlib.compress(header + body)
    stm = len(objs) + 1
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    stm_at = len(out)
    out += (f"{stm} 0 obj\n<< /Type /ObjStm /N {len(objs)} /First {len(header)} /Length "
            f"{len(data)} /Filter /FlateDecode >>\nstream\n").encode()
    out += data + b"\nendstream\nendobj\n"
    xref = stm + 1
    rows = [b"\x00\x00\x00\xff"]  # object 0: free
    rows += [b"\x02" + stm.to_bytes(2, "big") + bytes([i]) for i in range(len(objs))]
    xref_at = len(out)
    rows += [b"\x01" + stm_at.to_bytes(2, "big") + b"\x00", b"\x01" + xref_at.to_bytes(2, "big")
             + b"\x00"]
    table = zlib.compress(b"".join(rows))
    out += (f"{xref} 0 obj\n<< /Type /XRef /Size {xref + 1} /W [1 2 1] /Root 1 0 R /Length "
            f"{len(table)} /Filter /FlateDecode >>\nstream\n").encode() + table
    out += f"\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return out


def test_pages_in_a_compressed_object_stream_are_counted(tmp_path: Path) -> None:
    data = objstm_pdf(3)
    assert b"/Type /Page " not in data and b"/Type /Page\n" not in data
    assert page_tree_count(data) == 3
    letter = tmp_path / "grant.pdf"
    letter.write_bytes(data)
    assert inspect_pdf(letter).pages == 3
    assert_codes(check([letter], slot="grant_file", cache=None), absent=["IMG002"])


def test_a_pdf_with_an_empty_page_tree_still_has_no_pages(tmp_path: Path) -> None:
    data = objstm_pdf(0)
    letter = tmp_path / "grant.pdf"
    letter.write_bytes(data)
    report = check([letter], slot="grant_file", cache=None)
    assert_codes(report, expect=["IMG002"])
    assert any("no pages" in f.message for f in report.findings)


def test_a_state_store_that_cannot_be_opened_is_a_local_failure(tmp_path: Path) -> None:
    from preflight.errors import SetupError
    from preflight.submitter.state import StateStore

    bad = tmp_path / "state.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SetupError, match="cannot open the state store"):
        StateStore(bad)
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")
    with pytest.raises(SetupError, match="cannot open the state store"):
        StateStore(blocked / "sub" / "state.sqlite3")


def test_status_with_a_damaged_state_store_exits_2(tmp_path: Path) -> None:
    (tmp_path / "avatar.toml").write_text('[job]\nname = "x"\n[media]\n'
                                          'training_video = "t.mp4"\n', encoding="utf-8")
    (tmp_path / "state").mkdir()
    store = tmp_path / "state" / "preflight-state.sqlite"
    store.write_bytes(b"not a database " * 400)
    before = store.read_bytes()
    r = run_cli("status", "avatar.toml", "--state-dir", "state", cwd=tmp_path)
    no_internal_error(r)
    assert r.returncode == 2 and "cannot open the state store" in r.stderr, r.stderr
    assert store.read_bytes() == before
