"""The rule catalogue: every rule with its severity and effective options per edition (for
`preflight rules`, `preflight rule CODE`, the README)."""

from __future__ import annotations

import difflib
import inspect
import json
from typing import Any

from preflight.errors import ConfigError
from preflight.metastudio import EDITIONS
from preflight.rules import registry
from preflight.rules.config import Config, resolve
from preflight.rules.examples import example


def catalog() -> list[dict[str, Any]]:
    """One entry per rule, in code order."""
    per_edition = {ed: resolve(ed, Config()) for ed in EDITIONS}
    out = []
    for code, rule in registry().items():
        fails, passes = example(code) or ("", "")
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
            "example": {"fails": fails, "passes": passes},
        })
    return out


def find_rule(query: str) -> str:
    """The code of the rule `query` names: a code (any case) or a kebab-case name.

    :raises ConfigError: no such rule (with the closest codes or names).
    """
    rules = registry()
    text = query.strip()
    if text.upper() in rules:
        return text.upper()
    for code, rule in rules.items():
        if rule.name == text.lower():
            return code
    words = [*rules, *(r.name for r in rules.values())]
    close = difflib.get_close_matches(text.upper() if text[:3].isalpha() and
                                      any(c.isdigit() for c in text) else text.lower(),
                                      words, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else \
        "; `preflight rules` lists every rule"
    raise ConfigError(f"unknown rule {query!r}{hint}")


def rule_entry(query: str) -> dict[str, Any]:
    """The catalogue entry of one rule (see `catalog`), found by code or name.

    :raises ConfigError: no such rule.
    """
    code = find_rule(query)
    return next(e for e in catalog() if e["code"] == code)


def _column(values: dict[str, Any], indent: str, show: Any = None) -> list[str]:
    """One line when every edition agrees, else one line per edition."""
    show = show or _show
    if len({json.dumps(v) for v in values.values()}) == 1:
        return [f"{indent}{show(next(iter(values.values())))} (every edition)"]
    width = max(len(ed) for ed in values)
    return [f"{indent}{ed:<{width}}  {show(v)}" for ed, v in values.items()]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | str) else str(value)


def render_rule(query: str, fmt: str = "text") -> str:
    """One rule in full (like ``ruff rule``): summary, why it exists, what it judges, severity
    and options per edition, the source with its official pages, a failing and a passing case.

    :raises ConfigError: no such rule.
    """
    e = rule_entry(query)
    if fmt == "json":
        return json.dumps({"schema": "preflight.rule/1", **e}, indent=2,
                          ensure_ascii=False) + "\n"
    target = "the job body" if e["target"] == "job" else "files in " + ", ".join(e["target"])
    lines = [f"{e['code']} {e['name']}", "", e["summary"], ""]
    if e["doc"]:
        lines += ["Why:", *(f"  {ln}" if ln else "" for ln in
                            inspect.cleandoc(e["doc"]).splitlines()), ""]
    lines.append(f"Judges: {target}" + (" (whole spec only, not in quick mode)"
                                         if e["whole_spec_only"] else ""))
    lines += ["", "Severity:", *_column(e["severity"], "  ", str)]
    if e["options"]:
        lines += ["", "Options:"]
        for name, opt in e["options"].items():
            lines.append(f"  {name} ({opt['type']}, default {_show(opt['default'])}): "
                         f"{opt['doc']}")
            lines += _column(opt["value"], "    ")
    source = e["source"]
    lines += ["", f"Source: API dossier {source}"]
    lines += [f"  {o['section']}: {o['url']}" for o in e["official"]]
    ex = e["example"]
    lines += ["", "Example:", f"  fails:  {ex['fails']}", f"  passes: {ex['passes']}"]
    return "\n".join(lines) + "\n"


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
