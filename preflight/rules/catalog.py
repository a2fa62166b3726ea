"""The rule catalogue: every rule with its severity and effective options per edition, and the
documented facts it relies on (for `preflight rules`, `preflight rule CODE`, `docs/rules.md`)."""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Sequence
from typing import Any

from preflight.errors import ConfigError
from preflight.metastudio import EDITIONS
from preflight.rules import registry
from preflight.rules.config import Config, resolve
from preflight.rules.examples import example
from preflight.rules.sources import Constraint, cite, constraints_of


def select(patterns: Sequence[str]) -> list[str]:
    """The codes of the rules `patterns` name, in code order: a family (``PRS``), a code
    prefix (``VID00``), a code or a rule name; no patterns: every rule.

    :raises ConfigError: a pattern that names no rule (with the closest families or codes).
    """
    rules = registry()
    if not patterns:
        return list(rules)
    chosen: set[str] = set()
    for raw in patterns:
        text = raw.strip()
        hits = {c for c in rules if text and c.startswith(text.upper())}
        hits |= {c for c, r in rules.items() if r.name == text.lower()}
        if not hits:
            families = sorted({c[:3] for c in rules})
            close = difflib.get_close_matches(text.upper(), [*families, *rules], n=3,
                                              cutoff=0.5)
            hint = (f"; did you mean {', '.join(close)}?" if close else
                    f"; families: {', '.join(families)}")
            raise ConfigError(f"no rule matches {raw!r}{hint}")
        chosen |= hits
    return [c for c in rules if c in chosen]


def _constraint(c: Constraint) -> dict[str, Any]:
    return {"section": c.label, "title": c.title, "fact": c.fact, "inferred": c.inferred,
            "link": c.link}


def catalog(codes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One entry per rule (or per code of `codes`), in code order."""
    per_edition = {ed: resolve(ed, Config()) for ed in EDITIONS}
    wanted = None if codes is None else set(codes)
    out = []
    for code, rule in registry().items():
        if wanted is not None and code not in wanted:
            continue
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
            "constraints": [_constraint(c) for c in constraints_of(rule.source)],
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
    return catalog([find_rule(query)])[0]


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
    lines += ["", f"Source: {cite(e['source'])}"]
    for c in e["constraints"]:
        lines += ["", f"  {c['section']} {c['title']}", *_wrap(c["fact"], "    ")]
        if c["inferred"]:
            lines += _wrap(f"Inferred: {c['inferred']}", "    ")
    lines += ["", "Official pages:"]
    lines += [f"  {o['section']}: {o['url']}" for o in e["official"]]
    ex = e["example"]
    lines += ["", "Example:", f"  fails:  {ex['fails']}", f"  passes: {ex['passes']}"]
    return "\n".join(lines) + "\n"


def _wrap(text: str, indent: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, 96, initial_indent=indent, subsequent_indent=indent)


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


def render_rules(fmt: str, patterns: Sequence[str] = ()) -> str:
    """The catalogue (the rules `patterns` select, see `select`) as text (the facts each rule
    relies on by section of ``docs/constraints.md``; `render_rule` gives the pages), JSON
    (`preflight.rules/1`) or a Markdown table.

    :raises ConfigError: a pattern that names no rule.
    """
    entries = catalog(select(patterns))
    if fmt == "json":
        return json.dumps({"schema": "preflight.rules/1", "rules": entries}, indent=2,
                          ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _table(entries)
    lines = []
    for e in entries:
        lines.append(f"{e['code']}  {e['name']:<38} {_sev(e)}")
        lines.append(f"        {e['summary']}")
        facts = "; ".join(f"{c['section']} {c['title']}" for c in e["constraints"])
        lines.append(f"        relies on: {facts}" + (" [inferred]" if e["inferred"] else ""))
        for name, opt in e["options"].items():
            lines.append(f"        option {name} = {_per_edition(opt['value'])}  ({opt['doc']})")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _source_links(entry: dict[str, Any], doc: str) -> str:
    """``[§1.3 R6](constraints.md#c1-3-r6), [R4](…)`` for a table cell."""
    links = [f"[{c['section']}]({doc}#{c['link'].rsplit('#', 1)[1]})"
             for c in entry["constraints"]]
    return ", ".join(links) + (" [inferred]" if entry["inferred"] else "")


def _table(entries: Sequence[dict[str, Any]], doc: str = "constraints.md") -> str:
    """The Markdown table of `entries`; sources link to the facts in `doc`."""
    rows = ["| Code | Name | Severity | What it checks | Relies on |", "|---|---|---|---|---|"]
    for e in entries:
        rows.append(f"| <a id=\"{e['code']}\"></a>{e['code']} | `{e['name']}` | {_sev(e)} | "
                    f"{_cell(e['summary'])} | {_source_links(e, doc)} |")
    return "\n".join(rows) + "\n"


_GENERATED = "<!-- Generated from the rule registry by `make docs`; do not edit by hand. -->"


def rules_doc() -> str:
    """``docs/rules.md``: every rule by family, with severity per edition and the facts it
    relies on (links into ``docs/constraints.md``)."""
    from preflight.model import FAMILIES

    entries = catalog()
    families = [f for f in FAMILIES if any(e["family"] == f for e in entries)]
    out = [
        "# Rules", "", _GENERATED, "",
        f"{len(entries)} rules in {len(families)} families. Severity is per edition when the "
        "editions differ (`standard: info / flexus: off`); `off` means the edition does not "
        "run the rule. *Relies on* links to the documented facts in "
        "[constraints.md](constraints.md), each with its official pages; `[inferred]` marks a "
        "rule that reads more into them than they say. `preflight rule CODE` explains one rule "
        "with a failing and a passing example; `preflight rules PRS --format json` exports "
        "a family. [checks.md](checks.md) tells what each family measures and how the "
        "thresholds were calibrated.", "",
    ]
    for family in families:
        mine = [e for e in entries if e["family"] == family]
        out += [f"## {family}: {FAMILIES[family]}", "", _table(mine).rstrip("\n"), ""]
    return "\n".join(out)


def constraints_doc() -> str:
    """``docs/constraints.md``: every documented fact a rule cites, with its official pages
    and the rules that rely on it."""
    from preflight.rules.sources import CONSTRAINTS

    users: dict[str, list[str]] = {k: [] for k in CONSTRAINTS}
    for code, rule in registry().items():
        for c in constraints_of(rule.source):
            users[c.key].append(code)
    out = [
        "# Constraints the rules rely on", "", _GENERATED, "",
        "What Huawei's official pages say about a MetaStudio avatar-training job, one section "
        "per fact the rules cite (`source: §3.1` in a finding, *Relies on* in "
        "[rules.md](rules.md)). Each section names the official pages it comes from: the API "
        "reference, the SDK model files generated from the same API definition, or Huawei's "
        "site search quoting a user-guide page. **Inferred** marks what the rules read into "
        "the text beyond what it says; treat it as a reasoned assumption, not a documented "
        "fact.", "",
        "Sections are numbered by topic — 1 the create request (1.3: the rules across "
        "fields, R1–R14), 2 the calls that follow it, 3 the media, 5 the account, 7 what is "
        "easy to get wrong — and only the numbers something cites are here.", "",
        *(f"- [{c.label} {c.title}](#{c.anchor})" for c in CONSTRAINTS.values()), "",
    ]
    for c in CONSTRAINTS.values():
        out += [f"<a id=\"{c.anchor}\"></a>", "", f"## {c.label} {c.title}", "", c.fact, ""]
        if c.inferred:
            out += [f"**Inferred:** {c.inferred}", ""]
        out += ["Official: " + "; ".join(f"[{p.section}]({p.url})" for p in c.pages), ""]
        if users[c.key]:
            out += ["Rules: " + ", ".join(f"[{code}](rules.md#{code})"
                                          for code in users[c.key]), ""]
    return "\n".join(out)
