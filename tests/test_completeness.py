"""Every registered rule is documented, sourced and in the README; that each is tested both ways
is checked when the session ends (tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preflight.model import FAMILIES
from preflight.rules import registry
from preflight.rules.catalog import render_rules
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE = re.compile(r"<!-- rules-table -->\n(.*?)<!-- /rules-table -->", re.S)


def test_every_rule_is_declared_completely() -> None:
    for code, rule in registry().items():
        assert re.fullmatch(r"[A-Z]{3}\d{3}", code) and rule.family in FAMILIES, code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), code
        assert rule.summary and "\n" not in rule.summary, f"{code}: one-line summary"
        assert rule.source.startswith("§"), f"{code}: source must cite a dossier section"
        assert rule.doc, f"{code}: the rule's docstring is its user doc"
        for name, opt in rule.options.items():
            assert opt.doc, f"{code}.{name}: option without doc"


def test_readme_rules_table_is_current() -> None:
    match = TABLE.search(README.read_text(encoding="utf-8"))
    assert match, "README.md lacks the <!-- rules-table --> block"
    assert match.group(1) == render_rules("markdown"), (
        "README rules table is stale: run `make readme`"
    )


def test_completeness_gaps_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers, "SEEN_FIRING", set(registry()) - {"VID006"})
    monkeypatch.setattr(helpers, "SEEN_PASSING", set(registry()))
    assert helpers.completeness_gaps() == ["rules never asserted to fire: VID006"]


def test_every_rule_source_names_its_official_pages() -> None:
    from preflight.rules.sources import references

    for code, rule in registry().items():
        assert references(rule.source), f"{code}: no dossier reference in {rule.source!r}"
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


def test_rules_listing_and_sarif_link_the_official_page() -> None:
    from preflight.report.sarif import descriptor

    text = render_rules("text")
    assert ("official: Request header parameters: X-App-UserId (no Chinese characters) "
            "<https://support.huaweicloud.com/api-metastudio/Create2dModelTrainingJob.html>"
            in text)
    info = registry()["VID006"].info()
    d = descriptor(info)
    assert d["helpUri"].endswith("create2d_model_training_job_response.py")
    assert "operation_log_info.py" in d["help"]["text"]
    assert "44005901" in d["help"]["markdown"]
