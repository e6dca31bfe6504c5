"""Phantom films as DICOM files, the way a PACS export looks: CR or DX, MONOCHROME1 or 2, 12-16 bits
stored, several transfer syntaxes (some compressed), synthetic patient/study identifiers.

Every identifier and UID is derived from the phantom seed, so the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.pixels import get_encoder
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
)

PHANTOM_NOTE = "cxr-regions PHANTOM: synthetic chest film, not patient data"
UID_ROOT_TEXT = "cxr-regions-phantom"
CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
DETECTOR_MM = 430.0


@dataclass(frozen=True)
class DicomStyle:
    """How one film is stored (varies from film to film, as in a real export)."""

    modality: str  # CR | DX
    photometric: str  # MONOCHROME1 | MONOCHROME2
    bits_stored: int  # 12..16
    transfer_syntax: str  # a UID
    extension: str  # "" or ".dcm"


@dataclass(frozen=True)
class FilmMeta:
    """Synthetic identity of one film: patient, study, series, instance."""

    patient_id: str
    patient_name: str
    sex: str
    birth_date: str
    age: int
    accession_number: str
    study_date: str
    study_time: str
    study_uid: str
    series_uid: str
    sop_uid: str
    view: str


def make_uid(*parts: object) -> str:
    """A deterministic UUID-derived UID (``2.25.<uuid as integer>``) from the seed and the item's place."""
    name = "/".join(map(str, (UID_ROOT_TEXT, *parts)))
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, name).int}"


def available_transfer_syntaxes() -> list[str]:
    """Transfer syntaxes that this installation can write (compressed ones need an encoder)."""
    out = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian]
    for uid in (RLELossless, JPEG2000Lossless):
        if get_encoder(uid).is_available:
            out.append(uid)
    return [str(u) for u in out]


def sample_style(rng: np.random.Generator, syntaxes: list[str]) -> DicomStyle:
    """Modality, photometric, bit depth, transfer syntax and file naming of one film."""
    weights = {
        str(ExplicitVRLittleEndian): 0.4,
        str(ImplicitVRLittleEndian): 0.15,
        str(DeflatedExplicitVRLittleEndian): 0.05,
    }
    p = np.array([weights.get(s, 0.2) for s in syntaxes])
    syntax = syntaxes[int(rng.choice(len(syntaxes), p=p / p.sum()))]
    return DicomStyle(
        modality="CR" if rng.random() < 0.5 else "DX",
        photometric="MONOCHROME1" if rng.random() < 0.3 else "MONOCHROME2",
        bits_stored=int(rng.choice([12, 14, 15, 16], p=[0.35, 0.25, 0.1, 0.3])),
        transfer_syntax=syntax,
        extension=".dcm" if rng.random() < 0.5 else "",
    )


def to_stored(image: np.ndarray, style: DicomStyle) -> np.ndarray:
    """Film (float 0..1, bone bright) -> stored uint16 values; MONOCHROME1 is stored inverted."""
    top = (1 << style.bits_stored) - 1
    stored = np.rint(np.clip(image, 0.0, 1.0) * top).astype(np.uint16)
    if style.photometric == "MONOCHROME1":
        stored = (top - stored).astype(np.uint16)
    return stored


def film_dataset(image: np.ndarray, meta: FilmMeta, style: DicomStyle) -> FileDataset:
    """A complete DICOM dataset (pydicom ``FileDataset``) for one film."""
    rows, cols = image.shape
    sop_class = CR_STORAGE if style.modality == "CR" else DX_STORAGE
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = UID(sop_class)
    fm.MediaStorageSOPInstanceUID = UID(meta.sop_uid)
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    fm.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    # pydicom's annotation leaves out None, which its code takes as "no file" (no name, no buffer)
    ds = FileDataset(None, {}, file_meta=fm, preamble=b"\0" * 128)  # type: ignore[arg-type]
    ds.SpecificCharacterSet = "GB18030"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.sop_uid
    ds.StudyInstanceUID = meta.study_uid
    ds.SeriesInstanceUID = meta.series_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = meta.study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = meta.study_time
    ds.AccessionNumber = meta.accession_number
    ds.Modality = style.modality
    ds.Manufacturer = "cxr-regions phantom"
    ds.InstitutionName = "cxr-regions phantom (synthetic)"
    ds.StudyDescription = "胸部正位片 PHANTOM"
    ds.SeriesDescription = f"CHEST {meta.view} PHANTOM"
    ds.ImageComments = PHANTOM_NOTE
    ds.PatientName = meta.patient_name
    ds.PatientID = meta.patient_id
    ds.PatientBirthDate = meta.birth_date
    ds.PatientSex = meta.sex
    ds.PatientAge = f"{meta.age:03d}Y"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = meta.view
    ds.PatientOrientation = ["L", "F"]  # rows run to the patient's left, columns to the feet
    ds.KVP = "120" if meta.view == "PA" else "90"
    ds.StudyID = meta.accession_number[-8:]
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.BurnedInAnnotation = "NO"
    spacing = f"{DETECTOR_MM / cols:.4f}"
    ds.ImagerPixelSpacing = [spacing, spacing]
    if style.modality == "CR":
        ds.PixelSpacing = [spacing, spacing]
    else:
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PresentationLUTShape = "INVERSE" if style.photometric == "MONOCHROME1" else "IDENTITY"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = style.photometric
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated = 16
    ds.BitsStored = style.bits_stored
    ds.HighBit = style.bits_stored - 1
    ds.PixelRepresentation = 0
    top = (1 << style.bits_stored) - 1
    ds.WindowCenter = str(top // 2 + 1)
    ds.WindowWidth = str(top + 1)
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    stored = to_stored(image, style)
    if style.transfer_syntax in (
        str(ExplicitVRLittleEndian),
        str(ImplicitVRLittleEndian),
        str(DeflatedExplicitVRLittleEndian),
    ):
        ds.file_meta.TransferSyntaxUID = UID(style.transfer_syntax)
        ds.PixelData = stored.tobytes()
    else:
        ds.compress(style.transfer_syntax, stored, generate_instance_uid=False)
    return ds


def dicom_bytes(image: np.ndarray, meta: FilmMeta, style: DicomStyle) -> bytes:
    """The file's bytes (preamble, meta group, dataset)."""
    buffer = io.BytesIO()
    film_dataset(image, meta, style).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
