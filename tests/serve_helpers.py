"""Shared helpers of the reading-room tests: phantom DICOMs, the CSRF token, waiting for the model."""

from __future__ import annotations

import re
import time
from pathlib import Path

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def make_phantom_dicoms(out: Path, n: int = 6, seed: int = 11) -> tuple[list[Path], Path]:
    """``n`` phantom DICOM films (96 px) and the phantom folder (truth.csv, reports.csv)."""
    from cxr_regions.phantom import PhantomConfig, Prevalence, make_phantom

    config = PhantomConfig(n=n, size=96, seed=seed, prevalence=Prevalence.parse("balanced"), progress=False)
    make_phantom(out, config)
    return sorted(p for p in (out / "dicom").rglob("*") if p.is_file()), out


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
