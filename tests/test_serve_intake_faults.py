"""Nothing lost under SIGKILL: a real ``cxr-regions serve`` takes 100+ concurrent uploads (and a verdict on
every film it acknowledges) and is killed at every named intake fault point and at seeded random instants;
after each restart everything is uploaded again. Afterwards every film is on the worklist exactly once, no
orphan file or row exists, every acknowledged film keeps its id and every acknowledged verdict is there.

The driver is ``benchmarks/serve_faults.py`` (its longer run prints the figures of docs/fault-tolerance.md).
"""

from __future__ import annotations

import pytest

from serve_helpers import fault_driver

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
    from cxr_regions.serve.faults import FAULT_POINTS

    faults = driver.plan(list(FAULT_POINTS), random_kills=2, seed=SEED)
    data, log = tmp_path / "room", tmp_path / "serve.log"
    cycles, found = driver.drive(tiny, data, log, films, faults, CLIENTS, SEED)
    kills, final = cycles[:-1], cycles[-1]
    summary = {k: v for k, v in vars(found).items() if k not in ("films", "details")}
    problems = [f"kills that never happened: {[c.fault for c in kills if not c.fired]}"]
    problems = problems if not all(c.fired for c in kills) else []
    if not found.clean:
        problems += [f"after the kills: {summary}", *found.details]
    if final.acknowledged != FILMS:
        problems.append(f"the final pass acknowledged {final.acknowledged} of {FILMS} films")
    assert not problems, "\n".join([*problems, driver.cycle_table(cycles)])
    text = log.read_text()
    assert "Traceback" not in text, text[text.index("Traceback") - 2000 :][:5000]
