"""The page of a watched folder: takes newest first, live over server-sent events
(``--serve``, loopback only) or rewritten as one self-contained file (``--html``).

The `Board` keeps what the page shows (a copy of each take, pictures for the newest few only)
and a short log of what changed; the server renders the page, and sends each change as the
take's HTML fragment, which the page's script puts on top of the list. No external asset, no
inline handler: the scripts are allowed by their hashes (the HTML report's CSP discipline).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from preflight._version import __version__
from preflight.errors import PreflightError
from preflight.report.html import SCRIPT, script_hash
from preflight.workflows.watch import Take, Watcher, WatchEvent
from preflight.workflows.watch_judge import JobState

#: Changes remembered for a page that reconnects (older: the page fetches the whole list).
LOG_SIZE = 1000
#: Seconds between two keep-alive comments on an idle event stream.
KEEPALIVE = 15.0

LIVE_SCRIPT = """\
(function () {
  var list = document.getElementById("takes");
  function put(html, id) {
    var old = document.getElementById(id);
    if (old) { old.remove(); }
    if (!html) { return; }
    var t = document.createElement("template");
    t.innerHTML = html;
    list.insertBefore(t.content, list.firstChild);
  }
  function ages() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var s = Math.max(0, Math.round(now - Number(el.getAttribute("data-since"))));
      el.textContent = "copying\\u2026 for " + (s < 120 ? s + " s" : Math.round(s / 60) + " min");
    });
  }
  setInterval(ages, 1000);
  var src = new EventSource("events?since=" + list.getAttribute("data-seq"));
  src.addEventListener("take", function (e) {
    var d = JSON.parse(e.data);
    put(d.html, d.id);
    document.getElementById("counts").textContent = d.counts;
    ages();
  });
  src.addEventListener("job", function (e) {
    document.getElementById("job").innerHTML = JSON.parse(e.data).html;
  });
  src.addEventListener("reset", function () {
    fetch("list").then(function (r) { return r.text(); }).then(function (html) {
      list.innerHTML = html;
    });
  });
})();
"""


def take_id(key: str) -> str:
    """The element id of a take (stable for its path)."""
    return "t-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def take_context(take: Take, now: float | None = None) -> dict[str, Any]:
    """What the take template shows of one take."""
    v = take.verdict if take.state == "judged" else None
    age = int(take.age(now))
    ctx: dict[str, Any] = {
        "id": take_id(str(take.path)), "shown": take.shown, "copying": v is None,
        "since": f"{take.seen_at:.0f}", "age": f"copying… for {age} s",
        "cls": "copying", "word": "COPYING…", "at": "", "cached": False, "error": None,
        "files": [], "findings": [], "commands": [],
    }
    if v is None:
        return ctx
    ctx.update(cls="ready" if v.ready else "notready", word=v.word, at=_clock(v.at),
               cached=v.cached, error=v.error, commands=list(v.commands),
               findings=[{"code": f.code, "message": f.message, "severity": f.severity.value}
                         for f in v.findings],
               files=[{"summary": list(fv.summary), "pictures": list(fv.pictures)}
                      for fv in (v.view.files if v.view is not None else ())])
    return ctx


def job_context(job: JobState) -> dict[str, Any]:
    """What the job panel shows."""
    from preflight.metastudio import SLOTS

    v = job.verdict
    return {"title": job.title, "cls": "ready" if v.ready else "notready",
            "word": "would pass" if v.ready else "would NOT pass", "error": v.error,
            "slots": [{"label": SLOTS[name].label, "filled": filled}
                      for name, _label, filled in job.slots],
            "findings": [{"code": f.code, "message": f.message,
                          "severity": f.severity.value} for f in v.findings]}


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("preflight.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def csp(live: bool) -> str:
    """The page's Content-Security-Policy: its own scripts by hash, pictures as data URIs,
    and (live) event streams from the same origin only."""
    scripts = " ".join([script_hash(SCRIPT)] + ([script_hash(LIVE_SCRIPT)] if live else []))
    connect = "'self'" if live else "'none'"
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src {scripts}; connect-src {connect}; base-uri 'none'; form-action 'none'")


@dataclass
class _Entry:
    seq: int
    kind: str
    key: str


class Board:
    """What the page shows, updated from the watcher's events (thread-safe)."""

    def __init__(self, watcher: Watcher, html_out: Path | None = None):
        self.watcher, self.html_out = watcher, html_out
        self.title = f"Takes in {watcher.root.name or watcher.root}"
        self.takes: dict[str, Take] = {}
        self.job: JobState | None = None
        self.seq = 0
        self.log: deque[_Entry] = deque(maxlen=LOG_SIZE)
        self.changed = threading.Condition()
        self.closed = False
        self.env = _environment()

    def update(self, event: WatchEvent) -> None:
        """Take in one event; rewrite the ``--html`` file after a verdict or a removal."""
        with self.changed:
            if event.kind == "job":
                self.job = event.job
                key = ""
            elif event.kind == "gone":
                key = event.key
                self.takes.pop(key, None)
            else:
                assert event.take is not None
                key = str(event.take.path)
                self.takes[key] = replace(event.take)
                self._trim()
            self.seq += 1
            self.log.append(_Entry(self.seq, "job" if event.kind == "job" else "take", key))
            self.changed.notify_all()
        if self.html_out is not None and event.kind in ("verdict", "gone", "job"):
            self.write(self.html_out)

    def _trim(self) -> None:
        judged = sorted((t for t in self.takes.values() if t.verdict is not None),
                        key=lambda t: t.seq, reverse=True)
        for t in judged[self.watcher.options.keep_views:]:
            if t.verdict is not None and t.verdict.view is not None:
                t.verdict = t.verdict.without_view()

    def ordered(self) -> list[Take]:
        """Takes newest first (those still copying on top)."""
        return sorted(self.takes.values(),
                      key=lambda t: (t.state == "judged", -t.seq if t.verdict else -t.seen_at))

    def counts(self) -> str:
        """The count line at the top of the page."""
        c = {"ready": 0, "not": 0, "copying": 0}
        for t in self.takes.values():
            c["copying" if t.state != "judged" else
              "ready" if t.verdict is not None and t.verdict.ready else "not"] += 1
        return f"{c['ready']} READY · {c['not']} NOT READY · {c['copying']} copying"

    def page(self, live: bool) -> str:
        """The whole page (live: with the event-stream script)."""
        with self.changed:
            takes, job, seq, counts = self.ordered(), self.job, self.seq, self.counts()
        now = time.time()
        return str(self.env.get_template("watch.html.j2").render(
            title=self.title, version=__version__, live=live, csp=csp(live), counts=counts,
            written=_clock(now), seq=seq, job=job_context(job) if job else None,
            takes=[take_context(t, now) for t in takes], script=SCRIPT,
            live_script=LIVE_SCRIPT))

    def fragment(self, key: str) -> str:
        """One take's HTML ("" when it left the list)."""
        take = self.takes.get(key)
        if take is None:
            return ""
        return str(self.env.get_template("watch_take.html.j2").render(t=take_context(take)))

    def listing(self) -> str:
        """Every take's HTML, newest first."""
        with self.changed:
            return "".join(self.fragment(str(t.path)) for t in self.ordered())

    def write(self, out: Path) -> None:
        """Rewrite the self-contained page at `out` atomically.

        :raises PreflightError: it cannot be written.
        """
        from preflight.safeio import write_output

        with self.changed:
            inputs = [t.path for t in self.takes.values()]
        try:
            write_output(out, self.page(live=False).encode("utf-8", "surrogateescape"), inputs)
        except OSError as exc:
            raise PreflightError(f"cannot write the page to {out}: {exc.strerror or exc}") \
                from None

    def stream(self, since: int) -> Iterator[str]:
        """Server-sent events after change `since`, until the board closes."""
        last = since
        while True:
            with self.changed:
                if self.closed:
                    return
                entries = [e for e in self.log if e.seq > last]
                if not entries:
                    self.changed.wait(KEEPALIVE)
                    if self.closed:
                        return
                    entries = [e for e in self.log if e.seq > last]
                if self.log and last < self.log[0].seq - 1:
                    last = self.seq
                    yield f"id: {last}\nevent: reset\ndata: {{}}\n\n"
                    continue
                out = []
                for e in entries:
                    last = e.seq
                    if e.kind == "job":
                        html = "" if self.job is None else str(self.env.get_template(
                            "watch_job.html.j2").render(job=job_context(self.job)))
                        out.append(f"id: {e.seq}\nevent: job\ndata: "
                                   f"{json.dumps({'html': html})}\n\n")
                    else:
                        data = {"id": take_id(e.key), "html": self.fragment(e.key),
                                "counts": self.counts()}
                        out.append(f"id: {e.seq}\nevent: take\ndata: {json.dumps(data)}\n\n")
            yield "".join(out) if out else ": keep-alive\n\n"

    def close(self) -> None:
        """End every event stream."""
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def serve(self, port: int) -> LiveServer:
        """Start the live page on 127.0.0.1:`port` (0: any free port).

        :raises PreflightError: the port cannot be opened.
        """
        try:
            server = _Server(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise PreflightError(f"cannot serve the live page on 127.0.0.1:{port}: "
                                 f"{exc.strerror or exc} (try --port 0)") from None
        server.board = self
        thread = threading.Thread(target=server.serve_forever, name="preflight-watch-page",
                                  daemon=True)
        thread.start()
        return LiveServer(server, thread, self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    board: Board


@dataclass
class LiveServer:
    """The running live page."""

    server: _Server
    thread: threading.Thread
    board: Board

    @property
    def url(self) -> str:
        """Where the page is."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        """Stop serving (open event streams end)."""
        self.board.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: only the command prints."""

    def _send(self, body: bytes, ctype: str, live: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", csp(live))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """The page, the list of takes, or the event stream."""
        board = self.server.board
        url = urlsplit(self.path)
        if url.path == "/":
            self._send(board.page(live=True).encode("utf-8", "surrogateescape"),
                       "text/html; charset=utf-8")
        elif url.path == "/list":
            self._send(board.listing().encode("utf-8", "surrogateescape"),
                       "text/html; charset=utf-8")
        elif url.path == "/events":
            since = self.headers.get("Last-Event-ID") or parse_qs(url.query).get("since", ["0"])[0]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for chunk in board.stream(int(since) if since.isdigit() else 0):
                    self.wfile.write(chunk.encode("utf-8", "surrogateescape"))
                    self.wfile.flush()
            except OSError:
                return  # the page went away
        else:
            self.send_error(404)
