"""``cxr-regions pacs pull`` against a real local Orthanc: resumable, laterals left out, ``--since``, and
what it pulls ingests into the very films the original files give; basic auth over DICOMweb."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydicom
import pytest
from typer.testing import CliRunner

from cxr_regions.errors import UserError
from helpers.serve import make_phantom_dicoms


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> list[Path]:
    dicoms, _ = make_phantom_dicoms(tmp_path_factory.mktemp("pull-phantom") / "out", n=6, seed=5)
    return dicoms


def _pull(*args: str):
    from cxr_regions.cli import app

    result = CliRunner().invoke(app, ["pacs", "pull", *args, "--no-progress"])
    result.said = " ".join(result.output.split())  # Rich wraps long lines
    return result


def _ingested(folder: Path, out: Path, salt: Path) -> pd.DataFrame:
    from cxr_regions.ingest import IngestConfig, ingest

    ingest(folder, out, IngestConfig(size=64, salt_file=salt), progress=False)
    table = pd.read_csv(out / "images.csv", dtype=str).sort_values("sop_uid").reset_index(drop=True)
    table["png"] = [(out / p).read_bytes() for p in table["png_path"]]
    return table[["image_id", "patient_key", "sop_uid", "study_uid", "png"]]


def test_pull_is_resumable_and_ingests_into_the_same_films(orthanc, phantom, tmp_path):
    lateral = pydicom.dcmread(phantom[0])
    lateral.ViewPosition = "LL"
    lateral.SOPInstanceUID = pydicom.uid.generate_uid()
    lateral.file_meta.MediaStorageSOPInstanceUID = lateral.SOPInstanceUID
    lateral.save_as(tmp_path / "lateral.dcm")
    for path in [*phantom, tmp_path / "lateral.dcm"]:
        orthanc.upload(path)
    out = tmp_path / "pulled"
    first = _pull(orthanc.dicomweb, str(out))
    assert first.exit_code == 0, first.output
    assert f"{len(phantom) + 1} instance(s) found: {len(phantom)} fetched" in first.said
    assert "1 lateral left out" in first.said
    pulled = sorted(out.rglob("*.dcm"))
    assert len(pulled) == len(phantom) and not list(out.rglob("*.part"))
    again = _pull(orthanc.dicomweb, str(out))
    assert "0 fetched" in again.said and f"{len(phantom)} already in" in again.said

    salt = tmp_path / "salt.txt"
    salt.write_text("0123456789abcdef" * 4 + "\n")
    originals = tmp_path / "originals"
    originals.mkdir()
    for path in phantom:
        (originals / path.name).write_bytes(path.read_bytes())
    from_pacs = _ingested(out, tmp_path / "from-pacs", salt)
    from_files = _ingested(originals, tmp_path / "from-files", salt)
    assert len(from_pacs) == len(phantom)
    pd.testing.assert_frame_equal(from_pacs, from_files)


def test_pull_since_keeps_later_studies_only(orthanc, phantom, tmp_path):
    for path in phantom:
        orthanc.upload(path)
    dates = sorted(str(pydicom.dcmread(p).StudyDate) for p in phantom)
    cut = dates[len(dates) // 2]
    since = f"{cut[:4]}-{cut[4:6]}-{cut[6:]}"
    result = _pull(orthanc.dicomweb, str(tmp_path / "out"), "--since", since)
    assert result.exit_code == 0, result.output
    kept = {str(pydicom.dcmread(p).StudyDate) for p in (tmp_path / "out").rglob("*.dcm")}
    assert kept == {d for d in dates if d >= cut}


@pytest.mark.slow  # a real Orthanc
def test_basic_auth_is_used_and_a_wrong_password_is_a_clear_error(tmp_path, phantom):
    from cxr_regions.pacs import Pacs, PacsError, parse_query, read_auth
    from cxr_regions.pacs.orthanc import LocalOrthanc, missing

    if missing():
        pytest.skip(missing())
    with LocalOrthanc(tmp_path / "orthanc", users={"ai": "s3cret"}) as server:
        server.upload(phantom[0])
        (tmp_path / "good").write_text("s3cret\n")
        (tmp_path / "bad").write_text("guess\n")
        assert (
            len(list(Pacs(server.dicomweb, read_auth(f"ai:{tmp_path / 'good'}")).search(parse_query(None))))
            == 1
        )
        with pytest.raises(PacsError, match="HTTP 401"):
            list(Pacs(server.dicomweb, read_auth(f"ai:{tmp_path / 'bad'}")).search(parse_query(None)))
        result = _pull(server.dicomweb, str(tmp_path / "out"), "--pacs-auth", f"ai:{tmp_path / 'bad'}")
        assert result.exit_code == 2 or isinstance(result.exception, UserError)
