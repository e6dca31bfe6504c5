"""No patient identity anywhere in the reading room: the real DICOMs of ``../shared/data/dicom`` go in by
upload and by the watch folder under file names that carry their own PatientName (as hospital exports
often do), with refused files, duplicates and pictures among them; then the server's log, the database
with its WAL, every page and API answer, the verdict exports and every file of the data folder are
searched for the PatientName, the PatientID, birth dates written as dates and the original file names.

Left out of the search, on purpose: in ``966_fixed.dcm`` (and ``966.dcm``) the PatientBirthDate field holds
the same hashed string as the AccessionNumber, and the accession number is stored, as a pseudonym (see
docs/reading-room.md, "What the reading room stores"); that one value cannot be both stored and absent.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from helpers import shared_path
from helpers.serve import csrf, fault_driver, free_port, start_server, upload, wait_ready, wait_server

DATE_FORMS = ("{y}{m}{d}", "{y}-{m}-{d}", "{d}.{m}.{y}", "{m}/{d}/{y}", "{d}/{m}/{y}", "{y}/{m}/{d}")


def identities(folder: Path) -> tuple[dict[str, str], set[str]]:
    """Per file of ``folder``, the upload name that carries its PatientName; and the strings that must
    appear nowhere: names (whole and by part), IDs and birth dates written as dates."""
    import pydicom

    names, needles = {}, set()
    for path in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        person = str(ds.get("PatientName", "") or "")
        names[path.name] = f"{person} {path.stem}.dcm"
        parts = [p for p in person.replace("^", " ").split() if len(p) >= 4]
        needles |= {person, *parts, " ".join(person.split("^")), "_".join(person.split("^"))}
        needles.add(str(ds.get("PatientID", "") or ""))
        born = str(ds.get("PatientBirthDate", "") or "")
        if born and born != str(ds.get("AccessionNumber", "")):  # 966: the accession's pseudonym, stored
            y, m, d = born[:4], born[4:6], born[6:8]
            needles |= {form.format(y=y, m=m, d=d) for form in DATE_FORMS}
    return names, {n for n in needles if len(n) >= 4}


def png_text(data: bytes) -> bytes:
    """A PNG's bytes without its compressed pixel data (IDAT), where text chunks could hide a name."""
    out, at = [data[:8]], 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        if kind != b"IDAT":
            body = data[at + 8 : at + 8 + length]
            out.append(
                kind + (zlib.decompress(body[body.index(b"\0", 0) + 2 :]) if kind == b"zTXt" else body)
            )
        at += 12 + length
    return b"".join(out)


def found(needles: set[str], where: str, text: str | bytes) -> list[str]:
    haystack = (text if isinstance(text, str) else text.decode("latin-1")).lower()
    return [f"{n!r} in {where}" for n in sorted(needles) if n.lower() in haystack]


@pytest.mark.slow
def test_no_name_id_birth_date_or_file_name_anywhere(tmp_path):
    dicoms = shared_path("dicom")
    names, needles = identities(dicoms)
    needles |= set(names.values()) | {Path(n).stem for n in names.values()}
    run = fault_driver().tiny_run(tmp_path / "model")
    data, watch, log, port = tmp_path / "room", tmp_path / "watch", tmp_path / "serve.log", free_port()
    watch.mkdir()
    process = start_server(run, data, port, log, "--watch", str(watch))
    answers: list[tuple[str, str]] = []
    try:
        client = wait_server(port, process, log)
        token = csrf(client)
        chest = names["RG1_UNCI.dcm"]
        files = [(names[f], (dicoms / f).read_bytes()) for f in sorted(names)]
        files += [(f"copy of {chest}", (dicoms / "RG1_UNCI.dcm").read_bytes())]  # a duplicate
        files += [(f"notes {chest}.txt", f"report of {chest}".encode())]  # refused: not a film
        results = upload(client, token, *files)
        answers.append(("the upload's JSON answer", str(results)))
        statuses = {r["status"] for r in results}
        assert {"stored", "duplicate", "refused"} <= statuses, results
        page = client.post(
            "/upload", files=[("files", (names["CT_small.dcm"], (dicoms / "CT_small.dcm").read_bytes()))],
            data={"csrf": token}, headers={"Accept": "text/html"},
        )  # fmt: skip
        answers.append(("the upload's result page", page.text))
        # the watch folder: a chest film and a text file, both named after the patient
        shutil.copy(dicoms / "cr_chest_jpeg_mono2.dcm", watch / names["cr_chest_jpeg_mono2.dcm"])
        (watch / f"{chest}.txt").write_text("not a film")
        stored = [r["film_id"] for r in results if r["status"] == "stored"]
        for film_id in stored:
            wait_ready(client, film_id)
        form = {"csrf": token, "note": "checked", **{f"v_{k}": "0" for k in ("thorax", "lungs", "aorta")}}
        saved = client.post(f"/films/{stored[0]}/verdict", data={**form, "v_heart": "1", "v_diaphragm": "u"})
        assert saved.status_code in (200, 303)
        assert client.get(f"/films/{stored[0]}/heatmaps/heart.png").status_code == 200
        _wait_until_empty(watch)
        listing = client.get("/api/worklist", params={"status": "all"}).json()
        answers.append(("/api/worklist", str(listing)))
        for path in (
            "/worklist",
            "/worklist?status=read",
            "/agreement",
            "/export/verdicts.csv",
            "/films/999",
        ):
            answers.append((path, client.get(path, headers={"Accept": "text/html"}).text))
        for row in listing["rows"]:
            for path in (f"/films/{row['id']}", f"/api/films/{row['id']}"):
                answers.append((path, client.get(path, headers={"Accept": "text/html"}).text))
    finally:
        process.send_signal(signal.SIGKILL)  # the WAL stays as it was, to be searched too
        process.wait(30)
    problems = found(needles, "the server's log", log.read_text())
    for where, text in answers:
        problems += found(needles, where, text)
    files_searched = 0  # the data folder as the kill left it, WAL included (a clean close removes the WAL)
    assert any(p.name.endswith("-wal") for p in data.iterdir())
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        raw, name = path.read_bytes(), str(path.relative_to(data))
        problems += found(needles, name, png_text(raw) if raw[:4] == b"\x89PNG" else raw)
        problems += found(needles, f"the file name {name}", name)
        files_searched += 1
    assert files_searched >= 10
    export = tmp_path / "verdicts.csv"
    command = [sys.executable, "-m", "cxr_regions.cli", "verdicts", "export", "--data", str(data)]
    subprocess.run([*command, "-o", str(export)], check=True, capture_output=True, timeout=300)
    assert "checked" in export.read_text()
    problems += found(needles, "the exported verdicts", export.read_text())
    assert not problems, "\n".join(problems)


def _wait_until_empty(folder: Path, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(folder.iterdir()):
        time.sleep(0.2)
    assert not any(folder.iterdir()), "the watch folder's files were not taken"
