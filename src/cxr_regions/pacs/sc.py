"""The Secondary Capture of one film: the film with the heatmaps of the regions called abnormal and the
five probabilities burned in, marked "AI result, not for diagnosis alone".

It joins the film's study in series 9901 with the film's patient and study attributes (validated, see
:mod:`~cxr_regions.pacs.inherited`), names the film in its Source Image Sequence and Referenced Image
Sequence (so with two films in one study each SC says which film it shows), keeps the film's Patient
Orientation only where the film has a valid one (the picture's rows and columns run the same way;
nothing is invented), and stores its pixels losslessly compressed in the transfer syntax chosen
(:data:`SC_SYNTAXES`), uncompressed where no encoder for it is installed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import cast

import numpy as np

from cxr_regions import __version__
from cxr_regions.pacs.inherited import inherited, set_character_set
from cxr_regions.pacs.naming import MANUFACTURER, SC_SERIES_NUMBER, WARNING, calls, result_uid
from cxr_regions.regions import REGION_KEYS, REGIONS

log = logging.getLogger("cxr_regions.pacs")

MIN_WIDTH = 512
# name -> (transfer syntax UID, photometric interpretation of the RGB picture in it)
SC_SYNTAXES: dict[str, tuple[str, str]] = {
    "jpeg2000-lossless": ("1.2.840.10008.1.2.4.90", "YBR_RCT"),
    "jpeg-ls-lossless": ("1.2.840.10008.1.2.4.80", "RGB"),
    "rle-lossless": ("1.2.840.10008.1.2.5", "RGB"),
    "uncompressed": ("1.2.840.10008.1.2.1", "RGB"),  # Explicit VR Little Endian
}
DEFAULT_SC_SYNTAX = "jpeg2000-lossless"
# pylibjpeg-openjpeg's encoder crashes the process (a segmentation fault) when two threads encode at once
# (4 threads making SCs crashed within 100 films); one compressed SC is encoded at a time
_ENCODING = threading.Lock()
UNPAIRED_BODY_PARTS = frozenset(("CHEST", "THORAX"))  # no Laterality for these (PS3.3 General Series)
DERIVATION = "Film with the heatmaps of the regions called abnormal and the probabilities burned in"


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


def _film_reference(source, purpose=None):
    import highdicom as hd
    from pydicom import Dataset

    item = Dataset()
    item.ReferencedSOPClassUID = source.SOPClassUID
    item.ReferencedSOPInstanceUID = source.SOPInstanceUID
    if purpose is not None:
        item.PurposeOfReferenceCodeSequence = [hd.sr.CodedConcept.from_code(purpose)]
    return item


def _laterality(source) -> str | None:
    """The SC's Laterality (General Series, Type 2C): the film's own where it has one; none for a chest
    (an unpaired body part); otherwise the film's Image Laterality when it names a side; otherwise
    empty, which says "unknown"."""
    if source.get("Laterality"):
        return str(source.Laterality)
    if str(source.get("BodyPartExamined", "")) in UNPAIRED_BODY_PARTS:
        return None
    if str(source.get("ImageLaterality", "")) in ("R", "L"):
        return str(source.ImageLaterality)
    return ""


def _build(source, picture: np.ndarray, syntax: str):
    import highdicom as hd

    transfer_syntax, photometric = SC_SYNTAXES[syntax]
    original = str(source.SOPInstanceUID)
    orientation = tuple(str(v) for v in source.get("PatientOrientation") or ())
    sc = hd.sc.SCImage(
        pixel_array=picture,
        photometric_interpretation=photometric,
        bits_allocated=8,
        coordinate_system="PATIENT",
        study_instance_uid=str(source.StudyInstanceUID),
        series_instance_uid=result_uid(original, "sc-series"),
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=result_uid(original, "sc"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        # highdicom wants a value here; the film's own, or none (set below) where it has none
        patient_orientation=cast("tuple[str, str]", orientation or ("L", "F")),  # two values (VM 2)
        series_description=WARNING,
        software_versions=__version__,
        transfer_syntax_uid=transfer_syntax,
    )
    if not orientation:
        sc.PatientOrientation = None  # type: ignore[assignment]  # Type 2C: present and empty
    return sc


def secondary_capture(
    reference, film: np.ndarray, heatmaps: Mapping[str, np.ndarray], probabilities: Mapping[str, float],
    thresholds: Mapping[str, float], syntax: str = DEFAULT_SC_SYNTAX,
):  # fmt: skip
    """The SC of one film (a highdicom ``SCImage``, a pydicom Dataset); ``reference`` is the film's
    header and ``film`` the film as the model saw it (2-D uint8). ``syntax`` is one of
    :data:`SC_SYNTAXES`."""
    from pydicom.sr.codedict import codes

    if syntax not in SC_SYNTAXES:
        raise ValueError(f"SC transfer syntax {syntax!r} unknown; choose one of {', '.join(SC_SYNTAXES)}")
    source = inherited(reference)
    picture = burned_picture(film, heatmaps, probabilities, thresholds)
    try:
        if syntax == "uncompressed":
            sc = _build(source, picture, syntax)
        else:
            with _ENCODING:
                sc = _build(source, picture, syntax)
    except (RuntimeError, ImportError) as exc:  # no encoder installed for this syntax
        log.warning("no %s encoder here (%s); the SC goes uncompressed", syntax, type(exc).__name__)
        sc = _build(source, picture, "uncompressed")
    sc.copy_patient_and_study_information(source)  # the validated patient, study and patient-study values
    laterality = _laterality(source)
    if laterality is not None:
        sc.Laterality = laterality
    if source.get("BodyPartExamined"):
        sc.BodyPartExamined = source.BodyPartExamined
    sc.SourceImageSequence = [_film_reference(source, codes.DCM.SourceImageForImageProcessingOperation)]
    sc.ReferencedImageSequence = [_film_reference(source)]
    sc.DerivationDescription = DERIVATION
    sc.ImageComments = WARNING
    sc.BurnedInAnnotation = "YES"
    if source.get("LossyImageCompression") == "01":  # a film once lossy-compressed: "shall not be reset"
        sc.LossyImageCompression = "01"
        if source.get("LossyImageCompressionMethod"):
            sc.LossyImageCompressionMethod = source.LossyImageCompressionMethod
    set_character_set(sc)
    return sc
