"""The DICOMweb client against a real Orthanc behind a fault-injecting proxy: one bad instance never
stops the others, every failure is a PacsError within a bounded time, no silent retries, and a PACS that
stops and comes back. Skipped where Orthanc is not installed."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path

import httpx
import pydicom
import pytest

from cxr_regions.pacs import Pacs, PacsError, parse_query
from helpers.pacs import copy_dicom, start_orthanc, upload_bytes
from helpers.pacs_faults import Fault, FaultProxy, pacs_down
from helpers.serve import make_phantom_dicoms

pytestmark = pytest.mark.slow  # a real Orthanc

READ_TIMEOUT = 1.0
HANG = 30.0  # the proxy's hang: far longer than the client's read timeout


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> list[Path]:
    dicoms, _ = make_phantom_dicoms(tmp_path_factory.mktemp("client-phantom") / "out", n=4, seed=41)
    return dicoms


@pytest.fixture(scope="module")
def archive(tmp_path_factory, phantom):
    """One Orthanc holding the four phantom films for the whole module."""
    server = start_orthanc(tmp_path_factory.mktemp("client-orthanc"))
    for path in phantom:
        upload_bytes(server, path.read_bytes())
    yield server
    server.discard()


@pytest.fixture
def proxy(archive):
    with FaultProxy(archive.url, hang_seconds=HANG) as proxy:
        yield proxy


def _refs(pacs: Pacs):
    refs = sorted(pacs.search(parse_query(None)), key=lambda r: r.sop)
    assert len(refs) == 4
    return refs


def _fetch_all(pacs: Pacs, refs, folder: Path) -> dict[str, str]:
    """Retrieve every instance; SOP UID -> "ok" or the error (one failing never stops the others)."""
    outcome = {}
    for ref in refs:
        try:
            pacs.retrieve(ref, folder / f"{ref.sop}.dcm")
            outcome[ref.sop] = "ok"
        except PacsError as exc:
            outcome[ref.sop] = str(exc)
    return outcome


def test_http_500_for_one_instance_does_not_stop_the_others_and_is_tried_once(proxy, tmp_path):
    pacs = Pacs(proxy.dicomweb, read_timeout=READ_TIMEOUT)
    refs = _refs(pacs)
    rule = proxy.fail(refs[1].sop, Fault.ERROR_500)
    outcome = _fetch_all(pacs, refs, tmp_path)
    assert [outcome[r.sop] == "ok" for r in refs] == [True, False, True, True]
    assert "HTTP 500" in outcome[refs[1].sop] and rule.hits == 1
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(r.sop for r in refs if r is not refs[1])
    with pytest.raises(PacsError) as caught:
        pacs.header(refs[1])
    assert caught.value.status == 500


def test_statuses_dicomweb_client_would_retry_for_30_s_fail_at_once(proxy):
    """dicomweb-client on its own tries 503 five times over 30 s; ours asks once."""
    pacs = Pacs(proxy.dicomweb, read_timeout=READ_TIMEOUT)
    rule = proxy.fail("/dicom-web/instances", Fault.UNAVAILABLE)
    start = time.monotonic()
    with pytest.raises(PacsError, match="HTTP 503") as caught:
        list(pacs.search(parse_query(None)))
    assert rule.hits == 1 and caught.value.status == 503
    assert time.monotonic() - start < HANG / 3


def test_a_hanging_pacs_is_noticed_within_the_read_timeout(proxy, tmp_path):
    pacs = Pacs(proxy.dicomweb, read_timeout=READ_TIMEOUT)
    refs = _refs(pacs)
    rule = proxy.fail(refs[2].sop, Fault.HANG)
    start = time.monotonic()
    with pytest.raises(PacsError, match="timed out waiting") as caught:
        pacs.retrieve(refs[2], tmp_path / "hung.dcm")
    waited = time.monotonic() - start
    assert READ_TIMEOUT <= waited < HANG / 3 and rule.hits == 1 and caught.value.status is None
    assert not (tmp_path / "hung.dcm").exists()
    assert _fetch_all(pacs, [refs[0], refs[3]], tmp_path) == {refs[0].sop: "ok", refs[3].sop: "ok"}


def test_a_connection_closed_mid_body_is_a_pacs_error_and_leaves_no_file(proxy, tmp_path):
    pacs = Pacs(proxy.dicomweb, read_timeout=READ_TIMEOUT)
    refs = _refs(pacs)
    proxy.fail(refs[3].sop, Fault.CUT)
    outcome = _fetch_all(pacs, refs, tmp_path)
    assert [outcome[r.sop] == "ok" for r in refs] == [True, True, True, False]
    with pytest.raises(PacsError) as caught:
        pacs.header(refs[3])  # the JSON metadata cut short as well
    assert caught.value.status is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{r.sop}.dcm" for r in refs[:3])
    proxy.fail("/dicom-web/instances", Fault.CUT)  # a search answer cut short
    with pytest.raises(PacsError):
        list(pacs.search(parse_query(None)))


def test_a_deleted_original_is_a_404_pacs_error(archive, phantom, tmp_path):
    pacs = Pacs(archive.dicomweb, read_timeout=READ_TIMEOUT)
    data = copy_dicom(phantom[0])
    extra = upload_bytes(archive, data)
    sop = str(pydicom.dcmread(BytesIO(data)).SOPInstanceUID)
    [ref] = [r for r in pacs.search(parse_query(None)) if r.sop == sop]
    httpx.delete(f"{archive.url}/instances/{extra['ID']}", timeout=30).raise_for_status()
    for call in (lambda: pacs.header(ref), lambda: pacs.retrieve(ref, tmp_path / "gone.dcm")):
        with pytest.raises(PacsError, match="HTTP 404") as caught:
            call()
        assert caught.value.status == 404


def test_a_stopped_pacs_is_noticed_within_one_connect_timeout_and_a_restarted_one_works(tmp_path, phantom):
    server = start_orthanc(tmp_path / "orthanc")
    try:
        upload_bytes(server, phantom[0].read_bytes())
        pacs = Pacs(server.dicomweb, connect_timeout=2.0, read_timeout=READ_TIMEOUT)
        assert len(list(pacs.search(parse_query(None)))) == 1
        with pacs_down(server):
            start = time.monotonic()
            with pytest.raises(PacsError, match="is the PACS running") as caught:
                pacs.check()
            assert time.monotonic() - start < 2.0 + 3.0 and caught.value.status is None
        assert len(list(pacs.search(parse_query(None)))) == 1  # the same client, its pool reconnects
    finally:
        server.discard()


def test_timeouts_must_be_positive():
    from cxr_regions.errors import UserError

    with pytest.raises(UserError, match="timeouts"):
        Pacs("http://127.0.0.1:1/dicom-web", read_timeout=0)
