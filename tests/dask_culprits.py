"""Runs of the Dask engine on items of which one or two kill their worker, in a process of its own.

    python tests/dask_culprits.py --runs 20 --seed 22 --allowed-failures 0

Starts a local cluster of 2 one-thread workers and hands the engine ``--runs`` runs of 6-15 items; in
every fourth run two items, in the others one, end their worker process (``os._exit``, as a decoder
segfault would). Prints one JSON line per run: the items, the culprits, the items reported ``CRASHED``,
the items whose result is wrong, the seconds. Used by ``tests/test_ingest_archive.py`` (a process of its
own: its workers restart from a fork server that has Dask loaded, whatever the test process started
before) and by ``benchmarks/ingest_dask_culprits.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time


def die_on(culprits: set[int]):
    def task(n: int) -> int:
        if n in culprits:
            os._exit(9)
        return n * n

    return task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--allowed-failures", type=int, default=0, help="Dask's; 3 is its default")
    args = parser.parse_args()

    from cxr_regions.ingest.engine import DaskWorkers, local_cluster

    config = {
        "distributed.scheduler.allowed-failures": args.allowed_failures,
        # a restart in a fraction of a second, and no 30 s wait on a connection to a worker just killed
        "distributed.worker.multiprocessing-method": "forkserver",
        "distributed.comm.timeouts.connect": "5s",
    }
    rng = random.Random(args.seed)
    with local_cluster(2, config) as cluster, DaskWorkers(2, scheduler=cluster.scheduler_address) as pool:
        for run in range(args.runs):
            films = rng.randrange(6, 16)
            culprits = set(rng.sample(range(films), 2 if run % 4 == 3 else 1))
            start = time.perf_counter()
            results = dict(pool.run(die_on(culprits), range(films)))
            line = {
                "run": run,
                "films": films,
                "culprits": sorted(culprits),
                "crashed": sorted(n for n, r in results.items() if r is DaskWorkers.CRASHED),
                "wrong": sorted(n for n in range(films) if n not in culprits and results.get(n) != n * n),
                "seconds": round(time.perf_counter() - start, 3),
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
