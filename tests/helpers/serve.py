"""Shared helpers of the reading-room tests: phantom DICOMs, the CSRF token, waiting for the model."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def make_phantom_dicoms(out: Path, n: int = 6, seed: int = 11) -> tuple[list[Path], Path]:
    """``n`` phantom DICOM films (96 px) and the phantom folder (truth.csv, reports.csv)."""
    from cxr_regions.phantom import PhantomConfig, Prevalence, make_phantom

    config = PhantomConfig(n=n, size=96, seed=seed, prevalence=Prevalence.parse("balanced"), progress=False)
    make_phantom(out, config)
    return sorted(p for p in (out / "dicom").rglob("*") if p.is_file()), out


def uncompressed_phantom_dicoms(folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` phantom DICOM films saved uncompressed in ``folder`` (storescu proposes one family of
    transfer syntaxes a run)."""
    import pydicom

    dicoms, _ = make_phantom_dicoms(folder / "out", n=n, seed=seed)
    plain = []
    for i, path in enumerate(dicoms):
        dataset = pydicom.dcmread(path)
        if dataset.file_meta.TransferSyntaxUID.is_compressed:
            dataset.decompress()
        plain.append(folder / f"film{i}.dcm")
        dataset.save_as(plain[-1], enforce_file_format=True)
    return plain


def csrf(client, page: str = "/worklist") -> str:
    """The session's CSRF token, read from a page's meta tag."""
    response = client.get(page)
    assert response.status_code == 200, response.text[:500]
    return TOKEN.search(response.text).group(1)


def upload(client, token: str, *files: tuple[str, bytes], report: str = "") -> list[dict]:
    """Upload files through the API (JSON answer); returns one result per file."""
    response = client.post(
        "/upload",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        data={"csrf": token, "report": report},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def wait_ready(client, film_id: int, timeout: float = 120.0) -> dict:
    """Poll a film's JSON until the model is done with it (as the viewer page does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        film = client.get(f"/api/films/{film_id}").json()
        if film["status"] in ("ready", "failed"):
            return film
        time.sleep(0.2)
    raise AssertionError(f"film {film_id} not processed within {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(run: Path, data: Path, port: int, log: Path, *options: str) -> subprocess.Popen:
    """``cxr-regions serve`` as a real process on ``port``, its output appended to ``log``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    command = [
        sys.executable,
        "-m",
        "cxr_regions.cli",
        "serve",
        str(run),
        "--data",
        str(data),
        "--port",
        str(port),
    ]
    command += list(options)
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_server(port: int, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> Any:
    import httpx

    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if client.get("/healthz").status_code == 200:
                return client
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def fault_driver() -> Any:
    """``benchmarks/serve_faults.py`` as a module: the fault-injection driver and its tiny model run."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_faults.py"
    spec = importlib.util.spec_from_file_location("serve_faults", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def locked(database: Path) -> Iterator[None]:
    """Another process holds the database with ``BEGIN EXCLUSIVE`` until the block ends."""
    code = (
        "import sqlite3, sys\n"
        f"db = sqlite3.connect({str(database)!r}, isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\nsys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait(30)
