"""Regenerate the generated blocks of README.md (the rules table) from the registry."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from preflight.rules.catalog import render_rules

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    block = f"<!-- rules-table -->\n{render_rules('markdown')}<!-- /rules-table -->"
    new, n = re.subn(r"<!-- rules-table -->\n.*?<!-- /rules-table -->", lambda _: block, text,
                     flags=re.S)
    if n != 1:
        print("README.md: rules-table markers not found", file=sys.stderr)
        return 1
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md: rules table updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
