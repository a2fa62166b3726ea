"""The README's library example runs as written (check a folder, filter errors, decide)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"<!-- library-example -->\s*```python\n(.*?)```\s*<!-- /library-example -->",
                   re.S)

#: The example as the README shows it (used until the README carries the marked block).
SNIPPET = '''\
import preflight

report = preflight.check("footage/")  # every avatar.toml and media file in the folder
errors = [f for f in report.findings if f.severity is preflight.Severity.ERROR]
for f in errors:
    print(f"{f.path}: {f.code} {f.name}: {f.message}")
if errors:
    raise SystemExit(f"{len(errors)} problem(s) to fix before submitting")
print(f"ready: {len(report.files)} files checked, {len(report.warnings)} warnings")
'''


def example() -> str:
    """The marked README block, else the copy above."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    match = BLOCK.search(text)
    return match.group(1) if match else SNIPPET


def test_example_is_short() -> None:
    assert len(example().strip().splitlines()) <= 10


def test_example_refuses_a_folder_with_errors_and_passes_a_clean_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    footage = tmp_path / "footage"
    footage.mkdir()
    Image.new("RGB", (1200, 800), "gray").save(footage / "cover.png")
    (footage / "take1.mp4").write_bytes(b"")
    code = compile(example(), "README.md", "exec")
    with pytest.raises(SystemExit, match=r"\d+ problem\(s\) to fix"):
        exec(code, {"__name__": "__main__"})
    assert "take1.mp4: VID001 video-file-readable" in capsys.readouterr().out

    (footage / "take1.mp4").unlink()
    exec(code, {"__name__": "__main__"})
    assert capsys.readouterr().out.startswith("ready: 1 files checked")


SUBMIT_DOC = README.parent / "docs" / "submitting.md"
SUBMIT_BLOCK = re.compile(
    r"<!-- library-example-submit -->\s*```python\n(.*?)```\s*<!-- /library-example-submit -->",
    re.S)


def test_submit_example_runs_as_written_in_a_fresh_process(media_factory: Any,
                                                             tmp_path: Path) -> None:
    """In a new interpreter (nothing imported before, as a user runs it): the sandbox, submit
    and status calls of docs/submitting.md work as shown."""
    match = SUBMIT_BLOCK.search(SUBMIT_DOC.read_text(encoding="utf-8"))
    assert match, "docs/submitting.md lacks the <!-- library-example-submit --> block"
    video = media_factory.video(width=1080, height=1920, seconds=185)
    (tmp_path / "take.mp4").symlink_to(video)
    card, letter = media_factory.image(), media_factory.pdf()  # the review needs documents
    (tmp_path / "avatar.toml").write_text(
        '[job]\nname = "readme"\naudio_source_type = "VIDEO"\n'
        f'[media]\ntraining_video = "take.mp4"\nid_card_front = "{card}"\n'
        f'id_card_back = "{card}"\ngrant_file = "{letter}"\n', encoding="utf-8")
    # The generated presenter is a drawn figure without a real face.
    (tmp_path / "preflight.toml").write_text('ignore = ["PRS"]\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD")}
    env["PYTHONPATH"] = str(README.parent)
    done = subprocess.run([sys.executable, "-c", match.group(1)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    job_id, state, states = done.stdout.strip().split(" ", 2)
    assert len(job_id) == 32 and state == "JOB_SUCCESS" and states == "['JOB_SUCCESS']"
