"""SARIF 2.1.0: one rule descriptor per registered rule, one result per finding.

Code-scanning services (GitHub, Azure DevOps, IDE viewers) read this format. File locations are
relative to `RenderOptions.root` (``%SRCROOT%``) when the file lies inside it, absolute
``file://`` URIs otherwise. Each rule carries its documentation as help text and a link to the
official page behind the documented facts it relies on (``docs/constraints.md``).
"""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from preflight.model import Finding, Report, RuleInfo, Severity
from preflight.report import RenderOptions, relative_path
from preflight.rules.sources import cite, relies_on

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://support.huaweicloud.com/intl/en-us/api-metastudio/Create2dModelTrainingJob.html"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_ROOT_ID = "%SRCROOT%"

#: Official pages behind the sections of docs/constraints.md cited as rule sources.
SECTION_URLS: dict[str, str] = {
    "1": INFORMATION_URI,
    "2.1": "https://support.huaweicloud.com/api-metastudio/Execute2dModelTrainingCommandByUser.html",
    "2.3": "https://support.huaweicloud.com/api-metastudio/Show2dModelTrainingJob.html",
    "2.4": "https://support.huaweicloud.com/api-metastudio/Update2dModelTrainingJob.html",
    "3": "https://support.huaweicloud.com/intl/en-us/productdesc-metastudio/metastudio_01_0013.html",
    "3.6": INFORMATION_URI,
    "4": "https://support.huaweicloud.com/devg-apisign/api-sign-algorithm-001.md",
    "5": "https://support.huaweicloud.com/intl/en-us/api-metastudio/metastudio_02_0000.html",
}


def help_uri(source: str) -> str:
    """The official page for a rule source such as ``§3.1`` (most specific section known)."""
    m = re.search(r"§\s*(\d+)(?:\.(\d+))?", source)
    if m:
        major, minor = m.group(1), m.group(2)
        if minor and f"{major}.{minor}" in SECTION_URLS:
            return SECTION_URLS[f"{major}.{minor}"]
        if major in SECTION_URLS:
            return SECTION_URLS[major]
    return INFORMATION_URI


def descriptor(rule: RuleInfo) -> dict[str, Any]:
    """A SARIF reportingDescriptor for one rule."""
    doc = inspect.cleandoc(rule.doc) if rule.doc else rule.summary
    options = "".join(f"\n- option `{k}` (default {default!r}): {text}"
                      for k, (default, text) in rule.options.items())
    pages_text = "".join(f"\nOfficial: {sec} <{url}>" for url, sec in rule.pages)
    pages_md = "\n\n**Official pages:**" + "".join(f"\n- [{sec}]({url})" for url, sec in rule.pages)
    facts, facts_md = relies_on(rule.source), relies_on(rule.source, markdown=True)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": doc},
        "help": {
            "text": f"{doc}\n\nSource: {cite(_source(rule))}\n{facts}{pages_text}{options}",
            "markdown": f"{doc}\n\n**Source:** {cite(_source(rule))}\n\n{facts_md}{pages_md}"
                        f"{options}",
        },
        "helpUri": rule.pages[0][0] if rule.pages else help_uri(rule.source),
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "family": rule.family,
            "source": _source(rule),
            "inferred": rule.inferred,
            "tags": [rule.family, "metastudio"],
        },
    }


def _source(rule: RuleInfo) -> str:
    return f"{rule.source} [inferred]" if rule.inferred else rule.source


def _location(path: str, root: str | None, line: int | None = None,
              column: int | None = None) -> dict[str, Any]:
    rel = relative_path(path, root)
    p = Path(path)
    if rel is not None:
        artifact = {"uri": quote(os.fsencode(rel)), "uriBaseId": _ROOT_ID}
    elif p.is_absolute():
        artifact = {"uri": p.as_uri()}
    else:  # relative as typed: relative to the folder the check ran in
        artifact = {"uri": quote(os.fsencode(p.as_posix()))}
        if root:
            artifact["uriBaseId"] = _ROOT_ID
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line is not None:
        region = {"startLine": line}
        if column is not None:
            region["startColumn"] = column
        physical["region"] = region
    return {"physicalLocation": physical}


def result(finding: Finding, index: int, root: str | None, default_path: str | None
           ) -> dict[str, Any]:
    """A SARIF result for one finding (control characters in its text shown as escapes)."""
    from preflight.report.text import visible

    text = visible(finding.message + (f" Fix: {finding.fix}" if finding.fix else ""))
    out: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
    }
    if index >= 0:
        out["ruleIndex"] = index
    path = finding.path or default_path
    if path:
        at = (finding.line, finding.column) if finding.path else (None, None)
        out["locations"] = [_location(path, root, *at)]
    props: dict[str, Any] = {"source": finding.source}
    if finding.slot:
        props["slot"] = finding.slot
    if finding.details:
        props["details"] = dict(finding.details)
    out["properties"] = props
    return out


def as_dict(report: Report, options: RenderOptions) -> dict[str, Any]:
    """The SARIF log object."""
    rules = list(options.rules.values())
    index = {r.code: i for i, r in enumerate(rules)}
    driver: dict[str, Any] = {
        "name": "metastudio-preflight",
        "informationUri": INFORMATION_URI,
        "rules": [descriptor(r) for r in rules],
    }
    if options.version:
        driver["version"] = options.version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": [
            result(f, index.get(f.code, -1), options.root, report.spec_path)
            for f in report.findings
            if not (options.quiet and f.severity is not Severity.ERROR)
        ],
        "properties": {"edition": report.edition, "summary": report.summary()},
    }
    if options.root:
        run["originalUriBaseIds"] = {_ROOT_ID: {"uri": Path(options.root).as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report, options: RenderOptions) -> str:
    """Indented SARIF JSON with a trailing newline, valid UTF-8 whatever the names."""
    from preflight.report.json_format import strict

    return json.dumps(strict(as_dict(report, options)), indent=2, ensure_ascii=False,
                      default=str) + "\n"
