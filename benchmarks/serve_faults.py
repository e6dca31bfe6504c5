"""Kill the reading room while films pour in: a real ``cxr-regions serve`` gets 100+ concurrent uploads (and
a verdict on every film it acknowledges) and is SIGKILLed, at seeded random instants and at every named
fault point (``CXR_FAULT_POINT``, ``serve/faults.py``); after each restart everything is uploaded again.
Afterwards every film must be on the worklist exactly once, with no orphan file or row, and every verdict
whose save was acknowledged before a kill must be there.

Goals: films lost 0, duplicates 0, acknowledged verdicts lost 0, orphans 0, films refused 0.

    .venv/bin/python benchmarks/serve_faults.py [--cycles 24] [--films 160] [--clients 32] [--seed 7]

``tests/test_serve_intake_faults.py`` runs the same driver with one kill at each fault point and two random
kills (a short version for ``make test``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DYING_SECONDS = 30.0
REGIONS = ("thorax", "lungs", "aorta", "heart", "diaphragm")
PNG_END = b"IEND\xaeB`\x82"
HEATMAPS_DIR = "overlays"  # serve/filing.py's (the heatmap cache)


@dataclass(frozen=True)
class Film:
    """One phantom DICOM to upload: its bytes and its SOP Instance UID (how the database knows it)."""

    name: str
    data: bytes
    sop: str


@dataclass
class Ledger:
    """What the server acknowledged, and what went wrong, over all cycles."""

    films: dict[str, int] = field(default_factory=dict)  # SOP UID -> film id acknowledged
    sent: dict[tuple[int, str], dict[str, str]] = field(default_factory=dict)  # (film, note) -> labels
    verdicts: dict[int, int] = field(default_factory=dict)  # film id -> last cycle acknowledged
    refused: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def film(self, sop: str, film_id: int) -> None:
        with self.lock:
            known = self.films.setdefault(sop, film_id)
            if known != film_id:
                self.changed_ids.append(f"{sop[-12:]}: film {known}, then {film_id}")


@dataclass
class Cycle:
    """One server life: how it ended, what the load saw, and how long the start and the load took."""

    fault: str
    fired: bool = False
    uploads: int = 0
    acknowledged: int = 0
    start_seconds: float = 0.0
    seconds: float = 0.0
    stored: list[int] = field(default_factory=list)  # films new in this cycle


# --- the pieces: a model, films, a server ----------------------------------------------------------------


def tiny_run(folder: Path, size: int = 64) -> Path:
    """A run folder with an untrained ResNet-18 at ``size`` px (no dataset: films are framed at its input
    size): it costs what a tiny trained one costs."""
    from cxr_regions.models import create_model
    from cxr_regions.training import save_model

    save_model(create_model("resnet18", len(REGIONS), input_size=size), folder / "run", list(REGIONS))
    return folder / "run"


def phantom_films(folder: Path, n: int, seed: int = 3) -> list[Film]:
    """``n`` small phantom DICOM films (96 px)."""
    import pydicom

    from cxr_regions.phantom import PhantomConfig, Prevalence, make_phantom

    config = PhantomConfig(n=n, size=96, seed=seed, prevalence=Prevalence.parse("balanced"), progress=False)
    make_phantom(folder, config)
    paths = sorted(p for p in (folder / "dicom").rglob("*") if p.is_file())
    return [
        Film(
            f"film{i:04d}.dcm",
            p.read_bytes(),
            str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID),
        )
        for i, p in enumerate(paths)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``cxr-regions serve`` as a process on a free port, with ``CXR_FAULT_POINT`` set or not."""

    def __init__(self, run: Path, data: Path, log: Path, fault: str | None = None) -> None:
        self.port = free_port()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
        env.pop("CXR_FAULT_POINT", None)
        if fault:
            env["CXR_FAULT_POINT"] = fault
        command = [sys.executable, "-m", "cxr_regions.cli", "serve", str(run), "--data", str(data)]
        command += ["--port", str(self.port)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log

    def wait_up(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"serve did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(60)

    def session(self) -> tuple[httpx.Client, str]:
        client = httpx.Client(base_url=self.url, timeout=120.0)
        page = client.get("/worklist").text
        return client, page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


# --- one cycle: load, kill, and what was acknowledged -----------------------------------------------------


def _verdict_labels(rng: random.Random) -> dict[str, str]:
    return {key: rng.choice("1u0") for key in REGIONS}


def load(server: Server, films: list[Film], ledger: Ledger, cycle: int, clients: int, seed: int) -> Cycle:
    """Upload ``films`` (one per request, ``clients`` at once) and save a verdict on each acknowledged film;
    stops when the server dies. Counts what the server acknowledged into ``ledger``."""
    result = Cycle("")
    queue = list(films)
    guard = threading.Lock()
    local = threading.local()

    def one(film: Film) -> None:
        if not server.alive:
            return
        try:
            if not hasattr(local, "client"):
                local.client, local.token = server.session()
            client, token = local.client, local.token
            response = client.post(
                "/upload", files=[("files", (film.name, film.data, "application/dicom"))],
                data={"csrf": token}, headers={"Accept": "application/json"},
            )  # fmt: skip
            with guard:
                result.uploads += 1
            if response.status_code != 200:
                return
            [outcome] = response.json()["results"]
            if outcome["status"] == "refused":
                with ledger.lock:
                    ledger.refused.append(f"cycle {cycle}: {outcome['reason']}")
            if outcome["status"] not in ("stored", "duplicate") or not outcome.get("film_id"):
                return
            film_id = int(outcome["film_id"])
            ledger.film(film.sop, film_id)
            with guard:
                result.acknowledged += 1
                if outcome["status"] == "stored":
                    result.stored.append(film_id)
            note = f"cycle {cycle:03d}"
            labels = _verdict_labels(random.Random(f"{seed}-{cycle}-{film_id}"))
            with ledger.lock:
                ledger.sent[(film_id, note)] = labels
            form = {"csrf": token, "note": note, "mark_read": "1", **{f"v_{k}": v for k, v in labels.items()}}
            saved = client.post(
                f"/films/{film_id}/verdict", data=form, headers={"Accept": "application/json"}
            )
            if saved.status_code == 200 and saved.json().get("saved"):
                with ledger.lock:
                    ledger.verdicts[film_id] = max(cycle, ledger.verdicts.get(film_id, -1))
        except (httpx.TransportError, ValueError):
            return  # the server died under the request: nothing acknowledged

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, queue))
    result.seconds = time.monotonic() - started
    return result


def heatmaps(server: Server, film_ids: list[int]) -> None:
    """Ask for every heatmap of a few films stored in this cycle, so none is in the cache yet (a kill at
    ``heatmaps.written`` lands here)."""
    try:
        client = httpx.Client(base_url=server.url, timeout=120.0)
        for film_id in film_ids:
            for region in REGIONS:
                client.get(f"/films/{film_id}/heatmaps/{region}.png")
    except httpx.TransportError:
        pass


def run_cycle(
    run: Path, data: Path, log: Path, films: list[Film], new: int, ledger: Ledger, cycle: int, fault: str,
    clients: int, seed: int,
) -> Cycle:  # fmt: skip
    """One server life. ``fault``: a fault point (``NAME@N``) or ``random:SECONDS`` (SIGKILL from outside
    that long after the load starts). The ``new`` films not uploaded before go first, then all the rest."""
    rng = random.Random(f"{seed}-order-{cycle}")
    fresh, old = films[-new:] if new else [], films[: len(films) - new]
    order = rng.sample(fresh, len(fresh)) + rng.sample(old, len(old))
    point = None if fault.startswith("random:") else fault
    started = time.monotonic()
    server = Server(run, data, log, point)
    server.wait_up()
    start_seconds = time.monotonic() - started
    timer = None
    if fault.startswith("random:"):
        timer = threading.Timer(float(fault.split(":", 1)[1]), server.kill)
        timer.start()
    result = load(server, order, ledger, cycle, clients, seed)
    if server.alive:
        heatmaps(server, result.stored[:2])
    if timer is not None:
        timer.join()
    elif server.alive:  # a server that hit its fault point may still be dying: wait for it, not guess
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(DYING_SECONDS)
    result.fault = fault
    result.fired = not server.alive
    result.start_seconds = start_seconds
    server.kill()
    return result


def plan(points: list[str], random_kills: int, seed: int) -> list[str]:
    """Every fault point once (at a seeded hit between the 1st and the 4th), and random kills between."""
    rng = random.Random(seed)
    faults = [f"{p}@{rng.randint(1, 4)}" for p in points]
    kills = [f"random:{rng.uniform(0.5, 4.0):.2f}" for _ in range(random_kills)]
    out = []
    while faults or kills:
        if kills and (not faults or rng.random() < len(kills) / (len(kills) + len(faults))):
            out.append(kills.pop())
        else:
            out.append(faults.pop(0))
    return out


# --- the end: one more clean pass, then what the data folder holds ----------------------------------------


@dataclass
class Findings:
    """What the final inspection found (goals: all zero but ``films``)."""

    films: int = 0
    films_lost: int = 0
    duplicates: int = 0
    verdicts_lost: int = 0
    orphan_files: int = 0
    rows_without_file: int = 0
    half_stored_rows: int = 0
    leftovers: int = 0
    torn_heatmaps: int = 0
    refused: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        problems = (self.films_lost, self.duplicates, self.verdicts_lost, self.orphan_files,
                    self.rows_without_file, self.half_stored_rows, self.leftovers, self.torn_heatmaps,
                    self.refused)  # fmt: skip
        return not any(problems)


def final_pass(
    run: Path, data: Path, log: Path, films: list[Film], ledger: Ledger, clients: int
) -> tuple[Cycle, list[int]]:
    """Start clean, upload everything once more, and list the worklist's film ids (all pages)."""
    started = time.monotonic()
    server = Server(run, data, log)
    server.wait_up()
    start_seconds = time.monotonic() - started
    try:
        final = load(server, films, ledger, 999, clients, 0)
        final.fault, final.start_seconds = "none (the final pass)", start_seconds
        client, _ = server.session()
        ids, page = [], 1
        while True:
            query = {"status": "all", "sort": "received", "page": page}  # an order the worker cannot change
            rows = client.get("/api/worklist", params=query).json()["rows"]
            if not rows:
                return final, ids
            ids += [r["id"] for r in rows]
            page += 1
    finally:
        server.kill()


def inspect(data: Path, films: list[Film], ledger: Ledger, worklist: list[int]) -> Findings:
    """Compare the database, the files and the worklist with what was acknowledged."""
    found = Findings(films=len(films), refused=len(ledger.refused))
    found.details += ledger.refused[:5] + ledger.changed_ids[:5]
    with sqlite3.connect(data / "reading-room.sqlite") as db:
        rows = db.execute(
            "SELECT id, sop_instance_uid, png_path, status, full_depth_path FROM films"
        ).fetchall()
        verdicts = {f: (note, labels) for f, note, *labels in db.execute(
            f"SELECT film_id, note, {', '.join(REGIONS)} FROM verdicts WHERE reader = 'local'")}  # fmt: skip
    by_sop = Counter(sop for _, sop, *_ in rows)
    ids = {sop: i for i, sop, *_ in rows}
    listed = Counter(worklist)
    found.duplicates = sum(n - 1 for n in by_sop.values() if n > 1) + sum(
        n - 1 for n in listed.values() if n > 1
    )
    lost = [s for s, i in ledger.films.items() if ids.get(s) != i] + [
        f.sop for f in films if f.sop not in ids
    ]
    found.films_lost = len(set(lost)) + len(ledger.changed_ids)
    if len(worklist) != len(rows):
        found.details.append(f"worklist lists {len(worklist)} films, the database holds {len(rows)}")
        found.films_lost += max(0, len(rows) - len(set(worklist)))
    found.half_stored_rows = sum(status == "receiving" for _, _, _, status, _ in rows)
    filed = [(png, full) for _, _, png, status, full in rows if status != "receiving"]
    stored = {p for png, full in filed for p in (png, full) if p}  # the display PNG and the full-depth one
    on_disk = {p.relative_to(data).as_posix() for p in (data / "films").rglob("*") if p.is_file()}
    found.orphan_files = len({p for p in on_disk if not p.split("/")[-1].startswith(".")} - stored)
    found.rows_without_file = len(stored - on_disk)
    for folder in ("films", HEATMAPS_DIR, "incoming"):
        for path in (data / folder).rglob("*") if (data / folder).is_dir() else []:
            temporary = path.name.startswith(".") or path.name.endswith((".part", ".tmp"))
            found.leftovers += path.is_file() and (folder == "incoming" or temporary)
    for png in (data / HEATMAPS_DIR).rglob("*.png") if (data / HEATMAPS_DIR).is_dir() else []:
        found.torn_heatmaps += not png.read_bytes().endswith(PNG_END)
    for film_id, cycle in ledger.verdicts.items():
        note, labels = verdicts.get(film_id, ("", []))
        expected = ledger.sent.get((film_id, note))
        if not note or int(note.split()[-1]) < cycle or expected is None or list(expected.values()) != labels:
            found.verdicts_lost += 1
            found.details.append(f"film {film_id}: verdict of cycle {cycle} acknowledged, found {note!r}")
    return found


def drive(
    run: Path, data: Path, log: Path, films: list[Film], faults: list[str], clients: int, seed: int
) -> tuple[list[Cycle], Findings]:
    """Every cycle of ``faults`` (films introduced in equal batches, each cycle uploading all so far),
    then the final clean pass (the last of the cycles returned) and the inspection."""
    ledger = Ledger()
    cycles = []
    per_cycle = max(1, len(films) // (len(faults) + 1))
    for c, fault in enumerate(faults):
        upto = min(len(films), per_cycle * (c + 2))
        new = upto - min(len(films), per_cycle * (c + 1)) if c else upto
        cycles.append(run_cycle(run, data, log, films[:upto], new, ledger, c, fault, clients, seed))
    final, worklist = final_pass(run, data, log, films, ledger, clients)
    return [*cycles, final], inspect(data, films, ledger, worklist)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a run folder (default: an untrained 64-px ResNet-18)")
    parser.add_argument("--cycles", type=int, default=24, help="kill/restart cycles (at least one per point)")
    parser.add_argument("--films", type=int, default=160)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from cxr_regions.serve.faults import FAULT_POINTS

    points = [p for p in FAULT_POINTS if not p.startswith("pacs.")]  # pacs.*: test_serve_pacs_kill
    faults = plan(points, max(0, args.cycles - len(points)), args.seed)
    load_before = os.getloadavg()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run = args.run or tiny_run(folder / "model")
        films = phantom_films(folder / "phantom", args.films)
        cycles, found = drive(
            run, folder / "room", folder / "serve.log", films, faults, args.clients, args.seed
        )
    minutes = (time.monotonic() - started) / 60
    print(f"\n{len(films)} phantom films, {args.clients} concurrent clients, {len(cycles)} kill/restart "
          f"cycles, seed {args.seed}; {len(os.sched_getaffinity(0))} CPU cores, load average before "
          f"{load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; {minutes:.1f} min\n")  # fmt: skip
    print(cycle_table(cycles))
    kills, final = cycles[:-1], cycles[-1]
    print("\n| measure | value | goal |\n|---|---|---|")
    print(f"| kills survived | {sum(c.fired for c in kills)} of {len(kills)} | all |")
    print(f"| films acknowledged in the final pass | {final.acknowledged} of {len(films)} | all |")
    for name, value in [
        ("films lost", found.films_lost), ("duplicates", found.duplicates),
        ("acknowledged verdicts lost", found.verdicts_lost), ("orphan files", found.orphan_files),
        ("rows without a file", found.rows_without_file), ("half-stored rows", found.half_stored_rows),
        ("temporary files left", found.leftovers), ("torn heatmaps", found.torn_heatmaps),
        ("films refused", found.refused),
    ]:  # fmt: skip
        print(f"| {name} | {value} | 0 |")
    for line in found.details[:10]:
        print("  ", line)
    sys.exit(0 if found.clean and all(c.fired for c in kills) and final.acknowledged == len(films) else 1)


def cycle_table(cycles: list[Cycle]) -> str:
    """The cycles as a Markdown table."""
    lines = ["| cycle | kill | killed | uploads answered | acknowledged | start s | load s |"]
    lines.append("|---|---|---|---|---|---|---|")
    for c, cycle in enumerate(cycles):
        lines.append(f"| {c} | {cycle.fault} | {'yes' if cycle.fired else 'no'} | {cycle.uploads} | "
                     f"{cycle.acknowledged} | {cycle.start_seconds:.1f} | {cycle.seconds:.1f} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
