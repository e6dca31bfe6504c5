"""The DICOM listener (C-STORE and C-ECHO SCP) with real senders: dcmtk's storescu/echoscu and Orthanc
pushing to it as to a modality. Skipped where dcmtk (or, for the Orthanc test, Orthanc) is missing."""

from __future__ import annotations

import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import pytest

from cxr_regions.errors import UserError
from cxr_regions.pacs.listener import Decision, DicomListener, ListenerConfig
from helpers import shared_path
from helpers.pacs import (
    copy_dicom,
    dcmtk_missing,
    push_to_modality,
    register_modality,
    start_orthanc,
    store_statuses,
    storescu,
    upload_bytes,
    wait_for,
)
from helpers.serve import uncompressed_phantom_dicoms

AET = "CXR-REGIONS"

pytestmark = [
    pytest.mark.skipif(dcmtk_missing() is not None, reason=dcmtk_missing() or ""),
    pytest.mark.slow,  # a DICOM listener with dcmtk storescu processes sending to it
]


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> list[Path]:
    """Eight phantom films, uncompressed (storescu proposes one family of transfer syntaxes a run)."""
    return uncompressed_phantom_dicoms(tmp_path_factory.mktemp("listener-phantom"), n=8, seed=31)


class Keeper:
    """An ``on_film`` that moves each film into ``kept/`` (durably enough for a test) and says stored;
    laterals it refuses, as the reading room will."""

    def __init__(self, folder: Path) -> None:
        self.kept = folder / "kept"
        self.kept.mkdir(parents=True)
        self.lock = threading.Lock()
        self.seen: list[Path] = []

    def __call__(self, path: Path) -> Decision:
        assert path.is_file() and path.stat().st_size > 0
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        with self.lock:
            self.seen.append(path)
        if str(dataset.get("ViewPosition", "")).upper() in ("LL", "RL", "LATERAL"):
            return Decision.refused("lateral view")
        os.replace(path, self.kept / f"{dataset.SOPInstanceUID}.dcm")
        return Decision.stored()

    def sops(self) -> set[str]:
        return {p.stem for p in self.kept.iterdir()}


def _listener(tmp_path: Path, on_film, **options) -> DicomListener:
    return DicomListener(ListenerConfig(AET, 0, tmp_path / "incoming", **options), on_film)


def _sop(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def test_real_films_of_every_transfer_syntax_arrive_as_sent_and_echo_answers(tmp_path):
    keeper = Keeper(tmp_path)
    dicom = shared_path("dicom")
    groups = {
        "-xv": ["RG1_J2KR.dcm", "966_fixed.dcm"],  # JPEG 2000 lossless
        "-xu": ["RG1_JLSN.dcm"],  # JPEG-LS near-lossless
        "-xy": ["cr_chest_jpeg_mono2.dcm"],  # JPEG baseline
        "-xs": ["RG2_JPLL.dcm"],  # JPEG lossless (a hip: kept here, judged by the reading room)
        "-x=": ["RG1_UNCI.dcm", "CT_small.dcm"],  # uncompressed
    }
    with _listener(tmp_path, keeper) as listener:
        echo = subprocess.run(["echoscu", "-aec", AET, "127.0.0.1", str(listener.port)], timeout=60)
        assert echo.returncode == 0
        for option, names in groups.items():
            run = storescu(listener.port, [dicom / n for n in names], AET, "STORESCU", option)
            assert store_statuses(run) == ["Success"] * len(names), run.stdout + run.stderr
    for names in groups.values():
        for name in names:
            sent = pydicom.dcmread(dicom / name)
            kept = pydicom.dcmread(keeper.kept / f"{sent.SOPInstanceUID}.dcm")
            if sent.file_meta.TransferSyntaxUID.is_compressed:  # kept as sent, never transcoded
                assert kept.file_meta.TransferSyntaxUID == sent.file_meta.TransferSyntaxUID
            assert kept.PixelData == sent.PixelData
            assert kept.PatientID == sent.PatientID
    assert not list((tmp_path / "incoming").iterdir())  # nothing left behind


def test_four_concurrent_associations_deliver_every_film_once(tmp_path, phantom):
    keeper = Keeper(tmp_path)
    batches = [phantom[i::4] for i in range(4)]
    with _listener(tmp_path, keeper) as listener, ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda files: storescu(listener.port, files, AET), batches))
    for run, files in zip(runs, batches, strict=True):
        assert run.returncode == 0 and store_statuses(run) == ["Success"] * len(files), run.stderr
    assert keeper.sops() == {_sop(p) for p in phantom}
    assert listener.counts["stored"] == len(phantom)


def test_the_answer_waits_for_on_film(tmp_path, phantom):
    """Success only once on_film has returned (the film stored): storescu is still waiting while the
    callback holds the film."""
    entered, release = threading.Event(), threading.Event()
    keeper = Keeper(tmp_path)

    def slow(path: Path) -> Decision:
        entered.set()
        assert release.wait(60)
        return keeper(path)

    with _listener(tmp_path, slow) as listener:
        sender = subprocess.Popen(
            ["storescu", "-aec", AET, "127.0.0.1", str(listener.port), str(phantom[0])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert entered.wait(60)
            assert sender.poll() is None and not keeper.sops()
            release.set()
            assert sender.wait(60) == 0
        finally:
            release.set()
            if sender.poll() is None:
                sender.kill()
                sender.wait()
    assert keeper.sops() == {_sop(phantom[0])}


def test_refused_films_get_success_failures_get_failurestore_statuses(tmp_path, phantom):
    lateral = tmp_path / "lateral.dcm"
    lateral.write_bytes(copy_dicom(phantom[0], ViewPosition="LL"))
    keeper = Keeper(tmp_path)
    with _listener(tmp_path, keeper) as listener:
        run = storescu(listener.port, [lateral, phantom[1]], AET)
        assert store_statuses(run) == ["Success", "Success"]
        assert keeper.sops() == {_sop(phantom[1])} and listener.counts["refused"] == 1

        listener.on_film = lambda path: Decision.no_space()
        run = storescu(listener.port, [phantom[2]], AET)
        assert store_statuses(run) == ["Refused: OutOfResources"]

        def broken(path: Path) -> Decision:
            raise RuntimeError("the database is locked")

        listener.on_film = broken
        run = storescu(listener.port, [phantom[2], phantom[3]], AET, "STORESCU", "--no-halt")
        assert store_statuses(run) == ["Unknown Status: 0x110"] * 2  # Processing Failure: the PACS retries

        listener.on_film = keeper  # the same association mechanism works again afterwards
        run = storescu(listener.port, [phantom[2]], AET)
        assert store_statuses(run) == ["Success"]
    assert not list((tmp_path / "incoming").iterdir())


def test_low_disk_is_out_of_resources_before_anything_is_written(tmp_path, phantom):
    keeper = Keeper(tmp_path)
    with _listener(tmp_path, keeper, min_free_bytes=2**62) as listener:
        run = storescu(listener.port, [phantom[0]], AET)
    assert store_statuses(run) == ["Refused: OutOfResources"]
    assert not keeper.seen and listener.counts["no_space"] == 1


def test_only_listed_calling_ae_titles_and_our_own_called_title_are_accepted(tmp_path, phantom):
    keeper = Keeper(tmp_path)
    with _listener(tmp_path, keeper, calling_aets=["ORTHANC", "STORESCU"]) as listener:
        stranger = storescu(listener.port, [phantom[0]], AET, "INTRUDER")
        assert (
            stranger.returncode != 0
            and "Calling AE Title Not Recognized" in stranger.stdout + stranger.stderr
        )
        wrong_called = storescu(listener.port, [phantom[0]], "SOMEONE-ELSE", "STORESCU")
        assert "Called AE Title Not Recognized" in wrong_called.stdout + wrong_called.stderr
        listed = storescu(listener.port, [phantom[0]], AET, "STORESCU")
        assert store_statuses(listed) == ["Success"]
    assert keeper.sops() == {_sop(phantom[0])} and len(keeper.seen) == 1


def test_other_bind_addresses_need_calling_ae_titles_and_titles_are_checked(tmp_path):
    with pytest.raises(UserError, match="--calling-aets"):
        ListenerConfig(AET, 0, tmp_path, address="0.0.0.0").validate()
    ListenerConfig(AET, 0, tmp_path, address="0.0.0.0", calling_aets=["PACS"]).validate()
    ListenerConfig(AET, 0, tmp_path, address="::1").validate()
    for bad in ("", "A" * 17, "BACK\\SLASH", "ÄÖ"):
        with pytest.raises(UserError, match="ae-title"):
            ListenerConfig(bad, 0, tmp_path).validate()


def test_stale_temporary_files_of_a_crash_are_cleared_at_start(tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "cstore-0123.dcm").write_bytes(b"half a film")
    (incoming / "mine.txt").write_text("not the listener's")
    with _listener(tmp_path, Keeper(tmp_path)):
        assert sorted(p.name for p in incoming.iterdir()) == ["mine.txt"]


def test_orthanc_pushes_films_to_the_listener_registered_as_a_modality(tmp_path, phantom):
    server = start_orthanc(tmp_path / "orthanc")
    try:
        ids = [upload_bytes(server, p.read_bytes())["ID"] for p in phantom[:3]]
        keeper = Keeper(tmp_path)
        with _listener(tmp_path, keeper, calling_aets=["ORTHANC"]) as listener:
            register_modality(server, "reading-room", AET, listener.port)
            echo = server_echo(server, "reading-room")
            assert echo.status_code == 200
            answer = push_to_modality(server, "reading-room", ids)
            assert answer.status_code == 200, answer.text
            wait_for(lambda: len(keeper.sops()) == 3, timeout=60, what="3 films pushed by Orthanc")
        assert keeper.sops() == {_sop(p) for p in phantom[:3]}
        # a listener that refuses Orthanc's AE title makes Orthanc's push fail, not hang
        with _listener(tmp_path / "strict", Keeper(tmp_path / "strict"), calling_aets=["OTHER"]) as strict:
            register_modality(server, "strict-room", AET, strict.port)
            assert push_to_modality(server, "strict-room", ids[:1]).status_code >= 400
    finally:
        server.discard()


def server_echo(server, name: str):
    import httpx

    return httpx.post(f"{server.url}/modalities/{name}/echo", json={}, timeout=60)


def test_dicom_tls_where_a_certificate_is_given(tmp_path, phantom):
    import shutil
    import ssl

    if not shutil.which("openssl"):
        pytest.skip("openssl not found")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    keeper = Keeper(tmp_path)
    with _listener(tmp_path, keeper, ssl_context=context) as listener:
        secure = storescu(listener.port, [phantom[0]], AET, "STORESCU", "+tla", "+cf", str(cert))
        assert store_statuses(secure) == ["Success"], secure.stdout + secure.stderr
        plain = storescu(listener.port, [phantom[1]], AET)
        assert plain.returncode != 0 and not store_statuses(plain)
    assert keeper.sops() == {_sop(phantom[0])}
