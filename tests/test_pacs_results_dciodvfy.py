"""dciodvfy (dicom3tools) finds no errors in the result objects built from real films' headers and from
phantom films: the Secondary Capture in every transfer syntax offered, the model's SR and a verdict SR
that replaces an earlier one and carries a cardiothoracic ratio and a Chinese observer name. Skipped
where dicom3tools or the real films are absent."""

from __future__ import annotations

import pytest

from helpers import shared_path
from helpers.pacs_results import LABELS, PROBABILITIES, THRESHOLDS, dciodvfy, heat, pacs_header, small_film
from helpers.serve import make_phantom_dicoms

REAL = ("RG1_UNCI", "RG1_J2KR", "966_fixed", "cr_chest_jpeg_mono2", "cr_chest_jpeg_mono1")


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    files, _ = make_phantom_dicoms(tmp_path_factory.mktemp("results-phantom") / "out", n=2, seed=5)
    return files


def _objects(header):
    from cxr_regions.pacs import PriorReport, result_objects, verdict_report, verdict_series_uid

    film = small_film(header)
    made = result_objects(header, film, heat(film), PROBABILITIES, THRESHOLDS)
    original = str(header.SOPInstanceUID)
    earlier = PriorReport(str(header.StudyInstanceUID), verdict_series_uid(original, "wang"), "2.25.1234")
    verdict = verdict_report(
        header, made.report, LABELS, "wang", "v2", observer_name="王小明", replaces=earlier,
        instance_number=2, cardiothoracic_ratio=0.54,
    )  # fmt: skip
    return {"sc": made.secondary_capture, "sr": made.report, "verdict": verdict}


def _assert_clean(objects, folder, label):
    for what, dataset in objects.items():
        errors, warnings = dciodvfy(dataset, folder, f"{label}-{what}")
        assert errors == [], f"{label} {what}: " + "\n".join(errors + warnings)
        # what is left are warnings about the film's own values, kept as they are (names in the
        # old one-component form, an empty Study ID) and the private scheme the verdict declares
        for line in warnings:
            assert any(k in line for k in ("Person Name form", "DICOMDIR", "99CXRREG")), line


@pytest.mark.parametrize("name", REAL)
def test_result_objects_of_real_films_pass_dciodvfy(name, tmp_path):
    header = pacs_header(shared_path("dicom", f"{name}.dcm"))
    _assert_clean(_objects(header), tmp_path, name)


def test_result_objects_of_phantom_films_pass_dciodvfy(phantom_files, tmp_path):
    for i, path in enumerate(phantom_files):
        objects = _objects(pacs_header(path))
        assert all(o.SpecificCharacterSet == "ISO_IR 192" for o in objects.values())  # Chinese text
        _assert_clean(objects, tmp_path, f"phantom{i}")


@pytest.mark.parametrize("syntax", ["jpeg2000-lossless", "jpeg-ls-lossless", "rle-lossless", "uncompressed"])
def test_the_secondary_capture_passes_dciodvfy_in_every_transfer_syntax(syntax, tmp_path):
    from cxr_regions.pacs import result_objects

    header = pacs_header(shared_path("dicom", "RG1_UNCI.dcm"))
    film = small_film(header)
    made = result_objects(header, film, heat(film), PROBABILITIES, THRESHOLDS, sc_syntax=syntax)
    errors, warnings = dciodvfy(made.secondary_capture, tmp_path, syntax)
    assert errors == [], "\n".join(errors + warnings)
