"""Run every benchmark (bench/bench_*.py) and print one table.

Each module exposes ``run(cache_dir: Path) -> list[dict]`` with rows ``name, measured, target,
ok``. Big inputs are generated once into the cache dir (default
~/.cache/metastudio-preflight-bench, or $PREFLIGHT_BENCH_DIR) and reused.

    python bench/run.py [--only check,package] [--strict]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import cache_dir  # noqa: E402


def modules(only: set[str] | None) -> list[str]:
    """Benchmark module names (`check`, `package`, ...) in a stable order."""
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    return [n for n in names if only is None or n in only]


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned plain-text table."""
    head = ("benchmark", "measured", "target", "ok")
    cells = [head] + [(r["suite"] + ": " + str(r["name"]), str(r["measured"]), str(r["target"]),
                       "yes" if r["ok"] else "NO") for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(4)).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; exit 1 only with --strict and a missed target."""
    ap = argparse.ArgumentParser(description="Run the preflight benchmarks.")
    ap.add_argument("--only", help="comma-separated module names, e.g. check,package")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    cache = cache_dir()
    print(f"benchmark inputs in {cache} (generated once; the 10-minute 4K file is ~4.5 GB)",
          flush=True)
    rows: list[dict[str, Any]] = []
    for name in modules(only):
        t = time.perf_counter()
        try:
            mod = importlib.import_module(f"bench.bench_{name}")
            got = mod.run(cache)
        except Exception as exc:  # a broken benchmark is a row, not the end of the run
            traceback.print_exc()
            got = [{"name": "(benchmark failed)", "measured": f"{type(exc).__name__}: {exc}",
                    "target": "-", "ok": False}]
        rows.extend({**r, "suite": name} for r in got)
        print(f"  {name}: {len(got)} rows in {time.perf_counter() - t:.0f} s", flush=True)
    print()
    print(table(rows))
    missed = [r for r in rows if not r["ok"]]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} targets met")
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
