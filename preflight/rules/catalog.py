"""The rule catalogue: every rule with its severity and effective options per edition (for
`preflight rules`, the README)."""

from __future__ import annotations

import json
from typing import Any

from preflight.metastudio import EDITIONS
from preflight.rules import registry
from preflight.rules.config import Config, resolve


def catalog() -> list[dict[str, Any]]:
    """One entry per rule, in code order."""
    per_edition = {ed: resolve(ed, Config()) for ed in EDITIONS}
    out = []
    for code, rule in registry().items():
        out.append({
            "code": code,
            "name": rule.name,
            "family": rule.family,
            "severity": {
                ed: (sev.value if (sev := s[code].severity) is not None else "off")
                for ed, s in per_edition.items()
            },
            "summary": rule.summary,
            "source": rule.source_text,
            "official": [{"url": u, "section": sec} for u, sec in rule.pages],
            "inferred": rule.inferred,
            "target": "job" if rule.target == "job" else sorted(rule.slots),
            "whole_spec_only": rule.whole_spec_only,
            "options": {
                k: {"default": o.default, "type": o.type_name, "doc": o.doc,
                    "value": {ed: s[code].options[k] for ed, s in per_edition.items()}}
                for k, o in rule.options.items()
            },
            "doc": rule.doc,
        })
    return out


def _per_edition(values: dict[str, Any]) -> str:
    """One value when every edition agrees, else ``edition: value`` pairs."""
    if len({json.dumps(v) for v in values.values()}) == 1:
        return str(next(iter(values.values())))
    return " / ".join(f"{ed}: {v}" for ed, v in values.items())


def page_label(url: str) -> str:
    """A short name for an official page: the docs page or SDK file name, or "site search"."""
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    if "huaweicloud.com/s/" in url:
        return "site search"
    return tail.removesuffix(".html").removesuffix(".md")


def _sev(entry: dict[str, Any]) -> str:
    return _per_edition(entry["severity"])


def render_rules(fmt: str) -> str:
    """The catalogue as text, JSON (`preflight.rules/1`) or a Markdown table."""
    entries = catalog()
    if fmt == "json":
        return json.dumps({"schema": "preflight.rules/1", "rules": entries}, indent=2,
                          ensure_ascii=False) + "\n"
    if fmt == "markdown":
        rows = ["| Code | Name | Severity | What it checks | Source |",
                "|---|---|---|---|---|"]
        for e in entries:
            summary = e["summary"].replace("|", "\\|")
            links = ", ".join(f"[{page_label(o['url'])}]({o['url']})" for o in e["official"])
            rows.append(f"| {e['code']} | `{e['name']}` | {_sev(e)} | {summary} | "
                        f"{e['source']}: {links} |")
        return "\n".join(rows) + "\n"
    lines = []
    for e in entries:
        lines.append(f"{e['code']}  {e['name']:<38} {_sev(e)}")
        lines.append(f"        {e['summary']}  [source: dossier {e['source']}]")
        for o in e["official"]:
            lines.append(f"        official: {o['section']} <{o['url']}>")
        for name, opt in e["options"].items():
            lines.append(f"        option {name} = {_per_edition(opt['value'])}  ({opt['doc']})")
    return "\n".join(lines) + "\n"
