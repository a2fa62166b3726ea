"""The live page in headless Chromium: a new take's verdict appears without a reload, with no
console or CSP error and no request beyond the page's own server; the --html page is one
self-contained file."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from preflight.rules.config import config_for
from preflight.workflows.watch import Watcher, WatchOptions
from preflight.workflows.watch_judge import Judge
from preflight.workflows.watch_page import Board
from tests.test_browser import SKIP_ENV, shot
from tests.watch.test_watch import CONFIG

#: A guard against a hang only, in milliseconds.
PATIENCE_MS = 120_000


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[tuple[Watcher, Board, str]]:
    (tmp_path / "preflight.toml").write_text(CONFIG, encoding="utf-8")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    out = tmp_path / "page.html"
    watcher = Watcher(shoot, Judge(config_for(None, shoot)),
                      WatchOptions(quiet=0.2, poll=True, poll_interval=0.2, outputs=(out,)))
    board = Board(watcher, out)
    server = board.serve(0)  # any free port: safe in parallel
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(board.update, stop), daemon=True)
    thread.start()
    try:
        yield watcher, board, server.url
    finally:
        stop.set()
        thread.join(timeout=60)
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    import os

    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: browser tests skipped on request")
    if shot.find_chromium() is None:
        pytest.fail(f"no Chromium at {shot.DEFAULT_CHROMIUM}")
    with shot.browser() as b:
        yield b


def test_a_new_verdict_appears_without_reload(browser: Any, watching: Any,
                                              media_factory: Any) -> None:
    watcher, board, url = watching
    # The first take lands whole (copied beside the folder, then renamed in, as a card reader
    # app does); the second is copied in while the page is open.
    staged = watcher.root.parent / "first.mp4"
    shutil.copy(media_factory.video(), staged)
    os.replace(staged, watcher.root / "first.mp4")
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    outside: list[str] = []
    page.route("**/*", lambda route: (outside.append(route.request.url), route.abort())
               if not route.request.url.startswith(url) else route.continue_())
    try:
        page.goto(url, wait_until="load")
        try:
            page.wait_for_selector("article.take .badge.ready, article.take .badge.notready",
                                   timeout=PATIENCE_MS)
        except Exception as exc:  # say what the watcher and the page had, then fail
            states = {k: (t.state, t.size) for k, t in watcher.takes.items()}
            raise AssertionError(f"no verdict on the page: takes {states}; page:\n"
                                 f"{page.inner_text('body')[:2000]}") from exc
        first = page.locator("article.take", has_text="first.mp4")
        assert first.locator(".badge.ready").count() == 1, first.inner_text()
        page.evaluate("() => { window.stayed = 'same document'; }")
        shutil.copy(media_factory.video(width=360, height=640), watcher.root / "second.mp4")
        card = page.locator("article.take", has_text="second.mp4")
        card.locator(".badge.notready").wait_for(timeout=PATIENCE_MS)
        assert page.evaluate("() => window.stayed") == "same document"  # no reload
        assert "VID006" in card.inner_text()
        assert card.locator("button.copy").count() >= 1
        titles = page.locator("article.take h2").all_inner_texts()
        assert titles[:2] == ["second.mp4", "first.mp4"]  # newest first
        frames = page.evaluate("""() => Array.from(document.images).map(
            i => i.complete && i.naturalWidth > 0)""")
        assert frames and all(frames)
        assert problems == [] and outside == []
    finally:
        context.close()
    html = board.html_out.read_text(encoding="utf-8") if board.html_out else ""
    assert "second.mp4" in html and "http://" not in html and "https://" not in html


def test_the_page_shows_the_job_as_it_stands(media_factory: Any, tmp_path: Path) -> None:
    shutil.copy(media_factory.image(), tmp_path / "id_front.jpg")
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "Day one"\n\n[media]\nid_card_front = "id_front.jpg"\n',
                    encoding="utf-8")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    watcher = Watcher(shoot, Judge(spec_path=spec))
    board = Board(watcher)
    for event in watcher.job_events():
        board.update(event)
    html = board.page(live=False)
    assert "would NOT pass" in html and "REQ034" in html
    assert '<td>ID card front (portrait side)</td><td class="filled">filled</td>' in html
    assert "connect-src 'none'" in unescape(html) and "EventSource" not in html
