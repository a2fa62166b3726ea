"""Names that are not UTF-8 or hold control characters: every report format stays valid
(strict JSON on the raw bytes, well-formed XML), text never passes an escape sequence to the
terminal, and a newline in a name cannot forge a report line or a GitHub command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from preflight.model import Finding, Report, Severity
from preflight.report import RenderOptions, render
from tests.adversarial.conftest import no_internal_error, run_cli
from tests.adversarial.hostile import validate

#: (name as bytes, what it tries)
HOSTILE = [
    (b"\xff\xfe.jpg", "bytes that are not UTF-8"),
    (b"osc52\x1b]52;c;aGVsbG8=\x07.jpg", "set the clipboard"),
    (b"bell\x07esc\x1b[2J.jpg", "ring and clear the screen"),
    (b"x.jpg: IMG999 forged [error] pwned\nreal.jpg", "forge a text line"),
    (b"a\n::error file=x::forged.jpg", "forge a GitHub command"),
    (b"cr\roverwrite.jpg", "overwrite a line"),
    (b"\xe2\x80\xaeevil.jpg", "reorder the text (bidi override)"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """One small (IMG006-failing) ID-card-like image under each hostile name."""
    root = tmp_path / "in"
    root.mkdir()
    sample = tmp_path / "sample.jpg"
    Image.new("RGB", (300, 200), (120, 90, 60)).save(sample, "JPEG")
    for raw, _ in HOSTILE:
        shutil.copy(sample, os.fsdecode(os.fsencode(root) + b"/" + raw))
    return root


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "text"])
def test_every_format_stays_valid(folder: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"r.{fmt}"
    r = run_cli("check", folder, "--slot", "id_card_front", "--select", "IMG", "--no-cache",
                "--format", fmt, "-o", out, cwd=tmp_path)
    no_internal_error(r)
    assert r.returncode == 0, r.stderr  # IMG006 warns
    raw = out.read_bytes()
    parsed = validate(fmt, raw)
    text = raw.decode("utf-8")
    if fmt == "json":  # JSON escapes control characters itself; bytes become \xff
        paths = [f["path"] for f in parsed["findings"]]
        assert any(p.endswith("\\xff\\xfe.jpg") for p in paths), paths
        assert any("\x1b]52" in p for p in paths), paths
    elif fmt == "sarif":  # locations are URIs: every byte of the name percent-encoded
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in parsed["runs"][0]["results"]]
        assert any(u.endswith("/%FF%FE.jpg") for u in uris), uris
        assert any("%1B%5D52" in u for u in uris), uris
    else:
        assert "\\xff\\xfe.jpg" in text and "\\x1b]52" in text
    if fmt == "text":
        lines = text.splitlines()
        assert not [x for x in lines if x.startswith(("real.jpg", "x.jpg: IMG999"))]
        assert sum(": IMG006 " in x for x in lines) == len(HOSTILE)
    if fmt == "github":
        commands = [x for x in text.splitlines() if x.startswith("::")]
        assert len(commands) == sum(1 for x in commands if "IMG006" in x) == len(HOSTILE)
        assert not any(x.startswith("::error file=x") for x in commands)


def test_text_to_standard_output_carries_no_escape(folder: Path, tmp_path: Path) -> None:
    r = run_cli("check", folder, "--slot", "id_card_front", "--no-cache", cwd=tmp_path)
    no_internal_error(r)
    for stream in (r.stdout, r.stderr):
        validate("text", stream.encode("utf-8"))


def test_formatters_on_a_hostile_finding() -> None:
    """The formatters alone, on a finding whose path and message carry every hazard."""
    name = os.fsdecode(b"/w/\xff\x1b]52;c;x\x07\n::error::forged\x85\xe2\x80\xae.mp4")
    f = Finding("VID002", "video-parse", Severity.ERROR, f"training_video {name} is bad",
                "\u00a73.1", path=name, fix=f"preflight fix {name}")
    report = Report.build("standard", [f], files=[name])
    for fmt in ("json", "sarif", "junit", "github", "text"):
        out = render(report, fmt, RenderOptions(root="/w"))
        validate(fmt, out.encode("utf-8"))
        assert "\x1b" not in out and "\x07" not in out
