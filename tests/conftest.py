"""Shared fixtures: where ../shared/data lies, and skipping cleanly where it does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import one_torch_thread, shared_path

# The session fixtures below train a model, run the whole demo or start a PACS: a test that uses one is
# slow (``make test-fast`` leaves it out, ``make test`` runs it), whichever module it sits in.
SLOW_FIXTURES = frozenset({"phantom_dataset", "trained_run", "tiny_demo", "orthanc"})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses one of ``SLOW_FIXTURES``, directly or through a fixture."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder (tests using it skip where it is absent)."""
    return shared_path()


# --- Phantom data and one trained run, shared by the training, evaluation, explain and pretrain tests.
# Built once per session (owner: models/training). Treat both folders as read-only.

PHANTOM_SIZE = 64
PHANTOM_PATIENTS = 250
PHANTOM_FILMS_PER_PATIENT = 3
PHANTOM_PREVALENCE = 0.4


@pytest.fixture(scope="session")
def phantom_dataset(tmp_path_factory) -> Path:
    """A built dataset of 750 phantom films, 64 px, 3 films per patient, split 60/20/20 by patient.

    Each patient draws the five region values independently (abnormal with p = 0.4, ``1``/``0``
    only) and all of its films share them (each film its own anatomy and findings). Region masks
    of every film are in ``masks.npz`` beside the dataset folder: one bool array 5×64×64 per image id,
    regions in ``REGION_KEYS`` order.
    """
    import numpy as np
    import pandas as pd

    from cxr_regions.build import BuildConfig, build_from_arrays
    from cxr_regions.phantom import render_film
    from cxr_regions.regions import REGION_KEYS

    root = tmp_path_factory.mktemp("phantom")
    rng = np.random.default_rng(20200601)
    films, rows, masks = [], [], {}
    for p in range(PHANTOM_PATIENTS):
        truth = {k: "1" if rng.random() < PHANTOM_PREVALENCE else "0" for k in REGION_KEYS}
        for f in range(PHANTOM_FILMS_PER_PATIENT):
            film = render_film(rng, truth, size=PHANTOM_SIZE)
            image_id = f"ph{p:03d}-{f}"
            films.append(np.round(film.image * 255).astype(np.uint8))
            masks[image_id] = np.stack([film.masks[k] for k in REGION_KEYS])
            rows.append({"image_id": image_id, "patient_key": f"patient{p:03d}", **truth})
    np.savez_compressed(root / "masks.npz", **masks)
    config = BuildConfig(size=PHANTOM_SIZE, split=(0.6, 0.2, 0.2), seed=0, progress=False)
    return build_from_arrays(root / "dataset", np.stack(films), pd.DataFrame(rows), config)


@pytest.fixture(scope="session")
def trained_run(phantom_dataset, tmp_path_factory) -> Path:
    """A run folder trained once on ``phantom_dataset``: resnet18 from scratch on the whole 64-px
    films, no augmentation, batch 16, until the val mean AUC reaches 0.86 (at most 8 epochs; the
    learning test asks for ≥ 0.85). More films beat more epochs here: rendering a film costs less
    than training on it once."""
    from cxr_regions.training import TrainConfig, train

    with one_torch_thread():
        config = TrainConfig(
            dataset=phantom_dataset,
            out=tmp_path_factory.mktemp("runs") / "resnet18-scratch",
            arch="resnet18",
            init="scratch",
            input_size=PHANTOM_SIZE,
            epochs=8,
            stop_at_auc=0.86,
            augment=False,
            num_workers=0,
            progress=False,
        )
        return train(config)


# --- One tiny demo, run once per session: every stage end to end on 48 phantom films of 64 px, one
# epoch. Read by the demo's tests and the reading room's demo test; treat its folder as read-only.


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """``(result, stages)``: the ``DemoResult`` of a tiny demo and the stages it reported, in order."""
    from cxr_regions.workflows.demo import DemoConfig, run_demo

    out = tmp_path_factory.mktemp("demo") / "demo-output"
    config = DemoConfig(
        out=out, films=48, phantom_size=64, size=64, epochs=1, batch_size=16, n_boot=20, gallery=3,
        workers=1, threads=1, progress=False,
    )  # fmt: skip
    stages: list[str] = []
    with one_torch_thread():
        result = run_demo(config, lambda step, stage, what: stages.append(stage))
    return result, stages


# --- A real local PACS (Orthanc with its DICOMweb plugin) for the PACS tests; skipped where absent.


@pytest.fixture
def orthanc(tmp_path):
    """A running Orthanc with DICOMweb on free ports, storage in ``tmp_path``; killed by its pid after."""
    from cxr_regions.pacs.orthanc import LocalOrthanc, missing

    reason = missing()
    if reason:
        pytest.skip(reason)
    server = LocalOrthanc(tmp_path / "orthanc").start()
    yield server
    server.discard()


@pytest.fixture(autouse=True)
def _no_log_redaction_left_behind() -> Iterator[None]:
    """An in-process ``create_app`` installs the log redaction for good (as ``serve`` does); take it out
    after each test, so that the next one starts with logging and warnings as pytest set them up."""
    yield
    from cxr_regions.redaction import uninstall_log_redaction

    uninstall_log_redaction()
