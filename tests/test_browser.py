"""The HTML report in a real browser: headless Chromium (Debian's package) driven by Playwright.

One browser for the module. Without Chromium these tests FAIL (CI installs it: .ci/run and the
Makefile); they are skipped only when PREFLIGHT_SKIP_BROWSER=1 says so explicitly.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SKIP_ENV = "PREFLIGHT_SKIP_BROWSER"
HOSTILE_DIR, HOSTILE_FILE = "<script>alert(1)<", "script>.mp4"  # "/" cannot be in a name
HOSTILE = f"{HOSTILE_DIR}/{HOSTILE_FILE}"
HOSTILE_IMG = "<img src=x onerror=alert(2)>.mp4"


def _screenshot_module() -> Any:
    spec = importlib.util.spec_from_file_location("preflight_screenshot",
                                                  ROOT / "scripts" / "screenshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shot = _screenshot_module()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: browser tests skipped on request")
    if shot.find_chromium() is None:
        if sys.platform != "linux":  # Linux (and its CI) must have one: a miss fails there
            pytest.skip(f"no Chromium on {sys.platform}: set {shot.CHROMIUM_ENV} to Chrome, "
                        "Chromium or Edge to run the browser tests")
        pytest.fail(f"no Chromium at {shot.DEFAULT_CHROMIUM}: apt-get install -y chromium "
                    f"(or set {SKIP_ENV}=1 to skip the browser tests explicitly)")
    with shot.browser() as b:
        yield b


@pytest.fixture(scope="module")
def report(media_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder report: a spec (small green take, ID card, cover), and hostile file names."""
    root = tmp_path_factory.mktemp("browser")
    shoot = root / "shoot"
    (shoot / HOSTILE_DIR).mkdir(parents=True)
    video = media_factory.video(width=360, height=640)
    shutil.copy(video, shoot / "take.mp4")
    shutil.copy(video, shoot / HOSTILE)
    shutil.copy(video, shoot / HOSTILE_IMG)
    shutil.copy(media_factory.image(), shoot / "id_front.jpg")
    shutil.copy(media_factory.image(width=600, height=400), shoot / "cover.jpg")
    (shoot / "avatar.toml").write_text(
        '[job]\nname = "Browser test"\nis_backgroud_replacement = true\n\n'
        '[media]\ntraining_video = "take.mp4"\nid_card_front = "id_front.jpg"\n'
        'cover = "cover.jpg"\n', encoding="utf-8")
    out = root / "report.html"
    old = Path.cwd()
    os.chdir(root)
    try:
        res = CliRunner().invoke(cli, ["check", "shoot", "--format", "html", "-o", str(out),
                                       "--exit-zero"])
    finally:
        os.chdir(old)
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def page(browser: Any, report: Path) -> Iterator[Any]:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    pg.problems = []  # console errors, page errors and dialogs seen
    pg.on("console", lambda m: pg.problems.append(f"console: {m.text}")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))

    def dialog(d: Any) -> None:
        pg.problems.append(f"dialog: {d.message}")
        d.dismiss()

    pg.on("dialog", dialog)
    pg.goto(report.as_uri(), wait_until="load")
    try:
        yield pg
    finally:
        context.close()


def test_loads_without_errors_and_every_image_decodes(page: Any) -> None:
    images = page.evaluate("""() => Array.from(document.images).map(
        i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth}))""")
    assert len(images) >= 3 * 8 + 2  # the frames of three videos, ID card and cover
    broken = [i["alt"] for i in images if not i["complete"] or i["w"] == 0]
    assert not broken, broken
    assert page.problems == []


def test_copy_button_puts_the_command_on_the_clipboard(page: Any) -> None:
    button = page.locator("button.copy").first
    expected = page.locator(f"#{button.get_attribute('data-copy')}").text_content()
    assert expected and expected.startswith(("preflight fix ", "ffmpeg "))
    button.click()
    page.wait_for_function("() => document.querySelector('button.copy').textContent"
                           " === 'Copied'")
    assert page.evaluate("() => navigator.clipboard.readText()") == expected
    assert page.problems == []


def test_hostile_file_names_render_as_text(page: Any) -> None:
    injected = page.evaluate("""() => ({
        scripts: document.scripts.length,
        imgs: document.querySelectorAll('img[src="x"], img:not([src^="data:image/"])').length,
        onerror: document.querySelectorAll('[onerror]').length})""")
    assert injected == {"scripts": 1, "imgs": 0, "onerror": 0}
    text = page.inner_text("body")
    assert "shoot/<script>alert(1)</script>.mp4" in text
    assert HOSTILE_IMG in text
    assert page.problems == []


def test_summary_links_and_rule_links_resolve(page: Any) -> None:
    missing = page.evaluate("""() => Array.from(document.querySelectorAll('a[href^="#"]'))
        .map(a => a.getAttribute('href').slice(1))
        .filter(id => !document.getElementById(id))""")
    assert missing == []
    rows = page.locator(".summary-table tbody tr").count()
    assert rows == 1 + 3 + 2  # the job body, its three files, two loose videos


def test_legend_colours_and_rule_markdown_survive_the_security_policy(page: Any) -> None:
    from preflight.report.html import MASK_COLOUR

    swatch = page.locator(".legend .sw").first
    colour = swatch.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == f"rgb{MASK_COLOUR}"  # the inline style is applied, not blocked
    code = page.locator(".rules .rule-doc code, .rules .facts-list code").first
    assert code.is_visible()
    assert "mono" in code.evaluate("e => getComputedStyle(e).fontFamily").lower()
    assert "Background: " in page.locator(".card .background").first.inner_text()
    assert page.problems == []


def test_screenshot_script_draws_the_report(browser: Any, report: Path, tmp_path: Path) -> None:
    from PIL import Image

    png = shot.screenshot(report, tmp_path / "r.png", max_height=1600, browser_=browser)
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size == (shot.VIEWPORT["width"], 1600)
        colours = img.convert("RGB").getcolors(1 << 20)
        assert colours is not None and len(colours) > 500  # drawn, not a blank page
