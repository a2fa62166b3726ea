"""The explicit rule registry. Each module lists its rules in a ``RULES`` tuple.

Modules are imported on first use so that ``preflight --help`` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from preflight.model import FAMILIES, RuleInfo
from preflight.rules.base import Fact, FileContext, JobContext, Option, Rule, file_rule, job_rule

#: Rule modules, in report order. Add a module here to register its ``RULES``.
MODULES = (
    "preflight.rules.req",
    "preflight.rules.vid",
    "preflight.rules.grn",
    "preflight.rules.aud",
    "preflight.rules.img",
    "preflight.rules.pkg",
    "preflight.rules.prs",
)


@cache
def registry() -> Mapping[str, Rule]:
    """Every built-in rule by code, in family order (REQ, VID, GRN, AUD, IMG, PKG, NET)."""
    rules: dict[str, Rule] = {}
    names: set[str] = set()
    for mod_name in MODULES:
        module = importlib.import_module(mod_name)
        for rule in module.RULES:
            if rule.code in rules or rule.name in names:
                raise RuntimeError(f"duplicate rule {rule.code} {rule.name}")
            rules[rule.code] = rule
            names.add(rule.name)
    order = list(FAMILIES)
    return MappingProxyType(
        dict(sorted(rules.items(), key=lambda kv: (order.index(kv[0][:3]), kv[0])))
    )


@cache
def rule_infos() -> Mapping[str, RuleInfo]:
    """Every rule as reports describe it (`preflight.report.RenderOptions.rules`)."""
    return MappingProxyType({code: r.info() for code, r in registry().items()})


def by_name() -> Mapping[str, Rule]:
    """Every rule by its kebab-case name."""
    return {r.name: r for r in registry().values()}


__all__ = [
    "MODULES", "Fact", "FileContext", "JobContext", "Option", "Rule", "by_name", "file_rule",
    "job_rule", "registry", "rule_infos",
]
