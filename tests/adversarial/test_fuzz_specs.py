"""Fuzzing specs (nested, huge, non-UTF-8, odd numbers, odd paths) and media headers (random
truncation, bit flips, lying sizes): 0 internal errors, 0 hangs, 0 modified inputs."""

from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from preflight.errors import PreflightError
from preflight.workflows.check import check
from tests.adversarial.conftest import bounded, fingerprint
from tests.platform import posix_only

SPEC_CASES = 300
HEADER_CASES = 200


def _value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(12)
    if pick == 0 and depth < 40:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if pick == 1 and depth < 40:
        return {rng.choice(["name", "x", "voice", "é", ""]): _value(rng, depth + 1)}
    if pick == 2:
        return rng.choice([0, -1, 2**63, 10**rng.randrange(1, 400), 1e308, -0.0])
    if pick == 3:
        return rng.choice([True, False, None])
    if pick == 4:
        return "x" * rng.choice([0, 1, 70, 5000, 200_000])
    if pick == 5:
        return rng.choice(["\ud800", "a\x00b", "\u202e", "../../etc/passwd", "C:\\x", " "])
    return rng.choice(["AUDIO", "auto", "3", "standard", "flexus", "nan", "-5"])


_FIELDS = ["name", "video_multipart_count", "audio_source_type", "is_flexus",
           "is_background_replacement", "voice_name", "nmae", "batch_name", "model_version"]
_SLOTS = ["training_video", "action_video", "audio", "cover", "id_card_front",
          "grant_file", "covr"]


def _spec_text(rng: random.Random, tmp: Path, i: int) -> bytes:
    job = {rng.choice(_FIELDS): _value(rng) for _ in range(rng.randrange(1, 5))}
    media = {rng.choice(_SLOTS): rng.choice([
        "cover.jpg", "missing.mp4", ["a.wav", "a.wav"], "/dev/zero", "pipe.wav", "", 5,
        "x" * 5000, "c\x00.jpg", "\ud800.png", "dir", ["A.WAV", "a.wav"]])
        for _ in range(rng.randrange(3))}
    doc: dict[str, Any] = {"job": job, "media": media}
    if rng.random() < 0.1:
        doc[rng.choice(["accont", "account", "extra"])] = _value(rng)
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.2:
        d = rng.randrange(20, 3000)
        text = '{"job": {"name": ' + "[" * d + "1" + "]" * d + "}}"
    raw = text.encode("utf-8", "surrogatepass")
    mutate = rng.randrange(6)
    if mutate == 0:
        raw = raw[: rng.randrange(len(raw) + 1)]
    elif mutate == 1:
        raw = raw.replace(b"a", b"\xff", 1)  # not UTF-8
    return raw


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    (tmp_path / "a.wav").write_bytes(b"RIFF" + b"\0" * 100)
    (tmp_path / "A.WAV").write_bytes(b"RIFF" + b"\0" * 100)
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "dir").mkdir()
    return tmp_path


def _judge(run: Any) -> str:
    try:
        run()
    except PreflightError:
        return "clear error"
    return "report"


@posix_only
def test_fuzzed_specs_never_crash_hang_or_modify(media_dir: Path) -> None:
    rng = random.Random(1414)
    inputs = [p for p in media_dir.iterdir() if p.is_file()]
    before = fingerprint(inputs)
    outcomes: dict[str, int] = {}

    def run_all() -> None:
        for i in range(SPEC_CASES):
            spec = media_dir / f"s{i:03d}.{'json' if i % 3 else 'toml'}"
            raw = _spec_text(rng, media_dir, i)
            if spec.suffix == ".toml" and i % 2:
                raw = b"[job]\nname = " + raw[:200] + b"\n"
            spec.write_bytes(raw)
            verdict = _judge(lambda spec=spec: check(spec, cache=None))  # type: ignore[misc]
            outcomes[verdict] = outcomes.get(verdict, 0) + 1
            spec.unlink()

    bounded(run_all, 240)
    assert sum(outcomes.values()) == SPEC_CASES
    assert outcomes.get("clear error", 0) > 0 and outcomes.get("report", 0) > 0, outcomes
    assert fingerprint(inputs) == before


def _wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    frames = int(seconds * rate)
    data = b"".join(struct.pack("<h", (i * 37) % 20000 - 10000) for i in range(frames))
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 100, 50)).save(buf, "JPEG")
    return buf.getvalue()


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 100, 50)).save(buf, "PNG")
    return buf.getvalue()


def _lie(data: bytes, rng: random.Random) -> bytes:
    """Truncate, flip bits, or overwrite a size field with a huge or zero value."""
    buf = bytearray(data)
    how = rng.randrange(3)
    if how == 0:
        return bytes(buf[: rng.randrange(len(buf))])
    if how == 1:
        for _ in range(rng.randint(1, 12)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        return bytes(buf)
    pos = rng.randrange(0, min(len(buf) - 4, 64))
    buf[pos:pos + 4] = struct.pack(">I", rng.choice([0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
    return bytes(buf)


def test_fuzzed_media_headers_never_crash_hang_or_modify(tmp_path: Path) -> None:
    rng = random.Random(2626)
    seeds = [("a.wav", "audio", _wav()), ("c.jpg", "cover", _jpeg()), ("c.png", "cover", _png())]
    files = []
    for i in range(HEADER_CASES):
        name, slot, data = seeds[i % len(seeds)]
        p = tmp_path / f"{i:03d}-{name}"
        p.write_bytes(_lie(data, rng))
        files.append((p, slot))
    before = fingerprint([p for p, _ in files])

    def run_all() -> int:
        checked = 0
        for p, slot in files:
            report = check([p], slot=slot, cache=None)
            assert report.findings is not None
            checked += 1
        return checked

    assert bounded(run_all, 240) == HEADER_CASES
    assert fingerprint([p for p, _ in files]) == before
