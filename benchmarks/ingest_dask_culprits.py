"""The Dask engine names only the films that kill workers: many runs with culprits, false culprits counted.

Runs ``tests/dask_culprits.py`` (a 2-worker local cluster; runs of 6-15 items of which one or two kill
their worker process, as a decoder segfault would) and counts films reported ``CRASHED`` that are not
culprits (goal 0), culprits not reported (goal 0) and wrong results (goal 0), on two clusters: Dask's
default ``allowed-failures`` (3: a culprit kills 4 workers before Dask gives it up, in its batch and
again alone), and 0, where every task beside a culprit is given up at the first death (the hardest
case; the test suite runs 20 of these). The machine's load is printed with the figures.

    .venv/bin/python benchmarks/ingest_dask_culprits.py [--runs 200] [--default-runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RUNS = Path(__file__).resolve().parents[1] / "tests" / "dask_culprits.py"


def runs(name: str, count: int, allowed_failures: int, seed: int) -> None:
    command = [sys.executable, str(RUNS), "--runs", str(count), "--seed", str(seed)]
    done = subprocess.run(
        [*command, "--allowed-failures", str(allowed_failures)], capture_output=True, text=True, check=True
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    false = sum(len(set(r["crashed"]) - set(r["culprits"])) for r in lines)
    missed = sum(len(set(r["culprits"]) - set(r["crashed"])) for r in lines)
    wrong = sum(len(r["wrong"]) for r in lines)
    times = sorted(r["seconds"] for r in lines)
    print(
        f"{name}: {len(lines)} runs, {sum(r['films'] for r in lines)} films; false culprits {false}, "
        f"culprits missed {missed}, wrong results {wrong}; per run median {times[len(times) // 2]:.2f} s, "
        f"max {times[-1]:.1f} s, total {sum(times):.0f} s; load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs on the allowed-failures-0 cluster")
    parser.add_argument("--default-runs", type=int, default=20, help="runs with Dask's default (3)")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    runs("allowed-failures 0", args.runs, 0, 1)
    if args.default_runs:
        runs("allowed-failures 3 (Dask's default)", args.default_runs, 3, 2)


if __name__ == "__main__":
    main()
