"""Open an HTML report in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
and save a PNG screenshot of it; the browser tests launch Chromium through `browser()` too.

    .venv/bin/python scripts/screenshot.py sample_media/out/report.html sample_media/out/report.png

Never downloads a browser: set PREFLIGHT_CHROMIUM to use another binary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Where Debian's `chromium` package puts the browser.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: Environment variable naming another Chromium binary.
CHROMIUM_ENV = "PREFLIGHT_CHROMIUM"
#: Quiet, offline, throw-away: no GPU, no QUIC, no first-run, update, sync or background traffic.
ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync")
VIEWPORT = {"width": 1280, "height": 900}


def find_chromium() -> str | None:
    """The Chromium binary to drive: $PREFLIGHT_CHROMIUM, /usr/bin/chromium, or chromium on
    PATH; None when there is none."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if os.access(env, os.X_OK) else None
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    return shutil.which("chromium")


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A launched headless Chromium (Playwright `Browser`); each `new_context()` starts from a
    fresh, empty profile.

    :raises RuntimeError: no Chromium binary found.
    """
    from playwright.sync_api import sync_playwright

    exe = find_chromium()
    if exe is None:
        raise RuntimeError(f"no Chromium found at {DEFAULT_CHROMIUM} (apt-get install -y "
                           f"chromium) or in ${CHROMIUM_ENV}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=list(ARGS), headless=True)
        try:
            yield b
        finally:
            b.close()


def screenshot(html: Path, png: Path, *, max_height: int | None = 2400,
               browser_: Any = None) -> Path:
    """Save a PNG of `html` as Chromium draws it: the full page, cut at `max_height` pixels
    (None: the whole page)."""
    if browser_ is None:
        with browser() as b:
            return screenshot(html, png, max_height=max_height, browser_=b)
    context = browser_.new_context(viewport=VIEWPORT, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(html.resolve().as_uri(), wait_until="load")
        height = page.evaluate("document.documentElement.scrollHeight")
        png.parent.mkdir(parents=True, exist_ok=True)
        if max_height is not None and height > max_height:
            page.screenshot(path=str(png), full_page=True,
                            clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                                  "height": max_height})
        else:
            page.screenshot(path=str(png), full_page=True)
    finally:
        context.close()
    return png


def main(argv: list[str] | None = None) -> int:
    """Command line: HTML in, PNG out."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--max-height", type=int, default=2400,
                    help="cut the full-page shot at this many pixels (0: whole page)")
    args = ap.parse_args(argv)
    if not args.html.is_file():
        print(f"screenshot: {args.html}: no such file", file=sys.stderr)
        return 2
    try:
        screenshot(args.html, args.png, max_height=args.max_height or None)
    except RuntimeError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 2
    print(f"screenshot written to {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
