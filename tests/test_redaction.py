"""No identity in a log: the redaction filter every log record passes.

The real DICOMs of the test data go, under file names made of their own patient's name and ID, through
the pydicom and highdicom code paths that print names, IDs, dates and ages in their warnings (building
the reading room's Secondary Capture and SR from them, setting a single-component name and an age
without its unit), while the code around them logs the file name, the header and an exception; the
log is written by a real file handler and searched. Without the filter the same run leaks, so the test
can fail.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from cxr_regions.redaction import (
    REDACTED,
    RedactionFilter,
    dataset_identities,
    identities,
    install_log_redaction,
    redact,
    short_hash,
    uninstall_log_redaction,
)
from helpers import shared_path

# 966_fixed.dcm's birth date field holds the same hashed string as its accession number; accession
# numbers are kept as pseudonyms (they join films to reports), so that one value is not searched for.
PSEUDONYM_BIRTH_DATES = {"d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"}


def run_through_warning_paths(dicom_dir: Path, work: Path) -> list[str]:
    """What an intake does with each real DICOM, with everything logged; returns the identities to look
    for in the log (names, IDs, birth dates as dates, the file names the films arrived under)."""
    from highdicom.valuerep import check_person_name
    from pydicom import config

    from cxr_regions.pacs.results import result_objects
    from cxr_regions.regions import REGION_KEYS

    log = logging.getLogger("cxr_regions.serve")
    secrets: list[str] = []
    probabilities = {k: 0.5 for k in REGION_KEYS}
    writing = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.WARN
    try:
        for source in sorted(dicom_dir.glob("*.dcm")):
            header = pydicom.dcmread(source, stop_before_pixels=True)
            name, pid = str(header.get("PatientName", "")), str(header.get("PatientID", ""))
            arrived = work / f"{name} {pid} {source.name}".strip()  # as hospitals name exports
            arrived.write_bytes(source.read_bytes())
            birth = str(header.get("PatientBirthDate", ""))
            secrets += [name, pid, arrived.name, str(arrived)]
            secrets += [part for part in name.split("^") if len(part) >= 4]
            if birth and birth not in PSEUDONYM_BIRTH_DATES:
                secrets += [birth, f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"]
            # intake registers the file's identities first; then even the code's own mistakes (the raw
            # file name, the whole header in a log line) leave none in the log
            with identities(*dataset_identities(header), arrived):
                log.info("received %s", arrived.name)
                ds = pydicom.dcmread(arrived)
                log.debug("header of %s:\n%s", arrived, ds)
                log.warning("duplicate %s (upload) of film 61", arrived.name)
                try:
                    result_objects(ds, np.zeros((600, 600), np.uint8), {}, probabilities, probabilities)
                    # result_objects copes with these headers now; an error naming the patient still
                    # must not reach the log with its traceback
                    raise ValueError(f"cannot file {arrived} of {ds.PatientName} ({ds.PatientID})")
                except Exception:
                    log.exception("could not build the results of %s (%s)", arrived.name, ds.PatientName)
                ds.PatientAge = "62"  # pydicom: Invalid value for VR AS: '62'
            # outside any registered identity: only the patterns stand between the warnings and the log
            family = name.split("^")[0]
            if family:
                single = pydicom.Dataset()
                single.PatientName = family
                check_person_name(single.PatientName)  # highdicom: The string "…" is unlikely to represent…
                if birth.isdigit():
                    single.PatientBirthDate = (
                        f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"  # pydicom: Invalid value
                    )
                single.PatientAge = "62"
                log.info("single-component name: PatientName=%s", single.PatientName)
    finally:
        config.settings.writing_validation_mode = writing
    return sorted({s for s in secrets if s})


@pytest.fixture
def log_file(tmp_path):
    """A real file handler on the root logger at DEBUG for the test; removed after."""
    path = tmp_path / "serve.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)


@pytest.fixture
def redaction():
    """The filter installed for one test (with warnings that repeat shown each time), then removed."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        install_log_redaction()
        try:
            yield
        finally:
            uninstall_log_redaction()


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s.lower() in text.lower()]


def test_real_dicoms_through_pydicom_and_highdicom_leave_no_identity_in_the_log(
    tmp_path, log_file, redaction
):
    work = tmp_path / "incoming"
    work.mkdir()
    secrets = run_through_warning_paths(shared_path("dicom"), work)
    text = log_file.read_text(encoding="utf-8")
    assert len(secrets) > 20 and "CompressedSamples^RG1" in secrets
    assert not leaks(text, secrets), leaks(text, secrets)
    # the warnings and the records are there, with the values taken out
    assert "is unlikely to represent the intended person name" in text
    assert "Invalid value for VR AS" in text and "Traceback" in text and "duplicate" in text
    assert text.count(REDACTED) > 20
    # the libraries' INFO chatter is gone (DEBUG records now, and those loggers are at WARNING)
    assert "copy Patient-related attributes" not in text


def test_without_the_filter_the_same_run_leaks(tmp_path, log_file):
    work = tmp_path / "incoming"
    work.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)
        try:
            secrets = run_through_warning_paths(shared_path("dicom"), work)
        finally:
            logging.captureWarnings(False)
    found = leaks(log_file.read_text(encoding="utf-8"), secrets)
    assert "CompressedSamples^RG1" in found and "9RG1" in found and "19400305" in found
    assert any(s.endswith("RG1_J2KR.dcm") for s in found)


def test_patterns_catch_what_the_libraries_print_without_registration():
    cases = {
        'The string "Smith" is unlikely to represent the intended person name': "Smith",
        "Invalid value for VR DA: '1940-03-05'.": "1940-03-05",
        "Invalid value for VR AS: '62'.": "'62'",
        'Value "71.5" is not valid for elements with a VR of DS': "71.5",
        "Unable to convert 'x19400305' to 'DA' object": "x19400305",
        "(0010,0010) Patient's Name                      PN: 'Doe^Jane'": "Doe^Jane",
        "(0010, 1040) Patient's Address LO: '12 Main Street, Springfield'": "Main Street",
        "PatientID=HN0042317, retrying": "HN0042317",
        "ReferringPhysicianName: ward": "ward",
        "born 19400305 and seen 05/03/1940": "1940",
        "a person DOE^JOHN^^^ was here": "DOE",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), (text, redact(text))
        assert redact(redact(text)) == redact(text)  # a record may pass a handler's filter again
    # what is not identity stays: UIDs (pseudonyms), counts, the attribute names themselves
    kept = 'copied attribute "PatientName" of 1.2.840.10008.5.1.4.1.1.7 (uid 1.3.6.19400305.2) in 3 films'
    assert redact(kept) == kept


def test_registered_identities_are_scrubbed_in_their_context_only():
    with identities("Wang^Xiaoming", "HN0042317", "/uploads/Wang Xiaoming.dcm", "19400305"):
        text = redact("WANG_XIAOMING HN0042317 'wang xiaoming.dcm' Xiaoming 1940-03-05 05.03.1940")
        assert "xiaoming" not in text.lower() and "HN0042317" not in text and "1940" not in text
        with identities("Li^Na"):
            assert redact("Li Na, LI and NA") == f"{REDACTED}, {REDACTED} and {REDACTED}"
            assert redact("name, list, nano") == "name, list, nano"  # 2-letter parts: whole words only
        assert redact("Li Na") == "Li Na"
    assert redact("HN0042317") == "HN0042317"  # outside the block: not registered, not a pattern


def test_each_value_of_a_multi_valued_attribute_is_an_identity():
    header = pydicom.Dataset()
    header.PatientName = "DOE^JOHN"
    header.OtherPatientIDs = ["A1234567", "B7654321"]  # pydicom keeps them as a MultiValue
    found = dataset_identities(header)
    assert {"DOE^JOHN", "A1234567", "B7654321"} <= set(found)
    assert all(isinstance(value, str) for value in found)
    with identities(*found):
        assert redact("merged with B7654321 and A1234567") == f"merged with {REDACTED} and {REDACTED}"


def test_short_hash_stands_in_for_a_file_name():
    first = short_hash("DOE^JOHN 1940.dcm")
    assert first == short_hash(Path("DOE^JOHN 1940.dcm")) and first.startswith("file-") and len(first) == 15
    assert first != short_hash("DOE^JANE 1940.dcm")
    assert (
        short_hash("a.dcm", key=b"site salt") == short_hash("a.dcm", key=b"site salt") != short_hash("a.dcm")
    )


def test_records_keep_their_shape_for_formatters_that_read_arguments(redaction):
    log = logging.getLogger("uvicorn.access")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/films/DOE^JOHN", "1.1", 200)
        log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/films/42", "1.1", 200)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    redacted, clean = records
    assert len(redacted.args) == 5 and redacted.args[2] == f"/films/{REDACTED}" and redacted.args[4] == 200
    assert clean.args == ("127.0.0.1:5000", "GET", "/films/42", "1.1", 200)
    # a record made without the factory (another process's, via makeLogRecord) through the filter
    outside = logging.makeLogRecord({"msg": "PatientName=%s", "args": ("Doe^Jane",), "levelno": 30})
    RedactionFilter().filter(outside)
    assert "Doe" not in outside.getMessage()


def test_chatter_is_debug_and_only_shown_when_asked(log_file, redaction):
    logging.getLogger("highdicom.base").info("copy attributes of module %s", "Patient")
    logging.getLogger("cxr_regions.serve").info("started")
    install_log_redaction(debug=True)
    logging.getLogger("highdicom.base").info("copy attributes of module %s", "Study")
    text = log_file.read_text(encoding="utf-8")
    assert "Patient" not in text and "INFO cxr_regions.serve: started" in text
    assert "DEBUG highdicom.base: copy attributes of module Study" in text


def test_the_command_line_installs_the_filter_before_any_command():
    script = (
        "import logging, sys, warnings\n"
        "from cxr_regions import cli\n"
        "sys.argv = ['cxr-regions', '--version']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "warnings.warn('The string \"Smith\" is unlikely to represent the intended person name')\n"
        "logging.getLogger('x').warning('PatientID=%s', 'HN0042317')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr
    assert "Smith" not in done.stderr and "HN0042317" not in done.stderr
    assert "unlikely to represent" in done.stderr and "PatientID=" in done.stderr
