"""JSON report, schema `preflight.report/1`."""

from __future__ import annotations

import json
from typing import Any

from preflight.model import Report
from preflight.report import RenderOptions

SCHEMA = "preflight.report/1"


def as_dict(report: Report, version: str) -> dict[str, Any]:
    """The report as the documented JSON object."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "metastudio-preflight", "version": version},
        "edition": report.edition,
        "findings": [f.to_dict() for f in report.findings],
        "summary": report.summary(),
    }


def render(report: Report, options: RenderOptions) -> str:
    """Indented JSON with a trailing newline."""
    return json.dumps(as_dict(report, options.version), indent=2, ensure_ascii=False) + "\n"
