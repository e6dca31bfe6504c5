"""The reading room's DICOM listener on its real intake: a film the room cannot store is answered with a
failure status (the PACS sends it again), nothing is recorded, and the film is taken when it comes again.

The listener's statuses on their own (a raising handler, low disk) are ``test_pacs_transport_listener.py``;
the whole room with Orthanc pushing is ``test_serve_pacs_link.py``.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from cxr_regions.pacs.listener import ListenerConfig
from cxr_regions.serve.intake import Intake
from cxr_regions.serve.pacs_ledger import PacsLedger
from cxr_regions.serve.pacs_listener import LISTENER_SOURCE, DicomIntake
from cxr_regions.serve.reports import ReportBook
from cxr_regions.serve.store import DB_NAME, Store
from helpers.pacs import dcmtk_missing, store_statuses, storescu
from helpers.serve import locked, uncompressed_phantom_dicoms

AET = "CXR-REGIONS"


@pytest.mark.slow  # storescu and a process holding the database
@pytest.mark.skipif(dcmtk_missing() is not None, reason=dcmtk_missing() or "")
def test_a_film_the_room_cannot_store_is_a_processing_failure_and_is_taken_when_sent_again(tmp_path: Path):
    [film] = uncompressed_phantom_dicoms(tmp_path / "films", 1, seed=5)
    sop = str(pydicom.dcmread(film, stop_before_pixels=True).SOPInstanceUID)
    data = tmp_path / "room"
    store = Store(data, busy_timeout=0.5)
    ledger = PacsLedger(store)
    intake = Intake(store, data, ReportBook())
    intake.recover()  # as the room does at start
    taken: list[bool] = []
    room = DicomIntake(
        ListenerConfig(ae_title=AET, port=0, folder=data / "dicom-in"),
        intake,
        ledger,
        on_taken=lambda: taken.append(True),
    )
    room.start()
    try:
        with locked(data / DB_NAME):  # another process holds the database: the room cannot file the film
            busy = storescu(room.listener.port, [film], AET)
        assert store_statuses(busy) == ["Unknown Status: 0x110"]  # Processing Failure: the PACS retries
        assert store.worklist()[1] == 0 and not taken and ledger.recorded(sop) is None
        assert not list((data / "films").iterdir())  # nothing half-stored
        again = storescu(room.listener.port, [film], AET)
        assert store_statuses(again) == ["Success"]
    finally:
        room.stop()
    rows, total = store.worklist()
    assert total == 1 and rows[0].source == LISTENER_SOURCE and taken == [True]
    record = ledger.recorded(sop)  # recorded once, when it was stored
    assert record is not None and record.outcome == "stored" and record.film_id == rows[0].id
    assert dict(room.listener.counts) == {"stored": 1, "refused": 0, "no_space": 0, "failed": 1}
    store.close()
