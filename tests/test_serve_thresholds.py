"""One threshold rule in the reading room: the worklist's flags, its region filter, the viewer's calls
and the agreement page all come from the stored probabilities and the thresholds the room runs with,
so a restart with other thresholds (a new evaluation) changes them all together."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cxr_regions.regions import REGION_KEYS
from helpers.pacs import tiny_run
from helpers.serve import csrf, upload, wait_ready


def _room(run: Path, data: Path, thresholds: Path | None = None):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    config = ServeConfig(run=run, data=data, thresholds=thresholds, demo=False, poll_seconds=0.1)
    return TestClient(create_app(config))


def test_the_worklist_flags_follow_the_thresholds_the_viewer_shows_after_they_change(tmp_path):
    import cv2

    run = tiny_run(tmp_path / "run")
    data = tmp_path / "room"
    from cxr_regions.phantom import render_film

    # a phantom chest film: the intake's picture check refuses pictures that do not look like one
    rendered = render_film(np.random.default_rng(0), dict.fromkeys(REGION_KEYS, "0"), size=256)
    picture = cv2.imencode(".png", np.round(rendered.image * 255).astype(np.uint8))[1]
    with _room(run, data) as client:  # no thresholds: every region at 0.5 when the result arrives
        [stored] = upload(client, csrf(client), ("film.png", picture.tobytes()))
        first = wait_ready(client, stored["film_id"])
    assert first["status"] == "ready"
    p = first["probabilities"]
    assert first["flags"] == [k for k in REGION_KEYS if p[k] >= 0.5]
    # a new evaluation's thresholds that turn every one of those calls around
    cuts = {k: p[k] + 0.01 if p[k] >= 0.5 else p[k] - 0.01 for k in REGION_KEYS}
    table = tmp_path / "thresholds.csv"
    table.write_text("label,threshold\n" + "".join(f"{k},{v!r}\n" for k, v in cuts.items()))
    expected = [k for k in REGION_KEYS if p[k] < 0.5]

    with _room(run, data, thresholds=table) as client:
        film = client.get(f"/api/films/{first['id']}").json()
        assert [r["threshold"] for r in film["regions"]] == [cuts[k] for k in REGION_KEYS]
        viewer_calls = [r["key"] for r in film["regions"] if r["call"] == "1"]
        assert viewer_calls == expected
        [row] = [r for r in client.get("/api/worklist").json()["rows"] if r["id"] == first["id"]]
        assert row["flags"] == film["flags"] == viewer_calls
        for key in REGION_KEYS:
            listed = [r["id"] for r in client.get(f"/api/worklist?region={key}").json()["rows"]]
            assert (first["id"] in listed) == (key in viewer_calls), key
        page = client.get("/worklist").text
        assert page.count("above threshold") == len(viewer_calls)
