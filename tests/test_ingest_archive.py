"""Archive-scale ingest: the reduced-resolution decode against the full one, and the Dask engine.

The engine tests run real Dask ``LocalCluster``s (2 worker processes, 1 thread each; the 20 runs with
culprits in a process of their own, ``tests/dask_culprits.py``) and skip where
Dask distributed is not installed (``pip install 'cxr-regions[cluster]'``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from cxr_regions import phantom
from cxr_regions.ingest import IngestConfig, ingest
from cxr_regions.ingest.decode import decode_display, quantise
from cxr_regions.ingest.reduced import largest_reduction, reduced_frame
from cxr_regions.ingest.resize import pad_square, resize_film
from helpers import shared_path

SALT = "5f0c2b7e9a41d3c8" * 4


def square(path: Path, reduce_for: int | None, size: int = 256) -> tuple[np.ndarray, tuple[int, int]]:
    """The 8-bit size×size output of one film, and the shape it was decoded at."""
    display, _ = decode_display(path, reduce_for=reduce_for)
    small = resize_film(display.values, size, "pad")
    return pad_square(quantise(small, 8, display.invert), size), display.values.shape


@pytest.mark.parametrize(("name", "decoded"), [("RG1_J2KR.dcm", (978, 921)), ("966_fixed.dcm", (1064, 1000))])
def test_reduced_jpeg2000_decode_is_within_half_a_grey_level_of_the_full_decode(name, decoded):
    path = shared_path("dicom", name)
    full, full_shape = square(path, None)
    reduced, reduced_shape = square(path, 256)
    assert reduced_shape == decoded and full_shape[0] > decoded[0]
    diff = np.abs(full.astype(int) - reduced)
    # Measured (docs/results.md): RG1_J2KR 0.28 mean / 12 max, 966_fixed 0.10 / 15. Even an exact 2×2 mean
    # of the full decode differs by up to 8 at 966_fixed's burned-in ruler, so the max is bounded, not 3.
    assert diff.mean() <= 0.5
    assert np.percentile(diff, 99) <= 3
    assert diff.max() <= 16


def test_reduction_leaves_every_side_twice_the_output_and_falls_back_silently():
    assert largest_reduction(1955, 1841, 256) == 1  # 978x921 >= 512; 489x461 is not
    assert largest_reduction(2128, 2000, 256) == 1
    assert largest_reduction(1955, 1841, 1024) == 0
    assert largest_reduction(4096, 4096, 256) == 3
    ds = pydicom.dcmread(shared_path("dicom", "RG1_J2KR.dcm"))
    assert reduced_frame(ds, 1024, percentile_window=False) is None  # nothing to gain: full decode
    # At 128 px two levels would do, but Pillow cannot decode this film's 2-level size: one level instead.
    assert reduced_frame(ds, 128, percentile_window=False).shape == (978, 921)
    broken = pydicom.dcmread(shared_path("dicom", "966.dcm"))
    assert reduced_frame(broken, 256, percentile_window=False) is None  # the full decode reports it
    # Stored values keep their scale: the modality/VOI chain applies unchanged.
    full = ds.pixel_array
    small = reduced_frame(ds, 256, percentile_window=False)
    assert small.dtype == full.dtype and abs(float(small.mean()) - float(full.mean())) < 0.01 * full.mean()


def test_baseline_jpeg_with_its_own_window_is_dct_scaled_within_the_targets(tmp_path):
    ds = pydicom.dcmread(shared_path("dicom", "cr_chest_jpeg_mono2.dcm"))
    ds.WindowCenter, ds.WindowWidth = 128, 256
    ds.save_as(tmp_path / "windowed.dcm")
    (full, shape_full), (reduced, shape_reduced) = (
        square(tmp_path / "windowed.dcm", None),
        square(tmp_path / "windowed.dcm", 256),
    )
    assert (shape_full, shape_reduced) == ((1024, 1024), (512, 512))
    diff = np.abs(full.astype(int) - reduced)
    assert diff.mean() <= 0.5 and diff.max() <= 3  # measured 0.14 and 1


def test_baseline_jpeg_with_a_percentile_window_is_decoded_in_full():
    path = shared_path("dicom", "cr_chest_jpeg_mono2.dcm")
    (full, shape_full), (reduced, shape_reduced) = square(path, None), square(path, 256)
    assert shape_full == shape_reduced == (1024, 1024)
    assert (full == reduced).all()


def test_exact_decode_and_keep_full_decode_in_full(tmp_path):
    assert IngestConfig().reduce_for == 256 and not IngestConfig().reduce_jpeg2000
    assert IngestConfig(decode="reduced").reduce_jpeg2000
    assert IngestConfig(decode="exact").reduce_for is None
    assert IngestConfig(keep_full=True).reduce_for is None
    assert IngestConfig().fingerprint(b"s" * 16)["decode"] == "auto"
    assert IngestConfig(decode="reduced").fingerprint(b"s" * 16)["decode"] == "reduced"
    ds = pydicom.dcmread(shared_path("dicom", "RG1_J2KR.dcm"))
    assert reduced_frame(ds, 256, percentile_window=False, jpeg2000=False) is None


# --- the Dask engine -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed", reason="Dask distributed is not installed (extra [cluster])")
    from cxr_regions.ingest.engine import local_cluster

    with local_cluster(2) as running:  # 2 worker processes, 1 thread each
        yield running


def same_outputs(a: Path, b: Path) -> None:
    for table in ("images.csv", "errors.csv"):
        assert (a / table).read_bytes() == (b / table).read_bytes(), table
    names = sorted(p.name for p in (a / "images").iterdir())
    assert names == sorted(p.name for p in (b / "images").iterdir()) and names
    for name in names:
        assert (a / "images" / name).read_bytes() == (b / "images" / name).read_bytes(), name


@pytest.mark.slow  # a Dask cluster of processes
def test_dask_engine_on_the_phantom_writes_what_a_local_run_writes_and_resumes(tmp_path, cluster):
    phantom.make_phantom(tmp_path / "phantom", phantom.PhantomConfig(n=6, size=256, progress=False))
    salt = tmp_path / "salt.txt"
    salt.write_text(SALT)
    source = tmp_path / "phantom" / "dicom"
    local = ingest(
        source, tmp_path / "local", IngestConfig(size=64, salt_file=salt, workers=2), progress=False
    )
    config = IngestConfig(size=64, salt_file=salt, engine="dask", scheduler=cluster.scheduler_address)
    on_dask = ingest(source, tmp_path / "dask", config, progress=False)
    assert on_dask.films == local.films > 0 and not on_dask.errors
    same_outputs(tmp_path / "local", tmp_path / "dask")
    again = ingest(source, tmp_path / "dask", config, progress=False)
    assert (again.resumed, again.converted) == (local.films, 0)
    same_outputs(tmp_path / "local", tmp_path / "dask")


@pytest.mark.slow  # a Dask cluster of processes
def test_dask_engine_on_real_dicoms_survives_a_lost_worker(tmp_path, cluster):
    dicom_dir = shared_path("dicom")
    salt = tmp_path / "salt.txt"
    salt.write_text(SALT)
    tree = tmp_path / "in"
    tree.mkdir()
    for path in sorted(dicom_dir.iterdir()):
        (tree / path.name).symlink_to(path)
    for i in range(8):  # enough slow films that the kill lands mid-run
        (tree / f"copy{i}.dcm").symlink_to(dicom_dir / "RG1_J2KR.dcm")
    local = ingest(tree, tmp_path / "local", IngestConfig(salt_file=salt, workers=2), progress=False)
    assert local.films == 14 and local.errors == {
        "decode_error": 1,
        "skipped_body_part": 1,
        "skipped_modality": 1,
    }

    from distributed import Client

    out = tmp_path / "dask"
    with Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
    killed = []

    def kill_one_worker_mid_run() -> None:
        journal = out / "journal.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if journal.is_file() and len(journal.read_text().splitlines()) >= 3:  # settings + 2 films
                pid = next(iter(pids.values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_worker_mid_run)
    killer.start()
    config = IngestConfig(salt_file=salt, engine="dask", scheduler=cluster.scheduler_address)
    summary = ingest(tree, out, config, progress=False)
    killer.join()
    assert killed, "the run ended before a worker could be killed"
    assert summary.films == 14 and summary.converted == 14 and summary.errors == local.errors
    same_outputs(tmp_path / "local", out)
    journal_ids = (out / "journal.jsonl").read_text().splitlines()[1:]
    assert len(journal_ids) == len(set(journal_ids)) == 14


@pytest.mark.slow  # a Dask cluster of processes
def test_packing_on_the_dask_engine_gives_the_same_array(tmp_path, cluster):
    from cxr_regions.build import pack_images

    nih = sorted(shared_path("nih-sample", "images").glob("*.png"))[:40]
    local = np.load(pack_images(nih, tmp_path / "local.npy", size=64, workers=2, progress=False))
    on_dask = pack_images(
        nih,
        tmp_path / "dask.npy",
        size=64,
        engine="dask",
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    assert local.shape == (40, 64, 64) and (np.load(on_dask) == local).all()


@pytest.mark.slow  # a Dask cluster of processes
def test_a_task_that_kills_dask_workers_is_named_and_the_rest_complete(cluster):
    from cxr_regions.ingest.engine import DaskWorkers

    def die_on_three(n: int) -> int:  # as a decoder segfault would, on one input
        if n == 3:
            os._exit(9)
        return n * n

    with DaskWorkers(2, scheduler=cluster.scheduler_address) as workers:
        results = dict(workers.run(die_on_three, range(16)))
    assert results.pop(3) is DaskWorkers.CRASHED
    assert results == {n: n * n for n in range(16) if n != 3}


@pytest.mark.slow  # a Dask cluster of processes
def test_only_films_that_kill_workers_alone_are_crashed_twenty_runs_in_a_row():
    """On a cluster where Dask gives up every task of a worker at its first death (``allowed-failures``
    0, the hardest case: every film beside a culprit ends as ``KilledWorker`` at once), 20 runs with one
    or two culprits each name exactly the culprits. The engine before the fix named an innocent film in
    about half of these runs. The runs go in a process of their own (``tests/dask_culprits.py``)."""
    pytest.importorskip("distributed", reason="Dask distributed is not installed (extra [cluster])")
    script = Path(__file__).with_name("dask_culprits.py")
    done = subprocess.run(
        [sys.executable, str(script), "--runs", "20", "--seed", "22", "--allowed-failures", "0"],
        capture_output=True, text=True, timeout=540, env=os.environ.copy(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(runs) == 20
    for run in runs:
        assert run["crashed"] == run["culprits"], run
        assert not run["wrong"], run
