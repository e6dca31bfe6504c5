"""What the result objects take over from the film's own header, and how their text is encoded.

The Secondary Capture and the SRs join the film's study, so they repeat its patient and study
attributes. A PACS checks them, so each one is checked against its value representation (and, where
the standard enumerates the values, against those) and **left out when invalid** — never copied as it
was and never repaired by guessing: a Patient's Age of ``62`` (not ``062Y``), a birth date that is a
hash, an accession number longer than 16 characters. A Type 2 attribute left out is written empty.
The identifying UIDs are the exception: they place the results in the film's study and are copied as
they are.

:data:`INHERITED` names every attribute taken over; ``docs/dicom-conformance.md`` lists them.
Nothing here logs a value: only the names of the attributes left out, at DEBUG.
"""

from __future__ import annotations

import copy
import logging
import re

from pydicom import Dataset, config
from pydicom.datadict import dictionary_VM, dictionary_VR
from pydicom.multival import MultiValue
from pydicom.valuerep import validate_value

from cxr_regions.ingest.decode import quiet_pydicom

log = logging.getLogger("cxr_regions.pacs")

IDENTIFIERS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
PATIENT = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex")
STUDY = ("StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber", "StudyDescription")
PATIENT_STUDY = ("PatientAge", "PatientSize", "PatientWeight")
# what the SC (orientation, laterality, body part, lossy history) and the SRs' image library say of the film
IMAGE = (
    "Modality", "Rows", "Columns", "PatientOrientation", "BodyPartExamined", "Laterality", "ImageLaterality",
    "ImagerPixelSpacing", "LossyImageCompression", "LossyImageCompressionMethod",
)  # fmt: skip
INHERITED = PATIENT + STUDY + PATIENT_STUDY + IMAGE
# present in every result object, empty when unknown or invalid
TYPE_2 = frozenset(
    ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
     "ReferringPhysicianName", "StudyID", "AccessionNumber")
)  # fmt: skip

ENUMERATED = {
    "PatientSex": {"M", "F", "O"},
    "Laterality": {"R", "L"},
    "ImageLaterality": {"R", "L", "U", "B"},
    "LossyImageCompression": {"00", "01"},
}
ORIENTATION = re.compile(r"^[APRLHF]{1,3}$")  # one row or column direction, e.g. L, F, LF (biped)
TEXT_VRS = frozenset(("SH", "LO", "ST", "LT", "UT", "UC", "PN"))


def _values(element) -> list:
    """An element's values as a list (none for an empty one)."""
    value = element.value
    if value is None or value == "":
        return []
    if isinstance(value, (MultiValue, list, tuple)):
        return [v for v in value]
    return [value]


def _valid(keyword: str, element) -> bool:
    """Whether one element may be copied: right VR and VM, every value valid for its VR and, where the
    standard enumerates them, one of those values."""
    vr = dictionary_VR(keyword)
    values = _values(element)
    if not values:
        return True  # empty: valid for Type 2 and 3 alike
    vm = dictionary_VM(keyword)
    if vm.isdigit() and len(values) != int(vm):
        return False
    for value in values:
        text = value if isinstance(value, (int, float)) and vr in ("US", "UL", "SS", "SL") else str(value)
        try:
            validate_value(vr, text, config.RAISE)
        except (ValueError, TypeError):
            return False
    if keyword in ENUMERATED and any(str(v) not in ENUMERATED[keyword] for v in values):
        return False
    if keyword == "PatientOrientation" and not all(ORIENTATION.match(str(v)) for v in values):
        return False
    return keyword != "ImagerPixelSpacing" or all(float(v) > 0 for v in values)


def inherited(header):
    """A new Dataset with the film's identifying UIDs and those of :data:`INHERITED` that are valid;
    Type 2 attributes always present (empty where absent or invalid).

    ``header`` is the film's header as the PACS gave it (a pydicom Dataset, e.g. from WADO-RS metadata).
    """
    missing = [k for k in IDENTIFIERS if not header.get(k)]
    if missing:
        raise ValueError(f"the film's header lacks {', '.join(missing)}; no result object can join its study")
    source = Dataset()
    for keyword in IDENTIFIERS:
        setattr(source, keyword, str(header.get(keyword)))
    dropped = []
    with quiet_pydicom():  # reading an invalid value warns, quoting it
        for keyword in INHERITED:
            element = header[keyword] if keyword in header else None  # noqa: SIM401 (.get gives the value)
            valid = element is not None and _valid(keyword, element)
            if valid:
                source.add(copy.deepcopy(element))
            elif keyword in TYPE_2:
                setattr(source, keyword, None)
            if element is not None and not valid:
                dropped.append(keyword)
    if dropped:
        log.debug("left out of the result objects as invalid: %s", ", ".join(dropped))
    return source


def person_name(full_name: str) -> str:
    """A full name as a person types it ("Wang Xiaoming", "王小明", "Smith^John") as a valid PN value.

    A name already split with ``^`` keeps its components. Otherwise the whole name is the family-name
    component, closed with ``^`` so that it reads as a name of one component (no guessing which word
    is the family name). Characters PN cannot hold (backslash, ``=``, control characters) are dropped
    and each component group is cut to its 64 characters.
    """
    text = " ".join(str(full_name).split())  # tabs, newlines, runs of spaces: one space
    text = "".join(c for c in text if c.isprintable() and c not in "\\=")
    if not text.strip("^ "):
        raise ValueError("the observer's name is empty; give the reader's full name")
    if "^" not in text:
        text = f"{text[:63]}^"
    return text[:64]


def _needs_unicode(dataset) -> bool:
    for element in dataset.iterall():
        if element.VR in TEXT_VRS:
            for value in _values(element):
                if not str(value).isascii():
                    return True
    return False


def set_character_set(dataset) -> None:
    """``ISO_IR 192`` (UTF-8, which carries Chinese and every other script) where some text needs more
    than ASCII, otherwise the default repertoire (no Specific Character Set)."""
    if _needs_unicode(dataset):
        dataset.SpecificCharacterSet = "ISO_IR 192"
    elif "SpecificCharacterSet" in dataset:
        del dataset.SpecificCharacterSet
