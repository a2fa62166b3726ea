"""The HTML report: escaping, banners, links, the job body, folder summaries, the CLI, the wheel."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.model import Finding, Report, Severity
from preflight.report import RenderOptions, render
from preflight.report.html import (
    Background,
    FileView,
    JobView,
    Picture,
    background_text,
    data_uri,
    fields_of,
    render_jobs,
)
from preflight.rules import rule_infos
from preflight.workflows.check import check_views
from tests.helpers import count_frame_samples

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert(1)</script>"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082")


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Elements:
    p = _Elements()
    p.feed(html)
    return p


def finding(code: str, sev: Severity, path: str | None = None, **kw: Any) -> Finding:
    return Finding(code=code, name=kw.pop("name", code.lower()), severity=sev,
                   message=kw.pop("message", f"{code} message"), source="§1.2", path=path, **kw)


OPTIONS = RenderOptions(rules=rule_infos(), version="9.9")


def test_banner_counts_and_verdicts() -> None:
    bad = Report.build("standard", [finding("REQ001", Severity.ERROR),
                                    finding("REQ002", Severity.ERROR),
                                    finding("REQ033", Severity.WARNING)])
    out = render(bad, "html", OPTIONS)
    assert "Not ready: 2 errors, 1 warning" in out
    good = Report.build("standard", [finding("REQ023", Severity.INFO)])
    assert "Ready to submit" in render(good, "html", OPTIONS)
    warned = Report.build("standard", [finding("REQ033", Severity.WARNING)])
    assert "Ready to submit, with 1 warning" in render(warned, "html", OPTIONS)


def test_hostile_names_and_values_are_text_not_markup(tmp_path: Path) -> None:
    path = str(tmp_path / f"{HOSTILE}.mp4")
    body = {"name": HOSTILE, "<img src=x onerror=alert(2)>": "x", "voice": {"a": "</td>"}}
    report = Report.build("standard", [
        finding("VID006", Severity.ERROR, path, slot="training_video", message=HOSTILE,
                fix=f"ffmpeg -i '{HOSTILE}'", details={"ffmpeg": "ffmpeg <b>x</b>"}),
        finding("REQ001", Severity.ERROR, message="job.<img src=x onerror=alert(3)> bad",
                details={"key": "<img src=x onerror=alert(2)>"}),
    ], files=[path])
    view = JobView(report, body=body, files=(FileView("training_video", path),),
                   title=HOSTILE)
    out = render_jobs([view], OPTIONS)
    doc = parse(out)
    assert [t for t, _ in doc.tags].count("script") == 1  # the copy button's only
    assert not [a for t, a in doc.tags if t == "img"]
    assert not [t for t, _ in doc.tags if t == "b"]
    text = "".join(doc.text)
    assert f"{HOSTILE}.mp4" in text and "<img src=x onerror=alert(2)>" in text
    assert "ffmpeg <b>x</b>" in text


def test_the_script_is_the_only_one_the_policy_allows() -> None:
    from preflight.report.html import SCRIPT, script_hash

    out = render(Report.build("standard", []), "html", OPTIONS)
    (csp,) = [a["content"] for t, a in parse(out).tags
              if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and f"script-src {script_hash()};" in csp and "default-src 'none'" in csp
    assert f"<script>{SCRIPT}</script>" in out
    assert "http://" not in out.split("<main>")[0]  # nothing loaded from the network
    assert not [a for t, a in parse(out).tags if t in ("link", "iframe", "object")]


def test_pictures_are_data_uris_only() -> None:
    Picture(src=data_uri(PNG_1PX, "image/png"), alt="x", width=1, height=1)
    for bad in ("javascript:alert(1)", "https://example.com/a.png", "data:text/html;base64,"):
        with pytest.raises(ValueError):
            Picture(src=bad, alt="x", width=1, height=1)


def test_rule_codes_link_to_their_explanation_and_official_page() -> None:
    infos = rule_infos()
    report = Report.build("standard", [finding("VID003", Severity.ERROR, "/m/v.mp4"),
                                       finding("REQ001", Severity.WARNING)], files=["/m/v.mp4"])
    doc = parse(render(report, "html", OPTIONS))
    hrefs = [a.get("href") for t, a in doc.tags if t == "a"]
    ids = {a.get("id") for _, a in doc.tags}
    for code in ("VID003", "REQ001"):
        assert f"#rule-{code}" in hrefs and f"rule-{code}" in ids
        assert infos[code].pages and infos[code].pages[0][0] in hrefs
    text = "".join(doc.text)
    assert infos["VID003"].summary in text


def test_flagged_body_fields_are_highlighted_and_linked() -> None:
    f = finding("REQ001", Severity.ERROR, details={"key": "is_backgroud_replacement"},
                message="job.is_backgroud_replacement is not a field")
    nested = finding("REQ010", Severity.WARNING,
                     message="job.voice_properties.language = \"EN\" is not Chinese")
    assert fields_of(f) == ("is_backgroud_replacement",)
    assert fields_of(nested) == ("voice_properties.language",)
    body = {"name": "x", "is_backgroud_replacement": True,
            "voice_properties": {"language": "EN", "sex": "FEMALE"}}
    out = render_jobs([JobView(Report.build("standard", [f, nested]), body=body)], OPTIONS)
    doc = parse(out)
    rows = {a.get("id"): a.get("class") or "" for t, a in doc.tags if t == "tr" and a.get("id")}
    flagged = [c for c in rows.values() if "flag" in c]
    assert len(flagged) == 2 and any("error" in c for c in flagged)
    links = [a["href"] for t, a in doc.tags if t == "a" and (a.get("href") or "")[1:] in rows]
    assert len(links) == 2


def test_missing_required_field_is_shown_as_not_set() -> None:
    f = finding("REQ003", Severity.ERROR, details={"key": "name"}, message="job.name is required")
    out = render_jobs([JobView(Report.build("standard", [f]), body={})], OPTIONS)
    assert "(not set)" in out


def test_line_and_column_are_shown_when_findings_carry_them() -> None:
    class Located(Finding):  # a Finding that knows where in the spec it is
        pass

    f = Located(code="REQ001", name="body-unknown-key", severity=Severity.ERROR,
                message="typo", source="§1.2")
    object.__setattr__(f, "line", 4)
    object.__setattr__(f, "column", 1)
    out = render(Report.build("standard", [f]), "html", OPTIONS)
    assert "line 4, column 1" in out
    assert "line " not in render(Report.build("standard", [finding("REQ001", Severity.ERROR)]),
                                 "html", OPTIONS).split("<main>")[1].split("rules in this")[0]


def test_fixes_and_commands_get_copy_buttons() -> None:
    f = finding("PRS002", Severity.ERROR, "/v.mp4", fix="preflight fix /v.mp4 --rotate 90",
                details={"ffmpeg": "ffmpeg -i /v.mp4 -vf transpose=1 /v.fixed.mp4"})
    doc = parse(render(Report.build("standard", [f], files=["/v.mp4"]), "html", OPTIONS))
    buttons = [a["data-copy"] for t, a in doc.tags if t == "button"]
    pres = [a["id"] for t, a in doc.tags if t == "pre"]
    assert len(buttons) == 2 and buttons == pres


def test_quiet_shows_errors_only() -> None:
    report = Report.build("standard", [finding("REQ001", Severity.ERROR),
                                       finding("REQ033", Severity.WARNING, message="warned")])
    out = render(report, "html", RenderOptions(rules=rule_infos(), quiet=True))
    assert "REQ001 message" in out and "warned" not in out
    card = Report.build("standard", [finding("VID011", Severity.WARNING, "/v.mp4")],
                        files=["/v.mp4"])
    out = render(card, "html", RenderOptions(rules=rule_infos(), quiet=True))
    assert "No findings for this file" not in out and "left out: --quiet" in out


def _folder(media_factory: Any, root: Path) -> Path:
    folder = root / "shoot"
    (folder / "a").mkdir(parents=True)
    video = media_factory.video(width=360, height=640)
    (folder / "a" / "take.mp4").write_bytes(video.read_bytes())
    (folder / "a" / "avatar.toml").write_text(
        '[job]\nname = "A"\nis_backgroud_replacement = true\n\n'
        '[media]\ntraining_video = "take.mp4"\n', encoding="utf-8")
    (folder / "loose.jpg").write_bytes(media_factory.image().read_bytes())
    return folder


def test_folder_report_has_a_summary_and_a_section_per_job(media_factory: Any,
                                                           tmp_path: Path) -> None:
    folder = _folder(media_factory, tmp_path)
    viewed = check_views([folder])
    assert len(viewed.jobs) == 2
    out = render_jobs(viewed.jobs, RenderOptions(rules=rule_infos(), root=str(tmp_path)))
    doc = parse(out)
    table = out.split('class="summary-table"')[1].split("</table>")[0]
    assert "shoot/a/avatar.toml" in table and "job body" in table
    assert "shoot/a/take.mp4" in table and "training_video" in table
    assert "shoot/loose.jpg" in table and "cover" in table
    sections = [a["id"] for t, a in doc.tags if t == "section" and "job" in (a.get("class") or "")]
    assert len(sections) == 2
    frames = [a for t, a in doc.tags if t == "img" and "take.mp4" in (a.get("alt") or "")]
    assert len(frames) == 8 and all(a["src"].startswith("data:image/jpeg;base64,")
                                     for a in frames)
    assert any(t == "img" and a.get("alt") == "loose.jpg" for t, a in doc.tags)


def test_views_reuse_the_frames_the_check_sampled(media_factory: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    v = media_factory.video(width=360, height=640, background="blue")
    calls = count_frame_samples(monkeypatch)
    viewed = check_views([v], slot="training_video")
    assert calls == [v]
    (card,) = viewed.jobs[0].files
    assert len(card.pictures) == 8 and card.resolution and card.resolution.startswith("360x640")
    assert card.background is not None and card.background.verdict == "blue"
    assert card.background.counts["blue"] == 8 and card.background.scope == "judged"
    assert [p.caption.split(" · ")[1] for p in card.pictures] == ["blue"] * 8


def test_cli_writes_the_report_and_refuses_a_terminal(media_factory: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    v = media_factory.video(width=360, height=640)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["check", str(v), "--format", "html", "-o", str(out)])
    assert res.exit_code == 1, res.output  # 360x640, 2 s
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    piped = CliRunner().invoke(cli, ["check", str(v), "--format", "html", "--exit-zero"])
    assert piped.exit_code == 0 and "<!DOCTYPE html>" in piped.stdout
    monkeypatch.setattr("preflight.cli.check._to_terminal", lambda: True)
    tty = CliRunner().invoke(cli, ["check", str(v), "--format", "html"])
    assert tty.exit_code == 2 and "-o report.html" in tty.output
    assert "<!DOCTYPE" not in tty.output


def test_cli_folder_report_with_a_broken_spec(media_factory: Any, tmp_path: Path) -> None:
    folder = _folder(media_factory, tmp_path)
    (folder / "broken.toml").write_text("[job]\nname = 1\n[media]\ntraining_video = 3\n",
                                        encoding="utf-8")
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["check", str(folder), "--format", "html", "-o", str(out)])
    assert res.exit_code == 2, res.output  # a target could not be checked
    html = out.read_text(encoding="utf-8")
    assert "could not be checked" in html and "broken.toml" in html
    assert "Traceback" not in res.output


def test_a_spec_typed_relative_keeps_its_frames_and_one_card_per_file(
        media_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    shutil.copy(media_factory.video(width=360, height=640), shoot / "take.mp4")
    shutil.copy(media_factory.image(), shoot / "cover.jpg")
    (shoot / "avatar.toml").write_text('[job]\nname = "rel"\n[media]\ntraining_video = '
                                       '"take.mp4"\ncover = "cover.jpg"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    calls = count_frame_samples(monkeypatch)
    for targets in (["shoot/avatar.toml"], ["shoot"]):
        calls.clear()
        viewed = check_views(targets)
        (job,) = viewed.jobs
        assert [(v.slot, v.path) for v in job.files] == [
            ("training_video", os.path.join("shoot", "take.mp4")),
            ("cover", os.path.join("shoot", "cover.jpg"))], targets
        assert len(job.files[0].pictures) == 8 and len(calls) == 1, targets


# ---- plain words for the crew ------------------------------------------------------------------

def _frame(kind: str) -> Picture:
    return Picture(src=data_uri(PNG_1PX, "image/png"), alt="f", width=1, height=1,
                   caption=f"0:01.0 · {kind}", detail="green: edges 0%, whole 0%", kind=kind)


def test_background_is_described_in_plain_words_with_why_it_matters() -> None:
    none8 = Background("none", {"green": 0, "blue": 0, "partial": 0, "none": 8})
    grn = finding("GRN001", Severity.ERROR, "/v.mp4")
    assert background_text(none8, [grn], "training_video") == (
        "Background: no green screen in any of the 8 sampled frames.",
        "The green-screen findings below say what to change.")
    partial = Background("partial", {"green": 0, "blue": 0, "partial": 8, "none": 0},
                         "other-slot")
    what, why = background_text(partial, [], "action_video")
    assert what == "Background: a partly green border in all 8 sampled frames."
    assert why.startswith("Does not matter for the action video: the green-screen rules "
                          "judge only the training video")
    mixed = Background("green", {"green": 6, "blue": 0, "partial": 2, "none": 0})
    assert background_text(mixed, [], "training_video") == (
        "Background: a green screen overall (of 8 sampled frames: 6 green, 2 part green).",
        "Good for background replacement.")
    real = Background("none", {"green": 0, "blue": 0, "partial": 0, "none": 8}, "real-scene")
    assert "no green screen is needed" in background_text(real, [], "training_video")[1]
    off = Background("none", {"green": 0, "blue": 0, "partial": 0, "none": 8}, "not-run")
    assert "turned off" in background_text(off, [], "training_video")[1]


def test_file_card_has_no_jargon_and_a_legend_for_the_frames() -> None:
    bg = Background("partial", {"green": 0, "blue": 0, "partial": 8, "none": 0}, "other-slot")
    view = JobView(Report.build("standard", [], files=["/m/a.mp4"]), body={"name": "x"},
                   files=(FileView("action_video", "/m/a.mp4", pictures=(_frame("part green"),),
                                   background=bg),))
    out = render_jobs([view], OPTIONS)
    text = " ".join("".join(parse(out).text).split())
    assert "Background: a partly green border in all 8 sampled frames." in text
    assert "Does not matter for the action video" in text
    for jargon in ("ring ", "PARTIAL", "NONE", "partial 8", "none 8", "border ring"):
        assert jargon not in text, jargon
    assert "magenta: the parts the check counts as green screen" in text
    for words, legend in (("green", "green all round"), ("part green", "some edges only"),
                          ("blue", "edges are blue"), ("no green", "a real scene")):
        assert f"{words}: the" in text or f"{words}: green" in text or f"{words}: little" in text
        assert legend in text


def test_the_mask_colour_cannot_pass_for_a_green_screen() -> None:
    import colorsys

    from preflight.report.html import MASK_COLOUR
    from preflight.workflows.contact_sheet import MASK_TINT

    assert MASK_TINT == MASK_COLOUR
    for key in ((0, 177, 64), (0, 255, 0), (61, 190, 90)):  # studio greens
        tinted = [k * 0.45 + m * 0.55 for k, m in zip(key, MASK_COLOUR, strict=True)]
        hue = colorsys.rgb_to_hsv(*(c / 255 for c in tinted))[0] * 360
        assert not 70 <= hue <= 170, (key, hue)  # outside the green the check counts
        assert tinted[1] < max(tinted[0], tinted[2]), key  # not green-dominant
    bg = Background("green", {"green": 8, "blue": 0, "partial": 0, "none": 0})
    out = render_jobs([JobView(Report.build("standard", [], files=["/m/v.mp4"]), files=(
        FileView("training_video", "/m/v.mp4", pictures=(_frame("green"),), background=bg),))],
        OPTIONS)
    assert f"background: rgb{MASK_COLOUR}" in out  # the legend swatch is the drawn colour


def test_rule_texts_render_their_markdown_without_raw_html() -> None:
    from preflight.report.html import markdown

    html = str(markdown("Set `is_flexus`, **then** see [docs](https://example.com/a)."))
    assert "<code>is_flexus</code>" in html and "<strong>then</strong>" in html
    assert '<a href="https://example.com/a">docs</a>' in html
    hostile = str(markdown(f"{HOSTILE} <img src=x onerror=alert(1)> "
                           "[x](javascript:alert(1)) ![i](data:text/html;base64,AAAA)"))
    doc = parse(hostile)
    assert not [t for t, _ in doc.tags if t in ("script", "img")]
    assert not [a for t, a in doc.tags if t == "a" and "javascript" in (a.get("href") or "")]
    assert "&lt;script&gt;" in hostile
    report = Report.build("standard", [finding("REQ024", Severity.ERROR)])
    out = render(report, "html", OPTIONS)
    rule = out.split('id="rule-REQ024"')[1].split("</div>\n  </div>")[0]
    assert "<code>is_background_replacement = false</code>" in rule  # the fact's code span
    assert "Relies on (docs/constraints.md)" in rule and "§1.3 R6" in rule
    assert "`" not in "".join(parse(rule).text)  # no Markdown left unrendered


def test_the_workflow_says_when_the_background_does_not_matter() -> None:
    from preflight.rules.config import Config
    from preflight.workflows.contact_sheet import background_scope

    assert background_scope("training_video", {"name": "x"}, "standard", None) == "judged"
    assert background_scope("action_video", {"name": "x"}, "standard", None) == "other-slot"
    real = {"is_background_replacement": False}
    assert background_scope("training_video", real, "standard", None) == "real-scene"
    assert background_scope("training_video", {"is_flexus": True}, "flexus", None) == "real-scene"
    assert background_scope("training_video", None, "standard",
                            Config(ignore=("GRN",))) == "not-run"
