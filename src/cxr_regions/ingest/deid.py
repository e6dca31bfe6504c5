"""De-identification: the salt, keyed hashes for patients and films, and scrubbing identity from text.

Patient identity never leaves ingest in clear. A patient is known only by ``patient_key``, the
HMAC-SHA256 of the PatientID under a secret salt kept in a file (created once per ingest folder, or
shared between exports with ``--salt-file`` so that one hospital's exports share keys). Film ids are
derived from the SOP Instance UID under the same salt. Text that reaches an output (source paths,
error messages) is scrubbed of the patient's ID and name.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.redaction import PATIENT_KEYWORDS, identity_pattern

SALT_NAME = "salt.txt"
REDACTED = "{patient}"


def load_or_create_salt(out: Path, salt_file: Path | None) -> tuple[bytes, Path]:
    """The salt and its file: ``salt_file`` if given (it must exist), else ``OUT/salt.txt`` (made once)."""
    if salt_file is not None:
        path = Path(salt_file)
        if not path.is_file():
            raise UserError(
                f"salt file {path} not found; give the salt file of the first export of this hospital, "
                "or leave out --salt-file to create one in the output folder"
            )
    else:
        path = Path(out) / SALT_NAME
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    salt = path.read_bytes().strip()
    if len(salt) < 16:
        raise UserError(
            f"salt file {path} holds {len(salt)} bytes; a salt needs at least 16 (e.g. 64 hex digits)"
        )
    return salt, path


def salt_digest(salt: bytes) -> str:
    """A short public fingerprint of the salt (to tell two salts apart without revealing either)."""
    return hashlib.sha256(b"cxr-regions salt fingerprint\n" + salt).hexdigest()[:16]


def keyed_hash(salt: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` under ``salt``, as 64 hex digits."""
    return hmac.new(salt, text.encode("utf-8"), hashlib.sha256).hexdigest()


def patient_key(salt: bytes, patient_id: str) -> str:
    """The de-identified key of a patient: salted SHA-256 (HMAC) of the PatientID."""
    return keyed_hash(salt, patient_id.strip())


def image_id(salt: bytes, sop_instance_uid: str) -> str:
    """The film's id: 20 hex digits of the salted hash of its SOP Instance UID (safe as a file name)."""
    return keyed_hash(salt, "sop:" + sop_instance_uid.strip())[:20]


DATE_SHIFT_DAYS = 3650
_EPOCH = _dt.date(1970, 1, 1)


def shifted_study_day(salt: bytes, patient_key_: str, study_date: str | None) -> int | None:
    """A study date (DICOM ``YYYYMMDD``) as a day number shifted by a secret per-patient offset.

    The day number counts from 1970-01-01, plus an offset of up to ±10 years derived from the salt and
    the patient key: the same for every film of one patient, so the days between two of their films are
    kept exactly, while the date itself cannot be read back (DICOM PS3.15's "Retain Longitudinal
    Temporal Information with Modified Dates"). None for a missing or malformed date.
    """
    text = (study_date or "").strip()
    try:
        day = (_dt.datetime.strptime(text[:8], "%Y%m%d").date() - _EPOCH).days if len(text) >= 8 else None
    except ValueError:
        day = None
    if day is None:
        return None
    digest = hmac.new(salt, f"date-shift:{patient_key_}".encode(), hashlib.sha256).digest()
    return day + int.from_bytes(digest[:4], "big") % (2 * DATE_SHIFT_DAYS + 1) - DATE_SHIFT_DAYS


class Redactor:
    """Replaces a patient's ID and name (and their parts, spelled as :func:`value_spellings` lists) in
    free text with ``{patient}``.

    Exports often name folders after the patient, and error texts may quote values; every text
    that goes to ``images.csv``, ``errors.csv`` or the console passes through here first.
    """

    def __init__(self, values: Iterable[str]) -> None:
        # parts of under 4 characters would scrub unrelated words from paths: only whole values
        self._pattern = identity_pattern(values, min_part=4, words=False)

    @classmethod
    def from_dataset(cls, ds: object) -> Redactor:
        """A redactor for the identity attributes present in a pydicom dataset."""
        values: list[str] = []
        items = [ds, *(getattr(ds, "OtherPatientIDsSequence", None) or [])]
        for item in items:
            for keyword in PATIENT_KEYWORDS:
                value = getattr(item, keyword, None)
                if value is None:
                    continue
                multiple = isinstance(value, Sequence) and not isinstance(value, str)
                values.extend(str(v) for v in (value if multiple else [value]))
        return cls(values)

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)
