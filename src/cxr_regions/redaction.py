"""One redaction filter for every log record: no patient name, ID, birth date, age, address or raw file
name reaches a log.

:func:`install_log_redaction` (called once by the command line and by the reading room) puts
:func:`redact` between every log record and its handlers (a log-record factory, so that loggers and
handlers configured later, uvicorn's or a test's, are covered too), routes Python warnings into logging
(pydicom and highdicom print names and IDs in theirs) and turns the INFO chatter of DICOM and HTTP
libraries into DEBUG.

What is redacted:

- **the values of the file being handled**: intake wraps its work in ``with identities(...)`` (or
  ``with identities(*dataset_identities(ds), original_name)``), and any record made in that context
  that mentions one of them, in any case, as a whole word, is scrubbed; a name's components count
  alone, a date in its usual spellings;
- **what pydicom and highdicom print about values**: ``The string "…" is unlikely to represent the
  intended person name`` (highdicom, single-component names), ``Invalid value for VR XX: '…'``,
  ``Value "…" is not valid``, ``Unable to convert '…'`` (pydicom), and the value after a patient or
  physician attribute's keyword or tag (``PatientName='…'``, ``(0010,0010) Patient's Name PN: '…'``);
- **anything that looks like one**: a DICOM person name (a word with ``^``) and a date (19xx/20xx,
  as YYYYMMDD, YYYY-MM-DD, DD/MM/YYYY and the like; not inside a UID).

A caller never logs a raw upload or watch-folder file name: it logs the generated film name, or
:func:`short_hash` of the name.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import logging
import os
import re
import secrets
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

REDACTED = "[redacted]"

# The patient's own identifying attributes (ingest scrubs their values from every text it writes), and
# with them those of the people around the patient (physicians, operators), by keyword and tag; every
# element of group 0010 (the patient module) counts as well.
PATIENT_KEYWORDS = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "MedicalRecordLocator",
)
IDENTIFYING_ATTRIBUTES = {
    "PatientName": "0010,0010",
    "PatientID": "0010,0020",
    "IssuerOfPatientID": "0010,0021",
    "PatientBirthDate": "0010,0030",
    "PatientBirthTime": "0010,0032",
    "OtherPatientIDs": "0010,1000",
    "OtherPatientNames": "0010,1001",
    "PatientBirthName": "0010,1005",
    "PatientAge": "0010,1010",
    "PatientAddress": "0010,1040",
    "PatientMotherBirthName": "0010,1060",
    "MedicalRecordLocator": "0010,1090",
    "PatientTelephoneNumbers": "0010,2154",
    "ResponsiblePerson": "0010,2297",
    "PatientComments": "0010,4000",
    "ReferringPhysicianName": "0008,0090",
    "ReferringPhysicianAddress": "0008,0092",
    "ReferringPhysicianTelephoneNumbers": "0008,0094",
    "InstitutionAddress": "0008,0081",
    "PhysiciansOfRecord": "0008,1048",
    "PerformingPhysicianName": "0008,1050",
    "NameOfPhysiciansReadingStudy": "0008,1060",
    "OperatorsName": "0008,1070",
    "RequestingPhysician": "0032,1032",
    "AdmissionID": "0038,0010",
    "PersonName": "0040,A123",
}

# Loggers whose INFO records are chatter (each attribute highdicom copies, each HTTP request): DEBUG.
CHATTY_LOGGERS = ("highdicom", "pydicom", "dicomweb_client", "pynetdicom", "urllib3", "httpx", "httpcore")
# Warnings of these packages go through logging, hence through the filter, once per place they come from.
WARNING_PACKAGES = r"(pydicom|highdicom|dicomweb_client|pynetdicom)(\.|$)"

_QUOTED = r"'[^'\n]*'|\"[^\"\n]*\""
_WORD = r"[^\s,;)\]}%\[][^\s,;)\]}]*"  # an unquoted value: not a %s placeholder, not [redacted] again
_KEYS = "|".join(sorted(IDENTIFYING_ATTRIBUTES, key=len, reverse=True))
_TAGS = (
    r"\(\s*(?:0010\s*,\s*[0-9A-Fa-f]{4}|"
    + "|".join(
        re.escape(t).replace(",", r"\s*,\s*")
        for t in IDENTIFYING_ATTRIBUTES.values()
        if not t.startswith("0010")
    )
    + r")\s*\)"
)
# Each pattern's group "value" is replaced, the rest of the match kept; a pattern runs only on a text
# with its hint (a quick search), so that a long message costs little.
_PATTERNS: list[tuple[str | re.Pattern[str], re.Pattern[str]]] = [
    # highdicom: The string "DOE" is unlikely to represent the intended person name ...
    ("The string ", re.compile(r"The string (?P<value>" + _QUOTED + r") is unlikely to represent")),
    # pydicom: Invalid value for VR PN: 'DOE'. / Value "62.5" is not valid / Unable to convert 'x' to 'DA'
    ("Invalid value for VR", re.compile(r"Invalid value for VR \w+: (?P<value>" + _QUOTED + ")")),
    (" is not valid", re.compile(r"Value (?P<value>" + _QUOTED + r") is not valid")),
    ("Unable to convert", re.compile(r"Unable to convert (?P<value>" + _QUOTED + ")")),
    # a tag, then its name and VR, then the value: (0010,0010) Patient's Name   PN: 'DOE^JOHN'
    (
        re.compile(r"\(\s*00[1-4]"),
        re.compile(_TAGS + r"[^:=\n]{0,60}[:=]\s*(?P<value>" + _QUOTED + r"|[^\n]+)"),
    ),
    # a keyword, then = or :, then the value; or a keyword, a space and a quoted value
    (
        re.compile(_KEYS),
        re.compile(r"\b(?:" + _KEYS + r")\b['\"]?\s*[:=]\s*(?P<value>" + _QUOTED + "|" + _WORD + ")"),
    ),
    (re.compile(_KEYS), re.compile(r"\b(?:" + _KEYS + r")\b\s+(?P<value>" + _QUOTED + ")")),
    # a DICOM person name: a word with a caret (DOE^JOHN, ^^^JOHN), bounded to keep the cost linear
    ("^", re.compile(r"(?P<value>[^\s'\",;:()\[\]{}=<>/\\]{0,64}\^[^\s'\",;:()\[\]{}=<>/\\]{0,64})")),
]
_DATE = re.compile(
    r"(?<![\d.])(?:(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"|(?:18|19|20)\d\d([-/.])(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:18|19|20)\d\d"
    r"|(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:18|19|20)\d\d)(?![\d]|\.\d)"
)

_registered: contextvars.ContextVar[tuple[re.Pattern[str], ...]] = contextvars.ContextVar(
    "cxr_regions_identities", default=()
)
_HASH_KEY = secrets.token_bytes(16)


def short_hash(name: str | os.PathLike[str], key: bytes | None = None) -> str:
    """A short stand-in for a file name in a log: ``file-`` and 10 hex digits of a keyed hash of it.

    The same name gives the same stand-in within one process (``key``: a secret of this process unless
    given, e.g. an installation's salt for stand-ins that match across runs); a name cannot be
    recovered or guessed from it.
    """
    digest = hmac.new(key or _HASH_KEY, os.fspath(name).encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"file-{digest.hexdigest()[:10]}"


def _date_spellings(value: str) -> list[str]:
    """A DICOM date (YYYYMMDD) as it is also written: 1940-03-05, 1940/03/05, 05/03/1940, 03/05/1940,
    05.03.1940."""
    match = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", value.strip())
    if not match:
        return []
    y, m, d = match.groups()
    return [f"{y}{m}{d}", f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}"]


_FILE_SUFFIX = re.compile(r"\.(dcm|dicom|dic|ima|img|png|jpe?g|j2k|jp2|tiff?|bmp|gif|zip|gz|tar|txt)$", re.I)


def value_spellings(value: Any, min_part: int = 2) -> set[str]:
    """An identifying value and how else it is written: a date in its usual spellings; a file name or
    path as itself, its file name and its stem; anything else (a name, an ID, an address) as itself,
    its parts (split at DICOM's ``^`` and ``=``, spaces, ``_ , . -``) joined by ``_``, a space,
    nothing, ``-`` or ``.`` (exports name folders DOE_JOHN or John Doe), and each part of at least
    ``min_part`` characters alone. Lists give each value's; nothing shorter than 2 characters."""
    if value is None:
        return set()
    if isinstance(value, (list, tuple, set, frozenset)) or type(value).__name__ == "MultiValue":
        return set().union(set(), *(value_spellings(v, min_part) for v in value))
    text = (os.fspath(value) if isinstance(value, os.PathLike) else str(value)).strip(" \x00")
    found = {text}
    if _date_spellings(text):
        found.update(_date_spellings(text))
    elif re.search(r"[/\\]", text) or _FILE_SUFFIX.search(text):
        base = re.split(r"[/\\]", text)[-1]
        found.update((base, os.path.splitext(base)[0]))
    else:
        parts = [p for p in re.split(r"[\^=\s,_.\-]+", text) if p]
        if len(parts) > 1:
            found.update(p for p in parts if len(p) >= min_part)
            found.update(sep.join(parts) for sep in ("_", " ", "", "-", "."))
    return {f for f in found if len(f) >= 2}


def identity_pattern(values: Iterable[Any], min_part: int = 2, words: bool = True) -> re.Pattern[str] | None:
    """One case-insensitive pattern for ``values`` and their :func:`value_spellings` (``min_part``): a
    spelling of 4 characters or more anywhere (inside a longer word too), a shorter one as a whole
    word only (anywhere too where ``words`` is false)."""
    spellings = value_spellings(list(values), min_part)
    if not spellings:
        return None
    ordered = sorted(spellings, key=len, reverse=True)
    long = "|".join(re.escape(w) for w in ordered if len(w) >= 4 or not words)
    short = "|".join(re.escape(w) for w in ordered if len(w) < 4 and words)
    alternatives = [long] if long else []
    if short:
        alternatives.append(r"(?<![A-Za-z0-9])(?:" + short + r")(?![A-Za-z0-9])")
    return re.compile("|".join(alternatives), re.IGNORECASE)


@contextlib.contextmanager
def identities(*values: Any) -> Iterator[None]:
    """Within the block (this thread or task, and what it starts with a copy of its context), scrub
    ``values`` (names, IDs, dates, file names or paths: strings, path-likes, lists) from every log record
    and every :func:`redact` call. Blocks nest; leaving one forgets its values."""
    pattern = identity_pattern(values)
    token = _registered.set(_registered.get() + ((pattern,) if pattern else ()))
    try:
        yield
    finally:
        _registered.reset(token)


def dataset_identities(ds: Any) -> list[str]:
    """The identifying values of a DICOM header (a pydicom ``Dataset`` or anything with ``get``): the
    attributes of :data:`IDENTIFYING_ATTRIBUTES`, the other patient IDs and the file it was read from."""
    values: list[str] = []
    for keyword in IDENTIFYING_ATTRIBUTES:
        value = ds.get(keyword, None)
        if value in (None, ""):
            continue
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            values.extend(str(v) for v in value)  # each value of a multi-valued attribute (a MultiValue)
        else:
            values.append(str(value))
    for item in ds.get("OtherPatientIDsSequence", None) or ():
        if item.get("PatientID", None):
            values.append(str(item.PatientID))
    filename = getattr(ds, "filename", None)
    if isinstance(filename, (str, os.PathLike)):
        values.append(os.fspath(filename))
    return values


def redact(text: str) -> str:
    """``text`` without the registered identities (:func:`identities`), the values pydicom and highdicom
    print, person names and dates."""
    for pattern in _registered.get():
        text = pattern.sub(REDACTED, text)
    for hint, pattern in _PATTERNS:
        if (hint in text) if isinstance(hint, str) else hint.search(text):
            text = pattern.sub(_keep_all_but_value, text)
    return _DATE.sub("[date]", text)


def _keep_all_but_value(match: re.Match[str]) -> str:
    start, end = match.span("value")
    whole = match.group(0)
    offset = match.start()
    return whole[: start - offset] + REDACTED + whole[end - offset :]


def _scrub_args(args: Any) -> Any:
    """Each string (or object, as its text) in a record's arguments redacted; numbers kept."""

    def one(value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text = value if isinstance(value, str) else str(value)
        clean = redact(text)
        return value if clean == text and not isinstance(value, str) else clean

    if isinstance(args, dict):
        return {k: one(v) for k, v in args.items()}
    return tuple(one(v) for v in args)


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place (its message, arguments, exception and stack text) and return it.

    Arguments are redacted one by one where that leaves a clean message, so that formatters that read
    them (uvicorn's access log) still work; otherwise the message is replaced by its redacted text.
    """
    if record.levelno == logging.INFO and record.name.split(".")[0] in CHATTY_LOGGERS:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
    try:
        message = record.getMessage()
    except Exception:  # a bad format: the handler would print the raw msg and args
        message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), ()
    else:
        clean = redact(message)
        if clean != message:
            msg = redact(record.msg) if isinstance(record.msg, str) else clean
            args = _scrub_args(record.args) if record.args and msg is not clean else ()
            try:
                shaped = msg % args if args else msg
            except Exception:
                shaped = None
            if shaped is not None and redact(shaped) == shaped:
                record.msg, record.args = msg, args
            else:
                record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactionFilter(logging.Filter):
    """:func:`scrub_record` as a ``logging.Filter``, for a handler that receives records made without
    the factory (``logging.makeLogRecord``, records from other processes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


_installed: dict[str, Any] = {}


def install_log_redaction(debug: bool = False) -> None:
    """Redact every log record from now on, route warnings into logging, quiet the chatty libraries.

    Idempotent. ``debug``: keep the libraries' INFO chatter (as DEBUG records) instead of dropping it.
    """
    if not _installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                scrub_record(record)
            except Exception:  # never let redaction break logging: drop the message instead
                record.msg, record.args, record.exc_info, record.exc_text = REDACTED, (), None, None
            return record

        saved = warnings.catch_warnings()  # the filters and warnings' printer as they were, for uninstall
        saved.__enter__()
        _installed.update(factory=previous, levels={}, warnings=saved)
        logging.setLogRecordFactory(factory)
        logging.captureWarnings(True)
        warnings.filterwarnings("default", module=WARNING_PACKAGES)
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, RedactionFilter) for f in handler.filters):
                handler.addFilter(RedactionFilter())
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        _installed["levels"].setdefault(name, logger.level)
        logger.setLevel(logging.NOTSET if debug else logging.WARNING)


def uninstall_log_redaction() -> None:
    """Undo :func:`install_log_redaction` (for tests): the previous record factory, warnings printed
    again, the libraries' levels and the warnings filters as they were."""
    if not _installed:
        return
    logging.setLogRecordFactory(_installed["factory"])
    logging.captureWarnings(False)
    _installed["warnings"].__exit__(None, None, None)
    for name, level in _installed["levels"].items():
        logging.getLogger(name).setLevel(level)
    for handler in logging.getLogger().handlers:
        for f in [f for f in handler.filters if isinstance(f, RedactionFilter)]:
            handler.removeFilter(f)
    _installed.clear()
