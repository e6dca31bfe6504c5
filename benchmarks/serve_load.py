"""Reading-room load: upload -> five probabilities, upload -> all five heatmaps, and 8 concurrent
clients uploading 200 films, against a real ``cxr-regions serve`` process.

Targets (issue 13), DenseNet121 at 256 px on 2 CPU cores: probabilities p95 <= 1.5 s, all five
heatmaps p95 <= 4 s, 8 concurrent clients without an error (nothing lost, every film on the
worklist). Without ``--run`` an untrained DenseNet121 run (random weights, same cost) is written
with a 256-px frame and its 224-px crop. Films are phantom DICOMs (512 px, then fitted to 256).

    .venv/bin/python benchmarks/serve_load.py [--run RUN] [--latency-films 20] [--films 200] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HEATMAP_REGIONS = ("thorax", "lungs", "aorta", "heart", "diaphragm")


def untrained_run(folder: Path, arch: str, frame: int) -> Path:
    """A run folder with random weights of ``arch`` (costs what a trained one costs) and a ``frame``-px
    dataset description, so that films are framed as at 256 px and centre-cropped to the input size."""
    from cxr_regions.models import create_model
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.training import save_model

    dataset = folder / "dataset"
    dataset.mkdir(parents=True)
    (dataset / "dataset.json").write_text(json.dumps({"size": frame}))
    model = create_model(arch, len(REGION_KEYS))
    save_model(model, folder / "run", list(REGION_KEYS), dataset_path=str(dataset))
    return folder / "run"


def phantom_dicoms(folder: Path, n: int) -> list[bytes]:
    from cxr_regions.phantom import PhantomConfig, make_phantom

    make_phantom(folder, PhantomConfig(n=n, size=512, seed=7, workers=2, progress=False))
    return [p.read_bytes() for p in sorted((folder / "dicom").rglob("*")) if p.is_file()]


def start(run: Path, data: Path, threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "cxr_regions.cli", "serve", str(run), "--data", str(data)]
    command += ["--port", str(port), "--threads", str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def session(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=120.0)
    page = client.get("/worklist").text
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return client, token


def send(client: httpx.Client, token: str, name: str, data: bytes) -> dict:
    response = client.post(
        "/upload",
        files=[("files", (name, data))],
        data={"csrf": token},
        headers={"Accept": "application/json"},
    )
    response.raise_for_status()
    return response.json()["results"][0]


def wait_ready(client: httpx.Client, film_id: int, poll: float = 0.02) -> str:
    while True:
        status = client.get(f"/api/films/{film_id}").json()["status"]
        if status in ("ready", "failed"):
            return status
        time.sleep(poll)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def latency(url: str, films: list[bytes]) -> tuple[list[float], list[float]]:
    client, token = session(url)
    probabilities, heatmaps = [], []
    for i, data in enumerate(films):
        started = time.perf_counter()
        result = send(client, token, f"lat{i}.dcm", data)
        if result["status"] != "stored":
            raise SystemExit(f"film {i} not stored: {result}")
        wait_ready(client, result["film_id"])
        probabilities.append(time.perf_counter() - started)
        for region in HEATMAP_REGIONS:
            client.get(f"/films/{result['film_id']}/heatmaps/{region}.png").raise_for_status()
        heatmaps.append(time.perf_counter() - started)
    return probabilities, heatmaps


def concurrent(url: str, films: list[bytes], clients: int) -> tuple[float, int, int]:
    errors: list[str] = []
    ids: list[int] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        client, token = session(url)
        for i in range(k, len(films), clients):
            try:
                result = send(client, token, f"c{i}.dcm", films[i])
                if result["status"] != "stored":
                    raise RuntimeError(result)
                with lock:
                    ids.append(result["film_id"])
            except Exception as exc:
                with lock:
                    errors.append(str(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client, _ = session(url)
    failed = sum(wait_ready(client, i, 0.2) != "ready" for i in ids)
    seconds = time.perf_counter() - started
    total = client.get("/api/worklist").json()["counts"]["total"]
    missing = len(films) - len(ids)
    if errors:
        print("errors:", *errors[:5], sep="\n  ")
    return seconds, missing + failed + len(errors), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--arch", default="densenet121")
    parser.add_argument("--frame", type=int, default=256)
    parser.add_argument("--latency-films", type=int, default=20)
    parser.add_argument("--films", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads of the server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run = args.run or untrained_run(folder / "model", args.arch, args.frame)
        films = phantom_dicoms(folder / "phantom", args.latency_films + args.films)
        process, url = start(run, folder / "room", args.threads)
        try:
            probabilities, heatmaps = latency(url, films[: args.latency_films])
            seconds, problems, total = concurrent(url, films[args.latency_films :], args.clients)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    cores = len(os.sched_getaffinity(0))
    print(
        f"\n{args.arch}, {args.frame}-px frame, {cores} CPU cores, server with {args.threads} torch threads\n"
    )
    print("| measure | p50 | p95 | target |\n|---|---|---|---|")
    p50, p95 = statistics.median(probabilities), percentile(probabilities, 95)
    print(
        f"| upload -> five probabilities ({len(probabilities)} films) | {p50:.2f} s | {p95:.2f} s "
        "| p95 <= 1.5 s |"
    )
    h50, h95 = statistics.median(heatmaps), percentile(heatmaps, 95)
    print(f"| upload -> all five heatmaps | {h50:.2f} s | {h95:.2f} s | p95 <= 4 s |")
    print(
        f"\n{args.clients} concurrent clients, {args.films} films: {seconds:.1f} s until all were processed "
        f"({args.films / seconds:.2f} films/s), {problems} lost or failed, {total} films on the worklist"
    )


if __name__ == "__main__":
    main()
