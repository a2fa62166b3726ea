"""`check` reports the audio names `package` refuses: control characters, backslashes, and
names that collide once normalised (NFC/NFD) or case folded."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from preflight.errors import PackagingError
from preflight.packager.audiozip import plan_entries
from preflight.workflows.check import check
from tests.adversarial.conftest import bounded
from tests.helpers import assert_codes


def _spec(tmp: Path, names: list[str]) -> Path:
    for n in names:
        (tmp / n).write_bytes(b"RIFF" + b"\0" * 64)
    listed = ", ".join('"' + n.replace("\\", "\\\\").replace("\n", "\\n") + '"' for n in names)
    spec = tmp / "avatar.toml"
    spec.write_text(f'[job]\nname = "n"\naudio_source_type = "AUDIO"\n[media]\n'
                    f"audio = [{listed}]\n", encoding="utf-8")
    return spec


@pytest.mark.parametrize("names", [
    ["back\\slash.wav"],
    ["new\nline.wav"],
    [unicodedata.normalize("NFC", "café.wav"), unicodedata.normalize("NFD", "café.wav")],
    ["Voice.wav", "voice.WAV"],
])
def test_names_package_refuses_are_reported_by_check(tmp_path: Path, names: list[str]) -> None:
    spec = _spec(tmp_path, names)
    with pytest.raises(PackagingError):
        plan_entries([tmp_path / n for n in names])
    assert_codes(bounded(lambda: check(spec, cache=None)), expect=["PKG003"])


def test_distinct_plain_names_pass(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["one.wav", "two.wav"])
    plan_entries([tmp_path / "one.wav", tmp_path / "two.wav"])
    assert_codes(bounded(lambda: check(spec, cache=None)), absent=["PKG003"])
