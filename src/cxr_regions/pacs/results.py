"""The model's results as DICOM objects for the PACS, built with highdicom.

For one film: a Secondary Capture (the film with the heatmaps of the regions called abnormal and the five
probabilities burned in, marked "AI result, not for diagnosis alone") and a Comprehensive 3D SR holding a
TID 1500 measurement report: per region a measurement group with the body structure as finding site, the
probability (DCM 122157) and the call (SNOMED Abnormal/Normal) at its threshold. The radiologist's verdict
is a second report that lists the model's SR among its evidence.

Both go into the original study (its Study Instance UID and patient module, taken from the original
instance's header) in new series; their UIDs derive from the original SOP Instance UID, so sending again
after a crash replaces, never duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cxr_regions import __version__, regions
from cxr_regions.regions import REGION_KEYS, REGIONS

MANUFACTURER = "cxr-regions"
WARNING = "AI result, not for diagnosis alone"
SC_SERIES_NUMBER = 9901
SR_SERIES_NUMBER = 9902
VERDICT_SERIES_NUMBER = 9903
MIN_WIDTH = 512
UID_NAMESPACE = uuid.UUID("5b0e8a52-6f49-4d6e-9a51-3c1f0c2d7e11")  # cxr-regions' own, fixed for good
SCHEME = "99CXRREG"  # private coding scheme (the 99 prefix) for the verdict's 'uncertain'


def result_uid(original_sop: str, what: str) -> str:
    """A UID for ``what`` ('sc', 'sr', 'sc-series', ...) of one original instance, the same every time:
    a name-based UUID (RFC 4122 version 5) under the ``2.25`` root."""
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, f'{original_sop}/{what}').int}"


@dataclass
class ResultObjects:
    """The Secondary Capture and the SR of one film, ready for STOW-RS."""

    secondary_capture: object
    report: object


def calls(probabilities: Mapping[str, float], thresholds: Mapping[str, float]) -> dict[str, bool]:
    """Region -> called abnormal, by :func:`cxr_regions.regions.calls` (every region needs a probability)."""
    return regions.calls({k: float(probabilities[k]) for k in REGION_KEYS}, thresholds)


def burned_picture(
    film: np.ndarray, heatmaps: Mapping[str, np.ndarray], probabilities: Mapping[str, float],
    thresholds: Mapping[str, float],
) -> np.ndarray:  # fmt: skip
    """RGB uint8: the film with the flagged regions' heatmaps over it, the warning above it, and below
    it a band with the warning and each region's probability, threshold and call."""
    import cv2

    called = calls(probabilities, thresholds)
    flagged = [heatmaps[k] for k in REGION_KEYS if called[k] and k in heatmaps]
    gray = np.repeat(film[..., None], 3, axis=2)
    if flagged:
        heat = np.clip(np.max(np.stack(flagged), axis=0), 0.0, 1.0).astype(np.float32)
        colour = cv2.applyColorMap(np.round(heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
        alpha = (np.clip((heat - 0.15) / 0.45, 0.0, 1.0) * 0.6)[..., None]  # cold parts show the film
        picture = np.round(gray * (1 - alpha) + colour * alpha).astype(np.uint8)
    else:
        picture = gray
    scale = max(1.0, MIN_WIDTH / picture.shape[1])
    if scale > 1.0:
        picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    width = picture.shape[1]
    font, size = cv2.FONT_HERSHEY_SIMPLEX, width / 900
    line = max(14, int(32 * size))
    thick = max(1, round(size * 2))
    lines = [WARNING] + [
        f"{r.key:<10} p = {float(probabilities[r.key]):.2f}  {'ABNORMAL' if called[r.key] else 'normal'}"
        f"  (threshold {float(thresholds[r.key]):.2f})"
        for r in REGIONS
    ]
    band = np.zeros((line * (len(lines) + 1), width, 3), dtype=np.uint8)
    for i, text in enumerate(lines):
        colour = (255, 200, 0) if i == 0 else (255, 255, 255)
        cv2.putText(band, text, (line // 2, line * (i + 1)), font, size, colour, thick, cv2.LINE_AA)
    head = np.zeros((int(line * 1.5), width, 3), dtype=np.uint8)
    cv2.putText(head, f"{WARNING} ({MANUFACTURER} {__version__})", (line // 2, line), font, size,
                (255, 200, 0), thick, cv2.LINE_AA)  # fmt: skip
    return np.ascontiguousarray(np.concatenate([head, picture, band], axis=0))


def _algorithm():
    import highdicom as hd
    from pydicom.sr.codedict import codes

    return hd.sr.AlgorithmIdentification(
        name=MANUFACTURER, version=__version__, family=codes.DCM.ArtificialIntelligence
    )


def _site(region) -> object:
    import highdicom as hd

    code, meaning = region.snomed
    return hd.sr.FindingSite(anatomic_location=hd.sr.CodedConcept(code, "SCT", meaning))


def _report(observer, groups):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    return hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(**observer),
        procedure_reported=hd.sr.CodedConcept("399208008", "SCT", "Plain chest X-ray"),
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )


def _sr(reference, content, what: str, series_number: int, description: str, evidence_extra=()):
    import highdicom as hd

    original = str(reference.SOPInstanceUID)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[reference, *evidence_extra],
        content=content,
        series_instance_uid=result_uid(original, f"{what}-series"),
        series_number=series_number,
        sop_instance_uid=result_uid(original, what),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description=description,
        software_versions=__version__,
        coding_schemes=[
            hd.coding_schemes.CodingSchemeIdentificationItem(
                designator=SCHEME, name="cxr-regions local codes", responsible_organization=MANUFACTURER
            )
        ],
    )
    return sr


def result_objects(
    reference, film: np.ndarray, heatmaps: Mapping[str, np.ndarray], probabilities: Mapping[str, float],
    thresholds: Mapping[str, float],
) -> ResultObjects:  # fmt: skip
    """The SC and the SR of one film; ``reference`` is the original instance's header (pydicom Dataset)."""
    import highdicom as hd

    original = str(reference.SOPInstanceUID)
    picture = burned_picture(film, heatmaps, probabilities, thresholds)
    orientation = tuple(reference.get("PatientOrientation") or ()) or ("L", "F")
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=reference,
        pixel_array=picture,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=result_uid(original, "sc-series"),
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=result_uid(original, "sc"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_orientation=orientation if len(orientation) == 2 else ("L", "F"),
        series_description=WARNING,
        software_versions=__version__,
    )
    sc.ImageComments = WARNING
    sc.BurnedInAnnotation = "YES"
    return ResultObjects(secondary_capture=sc, report=model_report(reference, probabilities, thresholds))


def model_report(reference, probabilities: Mapping[str, float], thresholds: Mapping[str, float]):
    """The model's SR alone (TID 1500: per region the probability and the call), the same every time."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    original = str(reference.SOPInstanceUID)
    called = calls(probabilities, thresholds)
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=result_uid(MANUFACTURER, "device"), name=MANUFACTURER, model_name=__version__
        ),
    )
    groups = [
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=result_uid(original, f"track-{r.key}"), identifier=r.key
            ),
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
        )
        for r in REGIONS
    ]
    content = _report({"observer_device_context": device}, groups)
    return _sr(reference, content, "sr", SR_SERIES_NUMBER, f"{WARNING}: five-region probabilities")


VERDICT_VALUES = {"1": ("263654008", "SCT", "Abnormal"), "0": ("17621005", "SCT", "Normal"),
                  "u": ("U", SCHEME, "Uncertain")}  # fmt: skip


def verdict_report(reference, model_report, labels: Mapping[str, str], reader: str, version: str):
    """The radiologist's verdict (region -> '1'/'u'/'0') as an SR listing the model's SR as evidence.

    ``version`` (e.g. the verdict's save time) tells one saved verdict from a later change of mind.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    person = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=reader if "^" in reader else f"{reader}^"
        ),
    )
    original = str(reference.SOPInstanceUID)
    groups = [
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=result_uid(original, f"track-{r.key}"), identifier=r.key
            ),
            finding_sites=[_site(r)],
            qualitative_evaluations=[
                hd.sr.QualitativeEvaluation(
                    name=codes.SCT.Finding, value=hd.sr.CodedConcept(*VERDICT_VALUES[labels[r.key]])
                )
            ],
        )
        for r in REGIONS
    ]
    content = _report({"observer_person_context": person}, groups)
    return _sr(
        reference, content, f"verdict-{reader}-{version}", VERDICT_SERIES_NUMBER,
        "Radiologist's verdict on the AI result", evidence_extra=[model_report],
    )  # fmt: skip
