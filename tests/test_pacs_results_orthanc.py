"""A real PACS (a local Orthanc over DICOMweb) takes the result objects as built from the header it
gives: the SC in every transfer syntax offered, the model's SR and two verdicts, all in the film's
study, the SC's pixels unchanged, the second verdict naming the first as its predecessor. Skipped
where Orthanc or its DICOMweb plugin is not installed."""

from __future__ import annotations

import numpy as np
import pydicom

from helpers.pacs_results import LABELS, PROBABILITIES, THRESHOLDS, heat, small_film
from helpers.serve import make_phantom_dicoms


def test_the_pacs_takes_every_result_object_into_the_films_study(orthanc, tmp_path):
    from cxr_regions.pacs import (
        SC_SYNTAXES,
        InstanceRef,
        Pacs,
        PriorReport,
        result_objects,
        verdict_report,
        verdict_series_uid,
    )
    from cxr_regions.pacs.sc import burned_picture

    [path] = make_phantom_dicoms(tmp_path / "phantom", n=1, seed=9)[0]
    orthanc.upload(path)
    film_ds = pydicom.dcmread(path, stop_before_pixels=True)
    ref = InstanceRef(
        str(film_ds.StudyInstanceUID), str(film_ds.SeriesInstanceUID), str(film_ds.SOPInstanceUID)
    )
    pacs = Pacs(orthanc.dicomweb)
    header = pacs.header(ref)  # as the reading room gets it: WADO-RS metadata
    film = small_film(header)
    picture = burned_picture(film, heat(film), PROBABILITIES, THRESHOLDS)

    stored = {}
    for i, syntax in enumerate(SC_SYNTAXES):
        one = header.copy()  # a film of its own per syntax, so that each SC has its own UIDs
        one.SOPInstanceUID = f"{header.SOPInstanceUID}.{i + 1}"
        made = result_objects(one, film, heat(film), PROBABILITIES, THRESHOLDS, sc_syntax=syntax)
        pacs.store([made.secondary_capture], ref.study)  # PacsError if the PACS refused it
        stored[syntax] = made.secondary_capture.SOPInstanceUID
    made = result_objects(header, film, heat(film), PROBABILITIES, THRESHOLDS)
    first = verdict_report(header, made.report, LABELS, "wang", "v1", observer_name="王小明")
    prior = PriorReport(ref.study, verdict_series_uid(ref.sop, "wang"), first.SOPInstanceUID)
    second = verdict_report(
        header, made.report, {**LABELS, "heart": "0"}, "wang", "v2", observer_name="王小明",
        replaces=prior, instance_number=2, cardiothoracic_ratio=0.48,
    )  # fmt: skip
    pacs.store([made.report, first, second], ref.study)

    found = {r.sop: r for r in pacs.search([{"StudyInstanceUID": ref.study}])}
    reports = {made.report.SOPInstanceUID, first.SOPInstanceUID, second.SOPInstanceUID}
    assert set(stored.values()) | reports <= set(found)  # all of them in the film's study
    for syntax, sop in stored.items():
        back = pacs._client.retrieve_instance(
            ref.study, found[sop].series, sop, media_types=(("application/dicom", "*"),)
        )
        assert back.file_meta.TransferSyntaxUID == SC_SYNTAXES[syntax][0], syntax  # stored as sent
        assert back.PatientID == header.PatientID and back.StudyInstanceUID == ref.study
        np.testing.assert_array_equal(back.pixel_array, picture)
    again = pacs._client.retrieve_instance(
        ref.study, found[second.SOPInstanceUID].series, second.SOPInstanceUID
    )
    assert again.SeriesInstanceUID == first.SeriesInstanceUID
    [item] = again.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence
    assert item.ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert again.SpecificCharacterSet == "ISO_IR 192"  # the phantom's Chinese study description
    assert str(again.StudyDescription) == str(header.StudyDescription)
