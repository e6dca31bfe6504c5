"""Helpers of the PACS tests: a real local Orthanc (skipped where it is not installed), a tiny run, and
reading the results the reading room sent back."""

from __future__ import annotations

import json
import time
from pathlib import Path


def tiny_run(folder: Path) -> Path:
    """A run folder with seeded random resnet18 weights at 64 px: the model's numbers, not its skill."""
    import torch

    from cxr_regions.models import create_model
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.training import save_model

    torch.manual_seed(0)
    dataset = folder / "dataset"
    dataset.mkdir(parents=True)
    (dataset / "dataset.json").write_text(json.dumps({"size": 64}))
    model = create_model("resnet18", len(REGION_KEYS), input_size=64)
    save_model(model, folder / "run", list(REGION_KEYS), dataset_path=str(dataset))
    return folder / "run"


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
