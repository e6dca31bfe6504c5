"""PACS link speed: how long a poll takes once the archive is large, how many films/s the DICOM
listener takes in, and how fast the reading room sends results back, with and without one object that
fails every time.

Polls: a fresh local Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``; ``StableAge`` 1 s, so that
its feed is quiet before each measurement) is filled with small phantom CR films (64 px, one study
each, study dates spread over five years) stored through its REST API, first ``--archive`` sizes[0] of
them, then more up to each following size. At each size: the first poll (a search of the whole query,
which is what every poll cost before), then polls after it with nothing new (median of 5) and with
``--new`` new films dated now (median of 3), by the change feed and by the StudyDate window.

Intake: ``--films`` phantom films (``--size`` px, uncompressed) sent by ``--associations`` concurrent
dcmtk ``storescu`` processes into the listener, whose callback only moves each file into a folder and
fsyncs it (the listener has already written and fsynced it).

Results: ``--results-films`` + 1 phantom films (``--results-size`` px) stored in a local Orthanc, taken
in and read by a reading room (a tiny random model: the model's cost is not what is measured); then two
reading rooms on two copies of that state send the results back (``--pacs-jobs`` at once): one with every
original in the PACS, one with one original deleted, whose results job gets 404 on every try. The time
until the other films' results are all in the PACS, in each case (goal: the same, ±10 %).

    .venv/bin/python benchmarks/pacs_link.py [--archive 1000 10000] [--new 10] [--films 200] [--size 512]
        [--results-films 200] [--results-size 256] [--pacs-jobs 4] [--skip poll|intake|results]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path


def phantom_films(folder: Path, n: int, size: int) -> list[Path]:
    """``n`` phantom DICOM films (uncompressed) of ``size`` px."""
    import pydicom

    from cxr_regions.phantom import PhantomConfig, make_phantom

    make_phantom(folder, PhantomConfig(n=n, size=size, seed=3, progress=False))
    out = []
    for i, path in enumerate(sorted(p for p in (folder / "dicom").rglob("*") if p.is_file())):
        dataset = pydicom.dcmread(path)
        if dataset.file_meta.TransferSyntaxUID.is_compressed:
            dataset.decompress()
        out.append(folder / f"film{i:05d}.dcm")
        dataset.save_as(out[-1], enforce_file_format=True)
    return out


class Filler:
    """Stores copies of one small phantom CR film under new UIDs in Orthanc, four at a time."""

    def __init__(self, server, template: Path) -> None:
        import pydicom

        self.server = server
        self.template = pydicom.dcmread(template)
        self.rng = random.Random(0)

    def encoded(self, when: datetime) -> bytes:
        from pydicom.uid import generate_uid

        dataset = self.template
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        dataset.PatientID = f"BENCH{self.rng.randrange(10**8):08d}"
        dataset.StudyDate, dataset.StudyTime = f"{when:%Y%m%d}", f"{when:%H%M%S}"
        buffer = BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()

    def add(self, n: int, when=None) -> float:
        """Store ``n`` films (dated ``when()``, else a random day of the last five years); seconds."""
        import httpx

        now = datetime.now()
        dates = [when() if when else now - timedelta(days=self.rng.uniform(30, 5 * 365)) for _ in range(n)]
        blobs = [self.encoded(d) for d in dates]
        start = time.perf_counter()
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(4) as pool:

            def post(data: bytes) -> None:
                client.post(f"{self.server.url}/instances", content=data).raise_for_status()

            list(pool.map(post, blobs))
        return time.perf_counter() - start


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def bench_polls(folder: Path, sizes: list[int], new: int) -> list[tuple]:
    from cxr_regions.pacs import LocalOrthanc, Pacs, parse_query
    from cxr_regions.pacs.polling import PollConfig, Poller

    [template] = phantom_films(folder / "template", 1, 64)
    rows = []
    with LocalOrthanc(folder / "orthanc", extra={"StableAge": 1}) as server:
        filler = Filler(server, template)
        pacs = Pacs(server.dicomweb)
        filters = parse_query(None)
        stored = 0
        for size in sizes:
            fill = filler.add(size - stored)
            print(
                f"stored {size - stored} films in {fill:.0f} s ({(size - stored) / fill:.0f}/s)", flush=True
            )
            stored = size
            wait_quiet(pacs, server.url)
            for mode in ("changes", "window"):
                poller = Poller(pacs, filters, PollConfig(mode=mode, overlap=3600))
                first, result = timed(lambda p=poller: p.poll(None))
                assert len(result.instances) == stored, (len(result.instances), stored)
                idle, again = timed(lambda p=poller, s=result.state: p.poll(s), repeat=5)
                assert again.instances == [] or mode == "window"
                state, busy_times = again.state, []
                for _ in range(3):
                    filler.add(new, when=datetime.now)
                    stored += new
                    busy, found = timed(lambda p=poller, s=state: drain(p, s))
                    assert len(found) >= new, (mode, len(found))
                    state = found.state
                    busy_times.append(busy)
                busy = statistics.median(busy_times)
                rows.append((size, mode, first, idle, busy))
            print(f"{stored} films in the archive", flush=True)
    return rows


class Found(list):
    state = None


def drain(poller, state) -> Found:
    """Poll until the feed has nothing more waiting (one poll reads at most ``max_changes``)."""
    found = Found()
    while True:
        result = poller.poll(state)
        found += result.instances
        found.state = state = result.state
        if not result.more:
            return found


def wait_quiet(pacs, url: str, quiet: float = 3.0) -> None:
    """Until Orthanc's change feed stops growing (its StableSeries/StableStudy changes have come)."""
    last, since = None, time.monotonic()
    while time.monotonic() - since < quiet:
        now = pacs.get_json(f"{url}/changes", {"last": ""})["Last"]
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(0.5)


def bench_intake(folder: Path, films: int, size: int, associations: int) -> tuple[float, float, int]:
    from cxr_regions.pacs.listener import Decision, DicomListener, ListenerConfig

    paths = phantom_films(folder / "films", films, size)
    kept = folder / "kept"
    kept.mkdir()
    megabytes = sum(p.stat().st_size for p in paths) / 2**20

    def keep(path: Path) -> Decision:
        os.replace(path, kept / path.name)
        fd = os.open(kept, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return Decision.stored()

    config = ListenerConfig("CXR-REGIONS", 0, folder / "incoming", max_associations=associations + 2)
    with DicomListener(config, keep) as listener:
        batches = [paths[i::associations] for i in range(associations)]
        command = ["storescu", "-aec", "CXR-REGIONS", "127.0.0.1", str(listener.port)]
        start = time.perf_counter()
        with ThreadPoolExecutor(associations) as pool:
            runs = list(
                pool.map(lambda b: subprocess.run([*command, *map(str, b)], capture_output=True), batches)
            )
        seconds = time.perf_counter() - start
    assert all(r.returncode == 0 for r in runs), [r.stderr[-300:] for r in runs]
    assert len(list(kept.iterdir())) == films
    return films / seconds, megabytes / seconds, films


# --- The reading room's results: sent per second, and with one object failing every time


def tiny_run(folder: Path) -> Path:
    """A run folder with seeded random resnet18 weights at 64 px over a small built dataset of random
    films: the reading room's work, not its skill."""
    import numpy as np
    import pandas as pd
    import torch

    from cxr_regions.build import BuildConfig, build_from_arrays
    from cxr_regions.models import create_model
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.training import save_model

    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"image_id": [f"f{i:03d}" for i in range(30)], "patient_key": [f"p{i}" for i in range(30)]}
    )
    for key in REGION_KEYS:
        table[key] = rng.integers(0, 2, 30)
    images = rng.integers(0, 255, (30, 64, 64), dtype=np.uint8)
    dataset = build_from_arrays(folder / "dataset", images, table, BuildConfig(size=64, progress=False))
    torch.manual_seed(0)
    model = create_model("resnet18", len(REGION_KEYS), input_size=64)
    save_model(model, folder / "run", list(REGION_KEYS), dataset_path=str(dataset))
    return folder / "run"


def _room(run: Path, data: Path, server, **options):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    config = ServeConfig(run=run, data=data, demo=False, pacs=server.dicomweb, pacs_poll=1.0, **options)
    return TestClient(create_app(config))


def _count(data: Path, query: str) -> int:
    import sqlite3

    database = sqlite3.connect(data / "reading-room.sqlite")
    try:
        return int(database.execute(query).fetchone()[0])
    finally:
        database.close()


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not done within {timeout:.0f} s")
        time.sleep(0.1)


def bench_results(folder: Path, films: int, size: int, jobs: int) -> tuple[dict, dict]:
    """``films`` + 1 films taken in from a local Orthanc and read; then, from two copies of that state,
    their results sent (SC + SR each, ``--pacs-jobs jobs``): once with every original in the PACS, once
    with one original deleted (its header 404 on every try). Seconds until the ``films`` others' results
    are all in the PACS, in each case, and the CPU seconds the reading room and Orthanc used meanwhile
    (which a busy machine changes less than the wall-clock time)."""
    import shutil

    import httpx
    import pydicom

    from cxr_regions.pacs import LocalOrthanc

    templates = phantom_films(folder / "templates", 8, size)
    run = tiny_run(folder / "model")
    server = LocalOrthanc(folder / "orthanc").start()
    poison = None
    try:
        for i in range(films + 1):
            filler = Filler(server, templates[i % len(templates)])
            data = filler.encoded(datetime.now() - timedelta(days=i))
            answer = httpx.post(f"{server.url}/instances", content=data, timeout=60).json()
            if poison is None:
                poison = (str(pydicom.dcmread(BytesIO(data)).SOPInstanceUID), answer["ID"])
        room = folder / "room"
        start = time.perf_counter()
        with _room(run, room, server, workers=2):
            query = "SELECT count(*) FROM films WHERE status = 'ready'"
            _wait(lambda: _count(room, query) == films + 1, 1800, "films read")
        print(f"{films + 1} films taken in and read in {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        server.stop()
    timings, cpu = {}, {}
    for case in ("every original there", "one original deleted"):
        copy = folder / case.replace(" ", "-")
        shutil.copytree(folder / "orthanc", copy / "orthanc")
        shutil.copytree(room, copy / "room")
        with LocalOrthanc(copy / "orthanc") as pacs:
            if case == "one original deleted":
                httpx.delete(f"{pacs.url}/instances/{poison[1]}", timeout=60).raise_for_status()
            others = (
                "SELECT count(*) FROM pacs_sent JOIN films ON films.id = pacs_sent.film_id "
                f"WHERE pacs_sent.kind = 'results' AND films.sop_instance_uid != '{poison[0]}'"
            )
            with _room(run, copy / "room", pacs, send_results=True, pacs_jobs=jobs, workers=2):
                start, ours, theirs = time.perf_counter(), _cpu_seconds(), _cpu_seconds(pacs.process.pid)
                _wait(lambda c=copy, q=others: _count(c / "room", q) == films, 1800, f"results ({case})")
                timings[case] = time.perf_counter() - start
                cpu[case] = (_cpu_seconds() - ours, _cpu_seconds(pacs.process.pid) - theirs)
        print(
            f"{case}: the results of {films} films sent in {timings[case]:.1f} s (CPU: reading room "
            f"{cpu[case][0]:.1f} s, Orthanc {cpu[case][1]:.1f} s)", flush=True,
        )  # fmt: skip
    return timings, cpu


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by this process (all its threads) or by process ``pid``."""
    if pid is None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    from cxr_regions.pacs.orthanc import missing

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--films", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--associations", type=int, default=4)
    parser.add_argument("--results-films", type=int, default=200)
    parser.add_argument("--results-size", type=int, default=256)
    parser.add_argument("--pacs-jobs", type=int, default=4)
    parser.add_argument("--skip", choices=["poll", "intake", "results"], action="append", default=[])
    args = parser.parse_args()
    if missing():
        raise SystemExit(missing())
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        if "poll" not in args.skip:
            rows = bench_polls(Path(tmp) / "poll", sorted(args.archive), args.new)
            load = os.getloadavg()
            print(f"\nPolls: Orthanc {orthanc_version()}, {cores} CPU cores, load average {load[0]:.1f} "
                  f"{load[1]:.1f} {load[2]:.1f} at the end\n")  # fmt: skip
            print(f"| films in the archive | mode | first poll (whole query) s | poll, nothing new s "
                  f"| poll, {args.new} new s |")  # fmt: skip
            print("|---|---|---|---|---|")
            for size, mode, first, idle, busy in rows:
                print(f"| {size:,} | {mode} | {first:.2f} | {idle:.3f} | {busy:.3f} |")
        if "intake" not in args.skip:
            rate, megabytes, films = bench_intake(
                Path(tmp) / "intake", args.films, args.size, args.associations
            )
            load = os.getloadavg()
            print(f"\nC-STORE intake: {films} phantom films of {args.size} px from {args.associations} "
                  f"concurrent storescu associations: {rate:.1f} films/s ({megabytes:.1f} MB/s); {cores} CPU "
                  f"cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")  # fmt: skip
        if "results" not in args.skip:
            n = args.results_films
            timings, cpu = bench_results(Path(tmp) / "results", n, args.results_size, args.pacs_jobs)
            load = os.getloadavg()
            clean, poisoned = timings["every original there"], timings["one original deleted"]
            (clean_ours, clean_pacs), (poisoned_ours, poisoned_pacs) = cpu.values()
            print(f"\nResults out: SC + SR of {n} phantom films ({args.results_size} px), {args.pacs_jobs} "
                  f"jobs at once, to Orthanc {orthanc_version()}; {cores} CPU cores, load average "
                  f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end\n")  # fmt: skip
            print("| | every original in the PACS | one original deleted (404 on every try) | change |")
            print("|---|---|---|---|")
            print(f"| wall clock | {clean:.1f} s ({n / clean:.2f} films/s) | {poisoned:.1f} s "
                  f"({n / poisoned:.2f} films/s) | {100 * (poisoned / clean - 1):+.0f} % |")  # fmt: skip
            for what, a, b in (
                ("reading room CPU", clean_ours, poisoned_ours),
                ("Orthanc CPU", clean_pacs, poisoned_pacs),
            ):
                print(f"| {what} | {a:.1f} s | {b:.1f} s | {100 * (b / a - 1):+.0f} % |")


def orthanc_version() -> str:
    from cxr_regions.pacs.orthanc import ORTHANC

    try:
        return subprocess.run([ORTHANC, "--version"], capture_output=True, text=True).stdout.split()[1]
    except (OSError, IndexError):
        return "?"


if __name__ == "__main__":
    main()
