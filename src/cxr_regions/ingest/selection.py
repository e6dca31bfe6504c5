"""Which DICOM files are frontal chest radiographs: modality, body part and view, from the header alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DEFAULT_MODALITIES = ("CR", "DX", "DR")

# SOP classes that identify a radiograph when (0008,0060) Modality is missing.
_RADIOGRAPH_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1": "CR",
    "1.2.840.10008.5.1.4.1.1.1.1": "DX",
    "1.2.840.10008.5.1.4.1.1.1.1.1": "DX",
}
_FOR_PROCESSING_SOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2.1"}
_CHEST_WORDS = ("CHEST", "THORAX", "THORACIC", "LUNG", "TORAX", "胸")

_FRONTAL = {"PA": "PA", "AP": "AP", "POSTERO-ANTERIOR": "PA", "ANTERO-POSTERIOR": "AP"}
_LATERAL = {"LL", "RL", "LAT", "LATERAL", "LLD", "RLD", "LEFT LATERAL", "RIGHT LATERAL"}
# SNOMED / DICOM view codes (CID 4010) in (0054,0220) View Code Sequence.
_VIEW_CODES = {
    "R-10214": "PA",
    "399348003": "PA",
    "R-10206": "AP",
    "399182002": "AP",
    "R-10232": "LL",
    "399173006": "LL",
    "R-10236": "RL",
    "399198007": "RL",
    "R-102CD": "LATERAL",
    "260427000": "LATERAL",
}
_VIEW_WORD = re.compile(r"(?<![A-Z])(PA|AP|LL|RL|LAT|LATERAL)(?![A-Z])")


@dataclass(frozen=True)
class Selection:
    """The verdict on one file: ``status`` is None when kept, else the errors.csv status and why."""

    status: str | None
    message: str
    modality: str
    view: str


def _text(ds: Any, keyword: str) -> str:
    value = ds.get(keyword, None) if hasattr(ds, "get") else None
    return "" if value is None else str(value).strip()


def film_view(ds: Any) -> str:
    """PA, AP, LL, RL, LATERAL… or "" when the header does not say.

    Reads (0018,5101) View Position, then the View Code Sequence, then the series and protocol text.
    """
    position = _text(ds, "ViewPosition").upper()
    if position:
        return _FRONTAL.get(position, position)
    for item in ds.get("ViewCodeSequence", None) or []:
        code = str(getattr(item, "CodeValue", "") or "").strip()
        if code in _VIEW_CODES:
            return _VIEW_CODES[code]
    for keyword in ("SeriesDescription", "ProtocolName", "AcquisitionDeviceProcessingDescription"):
        match = _VIEW_WORD.search(_text(ds, keyword).upper())
        if match:
            word = match.group(1)
            return "LATERAL" if word == "LAT" else word
    return ""


def select_film(
    ds: Any, modalities: tuple[str, ...] = DEFAULT_MODALITIES, keep_lateral: bool = False
) -> Selection:
    """Keep a frontal chest radiograph; say why anything else is skipped.

    Modality must be one of ``modalities`` (or unset on a CR/DX SOP class); DX images "for
    processing" (raw detector data) are skipped; body part must be chest or unset; the view must
    not be lateral unless ``keep_lateral``. A film with no view information is kept.
    """
    sop_class = _text(ds, "SOPClassUID")
    modality = _text(ds, "Modality").upper() or _RADIOGRAPH_SOP_CLASSES.get(sop_class, "")
    view = film_view(ds)
    allowed = ", ".join(modalities)
    if not modality:
        return Selection(
            "skipped_modality", f"no Modality and not a radiograph SOP class (keeps {allowed})", "", view
        )
    if modality not in modalities:
        return Selection("skipped_modality", f"Modality is {modality} (keeps {allowed})", modality, view)
    intent = _text(ds, "PresentationIntentType").upper()
    if sop_class in _FOR_PROCESSING_SOP_CLASSES or intent == "FOR PROCESSING":
        return Selection(
            "skipped_modality",
            "image 'for processing' (raw detector data); keeps images for presentation",
            modality,
            view,
        )
    body_part = _text(ds, "BodyPartExamined").upper()
    if body_part and not any(word in body_part for word in _CHEST_WORDS):
        return Selection("skipped_body_part", f"BodyPartExamined is {body_part}, not chest", modality, view)
    if view in _LATERAL and not keep_lateral:
        return Selection(
            "skipped_lateral", f"lateral view ({view}); use --keep-lateral to keep it", modality, view
        )
    return Selection(None, "", modality, view)
