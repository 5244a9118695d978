"""``python -m bench``: run the suite, print a table, write the results as JSON.

Every figure is a median of several runs (``--repeats``); every ratio compares figures taken
in the same run on the same server. ``--quick`` is a 2-3 minute smoke run with smaller
sizes; ``--only`` picks benchmarks; ``--compare`` prints each figure against an earlier
JSON file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import text

from bench.common import Databases, Figure, server_url

BENCHES = ("pgbench", "claim", "latency", "slot", "enqueue", "sweep", "sandbox")


def plan(quick: bool, repeats: int) -> dict[str, Callable[[Databases], list[Figure]]]:
    from bench import claims, enqueue, pgbench, sandbox, sweepcost

    r = 1 if quick else repeats
    return {
        "pgbench": lambda d: pgbench.pgbench(d, clients_list=[1, 4, 16],
                                             seconds=2 if quick else 5, repeats=r),
        "claim": lambda d: claims.throughput(
            d, claimers_list=[4] if quick else [1, 4, 16], batches=[10, 100],
            target=3_000 if quick else 5_000, repeats=r, owners=10_000,
            procrastinate_jobs=300 if quick else 1_000),
        "latency": lambda d: claims.claim_latency(
            d, owner_counts=[10_000, 100_000], batch=10, calls=100 if quick else 300,
            repeats=r),
        "slot": lambda d: [
            *claims.slot_to_claim(d, owners=10_000, samples=50 if quick else 200),
            *sandbox.slot_to_start(d, modules=5 if quick else 12, fast_path=True),
            *sandbox.slot_to_start(d, modules=5 if quick else 12, fast_path=False),
        ],
        "enqueue": lambda d: [
            *enqueue.big_course(d, modules=1_000, repeats=max(3, r)),
            *enqueue.burst(d, courses=1_000, modules=6, repeats=r),
        ],
        "sweep": lambda d: sweepcost.sweep_cost(
            d, totals=[1_000, 10_000, 100_000], fixed_live_courses=10,
            terminal_series=[0, 100_000, 500_000] if quick else [0, 100_000, 5_000_000],
            repeats=3 if quick else 5),
        "sandbox": lambda d: sandbox.scale(d, courses=200 if quick else 1_000, modules=6,
                                           settle=5 if quick else 20),
    }


def environment(dbs: Databases) -> dict[str, Any]:
    with dbs.admin.connect() as conn:
        version: str = conn.execute(text("SHOW server_version")).scalar_one()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"),
            "postgres": version, "cpus": os.cpu_count(), "python": platform.python_version(),
            "commit": commit, "server": dbs.url.render_as_string(hide_password=True)}


def show(figures: list[Figure], previous: dict[str, float] | None) -> None:
    print(f"\n{'bench':8} {'figure':66} {'median':>11} {'unit':8} {'target':>22}  ok")
    for f in figures:
        value = f"{f.value:,.2f}" if abs(f.value) < 100 else f"{f.value:,.0f}"
        ok = {True: "yes", False: "NO", None: ""}[f.met]
        line = f"{f.bench:8} {f.name[:66]:66} {value:>11} {f.unit:8} {f.target[:22]:>22}  {ok}"
        key = f"{f.bench}/{f.name}"
        if previous and key in previous and previous[key] and not math.isnan(previous[key]):
            line += f"  (x{f.value / previous[key]:.2f} of before)"
        print(line + (f"   {f.note}" if f.note else ""))


@click.command()
@click.option("--quick", is_flag=True, help="Smoke run (2-3 minutes): smaller sizes, 1 run.")
@click.option("--only", multiple=True, type=click.Choice(BENCHES),
              help="Run these benchmarks only (repeatable).")
@click.option("--skip", multiple=True, type=click.Choice(BENCHES), help="Leave these out.")
@click.option("--repeats", default=3, show_default=True, help="Runs per figure (median).")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="JSON results (default bench/results/<UTC time>.json).")
@click.option("--compare", type=click.Path(exists=True, path_type=Path), default=None,
              help="An earlier JSON result to compare each figure with.")
def main(quick: bool, only: tuple[str, ...], skip: tuple[str, ...], repeats: int,
         output: Path | None, compare: Path | None) -> None:
    """Benchmark the queue and the controller on COURSE_BENCH_DATABASE_URL's server."""
    dbs = Databases()
    selected = [b for b in (only or BENCHES) if b not in skip]
    runs = plan(quick, repeats)
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    print(f"benchmarks on {server_url()}: {', '.join(selected)}", flush=True)
    try:
        env = environment(dbs)
        for name in selected:
            print(f"  {name} ...", flush=True)
            started = time.monotonic()
            try:
                figures += runs[name](dbs)
            except Exception as exc:  # one broken benchmark must not lose the others
                print(f"  {name} FAILED: {exc!r}", flush=True)
                figures.append(Figure(name, "benchmark failed", float("nan"), "",
                                      met=False, note=repr(exc)[:300]))
            timings[name] = round(time.monotonic() - started, 1)
    finally:
        dbs.close()
    previous = None
    if compare is not None:
        previous = {f"{f['bench']}/{f['name']}": f["value"]
                    for f in json.loads(compare.read_text())["figures"]}
    show(figures, previous)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = output or Path(__file__).parent / "results" / f"{stamp}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"environment": env, "quick": quick, "repeats": repeats,
                                  "seconds": timings,
                                  "figures": [f.as_dict() for f in figures]}, indent=1,
                                 default=lambda v: None if isinstance(v, float) else str(v)))
    missed = [f for f in figures if f.met is False]
    print(f"\n{len(figures)} figures, {len(missed)} targets missed; results in {output}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
