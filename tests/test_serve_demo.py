"""The embedded default: ``cxr-regions serve demo-output/run`` opens with the demo's test films and
their reports on the worklist, once (a restart adds nothing)."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import one_torch_thread


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):

    from cxr_regions.workflows import DemoConfig, run_demo

    out = tmp_path_factory.mktemp("serve-demo") / "demo-output"
    config = DemoConfig(
        out=out, films=48, phantom_size=64, size=64, epochs=1, batch_size=16, n_boot=20, gallery=1,
        workers=1, threads=1, progress=False,
    )  # fmt: skip
    with one_torch_thread():
        run_demo(config)
    return out


def test_the_demo_run_opens_with_its_test_films_and_reports_once(tiny_demo, tmp_path):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    manifest = pd.read_csv(tiny_demo / "dataset" / "manifest.csv", dtype=str)
    test = manifest[(manifest["split"] == "test") & (manifest["image_id"] == manifest["source_image_id"])]
    images = pd.read_csv(tiny_demo / "ingest" / "images.csv", dtype=str).set_index("image_id")
    accessions = sorted(images.loc[test["image_id"], "accession_number"])
    config = ServeConfig(run=tiny_demo / "run", data=tmp_path / "room", poll_seconds=0.1)
    for _ in range(2):  # the second start finds every film already there
        with TestClient(create_app(config)) as client:
            listing = client.get("/api/worklist").json()
            assert listing["total"] == len(accessions)
            assert sorted(r["accession"] for r in listing["rows"]) == accessions
            assert {r["source"] for r in listing["rows"]} == {"demo"}
            page = client.get(f"/films/{listing['rows'][0]['id']}").text
            assert 'id="report"' in page
