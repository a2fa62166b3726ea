"""Regenerate the generated documentation: docs/rules.md (every rule) and docs/constraints.md
(the documented facts the rules rely on) from the rule registry; with `--images`, the pictures
in docs/images/ from the demo's sample (run `sample_media/generate.py` first), drawn by the
same commands `make demo` runs, so they show what the demo prints. `--check` changes nothing
and exits 1 when a text file is stale (the test suite checks both are current)."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from preflight.rules.catalog import constraints_doc, rules_doc

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IMAGES = DOCS / "images"
#: The README picture: the top of the broken sample's HTML report, at this width.
REPORT_WIDTH, REPORT_CUT = 960, 1680
GENERATED: dict[str, Callable[[], str]] = {"rules.md": rules_doc,
                                           "constraints.md": constraints_doc}


def _preflight(*args: str, expect: int) -> None:
    """Run the command line as the demo does (from the top of the repository)."""
    cmd = [sys.executable, "-m", "preflight.cli", *args]
    rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=False).returncode
    if rc != expect:
        raise SystemExit(f"preflight {' '.join(args)}: exit {rc}, expected {expect}")


def images() -> None:
    """docs/images/: the contact sheets of the good and the broken sample and the top of the
    broken sample's HTML report (headless Chromium, scaled to `REPORT_WIDTH`)."""
    from PIL import Image

    if not (ROOT / "sample_media" / "media").is_dir():
        raise SystemExit("no sample media: run `python sample_media/generate.py` first")
    _preflight("check", "sample_media/avatar.toml", "--contact-sheet",
               str(IMAGES / "contact-sheet-example.png"), expect=0)
    _preflight("check", "sample_media/broken.toml", "-q", "--contact-sheet",
               str(IMAGES / "contact-sheet-broken-example.png"), expect=1)
    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
    assert spec is not None and spec.loader is not None
    shot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shot)
    with tempfile.TemporaryDirectory() as tmp:
        html, png = Path(tmp) / "report.html", Path(tmp) / "report.png"
        _preflight("check", "sample_media/broken.toml", "--format", "html", "-o", str(html),
                   expect=1)
        shot.screenshot(html, png, max_height=REPORT_CUT)
        with Image.open(png) as img:
            scaled = img.resize((REPORT_WIDTH, round(img.height * REPORT_WIDTH / img.width)),
                                Image.Resampling.LANCZOS)
        scaled.save(IMAGES / "report.png", optimize=True)
    print("docs/images written")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="report stale files, write none")
    parser.add_argument("--images", action="store_true",
                        help="also redraw docs/images/ from the sample media")
    args = parser.parse_args(argv)
    stale = 0
    for name, render in GENERATED.items():
        path = DOCS / name
        text = render()
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        stale += 1
        if args.check:
            print(f"docs/{name} is stale: run `make docs`", file=sys.stderr)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"docs/{name} written")
    if args.images and not args.check:
        images()
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
