"""Regenerate the documentation generated from the rule registry: docs/rules.md (every rule)
and docs/constraints.md (the documented facts the rules rely on). `--check` changes nothing and
exits 1 when a file is stale (`make docs` runs the writer; the test suite checks currency)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from preflight.rules.catalog import constraints_doc, rules_doc

DOCS = Path(__file__).resolve().parent.parent / "docs"
GENERATED: dict[str, Callable[[], str]] = {"rules.md": rules_doc,
                                           "constraints.md": constraints_doc}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="report stale files, write none")
    args = parser.parse_args(argv)
    stale = 0
    for name, render in GENERATED.items():
        path = DOCS / name
        text = render()
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        stale += 1
        if args.check:
            print(f"docs/{name} is stale: run `make docs`", file=sys.stderr)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"docs/{name} written")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
