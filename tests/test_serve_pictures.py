"""Pictures in: a PNG or JPEG has no header to say what it shows, so the reading room takes one only when
its pixels are plausibly a radiograph (``ingest.check_picture``): a sinusoid, a colour photograph and a
colour screenshot are refused with the reasons, real chest films (NIH PNGs) and phantom films are taken."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import shared_path
from helpers.pictures import colour_photo, screenshot, sinusoid
from helpers.serve import csrf, fault_driver, upload


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    run = fault_driver().tiny_run(tmp_path_factory.mktemp("pictures-model"))
    data = tmp_path_factory.mktemp("pictures-room")
    with TestClient(create_app(ServeConfig(run=run, data=data, poll_seconds=0.1))) as client:
        yield client, data


def _png(picture: np.ndarray) -> bytes:
    return cv2.imencode(".png", picture)[1].tobytes()


def test_pictures_that_are_not_radiographs_are_refused_with_reasons(client):
    client, data = client
    gradient = (np.add.outer(np.arange(300), np.arange(260)) % 255).astype(np.uint8)
    results = upload(
        client, csrf(client), ("a.png", _png(sinusoid())), ("b.png", _png(colour_photo()[..., ::-1])),
        ("c.jpg", cv2.imencode(".jpg", colour_photo()[..., ::-1])[1].tobytes()),
        ("d.png", _png(screenshot(colour=True)[..., ::-1])), ("e.png", _png(gradient)),
    )  # fmt: skip
    assert [r["status"] for r in results] == ["refused"] * 5, results
    for result in results:
        assert result["reason"].startswith("not clearly a chest radiograph ("), result
        assert "send the film as DICOM" in result["reason"]
    assert client.get("/api/worklist").json()["total"] == 0
    assert not list((data / "films").iterdir())


def test_real_chest_films_and_phantom_films_are_taken(client):
    from cxr_regions.phantom import render_film
    from cxr_regions.regions import REGION_KEYS

    client, _ = client
    nih = sorted(shared_path("nih-sample").rglob("*.png"))[:19]
    phantom = render_film(np.random.default_rng(5), dict.fromkeys(REGION_KEYS, "0"), size=256)
    files = [(p.name, Path(p).read_bytes()) for p in nih]
    files.append(("phantom.png", _png(np.round(phantom.image * 255).astype(np.uint8))))
    results = upload(client, csrf(client), *files)
    assert [r["status"] for r in results] == ["stored"] * len(files), [r for r in results if r["reason"]]
