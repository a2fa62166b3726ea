"""Every registered rule is documented, sourced and in docs/rules.md, every fact it cites in
docs/constraints.md, both generated and current; that each rule is tested both ways is checked
when the session ends (tests/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight.model import FAMILIES
from preflight.rules import registry
from preflight.rules.catalog import constraints_doc, render_rule, render_rules, rules_doc
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_every_rule_is_declared_completely() -> None:
    for code, rule in registry().items():
        assert re.fullmatch(r"[A-Z]{3}\d{3}", code) and rule.family in FAMILIES, code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), code
        assert rule.summary and "\n" not in rule.summary, f"{code}: one-line summary"
        assert rule.source.startswith("§"), f"{code}: source must cite docs/constraints.md"
        assert rule.doc, f"{code}: the rule's docstring is its user doc"
        for name, opt in rule.options.items():
            assert opt.doc, f"{code}.{name}: option without doc"


@pytest.mark.parametrize(("name", "render"), [("rules.md", rules_doc),
                                              ("constraints.md", constraints_doc)])
def test_generated_docs_are_current(name: str, render: Callable[[], str]) -> None:
    assert (DOCS / name).read_text(encoding="utf-8") == render(), (
        f"docs/{name} is stale: run `make docs`"
    )


def test_rules_doc_lists_every_rule_once_and_links_its_facts() -> None:
    text = rules_doc()
    for code, rule in registry().items():
        assert text.count(f'<a id="{code}"></a>{code} | `{rule.name}`') == 1, code
    anchors = set(re.findall(r'<a id="(c[0-9a-z-]+)"></a>', constraints_doc()))
    linked = set(re.findall(r"\(constraints\.md#(c[0-9a-z-]+)\)", text))
    assert linked and linked <= anchors, linked - anchors
    assert "dossier" not in text.lower() and "dossier" not in constraints_doc().lower()


def test_every_cited_fact_is_documented_with_official_pages() -> None:
    from preflight.rules.sources import CONSTRAINTS, constraints_of

    cited = {c.key for rule in registry().values() for c in constraints_of(rule.source)}
    assert cited <= set(CONSTRAINTS)
    for c in CONSTRAINTS.values():
        assert c.title and c.fact and c.pages, c.key
        assert "[I]" not in c.fact and "[D]" not in c.fact, c.key
        assert all(p.url.startswith("https://") and p.section for p in c.pages), c.key


def test_completeness_gaps_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers, "SEEN_FIRING", set(registry()) - {"VID006"})
    monkeypatch.setattr(helpers, "SEEN_PASSING", set(registry()))
    assert helpers.completeness_gaps() == ["rules never asserted to fire: VID006"]


def test_every_rule_source_names_its_official_pages() -> None:
    from preflight.rules.sources import references

    for code, rule in registry().items():
        assert references(rule.source), f"{code}: no section cited in {rule.source!r}"
        pages = rule.pages
        assert pages, code
        for url, section in pages:
            assert url.startswith("https://") and "huaweicloud" in url, (code, url)
            assert section, code


def test_source_references_are_parsed_per_section() -> None:
    from preflight.rules.sources import references

    assert references("§1.3 R6, R4") == ["1.3 R6", "1.3 R4"]
    assert references("§1.3 R9, §2.2") == ["1.3 R9", "2.2"]
    assert references("§1.2, §3.1") == ["1.2", "3.1"]
    assert references("§1.1, §5.4") == ["1.1", "5.4"]


def test_rule_text_and_sarif_quote_the_facts_and_link_the_official_page() -> None:
    from preflight.report.sarif import descriptor

    text = render_rule("REQ012")
    assert "Source: docs/constraints.md §1.1, §5.4" in text
    assert "  §5.4 `X-App-UserId`" in text and "without Chinese characters" in text
    assert ("  Request header parameters: X-App-UserId (no Chinese characters): "
            "https://support.huaweicloud.com/api-metastudio/Create2dModelTrainingJob.html"
            in text)
    inferred = render_rule("REQ024")
    assert "Source: docs/constraints.md §1.3 R6, R4 [inferred]" in inferred
    assert "    Inferred: A Flexus job should therefore send" in inferred
    listing = render_rules("text", ["REQ012"])
    assert "relies on: §1.1 Request headers; §5.4 `X-App-UserId`" in listing
    info = registry()["VID006"].info()
    d = descriptor(info)
    assert d["helpUri"].endswith("create2d_model_training_job_response.py")
    assert "operation_log_info.py" in d["help"]["text"]
    assert "44005901" in d["help"]["markdown"]
    assert "Source: docs/constraints.md §3.1, §7.2" in d["help"]["text"]
    assert "- **§7.2 Four accepted video sizes**:" in d["help"]["markdown"]
    assert all("dossier" not in descriptor(r.info())["help"]["text"]
               for r in registry().values())



README = ROOT / "README.md"


def test_readme_fits_on_two_screens_and_its_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 400 and len(text.encode()) <= 20 * 1024
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), f"README links to missing {target}"


def test_readme_commands_name_real_commands_and_options() -> None:
    """Every `preflight ...` line of the README's shell blocks parses (nothing is run)."""
    import shlex

    import click

    from preflight.cli import cli

    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    lines = [ln.split(" #")[0].strip() for b in blocks for ln in b.splitlines()]
    commands = [shlex.split(ln)[1:] for ln in lines if ln.startswith("preflight ")]
    assert len(commands) >= 5
    for args in commands:
        with click.Context(cli) as ctx:
            sub = cli.get_command(ctx, args[0])
            assert sub is not None, args
            sub.make_context(args[0], args[1:], parent=ctx)  # raises on an unknown option
