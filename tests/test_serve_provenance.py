"""The reading room says where its model's starting weights came from: the model page (and its JSON)
shows the run's provenance from model.json (read through ``read_provenance``), every page's footer
sums it up, and where the weights are published for research only every film page says so. Third-
party text (a model card's sentence) is shown escaped; a model.json written before provenance was
recorded shows it as not recorded, without the research-only notice."""

from __future__ import annotations

import numpy as np
import pytest

from cxr_regions.contracts import ModelInfo
from helpers import one_torch_thread
from helpers.pacs import tiny_dataset
from helpers.serve import csrf, upload, wait_ready

SHA = "ab" * 32
HOSTILE = "For research purposes only. <script>alert(1)</script>"


@pytest.fixture(scope="module")
def research_run(tmp_path_factory):
    """A tiny run (seeded random resnet18 at 64 px) whose starting weights are published for research
    only, with a frozen backbone: what an ``hf:`` linear probe records."""
    import torch

    from cxr_regions.models import Provenance, create_model
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.training import save_model

    folder = tmp_path_factory.mktemp("research-run")
    dataset = tiny_dataset(folder / "dataset", size=64)
    with one_torch_thread():
        torch.manual_seed(0)
        model = create_model("resnet18", len(REGION_KEYS), input_size=64)
    model.provenance = Provenance(
        library="transformers",
        library_version="4.99",
        weights="example/chest-encoder@0123abcd",
        file="/models/chest-encoder/model.safetensors",
        sha256=SHA,
        licence="msrla",
        intended_use=HOSTILE,
        research_only=True,
    ).to_dict()
    frozen = {
        "layers": "backbone (every layer but the classifier)",
        "unfreeze_after": None,
        "note": "linear probe",
    }
    save_model(model, folder / "run", list(REGION_KEYS), dataset_path=str(dataset), frozen=frozen)
    return folder / "run"


def _client(run, data):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    return TestClient(create_app(ServeConfig(run=run, data=data, poll_seconds=0.1, device="cpu")))


def _picture(seed: int) -> bytes:
    """A phantom chest film as a PNG (the intake's picture check takes it: 256 px, film-like)."""
    import cv2

    from cxr_regions.phantom import render_film
    from cxr_regions.regions import REGION_KEYS

    rendered = render_film(np.random.default_rng(seed), dict.fromkeys(REGION_KEYS, "0"), size=256)
    return cv2.imencode(".png", np.round(rendered.image * 255).astype(np.uint8))[1].tobytes()


def test_every_film_page_of_a_research_only_model_says_so_and_the_model_page_shows_its_provenance(
    research_run, tmp_path
):
    from cxr_regions.training import read_provenance

    assert read_provenance(research_run).research_only  # what serve reads, through the contract
    with _client(research_run, tmp_path / "room") as client:
        token = csrf(client)
        stored = upload(client, token, ("a.png", _picture(1)), ("b.png", _picture(2)))
        assert [s["status"] for s in stored] == ["stored", "stored"]
        assert wait_ready(client, stored[0]["film_id"])["status"] == "ready"
        pages = [client.get(f"/films/{s['film_id']}") for s in stored]
        worklist = client.get("/worklist").text
        model_page = client.get("/model")
        api = client.get("/api/model").json()
    for page in pages:
        assert page.status_code == 200
        assert 'id="film-research-only"' in page.text and "research use only" in page.text
        assert 'id="research-only"' in page.text  # the banner over the page too
        assert SHA[:12] in page.text and 'href="/model"' in page.text  # footer: the provenance summary
    assert 'id="research-only"' in worklist
    assert model_page.status_code == 200
    text = model_page.text
    for shown in ("example/chest-encoder@0123abcd", "transformers 4.99", SHA, "msrla", "linear probe"):
        assert shown in text, shown
    assert 'id="model-research-only"' in text
    # the model card's sentence is third-party text: shown, never run
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert api["research_only"] is True and api["provenance"]["sha256"] == SHA
    assert api["frozen"]["note"] == "linear probe" and api["arch"] == "resnet18"


def test_a_model_json_without_provenance_shows_it_as_not_recorded(research_run, tmp_path):
    """A run written before provenance was recorded (no `provenance`, no `frozen` in model.json)."""
    import shutil

    old = tmp_path / "old-run"
    shutil.copytree(research_run, old)
    info = ModelInfo.read(old)
    info.model_copy(update={"provenance": None, "frozen": None}).write(old)
    assert "provenance" not in (old / "model.json").read_text(encoding="utf-8")
    with _client(old, tmp_path / "room") as client:
        token = csrf(client)
        [stored] = upload(client, token, ("a.png", _picture(3)))
        page = client.get(f"/films/{stored['film_id']}").text
        model_page = client.get("/model").text
        api = client.get("/api/model").json()
    assert "research use only" not in page.lower() and 'id="research-only"' not in page
    assert "not recorded (unknown" in page  # the footer's summary
    assert "not recorded" in model_page and "nothing (every layer learned)" in model_page
    assert api["research_only"] is False and api["provenance"]["library"] == "unknown"


def test_the_model_page_needs_a_login_like_every_page(research_run, tmp_path):
    """With logins, /model and /api/model are behind the login like the film pages."""
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app
    from cxr_regions.serve.users import add_user

    users = tmp_path / "users.yaml"
    add_user(users, "dr_li", "correct horse battery")
    app = create_app(ServeConfig(run=research_run, data=tmp_path / "room", users=users, device="cpu"))
    with TestClient(app) as client:
        page = client.get("/model", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/model"
        assert client.get("/api/model").status_code == 401
