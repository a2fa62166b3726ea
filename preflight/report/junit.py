"""JUnit XML: one test case per checked file and rule family; error findings are failures.

Warnings and infos go to the test case's ``system-out`` so CI dashboards show them without
failing the build. The layout follows the common Jenkins/Surefire schema. Names and messages
are shown with `visible` (control characters and bytes that are not UTF-8 escaped), so the
document stays well-formed XML whatever the file names are.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from preflight.metastudio import SPEC_SUFFIXES, guess_slot
from preflight.model import FAMILIES, Finding, Report, RuleInfo, Severity
from preflight.report import RenderOptions
from preflight.report.text import visible

JOB = "<job>"


def _file_families(path: str, rules: Iterable[RuleInfo]) -> list[str]:
    """Families whose rules judge a file with this extension (REQ for specs)."""
    from pathlib import PurePath

    suffix = PurePath(path).suffix.lower()
    if suffix in SPEC_SUFFIXES:
        return ["REQ"]
    slot = guess_slot(suffix)
    if slot is None:
        return []
    return sorted({r.family for r in rules if slot in r.slots}, key=list(FAMILIES).index)


def cases(report: Report, rules: Iterable[RuleInfo] = ()) -> dict[tuple[str, str], list[Finding]]:
    """(location, family) -> findings, in a stable order: files as checked, then the rest."""
    out: dict[tuple[str, str], list[Finding]] = {}
    known = tuple(rules)
    paths: list[str] = []
    if report.spec_path:
        paths.append(report.spec_path)
    paths.extend(p for p in report.files if p not in paths)
    for path in paths:
        for fam in _file_families(path, known):
            out.setdefault((path, fam), [])
    if not report.spec_path and not any(p.lower().endswith(SPEC_SUFFIXES) for p in paths):
        out.setdefault((JOB, "REQ"), [])
    for f in report.findings:
        out.setdefault((f.path or report.spec_path or JOB, f.family), []).append(f)
    return out


def _describe(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        at = "" if f.line is None else f"line {f.line}" + (
            f", column {f.column}: " if f.column is not None else ": ")
        lines.append(f"{at}{f.code} {f.name} [{f.severity.value}] {visible(f.message)}")
        if f.fix:
            lines.append(f"    fix: {visible(f.fix)}")
    return "\n".join(lines)


#: Characters XML 1.0 cannot hold at all (even as references).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _well_formed(root: ET.Element) -> None:
    """Escape, in every attribute and text of the tree, what XML 1.0 cannot hold."""
    def fix(text: str) -> str:
        return _NOT_XML.sub(lambda m: visible(m.group(0)), text)

    for el in root.iter():
        el.attrib.update({k: fix(v) for k, v in el.attrib.items()})
        if el.text:
            el.text = fix(el.text)


def as_element(report: Report, options: RenderOptions) -> ET.Element:
    """The ``<testsuites>`` element."""
    table = cases(report, options.rules.values())
    failures = sum(1 for fs in table.values() if any(f.severity is Severity.ERROR for f in fs))
    counts = {"tests": str(len(table)), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": "preflight", **counts})
    suite = ET.SubElement(root, "testsuite", {
        "name": f"preflight ({report.edition})", **counts, "time": "0",
    })
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "edition", "value": report.edition})
    if options.version:
        ET.SubElement(props, "property", {"name": "version", "value": options.version})
    for (path, family), findings in table.items():
        shown = visible(path)  # as the user typed it, control characters escaped
        case = ET.SubElement(suite, "testcase", {
            "classname": shown, "name": f"{family} {FAMILIES.get(family, family)}", "time": "0",
        })
        if path != JOB:
            case.set("file", shown)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            failure = ET.SubElement(case, "failure", {
                "type": errors[0].code,
                "message": "; ".join(f"{f.code} {visible(f.message)}" for f in errors),
            })
            failure.text = _describe(errors)
        others = [f for f in findings if f.severity is not Severity.ERROR]
        if others and not options.quiet:
            ET.SubElement(case, "system-out").text = _describe(others)
    return root


def render(report: Report, options: RenderOptions) -> str:
    """UTF-8 JUnit XML document with a trailing newline."""
    root = as_element(report, options)
    _well_formed(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
