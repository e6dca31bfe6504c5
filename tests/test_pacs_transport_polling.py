"""Incremental polling against a real Orthanc: its change feed, and the StudyDate window with overlap and
full sweeps that serves any other PACS. A study dated a week back that reaches the PACS after the first
poll is found by both. Skipped where Orthanc is not installed."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path

import pydicom
import pytest

from cxr_regions.pacs import Pacs, PacsError, parse_query
from cxr_regions.pacs.polling import PollConfig, Poller, PollState, changed_in_pacs, window_filters
from helpers.pacs import copy_dicom, start_orthanc, upload_bytes
from helpers.pacs_faults import Fault, FaultProxy
from helpers.serve import make_phantom_dicoms

NOW = datetime(2031, 5, 20, 10, 0, 0)  # the tests' clock: no midnight falls inside a test by chance


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    """One uncompressed phantom CR film to copy under new UIDs."""
    dicoms, _ = make_phantom_dicoms(tmp_path_factory.mktemp("poll-phantom") / "out", n=2, seed=51)
    return next(p for p in dicoms if pydicom.dcmread(p).Modality == "CR")


@pytest.fixture
def server(tmp_path):
    server = start_orthanc(tmp_path / "orthanc")
    yield server
    server.discard()


def _add(server, film: Path, when: datetime, **attributes) -> str:
    """A new study taken at ``when`` (StudyDate/StudyTime) in the PACS; its SOP Instance UID."""
    data = copy_dicom(film, StudyDate=f"{when:%Y%m%d}", StudyTime=f"{when:%H%M%S}", **attributes)
    upload_bytes(server, data)
    return str(pydicom.dcmread(BytesIO(data)).SOPInstanceUID)


def _sops(result) -> list[str]:
    return sorted(p.ref.sop for p in result.instances)


def test_the_window_is_that_day_from_that_time_and_every_later_day_within_the_query():
    start = datetime(2031, 5, 20, 14, 30, 5)
    assert window_filters({"Modality": "CR"}, start) == [
        {"Modality": "CR", "StudyDate": "20310520", "StudyTime": "143005-"},
        {"Modality": "CR", "StudyDate": "20310521-"},
    ]
    assert window_filters({"StudyDate": "20310101-20310520"}, start) == [
        {"StudyDate": "20310520", "StudyTime": "143005-"}
    ]
    assert window_filters({"StudyDate": "20310601-"}, start) == [{"StudyDate": "20310601-"}]
    assert window_filters({"StudyDate": "-20310519"}, start) == []
    assert window_filters({"StudyDate": "20310523"}, start) == [{"StudyDate": "20310523-20310523"}]
    assert window_filters({"StudyTime": "0800-"}, start) == [{"StudyTime": "0800-"}]  # left whole


def test_poll_state_round_trips_and_changed_means_new_content_under_a_taken_uid():
    state = PollState("changes", seq=42, last_sweep="2031-05-20T10:00:00")
    assert PollState.from_json(state.to_json()) == state
    with pytest.raises(ValueError):
        PollState.from_json('{"mode": "guess"}')
    from cxr_regions.pacs import InstanceRef
    from cxr_regions.pacs.polling import Polled

    polled = Polled(InstanceRef("1", "2", "3"), "md5:b")
    assert changed_in_pacs("md5:a", polled) and changed_in_pacs("", polled)
    assert not changed_in_pacs("md5:b", polled) and not changed_in_pacs(None, polled)
    assert not changed_in_pacs("md5:a", Polled(InstanceRef("1", "2", "3")))


@pytest.mark.slow  # a real Orthanc
def test_change_feed_finds_late_studies_and_instances_stored_again(server, film):
    old = _add(server, film, NOW - timedelta(days=400))
    clock = Clock()
    poller = Poller(Pacs(server.dicomweb, read_timeout=5), parse_query(None), clock=clock)
    first = poller.poll(None)
    assert first.swept and first.state.mode == "changes" and _sops(first) == [old]
    assert poller.poll(first.state).instances == []

    # a study dated a week back reaches the PACS after the first poll; a CT does too (not asked for)
    week_back = _add(server, film, NOW - timedelta(days=7))
    _add(server, film, NOW, Modality="CT")
    clock.now += timedelta(seconds=5)
    second = poller.poll(first.state)
    assert not second.swept and _sops(second) == [week_back] and second.state.seq > first.state.seq
    [found] = second.instances
    assert found.revision.startswith("md5:") and poller.revision(found.ref) == found.revision
    assert poller.poll(second.state).instances == []

    # the same instance stored again with other content (OverwriteInstances), then the same bytes again
    original = pydicom.dcmread(_instance_file(server, found.ref.sop))
    original.ImageComments = "corrected"
    buffer = BytesIO()
    original.save_as(buffer, enforce_file_format=True)
    upload_bytes(server, buffer.getvalue())
    third = poller.poll(second.state)
    [again] = third.instances
    assert again.ref == found.ref and changed_in_pacs(found.revision, again)
    upload_bytes(server, buffer.getvalue())
    [same] = poller.poll(third.state).instances
    assert same.ref == found.ref and not changed_in_pacs(again.revision, same)


@pytest.mark.slow  # a real Orthanc
def test_change_feed_tells_the_view_and_asks_the_pacs_where_the_query_needs_more_than_its_index(server, film):
    default = Poller(Pacs(server.dicomweb), parse_query(None), clock=Clock())
    narrow = Poller(Pacs(server.dicomweb), parse_query("Modality=CR&ViewPosition=PA"), clock=Clock())
    states = [default.poll(None).state, narrow.poll(None).state]
    frontal = _add(server, film, NOW, ViewPosition="PA")
    lateral = _add(server, film, NOW, ViewPosition="LL")
    _add(server, film, NOW, Modality="DX", ViewPosition="PA")  # the default asks for DX too
    found = default.poll(states[0]).instances
    assert len(found) == 3
    views = {p.ref.sop: (p.ref.view, p.ref.lateral) for p in found}
    assert views[frontal] == ("PA", False) and views[lateral] == ("LL", True)
    assert _sops(narrow.poll(states[1])) == [frontal]  # ViewPosition: by QIDO-RS, not Orthanc's index


@pytest.mark.slow  # a real Orthanc
def test_change_feed_pages_sweeps_and_restarts(server, film):
    clock = Clock()
    poller = Poller(Pacs(server.dicomweb), parse_query(None), PollConfig(max_changes=4), clock=clock)
    state = poller.poll(None).state
    added = [_add(server, film, NOW) for _ in range(3)]  # four changes each
    seen, rounds = [], 0
    while True:
        result = poller.poll(state)
        seen += _sops(result)
        state, rounds = result.state, rounds + 1
        if not result.more:
            break
    assert sorted(seen) == sorted(added) and rounds >= 3
    clock.now += timedelta(days=1)  # the daily sweep
    swept = poller.poll(state)
    assert swept.swept and _sops(swept) == sorted(added)
    # a cursor beyond the feed's end: a new or reset PACS database, searched whole
    restarted = poller.poll(PollState("changes", seq=10**9, last_sweep=swept.state.last_sweep))
    assert restarted.swept and restarted.state.seq == swept.state.seq


@pytest.mark.slow  # a real Orthanc
def test_one_instance_the_pacs_cannot_describe_does_not_hold_up_the_others(server, film):
    with FaultProxy(server.url, hang_seconds=5) as proxy:
        poller = Poller(Pacs(proxy.dicomweb, read_timeout=2), parse_query(None), clock=Clock())
        state = poller.poll(None).state
        good = _add(server, film, NOW)
        bad_id = upload_bytes(server, copy_dicom(film))["ID"]
        proxy.fail(f"/instances/{bad_id}", Fault.ERROR_500)
        result = poller.poll(state)
        assert _sops(result) == [good] and len(result.unresolved) == 1 and bad_id in result.unresolved[0]
        assert result.state.seq > state.seq
        proxy.fail("/changes", Fault.HANG)  # a feed that hangs is an error within the read timeout
        with pytest.raises(PacsError, match="timed out"):
            poller.poll(result.state)


@pytest.mark.slow  # a real Orthanc
def test_window_mode_with_overlap_and_a_sweep_that_finds_late_studies(server, film):
    before = _add(server, film, NOW - timedelta(days=30))
    clock = Clock()
    config = PollConfig(mode="window", overlap=600, sweep_every=3600)
    poller = Poller(Pacs(server.dicomweb), parse_query(None), config, clock=clock)
    first = poller.poll(None)
    assert first.swept and first.state.mode == "window" and _sops(first) == [before]

    taken_now = _add(server, film, NOW + timedelta(seconds=30))
    taken_earlier = _add(server, film, NOW - timedelta(minutes=5))  # arrives late, within the overlap
    week_back = _add(server, film, NOW - timedelta(days=7))
    clock.now = NOW + timedelta(minutes=1)
    second = poller.poll(first.state)
    assert not second.swept and _sops(second) == sorted([taken_now, taken_earlier])
    assert all(p.revision == "" for p in second.instances)

    clock.now = NOW + timedelta(minutes=2)
    assert week_back not in _sops(poller.poll(second.state))  # outside the window ...
    clock.now = NOW + timedelta(hours=1)
    swept = poller.poll(second.state)
    assert swept.swept and week_back in _sops(swept)  # ... found by the next sweep
    # a state of the other mode (the configuration changed): searched whole, then by the window
    other = poller.poll(PollState("changes", seq=7))
    assert other.swept and other.state.mode == "window"


@pytest.mark.slow  # a real Orthanc
def test_the_window_crosses_midnight(server, film):
    late = datetime(2031, 5, 20, 23, 59, 30)
    clock = Clock(late)
    poller = Poller(
        Pacs(server.dicomweb), parse_query(None), PollConfig(mode="window", overlap=60), clock=clock
    )
    state = poller.poll(None).state
    before_window = _add(server, film, late - timedelta(minutes=2))
    in_window = _add(server, film, late - timedelta(seconds=30))
    after_midnight = _add(server, film, late + timedelta(seconds=40))
    clock.now = late + timedelta(minutes=1)
    found = _sops(poller.poll(state))
    assert found == sorted([in_window, after_midnight]) and before_window not in found


@pytest.mark.slow  # a real Orthanc
def test_auto_mode_polls_orthanc_by_its_feed_and_other_pacs_by_the_window(server):
    assert Poller(Pacs(server.dicomweb), parse_query(None)).detect_mode() == "changes"
    with FaultProxy(server.url) as proxy:
        proxy.fail("/system", Fault.NOT_FOUND)  # a DICOMweb PACS that is not Orthanc
        assert Poller(Pacs(proxy.dicomweb), parse_query(None)).detect_mode() == "window"


def _instance_file(server, sop: str) -> BytesIO:
    import httpx

    [found] = httpx.post(f"{server.url}/tools/lookup", content=sop, timeout=30).json()
    return BytesIO(httpx.get(f"{server.url}/instances/{found['ID']}/file", timeout=30).content)
