"""A self-contained HTML report for the whole crew: one file, inline CSS, pictures as data URIs,
no network, a few lines of plain JavaScript for the copy buttons.

Per job: a verdict banner, the job body with the fields the rules flagged, then one card per
uploaded file with its findings by severity, the fix of each (with a copy button), and its
pictures (the sampled frames with the green mask, ID-card thumbnails) when the workflow
gathered them (`JobView`). Every rule code links to its explanation inside the report and to
its official page. Rendered with Jinja2, autoescape on: file names and spec values are user
input and appear as text, never as markup; a Content-Security-Policy allows only the report's
own script (by hash) and ``data:`` images.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from preflight.model import Finding, Report, RuleInfo, Severity
from preflight.report import RenderOptions, relative_path

_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)
_FIELD_RE = re.compile(r"\bjob\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
#: Longest spec value shown in full in the body table.
MAX_VALUE_CHARS = 400

#: The copy buttons: the Clipboard API, else a selection and ``execCommand("copy")``.
SCRIPT = """\
document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) { return; }
  var src = document.getElementById(b.getAttribute("data-copy"));
  var text = src.textContent;
  function done(ok) {
    b.textContent = ok ? "Copied" : "Select and copy";
    setTimeout(function () { b.textContent = "Copy"; }, 1600);
  }
  function fallback() {
    var r = document.createRange();
    r.selectNodeContents(src);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else {
    fallback();
  }
});
"""


@dataclass(frozen=True)
class Picture:
    """One image of a file card: a ``data:image/...`` URI plus what to print under it."""

    src: str
    alt: str
    width: int
    height: int
    caption: str = ""
    detail: str = ""
    #: green | blue | partial | none for a video frame (colours the caption); "" otherwise.
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.src.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")):
            raise ValueError("a report picture must be a PNG or JPEG data URI")


#: Colours drawn over the sampled frames (RGB), shared with the contact sheet so the legend
#: matches the pictures. The mask is magenta, the colour opposite green, so what the check
#: counted as green screen never looks like the screen itself.
MASK_COLOUR = (255, 0, 200)
SUBJECT_COLOUR = (255, 230, 0)
FACE_COLOUR = (0, 230, 255)
RING_COLOUR = (160, 160, 160)
COMPARED_COLOUR = (255, 255, 255)

#: A frame's background in plain words (the caption under each sampled frame).
KIND_WORDS: Mapping[str, str] = {"green": "green", "partial": "part green", "blue": "blue",
                                 "none": "no green"}
#: The legend of the frame captions, one entry per kind.
KIND_LEGEND: Mapping[str, str] = {
    "green": "the edges of the picture are green all round",
    "partial": "green at some edges only (a screen too narrow, or badly framed)",
    "blue": "the edges are blue",
    "none": "little or no green at the edges (a room, a wall, a real scene)",
}
#: What a whole video's background is, in a sentence.
KIND_PHRASE = {"green": "a green screen", "partial": "a partly green border",
                "blue": "a blue screen", "none": "no green screen"}


@dataclass(frozen=True)
class Background:
    """What the sampled frames of a video show behind the presenter, and whether the
    green-screen rules judge it."""

    #: green | blue | partial | none over all frames (the GRN rules' verdict).
    verdict: str
    #: Frames of each kind.
    counts: Mapping[str, int]
    #: judged | other-slot (the rules judge the training video only) | real-scene (the job
    #: keeps its real background) | not-run (turned off by the configuration or options).
    scope: str = "judged"


def data_uri(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` for image bytes."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass(frozen=True)
class FileView:
    """One uploaded file as the report shows it (facts gathered by the workflow)."""

    slot: str
    path: str
    size: int | None = None
    duration: float | None = None
    resolution: str | None = None
    codec: str | None = None
    #: Lines above the pictures, e.g. the background verdict and the presenter summary.
    summary: tuple[str, ...] = ()
    pictures: tuple[Picture, ...] = ()
    #: Why there are no pictures (a file that could not be decoded), if that is the case.
    note: str | None = None
    #: The background seen in the sampled frames (videos only).
    background: Background | None = None


@dataclass(frozen=True)
class JobView:
    """One job (a spec, or loose files checked together) and what the check found."""

    report: Report
    #: The job body as written (None: not known, e.g. a report rendered without the workflow).
    body: Mapping[str, Any] | None = None
    files: tuple[FileView, ...] = ()
    title: str | None = None
    #: Why the job could not be checked at all (a broken spec); its report is then empty.
    error: str | None = None


@dataclass
class _Ids:
    """Unique element ids within one document."""

    n: int = 0

    def new(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(findings: Iterable[Finding]) -> dict[str, int]:
    out = {"errors": 0, "warnings": 0, "infos": 0}
    for f in findings:
        out[{Severity.ERROR: "errors", Severity.WARNING: "warnings",
             Severity.INFO: "infos"}[f.severity]] += 1
    return out


def verdict(counts: Mapping[str, int]) -> tuple[str, str]:
    """(css class, banner text): ready to submit, or N errors, N warnings."""
    if counts["errors"]:
        return "error", (f"Not ready: {_plural(counts['errors'], 'error')}, "
                         f"{_plural(counts['warnings'], 'warning')}")
    if counts["warnings"]:
        return "warning", f"Ready to submit, with {_plural(counts['warnings'], 'warning')}"
    return "ok", "Ready to submit"


def background_text(bg: Background, findings: Sequence[Finding], slot: str) -> tuple[str, str]:
    """(what the frames show, why it matters or not) in plain words for a file card."""
    n = sum(bg.counts.values())
    kinds = [(k, c) for k, c in bg.counts.items() if c]
    if len(kinds) == 1 and kinds[0][0] == "none":
        what = f"Background: no green screen in any of the {n} sampled frames."
    elif len(kinds) == 1:
        what = f"Background: {KIND_PHRASE[kinds[0][0]]} in all {n} sampled frames."
    else:
        parts = ", ".join(f"{c} {KIND_WORDS[k]}" for k, c in kinds)
        what = (f"Background: {KIND_PHRASE.get(bg.verdict, bg.verdict)} overall (of {n} "
                f"sampled frames: {parts}).")
    if bg.scope == "other-slot":
        why = (f"Does not matter for the {slot.replace('_', ' ')}: the green-screen rules "
               "judge only the training video, whose background is replaced.")
    elif bg.scope == "real-scene":
        why = ("Does not matter: this job keeps the real background "
               "(is_background_replacement = false, or an edition without background "
               "replacement), so no green screen is needed.")
    elif bg.scope == "not-run":
        why = ("Not judged in this run: the green-screen rules are turned off (--select, "
               "--ignore or the configuration).")
    elif any(f.family == "GRN" for f in findings):
        why = "The green-screen findings below say what to change."
    elif bg.verdict == "green":
        why = "Good for background replacement."
    else:
        why = "Within the green-screen rules' limits: no finding."
    return what, why


def _display(path: str, root: str | None) -> str:
    return relative_path(path, root) or path


def fields_of(finding: Finding) -> tuple[str, ...]:
    """The body fields a finding names: ``details["key"]`` and any ``job.x.y`` in its text."""
    out: list[str] = []
    key = finding.details.get("key")
    if isinstance(key, str) and finding.family == "REQ":
        out.append(key)
    out.extend(m.group(1) for m in _FIELD_RE.finditer(finding.message))
    return tuple(dict.fromkeys(out))


def _value_text(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + f"… ({len(text):,} characters)"
    return text


def _flatten(body: Mapping[str, Any], prefix: str = "", depth: int = 0
             ) -> Iterable[tuple[str, int, Any, bool]]:
    """(field path, depth, value, is a table) for every field, tables first then their keys."""
    for key, value in body.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and depth < 8:
            yield path, depth, None, True
            yield from _flatten(value, path + ".", depth + 1)
        else:
            yield path, depth, value, False


def _severity_rank(s: Severity) -> int:
    return _ORDER.index(s)


def _commands(f: Finding) -> list[str]:
    out = []
    if f.fix:
        out.append(f.fix)
    cmd = f.details.get("ffmpeg")
    if isinstance(cmd, str) and cmd and cmd != f.fix:
        out.append(cmd)
    return out


def _scalar_details(f: Finding) -> list[tuple[str, str]]:
    """Short details worth showing (not the command, not what the message already says)."""
    out = []
    for k, v in f.details.items():
        if k in ("ffmpeg", "key") or not isinstance(v, str | int | float | bool):
            continue
        text = v if isinstance(v, str) else _value_text(v)
        if isinstance(v, str) and (v in f.message or v == f.fix):
            continue
        out.append((k, text[:MAX_VALUE_CHARS]))
    return out


class _Builder:
    """Turns views into the plain dicts the template reads (all escaping is Jinja's)."""

    def __init__(self, options: RenderOptions):
        self.options = options
        self.ids = _Ids()
        self.codes: dict[str, Finding] = {}

    def finding(self, f: Finding, field_ids: Mapping[str, str]) -> dict[str, Any]:
        self.codes.setdefault(f.code, f)
        info = self.options.rules.get(f.code)
        line, column = getattr(f, "line", None), getattr(f, "column", None)
        where = None
        if isinstance(line, int):
            where = f"line {line}" + (f", column {column}" if isinstance(column, int) else "")
        fields = [(name, field_ids.get(name) or _field_anchor(name, field_ids))
                  for name in fields_of(f)]
        return {
            "code": f.code, "name": f.name, "severity": f.severity.value,
            "message": f.message, "where": where,
            "fields": fields,
            "commands": [(self.ids.new("cmd"), c) for c in _commands(f)],
            "details": _scalar_details(f),
            "official": _official(info, f),
            "source": f.source,
        }

    def grouped(self, findings: Sequence[Finding], field_ids: Mapping[str, str]
                ) -> list[dict[str, Any]]:
        groups = []
        for sev in _ORDER:
            items = [self.finding(f, field_ids) for f in findings if f.severity is sev
                     and not (self.options.quiet and sev is not Severity.ERROR)]
            if items:
                groups.append({"severity": sev.value, "title": f"{sev.value}s".capitalize(),
                               "findings": items})
        return groups

    def job(self, view: JobView) -> dict[str, Any]:
        report = view.report
        jid = self.ids.new("job")
        root = self.options.root
        files = list(view.files)
        known = {v.path for v in files}
        slots = {f.path: f.slot for f in report.findings if f.path and f.slot}
        files.extend(FileView(slots.get(p, "file"), p) for p in report.files
                     if p not in known and p != report.spec_path)
        file_paths = {v.path for v in files}
        job_findings = [f for f in report.findings if f.path not in file_paths]
        # Body rows, with the worst severity of the findings that name each field.
        rows: list[dict[str, Any]] = []
        field_ids: dict[str, str] = {}
        if view.body is not None:
            flagged: dict[str, Severity] = {}
            for f in job_findings:
                for name in fields_of(f):
                    old = flagged.get(name)
                    if old is None or _severity_rank(f.severity) < _severity_rank(old):
                        flagged[name] = f.severity
            for path, depth, value, table in _flatten(view.body):
                rid = self.ids.new("field")
                field_ids[path] = rid
                hits = [s for name, s in flagged.items()
                        if name == path or (not table and path.startswith(name + "."))]
                worst = min(hits, key=_severity_rank).value if hits else ""
                rows.append({"id": rid, "key": path.rsplit(".", 1)[-1], "path": path,
                             "depth": depth, "table": table,
                             "value": "" if table else _value_text(value), "flag": worst,
                             "missing": False})
            for name, sev in flagged.items():  # named but absent (a missing required field)
                if name not in field_ids:
                    rid = self.ids.new("field")
                    field_ids[name] = rid
                    rows.append({"id": rid, "key": name, "path": name, "depth": 0,
                                 "table": False, "value": "(not set)", "flag": sev.value,
                                 "missing": True})
        counts = _counts(report.findings)
        cls, text = verdict(counts) if view.error is None else ("error", "Could not be checked")
        cards = []
        for v in files:
            # An ID card is also judged by the identity findings that name it.
            mine = [f for f in report.findings if f.path == v.path or (
                v.slot == "id_card_front" and f.details.get("id_card_front") == v.path)]
            c = _counts(mine)
            cards.append({
                "id": self.ids.new("file"), "slot": v.slot, "name": PurePath(v.path).name,
                "path": _display(v.path, root), "facts": _facts(v), "summary": v.summary,
                "background": (background_text(v.background, mine, v.slot)
                               if v.background else None),
                "pictures": v.pictures, "note": v.note, "groups": self.grouped(mine, field_ids),
                "counts": c, "verdict": _short(c),
                "frames": bool(v.pictures) and v.pictures[0].kind != "",
                "portrait": bool(v.pictures) and v.pictures[0].height > v.pictures[0].width,
            })
        title = view.title or (_display(report.spec_path, root) if report.spec_path else
                               "Loose files")
        return {
            "id": jid, "title": title, "edition": report.edition, "error": view.error,
            "banner": {"cls": cls, "text": text}, "counts": counts,
            "body": rows, "body_known": view.body is not None,
            "job_groups": self.grouped(job_findings, field_ids),
            "spec_path": report.spec_path,
            "job_counts": _counts(job_findings),
            "cards": cards,
        }

    def rules(self) -> list[dict[str, Any]]:
        out = []
        for code in sorted(self.codes):
            info = self.options.rules.get(code)
            f = self.codes[code]
            if info is None:
                out.append({"code": code, "name": f.name, "summary": "", "doc": "", "facts": [],
                            "source": f.source, "pages": [], "severity": f.severity.value,
                            "inferred": False})
                continue
            out.append({
                "code": code, "name": info.name, "summary": markdown(info.summary, inline=True),
                "doc": markdown(inspect.cleandoc(info.doc)) if info.doc else "",
                "facts": _facts_of(info.source),
                "source": info.source, "severity": info.severity.value,
                "pages": [(url, sec) for url, sec in info.pages if _is_web(url)]
                or [(_fallback_url(info.source), "API reference")],
                "inferred": info.inferred,
            })
        return out


def markdown(text: str, inline: bool = False) -> Any:
    """Rule text (CommonMark) as safe HTML: raw HTML in the text is escaped, not passed
    through, and links keep only safe schemes (markdown-it's link validation), so the result
    can be inserted unescaped."""
    from markupsafe import Markup

    md = _markdown_parser()
    return Markup(md.renderInline(text) if inline else md.render(text))


def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def _facts_of(source: str) -> list[dict[str, Any]]:
    """The documented facts a rule source cites, rendered (empty for an unknown source)."""
    from preflight.rules.sources import constraints_of

    try:
        facts = constraints_of(source)
    except KeyError:
        return []
    return [{"label": f"{c.label} {c.title}", "title": markdown(f"{c.label} {c.title}",
                                                                  inline=True),
             "fact": markdown(c.fact, inline=True),
             "inferred": markdown(c.inferred, inline=True) if c.inferred else ""}
            for c in facts]


def _field_anchor(name: str, field_ids: Mapping[str, str]) -> str | None:
    """The row of the nearest enclosing field that is in the body (``a.b.c`` -> ``a.b``)."""
    parts = name.split(".")
    while parts:
        got = field_ids.get(".".join(parts))
        if got:
            return got
        parts.pop()
    return None


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _fallback_url(source: str) -> str:
    from preflight.report.sarif import help_uri

    return help_uri(source)


def _official(info: RuleInfo | None, f: Finding) -> str:
    if info is not None:
        for url, _ in info.pages:
            if _is_web(url):
                return url
    return _fallback_url(f.source)


def _facts(v: FileView) -> list[tuple[str, str]]:
    out = []
    if v.size is not None:
        out.append(("size", _size(v.size)))
    if v.duration is not None:
        d = v.duration
        out.append(("duration", f"{int(d // 60)}:{d % 60:04.1f}"))
    if v.resolution:
        out.append(("resolution", v.resolution))
    if v.codec:
        out.append(("codec", v.codec))
    return out


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n:,} bytes"


def _summary_rows(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for j in jobs:
        if j["error"]:
            rows.append({"href": j["id"], "file": j["title"], "slot": "job", "errors": "–",
                         "warnings": "–", "infos": "–",
                         "verdict": ("error", "could not be checked")})
            continue
        if j["spec_path"] or any(j["job_counts"].values()):
            c = j["job_counts"]
            rows.append({"href": j["id"], "file": j["title"], "slot": "job body", **c,
                         "verdict": _short(c)})
        for card in j["cards"]:
            rows.append({"href": card["id"], "file": card["path"], "slot": card["slot"],
                         **card["counts"], "verdict": _short(card["counts"])})
    return rows


def _short(c: Mapping[str, int]) -> tuple[str, str]:
    if c["errors"]:
        warn = f", {_plural(c['warnings'], 'warning')}" if c["warnings"] else ""
        return "error", f"{_plural(c['errors'], 'error')}{warn}"
    if c["warnings"]:
        return "warning", f"passes with {_plural(c['warnings'], 'warning')}"
    return "ok", "passes"


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("preflight.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def script_hash(script: str = SCRIPT) -> str:
    """The CSP source expression that allows exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def render_jobs(jobs: Sequence[JobView], options: RenderOptions | None = None,
                title: str = "Preflight report") -> str:
    """The whole HTML document for these jobs (a summary table first when there are several)."""
    options = options or RenderOptions()
    b = _Builder(options)
    built = [b.job(v) for v in jobs]
    totals = {"errors": 0, "warnings": 0, "infos": 0}
    for j in built:
        for k in totals:
            totals[k] += j["counts"][k]
    failed = sum(1 for j in built if j["error"])
    cls, text = verdict(totals)
    if failed:
        cls, text = "error", f"{text}; {_plural(failed, 'job')} could not be checked"
    files = sum(len(j["cards"]) for j in built)
    template = _environment().get_template("report.html.j2")
    return str(template.render(
        colours={"mask": MASK_COLOUR, "subject": SUBJECT_COLOUR, "face": FACE_COLOUR,
                 "compared": COMPARED_COLOUR, "ring": RING_COLOUR},
        kind_words=KIND_WORDS, kind_legend=KIND_LEGEND,
        title=title, version=options.version, jobs=built, rules=b.rules(),
        summary=_summary_rows(built) if len(built) > 1 else [],
        banner={"cls": cls, "text": text}, totals=totals, files=files,
        script=SCRIPT, csp=script_hash(), quiet=options.quiet,
    ))


def render(report: Report, options: RenderOptions) -> str:
    """The report alone (no body, no pictures): findings per file, the rules explained.
    `preflight check --format html` gathers the body and pictures (`render_jobs`)."""
    return render_jobs([JobView(report, body=None)], options)


__all__ = ["MAX_VALUE_CHARS", "SCRIPT", "FileView", "JobView", "Picture", "data_uri",
           "fields_of", "render", "render_jobs", "script_hash", "verdict"]
