"""Helpers of the PACS tests: a real local Orthanc (skipped where it is not installed), a tiny run, and
reading the results the reading room sent back."""

from __future__ import annotations

import time
from pathlib import Path


def tiny_run(folder: Path) -> Path:
    """A run folder with seeded random resnet18 weights at 64 px: the model's numbers, not its skill."""
    import torch

    from cxr_regions.models import create_model
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.training import save_model

    torch.manual_seed(0)
    dataset = tiny_dataset(folder / "dataset", size=64)
    model = create_model("resnet18", len(REGION_KEYS), input_size=64)
    save_model(model, folder / "run", list(REGION_KEYS), dataset_path=str(dataset))
    return folder / "run"


def tiny_dataset(folder: Path, size: int, films: int = 30) -> Path:
    """A built dataset of random films (``build_from_arrays``): what a run's model.json points at."""
    import numpy as np
    import pandas as pd

    from cxr_regions.build import BuildConfig, build_from_arrays
    from cxr_regions.regions import REGION_KEYS

    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"image_id": [f"f{i:03d}" for i in range(films)], "patient_key": [f"p{i}" for i in range(films)]}
    )
    for key in REGION_KEYS:
        table[key] = rng.integers(0, 2, films)
    images = rng.integers(0, 255, (films, size, size), dtype=np.uint8)
    return build_from_arrays(folder, images, table, BuildConfig(size=size, progress=False))


def wait_for(check, timeout: float = 180.0, every: float = 0.3, what: str = "condition"):
    """Call ``check`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not reached within {timeout} s")


def study_objects(server, study: str) -> dict[str, list]:
    """The instances of one study in the PACS, retrieved, by modality."""
    from cxr_regions.pacs import Pacs

    pacs = Pacs(server.dicomweb)
    found: dict[str, list] = {}
    for ref in pacs.search([{"StudyInstanceUID": study}]):
        dataset = pacs._client.retrieve_instance(ref.study, ref.series, ref.sop)
        found.setdefault(str(dataset.Modality), []).append(dataset)
    return found


def sr_values(dataset) -> dict[str, tuple[float | None, str]]:
    """Region key -> (probability, finding meaning) read back from a measurement-report SR with highdicom."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    report = hd.sr.Comprehensive3DSR.from_dataset(dataset)
    values = {}
    for group in report.content.get_image_measurement_groups():
        key = group.tracking_identifier
        measurements = group.get_measurements()
        [finding] = [e for e in group.get_qualitative_evaluations() if e.name == codes.SCT.Finding]
        probability = float(measurements[0].value) if measurements else None
        values[key] = (probability, str(finding.value.meaning))
    return values


# --- Orthanc with more settings, copies of films under new UIDs, dcmtk's storescu


def start_orthanc(folder: Path, **extra):
    """A running local Orthanc (``"OverwriteInstances": true`` unless told otherwise, plus ``extra``
    configuration) on free HTTP and DICOM ports; skip where Orthanc is not installed. Stop it with
    ``.discard()`` at the end (by its pid; ``.stop()`` for an orderly stop)."""
    import pytest

    from cxr_regions.pacs.orthanc import LocalOrthanc, missing

    reason = missing()
    if reason:
        pytest.skip(reason)
    return LocalOrthanc(folder, extra={"OverwriteInstances": True, **extra}).start()


def copy_dicom(source: Path, **attributes) -> bytes:
    """``source`` as a new instance (new study, series and SOP Instance UIDs), with ``attributes``
    (DICOM keywords) set; the encoded file."""
    from io import BytesIO

    import pydicom
    from pydicom.uid import generate_uid

    dataset = pydicom.dcmread(source)
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    out = BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def upload_bytes(server, data: bytes) -> dict:
    """Store one encoded DICOM file in Orthanc through its REST API; Orthanc's answer (``ID``...)."""
    import httpx

    response = httpx.post(f"{server.url}/instances", content=data, timeout=60)
    response.raise_for_status()
    return response.json()


def register_modality(server, name: str, ae_title: str, port: int, host: str = "127.0.0.1") -> None:
    """Declare a DICOM modality in Orthanc (``PUT /modalities/{name}``), as a PACS administrator does."""
    import httpx

    body = {"AET": ae_title, "Host": host, "Port": port}
    httpx.put(f"{server.url}/modalities/{name}", json=body, timeout=30).raise_for_status()


def push_to_modality(server, name: str, orthanc_ids: list[str]):
    """Orthanc sends instances to a declared modality over DICOM (``POST /modalities/{name}/store``)."""
    import httpx

    body = {"Resources": orthanc_ids, "Synchronous": True}
    return httpx.post(f"{server.url}/modalities/{name}/store", json=body, timeout=120)


def dcmtk_missing() -> str | None:
    import shutil

    if not (shutil.which("storescu") and shutil.which("echoscu")):
        return "dcmtk's storescu/echoscu not found (Debian: apt-get install dcmtk)"
    return None


def storescu(port: int, files: list[Path], called: str, calling: str = "STORESCU", *options: str):
    """Send ``files`` with dcmtk's storescu in one association (verbose, so its statuses can be read);
    ``options`` e.g. ``-xv`` to propose JPEG 2000 lossless besides the uncompressed syntaxes."""
    import subprocess

    command = ["storescu", "-v", "-aet", calling, "-aec", called, *options, "127.0.0.1", str(port)]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True, timeout=120)


def store_statuses(run) -> list[str]:
    """The C-STORE statuses a :func:`storescu` run received, in order (``Success``, ``Unknown Status:
    0x110``, ...)."""
    text = run.stdout + run.stderr
    return [
        line.split("(", 1)[1].rstrip(")") for line in text.splitlines() if "Received Store Response" in line
    ]
