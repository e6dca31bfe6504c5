"""The embedded default: ``cxr-regions serve demo-output/run`` opens with the demo's test films and
their reports on the worklist, once (a restart adds nothing)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def demo_output(tiny_demo):
    """The output folder of the session's tiny demo (tests/conftest.py)."""
    result, _ = tiny_demo
    return result.out


def test_the_demo_run_opens_with_its_test_films_and_reports_once(demo_output, tmp_path):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    manifest = pd.read_csv(demo_output / "dataset" / "manifest.csv", dtype=str)
    test = manifest[(manifest["split"] == "test") & (manifest["image_id"] == manifest["source_image_id"])]
    images = pd.read_csv(demo_output / "ingest" / "images.csv", dtype=str).set_index("image_id")
    accessions = sorted(images.loc[test["image_id"], "accession_number"])
    config = ServeConfig(run=demo_output / "run", data=tmp_path / "room", poll_seconds=0.1)
    for _ in range(2):  # the second start finds every film already there
        with TestClient(create_app(config)) as client:
            listing = client.get("/api/worklist").json()
            assert listing["total"] == len(accessions)
            assert sorted(r["accession"] for r in listing["rows"]) == accessions
            assert {r["source"] for r in listing["rows"]} == {"demo"}
            page = client.get(f"/films/{listing['rows'][0]['id']}").text
            assert 'id="report"' in page
