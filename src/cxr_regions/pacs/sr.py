"""The model's result and the radiologist's verdict as Comprehensive 3D SRs holding TID 1500 measurement
reports, built with highdicom.

Both carry an image library (TID 1600) that describes the film, and every measurement group names the
film as its source image. The model's SR (series 9902) has per region a group with the body structure
as finding site, the probability (DCM 122157) and the call (SNOMED Abnormal/Normal) at its threshold,
the algorithm identified (TID 4019) and the device as observer. The verdict SR (series 9903, one
series per reader and film) has per region the reader's call, optionally the cardiothoracic ratio the
reader measured, the reader's full name as observer, the model's SR among its evidence, and — when it
changes an earlier verdict — that verdict in its Predecessor Documents Sequence, so that the PACS
shows one current verdict per reader, not a pile of contradicting ones.

Codes are standard (DCM, SNOMED CT, UCUM) except two in the private scheme ``99CXRREG``, declared in
the Coding Scheme Identification Sequence only of an SR that uses them: the verdict "uncertain" and the
cardiothoracic ratio (no standard code for the ratio measured on a chest radiograph was found; see
``docs/dicom-conformance.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cxr_regions import __version__
from cxr_regions.pacs.inherited import inherited, person_name, set_character_set
from cxr_regions.pacs.naming import (
    MANUFACTURER,
    SR_SERIES_NUMBER,
    VERDICT_SERIES_NUMBER,
    WARNING,
    calls,
    result_uid,
)
from cxr_regions.regions import BY_KEY, REGIONS

if TYPE_CHECKING:
    import highdicom as hd

SCHEME = "99CXRREG"  # private coding scheme (the 99 prefix)
UNCERTAIN = ("U", SCHEME, "Uncertain")
CARDIOTHORACIC_RATIO = ("CTR", SCHEME, "Cardiothoracic ratio")
VERDICT_VALUES = {"1": ("263654008", "SCT", "Abnormal"), "0": ("17621005", "SCT", "Normal"), "u": UNCERTAIN}
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
MODALITIES = {"CR": "Computed Radiography", "DX": "Digital Radiography"}  # CID 29, for the image library


@dataclass(frozen=True)
class PriorReport:
    """The identifiers of an SR sent earlier that a new one replaces (Predecessor Documents Sequence)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str = COMPREHENSIVE_3D_SR


def verdict_series_uid(original_sop: str, reader: str) -> str:
    """The one series of one reader's verdicts on one film: every change of mind goes into it."""
    return result_uid(original_sop, f"verdict-series/{reader}")


def _coded(code: tuple[str, str, str]):
    import highdicom as hd

    return hd.sr.CodedConcept(*code)


def _image_library(source) -> list:
    """TID 1600 Image Library with the film (TID 1601/1602/1603): modality, size, and where the film
    has valid ones, its patient orientation and imager pixel spacing."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    acq = hd.sr.RelationshipTypeValues.HAS_ACQ_CONTEXT
    descriptors: list[hd.sr.ContentItem] = []
    modality = str(source.get("Modality", ""))
    if modality in MODALITIES:
        descriptors.append(
            hd.sr.CodeContentItem(codes.DCM.Modality, _coded((modality, "DCM", MODALITIES[modality])), acq)
        )
    pixels = hd.sr.CodedConcept("{pixels}", "UCUM", "pixels")
    if source.get("Rows") and source.get("Columns"):
        descriptors += [
            hd.sr.NumContentItem(name, int(value), pixels, relationship_type=acq)
            for name, value in (
                (codes.DCM.PixelDataRows, source.Rows),
                (codes.DCM.PixelDataColumns, source.Columns),
            )
        ]
    orientation: Sequence[Any] = source.get("PatientOrientation") or ()
    if len(orientation) == 2:
        descriptors += [
            hd.sr.TextContentItem(codes.DCM.PatientOrientationRow, str(orientation[0]), acq),
            hd.sr.TextContentItem(codes.DCM.PatientOrientationColumn, str(orientation[1]), acq),
        ]
    spacing: Sequence[Any] = source.get("ImagerPixelSpacing") or ()
    if len(spacing) == 2:  # row spacing first: vertical, then horizontal
        descriptors += [
            hd.sr.NumContentItem(name, float(value), codes.UCUM.Millimeter, relationship_type=acq)
            for name, value in (
                (codes.DCM.HorizontalPixelSpacing, spacing[1]),
                (codes.DCM.VerticalPixelSpacing, spacing[0]),
            )
        ]
    image = hd.sr.ImageContentItem(
        name=codes.SCT.Source,
        referenced_sop_class_uid=str(source.SOPClassUID),
        referenced_sop_instance_uid=str(source.SOPInstanceUID),
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    image.ContentSequence = hd.sr.ContentSequence(descriptors)
    group = hd.sr.ContainerContentItem(codes.DCM.ImageLibraryGroup, relationship_type="CONTAINS")
    group.ContentSequence = hd.sr.ContentSequence([image])
    library = hd.sr.ContainerContentItem(codes.DCM.ImageLibrary, relationship_type="CONTAINS")
    library.ContentSequence = hd.sr.ContentSequence([group])
    return [library]


def _site(region) -> hd.sr.FindingSite:
    import highdicom as hd

    code, meaning = region.snomed
    return hd.sr.FindingSite(anatomic_location=hd.sr.CodedConcept(code, "SCT", meaning))


def _tracking(original: str, region):
    import highdicom as hd

    return hd.sr.TrackingIdentifier(uid=result_uid(original, f"track-{region.key}"), identifier=region.key)


def _film(source):
    import highdicom as hd

    return hd.sr.SourceImageForMeasurementGroup(str(source.SOPClassUID), str(source.SOPInstanceUID))


def _report(source, observer: dict, groups: list):
    """TID 1500 with the image library put before the measurements (its place in the template)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(**observer),
        procedure_reported=hd.sr.CodedConcept("399208008", "SCT", "Plain chest X-ray"),
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )
    items = report[0].ContentSequence
    for offset, item in enumerate(_image_library(source)):
        items.insert(len(items) - 1 + offset, item)
    return report


def _sr(source, content, *, sop_uid: str, series_uid: str, series_number: int, description: str,
        instance_number: int = 1, evidence_extra=(), uses_scheme: bool = False, replaces=None):  # fmt: skip
    """The SR document; patient and study from ``source`` (the film's validated attributes)."""
    import highdicom as hd
    from pydicom import Dataset

    film = Dataset()  # evidence without names: highdicom would warn about them, quoting them
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        setattr(film, keyword, source[keyword].value)
    for keyword in ("PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID",
                    "StudyDate", "StudyTime", "PatientName", "ReferringPhysicianName"):  # fmt: skip
        setattr(film, keyword, None)
    previous = None
    if replaces is not None:
        prior = Dataset()
        prior.StudyInstanceUID = replaces.study_instance_uid
        prior.SeriesInstanceUID = replaces.series_instance_uid
        prior.SOPInstanceUID = replaces.sop_instance_uid
        prior.SOPClassUID = replaces.sop_class_uid
        previous = [prior]
    schemes = None
    if uses_scheme:
        schemes = [
            hd.coding_schemes.CodingSchemeIdentificationItem(
                designator=SCHEME, name="cxr-regions local codes", responsible_organization=MANUFACTURER
            )
        ]
    sr = hd.sr.Comprehensive3DSR(
        evidence=[film, *evidence_extra],
        content=content,
        series_instance_uid=series_uid,
        series_number=series_number,
        sop_instance_uid=sop_uid,
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description=description,
        software_versions=__version__,
        coding_schemes=schemes,
        previous_versions=previous,
    )
    sr.copy_patient_and_study_information(source)
    set_character_set(sr)
    return sr


def _algorithm():
    import highdicom as hd
    from pydicom.sr.codedict import codes

    return hd.sr.AlgorithmIdentification(
        name=MANUFACTURER, version=__version__, family=codes.DCM.ArtificialIntelligence
    )


def model_report(reference, probabilities: Mapping[str, float], thresholds: Mapping[str, float]):
    """The model's SR of one film (TID 1500: per region the probability and the call), the same every
    time; ``reference`` is the film's header."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    source = inherited(reference)
    original = str(source.SOPInstanceUID)
    called = calls(probabilities, thresholds)
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=result_uid(MANUFACTURER, "device"), name=MANUFACTURER, model_name=__version__
        ),
    )
    groups = [
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=_tracking(original, r),
            finding_sites=[_site(r)],
            algorithm_id=_algorithm(),
            measurements=[
                hd.sr.Measurement(
                    name=codes.DCM.Probability,
                    value=round(float(probabilities[r.key]), 6),
                    unit=codes.UCUM.NoUnits,
                    finding_sites=[_site(r)],
                    algorithm_id=_algorithm(),
                )
            ],
            qualitative_evaluations=[
                hd.sr.QualitativeEvaluation(
                    name=codes.SCT.Finding, value=codes.SCT.Abnormal if called[r.key] else codes.SCT.Normal
                )
            ],
            source_images=[_film(source)],
        )
        for r in REGIONS
    ]  # fmt: skip
    content = _report(source, {"observer_device_context": device}, groups)
    return _sr(
        source, content, sop_uid=result_uid(original, "sr"), series_uid=result_uid(original, "sr-series"),
        series_number=SR_SERIES_NUMBER, description=f"{WARNING}: five-region probabilities",
    )  # fmt: skip


def verdict_report(
    reference, model_report, labels: Mapping[str, str], reader: str, version: str, *, observer_name: str,
    replaces: PriorReport | None = None, instance_number: int = 1, cardiothoracic_ratio: float | None = None,
):  # fmt: skip
    """The radiologist's verdict on one film (region -> '1'/'u'/'0') as an SR listing the model's SR as
    evidence.

    ``reader`` is a stable key of the reader (it only enters UIDs: one verdict series per reader and
    film), ``observer_name`` the reader's full name as the SR shows it, ``version`` tells one saved
    verdict from a later change of mind. ``replaces`` (the reader's previous verdict SR sent for this
    film) makes this one its successor, ``instance_number`` its place in the series. A
    ``cardiothoracic_ratio`` the reader measured goes into the heart's group.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if cardiothoracic_ratio is not None and not 0.0 < float(cardiothoracic_ratio) <= 1.0:
        raise ValueError(f"a cardiothoracic ratio lies in (0, 1]; got {cardiothoracic_ratio}")
    source = inherited(reference)
    original = str(source.SOPInstanceUID)
    person = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=person_name(observer_name)),
    )  # fmt: skip
    heart = BY_KEY["heart"]
    groups = []
    for r in REGIONS:
        measurements = None
        if r is heart and cardiothoracic_ratio is not None:
            measurements = [
                hd.sr.Measurement(
                    name=_coded(CARDIOTHORACIC_RATIO), value=round(float(cardiothoracic_ratio), 4),
                    unit=codes.UCUM.Ratio, finding_sites=[_site(r)],
                )
            ]  # fmt: skip
        value = _coded(VERDICT_VALUES[labels[r.key]])
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=_tracking(original, r),
                finding_sites=[_site(r)],
                measurements=measurements,
                qualitative_evaluations=[hd.sr.QualitativeEvaluation(name=codes.SCT.Finding, value=value)],
                source_images=[_film(source)],
            )
        )
    content = _report(source, {"observer_person_context": person}, groups)
    uses_scheme = "u" in {labels[r.key] for r in REGIONS} or cardiothoracic_ratio is not None
    return _sr(
        source, content, sop_uid=result_uid(original, f"verdict/{reader}/{version}"),
        series_uid=verdict_series_uid(original, reader), series_number=VERDICT_SERIES_NUMBER,
        description="Radiologist's verdict on the AI result", instance_number=instance_number,
        evidence_extra=[model_report], uses_scheme=uses_scheme, replaces=replaces,
    )  # fmt: skip
