"""Every registered rule is documented, sourced, packed, in the README, and tested both ways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preflight.model import FAMILIES
from preflight.rules import registry
from preflight.rules.catalog import render_rules
from preflight.rules.config import load_pack
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE = re.compile(r"<!-- rules-table -->\n(.*?)<!-- /rules-table -->", re.S)


def test_every_rule_is_declared_completely() -> None:
    base = load_pack("base")
    for code, rule in registry().items():
        assert re.fullmatch(r"[A-Z]{3}\d{3}", code) and rule.family in FAMILIES, code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), code
        assert rule.summary and "\n" not in rule.summary, f"{code}: one-line summary"
        assert rule.source.startswith("§"), f"{code}: source must cite a dossier section"
        assert rule.doc, f"{code}: the rule's docstring is its user doc"
        assert code in base, f"{code}: missing from rules/base.toml"
        for name, opt in rule.options.items():
            assert opt.doc, f"{code}.{name}: option without doc"


def test_readme_rules_table_is_current() -> None:
    match = TABLE.search(README.read_text(encoding="utf-8"))
    assert match, "README.md lacks the <!-- rules-table --> block"
    assert match.group(1) == render_rules("markdown"), (
        "README rules table is stale: run `make readme`"
    )


@pytest.mark.completeness
def test_every_rule_has_a_failing_and_a_passing_test(request: pytest.FixtureRequest) -> None:
    session = request.session
    collected = {Path(str(item.path)) for item in session.items}
    all_files = set((ROOT / "tests").rglob("test_*.py"))
    if request.config.option.keyword or request.config.option.markexpr or collected != all_files:
        pytest.skip("needs the whole suite (run `make test`)")
    if session.testsfailed:
        pytest.skip("other tests failed; their rules may not have been exercised")
    missing_fail = sorted(set(registry()) - helpers.SEEN_FIRING)
    missing_pass = sorted(set(registry()) - helpers.SEEN_PASSING)
    assert not missing_fail, f"rules never asserted to fire: {missing_fail}"
    assert not missing_pass, f"rules never asserted to pass: {missing_pass}"
