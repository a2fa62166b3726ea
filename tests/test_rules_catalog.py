"""`preflight rules PATTERN...`: filtering by family, code prefix, code or name, and export."""

from __future__ import annotations

import json

from click.testing import CliRunner

from preflight.cli import cli
from preflight.rules import registry


def _rules(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["rules", *args])
    return result.exit_code, result.output


def test_a_family_lists_only_its_rules() -> None:
    code, out = _rules("PRS", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["schema"] == "preflight.rules/1"
    assert [r["code"] for r in data["rules"]] == [c for c in registry() if c.startswith("PRS")]
    text = _rules("prs")[1]
    listed = [line.split()[0] for line in text.splitlines() if not line.startswith(" ")]
    assert listed == [c for c in registry() if c.startswith("PRS")]


def test_patterns_combine_families_prefixes_codes_and_names_in_code_order() -> None:
    code, out = _rules("VID00", "GRN001", "video-hdr", "GRN001", "--format", "json")
    assert code == 0, out
    codes = [r["code"] for r in json.loads(out)["rules"]]
    assert codes == [c for c in registry() if c.startswith("VID00") or c in ("GRN001",
                                                                             "VID011")]
    assert len(codes) == len(set(codes))


def test_json_entries_carry_the_facts_each_rule_relies_on() -> None:
    entry = json.loads(_rules("REQ024", "--format", "json")[1])["rules"][0]
    assert [c["section"] for c in entry["constraints"]] == ["§1.3 R6", "§1.3 R4"]
    assert entry["constraints"][0]["link"] == "docs/constraints.md#c1-3-r6"
    assert entry["constraints"][0]["inferred"] and entry["inferred"] is True


def test_a_pattern_matching_nothing_is_a_usage_error_with_a_hint() -> None:
    code, out = _rules("PRZ")
    assert code == 2
    assert "no rule matches 'PRZ'; did you mean PRS?" in out
    code, out = _rules("PRS", "ZZZ9")
    assert code == 2 and "no rule matches 'ZZZ9'" in out and "families: AUD" in out


def test_no_pattern_lists_every_rule() -> None:
    data = json.loads(_rules("--format", "json")[1])
    assert [r["code"] for r in data["rules"]] == list(registry())
