"""The Dask engine names only the films that kill workers: many runs with culprits, false culprits counted.

Each run hands the engine 6-15 items of which one or two kill their worker process (``os._exit``, as a
decoder segfault would) and counts films reported ``CRASHED`` that are not culprits (goal 0), culprits
not reported (goal 0) and wrong results (goal 0). Two clusters of 2 one-thread workers: Dask's default
``allowed-failures`` (3: a culprit kills 4 workers before Dask gives it up, in the batch and again
alone), and 0, where every task beside a culprit is given up at the first death (the hardest case; the
test suite runs 20 of these). The machine's load is printed with the figures.

    .venv/bin/python benchmarks/ingest_dask_culprits.py [--runs 200] [--default-runs 20]
"""

from __future__ import annotations

import argparse
import os
import random
import time


def die_on(culprits: set[int]):
    def task(n: int) -> int:
        if n in culprits:
            os._exit(9)
        return n * n

    return task


def runs(name: str, config: dict, count: int, seed: int) -> None:
    from cxr_regions.ingest.engine import DaskWorkers, local_cluster

    rng = random.Random(seed)
    false = missed = wrong = films_total = 0
    times = []
    with local_cluster(2, config) as cluster, DaskWorkers(2, scheduler=cluster.scheduler_address) as pool:
        for run in range(count):
            films = rng.randrange(6, 16)
            culprits = set(rng.sample(range(films), 2 if run % 4 == 3 else 1))
            start = time.perf_counter()
            results = dict(pool.run(die_on(culprits), range(films)))
            times.append(time.perf_counter() - start)
            crashed = {n for n, result in results.items() if result is DaskWorkers.CRASHED}
            false += len(crashed - culprits)
            missed += len(culprits - crashed)
            wrong += sum(results.get(n) != n * n for n in range(films) if n not in culprits)
            films_total += films
    times.sort()
    print(
        f"{name}: {count} runs, {films_total} films; false culprits {false}, culprits missed {missed}, "
        f"wrong results {wrong}; per run median {times[len(times) // 2]:.2f} s, max {times[-1]:.1f} s, "
        f"total {sum(times):.0f} s; load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs on the allowed-failures-0 cluster")
    parser.add_argument("--default-runs", type=int, default=20, help="runs with Dask's default (3)")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    fast = {  # as the test's cluster: quick restarts, no 30 s wait on a connection to a dead worker
        "distributed.worker.multiprocessing-method": "forkserver",
        "distributed.comm.timeouts.connect": "5s",
    }
    runs("allowed-failures 0", {"distributed.scheduler.allowed-failures": 0, **fast}, args.runs, 1)
    runs("allowed-failures 3 (Dask's default)", fast, args.default_runs, 2)


if __name__ == "__main__":
    main()
