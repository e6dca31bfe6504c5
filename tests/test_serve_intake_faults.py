"""Nothing lost under SIGKILL: a real ``cxr-regions serve`` takes 120 concurrent uploads (and a verdict on
every film it acknowledges) and is killed at every named fault point and at seeded random instants;
after each restart everything is uploaded again. Afterwards every film is on the worklist exactly once, no
orphan file or row exists, every acknowledged film keeps its id and every acknowledged verdict is there.

The driver is ``benchmarks/serve_faults.py`` (its longer run prints the figures of docs/fault-tolerance.md).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers.serve import fault_driver

FILMS = 120
CLIENTS = 24
SEED = 22


@pytest.fixture(scope="module")
def driver():
    return fault_driver()


@pytest.fixture(scope="module")
def films(driver, tmp_path_factory):
    return driver.phantom_films(tmp_path_factory.mktemp("fault-films"), FILMS)


@pytest.fixture(scope="module")
def tiny(driver, tmp_path_factory):
    return driver.tiny_run(tmp_path_factory.mktemp("fault-model"))


@pytest.mark.slow
def test_kills_at_every_fault_point_and_at_random_lose_nothing(driver, films, tiny, tmp_path):
    """Two servers on two data folders, each killed at half the fault points and once at random (they
    run side by side: a restart is mostly single-threaded imports, and the machine has two cores)."""
    from cxr_regions.serve.faults import FAULT_POINTS

    points = [p for p in FAULT_POINTS if not p.startswith("pacs.")]  # pacs.*: test_serve_pacs_kill

    def chain(i: int):
        faults = driver.plan(points[i::2], random_kills=1, seed=SEED + i)
        log = tmp_path / f"serve{i}.log"
        return log, *driver.drive(tiny, tmp_path / f"room{i}", log, films, faults, CLIENTS, SEED + i)

    with ThreadPoolExecutor(2) as pool:
        chains = list(pool.map(chain, range(2)))
    problems = []
    for i, (log, cycles, found) in enumerate(chains):
        kills, final = cycles[:-1], cycles[-1]
        summary = {k: v for k, v in vars(found).items() if k not in ("films", "details")}
        missed = [c.fault for c in kills if not c.fired]
        if missed:
            problems.append(f"server {i}: kills that never happened: {missed}")
        if not found.clean:
            problems += [f"server {i} after the kills: {summary}", *found.details]
        if final.acknowledged != FILMS:
            problems.append(f"server {i}: the final pass acknowledged {final.acknowledged} of {FILMS} films")
        text = log.read_text()
        if "Traceback" in text:
            problems.append(text[text.index("Traceback") - 2000 :][:5000])
    tables = [driver.cycle_table(cycles) for _, cycles, _ in chains]
    assert not problems, "\n".join([*problems, *tables])
