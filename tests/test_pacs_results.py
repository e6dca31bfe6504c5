"""The result objects' contents: only valid header values taken over, the SC naming its film, nothing
invented, lossless pixels in every transfer syntax, the SR's image library and references, verdicts
that replace each other, the observer's name, the cardiothoracic ratio, character sets and a quiet,
identity-free log."""

from __future__ import annotations

import io
import logging

import numpy as np
import pydicom
import pytest
from pydicom import Dataset

from cxr_regions.regions import REGION_KEYS
from helpers import shared_path
from helpers.pacs import sr_values
from helpers.pacs_results import LABELS, PROBABILITIES, THRESHOLDS, heat, pacs_header, small_film


def _round_trip(dataset):
    """The dataset as a receiver reads it: written to bytes and read back."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def _header(**values) -> Dataset:
    """A minimal chest CR header, with ``values`` set or (None) removed."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR Image Storage
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3.4.5", "1.2.3.4", "1.2.3.4.1"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Doe^Jane", "P123", "19500101", "F"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = "20240102", "101500", "A1", "S1"
    ds.ReferringPhysicianName, ds.Modality, ds.BodyPartExamined = "", "CR", "CHEST"
    ds.Rows, ds.Columns, ds.PatientOrientation, ds.ImagerPixelSpacing = 200, 160, ["L", "F"], [0.2, 0.2]
    for keyword, value in values.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def _sc(header, **options):
    from cxr_regions.pacs import result_objects

    film = small_film(header)
    made = result_objects(header, film, heat(film), PROBABILITIES, THRESHOLDS, **options)
    return _round_trip(made.secondary_capture)


@pytest.mark.filterwarnings("ignore:Invalid value for VR")  # the odd header made below
def test_invalid_values_of_the_film_are_left_out_valid_ones_copied():
    from cxr_regions.pacs import model_report

    age = pacs_header(shared_path("dicom", "cr_chest_jpeg_mono2.dcm"))  # Patient's Age "62": not an AS
    hashed = pacs_header(shared_path("dicom", "966_fixed.dcm"))  # birth date a hash, accession 56 chars
    for made in (_sc(age), _round_trip(model_report(age, PROBABILITIES, THRESHOLDS))):
        assert "PatientAge" not in made and made.PatientID == age.PatientID and made.PatientSex == "M"
    for made in (_sc(hashed), _round_trip(model_report(hashed, PROBABILITIES, THRESHOLDS))):
        assert made.PatientBirthDate == "" and made.AccessionNumber == ""  # Type 2: present, empty
        assert made.PatientID == hashed.PatientID and made.StudyInstanceUID == hashed.StudyInstanceUID
    odd = _header(PatientSex="male", PatientOrientation=["X", "Y"], Laterality="left", PatientAge="062Y")
    sc = _sc(odd)
    assert sc.PatientSex == "" and sc.PatientOrientation == "" and "Laterality" not in sc
    assert sc.PatientAge == "062Y" and sc.PatientName == "Doe^Jane"


def test_the_sc_names_its_film_so_two_films_of_one_study_are_told_apart():
    first, second = _header(), _header(SOPInstanceUID="1.2.3.4.6")
    one, two = _sc(first), _sc(second)
    for sc, film in ((one, first), (two, second)):
        assert sc.StudyInstanceUID == film.StudyInstanceUID and sc.SeriesNumber == 9901
        for sequence in (sc.SourceImageSequence, sc.ReferencedImageSequence):
            [item] = sequence
            assert item.ReferencedSOPInstanceUID == film.SOPInstanceUID
            assert item.ReferencedSOPClassUID == film.SOPClassUID
        assert sc.SourceImageSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue == "121322"
    assert one.SOPInstanceUID != two.SOPInstanceUID


def test_laterality_and_orientation_follow_the_film_and_are_never_invented():
    assert _sc(_header()).PatientOrientation == ["L", "F"]
    assert _sc(_header(PatientOrientation=None)).PatientOrientation == ""  # Type 2C: empty, not L\F
    assert "Laterality" not in _sc(_header())  # a chest is unpaired: no Laterality
    assert _sc(_header(Laterality="R")).Laterality == "R"  # the film's own
    unknown = _sc(_header(BodyPartExamined=None))
    assert "Laterality" in unknown and unknown.Laterality == ""  # part unknown: Laterality unknown
    assert _sc(_header(BodyPartExamined=None, ImageLaterality="L")).Laterality == "L"


@pytest.mark.parametrize("syntax", ["jpeg2000-lossless", "jpeg-ls-lossless", "rle-lossless", "uncompressed"])
def test_the_sc_pixels_are_lossless_in_every_transfer_syntax(syntax):
    from cxr_regions.pacs import SC_SYNTAXES
    from cxr_regions.pacs.sc import burned_picture

    header = _header()
    film = small_film(header)
    sc = _sc(header, sc_syntax=syntax)
    assert sc.file_meta.TransferSyntaxUID == SC_SYNTAXES[syntax][0]
    picture = burned_picture(film, heat(film), PROBABILITIES, THRESHOLDS)
    np.testing.assert_array_equal(sc.pixel_array, picture)
    assert sc.BurnedInAnnotation == "YES" and "LossyImageCompression" not in sc


def test_a_missing_encoder_leaves_the_sc_uncompressed_not_unsent(caplog):
    from pydicom.pixels.encoders import JPEG2000LosslessEncoder

    plugins = dict(JPEG2000LosslessEncoder._available)  # a machine without pylibjpeg-openjpeg
    for label in plugins:
        JPEG2000LosslessEncoder.remove_plugin(label)
    try:
        with caplog.at_level(logging.WARNING, logger="cxr_regions.pacs"):
            sc = _sc(_header())
    finally:
        JPEG2000LosslessEncoder._available.update(plugins)
    assert sc.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert "uncompressed" in caplog.text


def test_the_sc_of_a_real_film_is_smaller_than_the_film():
    from cxr_regions.ingest import load_film
    from cxr_regions.pacs import result_objects

    path = shared_path("dicom", "RG1_UNCI.dcm")
    header, film = pacs_header(path), load_film(path)
    sc = result_objects(header, film, heat(film), PROBABILITIES, THRESHOLDS).secondary_capture
    buffer = io.BytesIO()
    sc.save_as(buffer, enforce_file_format=True)
    raw = sc.Rows * sc.Columns * 3
    assert len(buffer.getvalue()) < min(0.5 * raw, path.stat().st_size)  # was 13.8 MB for 7.2 MB


def test_the_model_sr_has_an_image_library_image_references_and_only_standard_codes():
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from cxr_regions.pacs import model_report

    header = _header()
    sr = _round_trip(model_report(header, PROBABILITIES, THRESHOLDS))
    assert "CodingSchemeIdentificationSequence" not in sr and "SpecificCharacterSet" not in sr
    values = sr_values(sr)
    assert {k: v[0] for k, v in values.items()} == pytest.approx(PROBABILITIES, abs=1e-6)
    report = hd.sr.Comprehensive3DSR.from_dataset(sr)
    for group in report.content.get_image_measurement_groups():
        [source] = group.source_images
        assert source.referenced_sop_instance_uid == header.SOPInstanceUID
    [library] = [i for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "111028"]
    [image] = library.ContentSequence[0].ContentSequence
    assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == header.SOPInstanceUID
    described = {d.ConceptNameCodeSequence[0].CodeMeaning for d in image.ContentSequence}
    assert {"Modality", "Pixel Data Rows", "Patient Orientation Row", "Horizontal Pixel Spacing"} <= described
    schemes = {i.value for i in sr.iterall() if i.keyword == "CodingSchemeDesignator"}
    assert "99CXRREG" not in {str(s) for s in schemes} and codes.DCM.Probability.value == "122157"


def _items(sr):
    """Every content item of an SR, depth first."""
    for item in sr.get("ContentSequence", []):
        yield item
        yield from _items(item)


def _verdict(header, model, reader="wang", version="v1", **options):
    from cxr_regions.pacs import verdict_report

    options.setdefault("observer_name", "Wang Xiaoming")
    return _round_trip(verdict_report(header, model, LABELS, reader, version, **options))


def test_a_changed_verdict_replaces_the_previous_one_in_the_same_series():
    from cxr_regions.pacs import PriorReport, model_report

    header = _header()
    model = model_report(header, PROBABILITIES, THRESHOLDS)
    first = _verdict(header, model)
    prior = PriorReport(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID)
    second = _verdict(header, model, version="v2", replaces=prior, instance_number=2)
    assert second.SeriesInstanceUID == first.SeriesInstanceUID and second.SeriesNumber == 9903
    assert second.SOPInstanceUID != first.SOPInstanceUID
    assert (first.InstanceNumber, second.InstanceNumber) == (1, 2)
    assert "PredecessorDocumentsSequence" not in first
    [study] = second.PredecessorDocumentsSequence
    [series] = study.ReferencedSeriesSequence
    [item] = series.ReferencedSOPSequence
    assert study.StudyInstanceUID == first.StudyInstanceUID
    assert series.SeriesInstanceUID == first.SeriesInstanceUID
    assert item.ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert item.ReferencedSOPClassUID == first.SOPClassUID
    other_reader = _verdict(header, model, reader="li")
    assert other_reader.SeriesInstanceUID != first.SeriesInstanceUID  # each reader their own series
    evidence = {i.ReferencedSOPInstanceUID for s in second.CurrentRequestedProcedureEvidenceSequence
                for r in s.ReferencedSeriesSequence for i in r.ReferencedSOPSequence}  # fmt: skip
    assert evidence == {header.SOPInstanceUID, model.SOPInstanceUID}
    meaning = {"1": "Abnormal", "u": "Uncertain", "0": "Normal"}
    assert {k: v[1] for k, v in sr_values(second).items()} == {k: meaning[LABELS[k]] for k in REGION_KEYS}


def test_the_verdict_names_its_observer_by_full_name_and_carries_the_cardiothoracic_ratio():
    from cxr_regions.pacs import model_report

    header = _header()
    model = model_report(header, PROBABILITIES, THRESHOLDS)
    plain = _verdict(header, model, observer_name="Wang  Xiaoming")
    names = [i.value for i in plain.iterall() if i.keyword == "PersonName"]
    assert names == ["Wang Xiaoming^"] and "SpecificCharacterSet" not in plain
    chinese = _verdict(header, model, observer_name="王小明", cardiothoracic_ratio=0.5432)
    assert chinese.SpecificCharacterSet == "ISO_IR 192"
    assert [str(i.value) for i in chinese.iterall() if i.keyword == "PersonName"] == ["王小明^"]
    values = sr_values(chinese)
    assert values["heart"][0] == pytest.approx(0.5432) and values["lungs"][0] is None
    numbers = [i for i in _items(chinese) if "MeasuredValueSequence" in i]
    [ratio] = [i for i in numbers if i.ConceptNameCodeSequence[0].CodeValue == "CTR"]
    assert ratio.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue == "{ratio}"
    declared = [i.CodingSchemeDesignator for i in chinese.CodingSchemeIdentificationSequence]
    assert declared == ["99CXRREG"]  # used: the ratio's code and "uncertain"
    sure = {k: "1" for k in REGION_KEYS}
    from cxr_regions.pacs import verdict_report

    unused = verdict_report(header, model, sure, "wang", "v3", observer_name="Wang Xiaoming")
    assert "CodingSchemeIdentificationSequence" not in unused  # nothing private in it, nothing declared
    with pytest.raises(ValueError, match="cardiothoracic"):
        verdict_report(header, model, sure, "wang", "v4", observer_name="W", cardiothoracic_ratio=1.7)


def test_person_names_are_valid_pn_values():
    from cxr_regions.pacs.inherited import person_name

    assert person_name("Smith^John") == "Smith^John"  # components given: kept
    assert person_name(" Dr.  Wang\tXiaoming ") == "Dr. Wang Xiaoming^"
    assert person_name("a\\b=c") == "abc^"  # no value or group delimiters smuggled in
    assert len(person_name("x" * 200)) == 64
    with pytest.raises(ValueError, match="empty"):
        person_name("  ^ ")


def test_building_results_logs_nothing_identifying_and_no_library_chatter(caplog, recwarn):
    from cxr_regions.pacs import model_report, verdict_report

    header = pacs_header(shared_path("dicom", "966_fixed.dcm"))  # invalid values to be left out
    identity = ("PatientID", "PatientName", "PatientBirthDate", "SOPInstanceUID")
    secrets = [str(header[k].value) for k in identity]
    with caplog.at_level(logging.DEBUG):
        _sc(header)
        model = model_report(header, PROBABILITIES, THRESHOLDS)
        verdict_report(header, model, LABELS, "wang", "v1", observer_name="Wang Xiaoming")
    for record in caplog.records:
        assert record.levelno < logging.INFO or record.name.startswith("cxr_regions"), record.getMessage()
        assert not any(s in record.getMessage() for s in secrets), record.getMessage()
    assert "PatientBirthDate" in caplog.text  # the attribute left out is named, its value is not
    for warning in recwarn:
        assert not any(s in str(warning.message) for s in secrets), str(warning.message)
