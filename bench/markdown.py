"""Print a results file as the Markdown table of BENCHMARKS.md.

    python -m bench.markdown bench/results/reference-2cpu.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def number(value: float | None) -> str:
    if value is None or value != value:  # NaN: a benchmark that failed
        return "n/a"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def table(results: dict[str, Any]) -> str:
    env = results["environment"]
    took = ", ".join(f"{name} {seconds:.0f}" for name, seconds in results["seconds"].items())
    lines = [
        f"Run of {env['when'][:10]} (commit {env['commit']}) on {env['cpus']} shared cores, "
        f"PostgreSQL {env['postgres'].split()[0]}, Python {env['python']}, "
        f"{results['repeats']} runs per figure; seconds per benchmark: {took}.",
        "",
        "| bench | figure | median | unit | target | met | note |",
        "|---|---|---:|---|---|---|---|",
    ]
    for figure in results["figures"]:
        met = {True: "yes", False: "**no**", None: ""}[figure["met"]]
        lines.append(f"| {figure['bench']} | {figure['name']} | {number(figure['value'])} | "
                     f"{figure['unit']} | {figure['target']} | {met} | {figure['note']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m bench.markdown RESULTS.json")
    print(table(json.loads(Path(argv[0]).read_text())))


if __name__ == "__main__":
    main(sys.argv[1:])
