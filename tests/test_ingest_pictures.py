"""Pictures in: the plausibility check of PNG/JPEG pictures (which have no DICOM header).

Every NIH film of the test data passes unmarked, and so do real DICOM films saved as PNG or JPEG; a
sinusoid, flat pictures, gradients, noise, grey and colour screenshots, figures and colour photographs
(all made here: numpy, Pillow, matplotlib, and a web page shot by headless Chromium where installed) are
refused with the reason that applies.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from cxr_regions.ingest import PICTURE_LIMITS, PictureLimits, check_picture, load_film, read_film
from helpers import shared_path
from helpers.pictures import WORDS, colour_photo, figure, grid, screenshot, sinusoid, text_page, u8

# name -> (picture, a word of the reason it must give)
NOT_RADIOGRAPHS = {
    "sinusoid": (lambda: sinusoid(32), "regular pattern"),
    "sinusoid, 1024 px": (lambda: sinusoid(120, 1024), "regular pattern"),
    "sinusoid with noise": (lambda: sinusoid(40, noise=20), "regular pattern"),
    "slow sinusoid": (lambda: sinusoid(400), "too smooth"),
    "black": (lambda: np.zeros((256, 256), np.uint8), "grey levels"),
    "mid grey": (lambda: np.full((300, 300), 128, np.uint8), "grey levels"),
    "flat with noise": (lambda: u8(128 + np.random.default_rng(1).normal(0, 3, (256, 256))), "grey levels"),
    "gradient": (lambda: u8(grid()[1]), "gradient"),
    "gradient with noise": (
        lambda: u8(grid()[0] + np.random.default_rng(2).normal(0, 4, (256, 256))),
        "gradient",
    ),
    "radial gradient": (lambda: u8(255 - 1.4 * np.hypot(*(g - 128 for g in grid()))), "too smooth"),
    "white noise": (lambda: u8(np.random.default_rng(3).uniform(0, 256, (256, 256))), "noise"),
    "grey text page": (text_page, "screenshot"),
    "grey screenshot": (lambda: screenshot(colour=False), "screenshot"),
    "colour screenshot": (lambda: screenshot(colour=True), "in colour"),
    "colour photograph": (colour_photo, "in colour"),
    "line chart": (lambda: figure("lines"), "in colour"),
    "colour-mapped image": (lambda: figure("terrain"), "in colour"),
    "thumbnail": (lambda: cv2.resize(sinusoid(32), (120, 120)), "too small"),
    "panorama": (lambda: np.tile(sinusoid(32), (1, 3)), "elongated"),
}


@pytest.mark.parametrize("name", list(NOT_RADIOGRAPHS))
def test_pictures_that_are_not_radiographs_are_refused_with_their_reason(name):
    make, reason = NOT_RADIOGRAPHS[name]
    check = check_picture(make())
    assert not check.ok, check.measures
    assert any(reason in r for r in check.reasons), check.reasons


def test_a_colour_photograph_and_a_sinusoid_fail_also_as_files_and_as_jpeg(tmp_path):
    photo = colour_photo()
    cv2.imwrite(
        str(tmp_path / "photo.jpg"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    cv2.imwrite(str(tmp_path / "wave.png"), sinusoid(32))
    cv2.imwrite(str(tmp_path / "wave16.png"), sinusoid(32).astype(np.uint16) * 257)
    assert "in colour" in check_picture(tmp_path / "photo.jpg").reasons[0]
    for name in ("wave.png", "wave16.png"):
        assert any("regular pattern" in r for r in check_picture(tmp_path / name).reasons)


@pytest.mark.slow  # starts Chromium
def test_a_web_page_shot_by_headless_chromium_is_refused(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body style='font-family:sans-serif;margin:0'>"
        "<header style='background:#1f6feb;color:white;padding:16px;font-size:22px'>Radiology</header>"
        "<main style='padding:20px'><h1>Worklist</h1><p>" + " ".join(WORDS * 4) + "</p>"
        "<button style='background:#2da44e;color:white;padding:10px'>Open</button>"
        "<table border=1><tr><th>Film</th><th>Status</th></tr><tr><td>a5520cb3</td><td>new</td></tr></table>"
        "</main></body></html>"
    )
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={shot}", "--window-size=900,900", page.as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    if not shot.is_file():
        pytest.skip("chromium could not take a screenshot here")
    check = check_picture(shot)
    assert not check.ok and any("screenshot" in r for r in check.reasons), check.reasons


def test_all_nih_films_pass_unmarked():
    films = sorted(shared_path("nih-sample", "images").glob("*.png"))
    assert len(films) == 200
    failed = {}
    for path in films:
        check = check_picture(path)
        if not check.ok:
            failed[path.name] = check.reasons
    assert not failed, failed


@pytest.mark.parametrize("name", ["RG1_UNCI.dcm", "cr_chest_jpeg_mono2.dcm"])
def test_real_dicom_films_saved_as_pictures_pass(tmp_path, name):
    film = load_film(shared_path("dicom", name))
    small = cv2.resize(
        film, (1024, round(1024 * film.shape[0] / film.shape[1])), interpolation=cv2.INTER_AREA
    )
    cv2.imwrite(str(tmp_path / "full.png"), film)
    cv2.imwrite(str(tmp_path / "film16.png"), film.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "grey.jpg"), small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    cv2.imwrite(
        str(tmp_path / "rgb.jpg"), cv2.cvtColor(small, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    for picture in ("full.png", "film16.png", "grey.jpg", "rgb.jpg"):
        check = check_picture(tmp_path / picture)
        assert check.ok, (picture, check.reasons)


def test_read_film_returns_the_check_and_load_film_logs_it_under_a_hash_of_the_name(tmp_path, caplog):
    named = tmp_path / "DOE^JOHN 1940-03-05.png"
    cv2.imwrite(str(named), cv2.cvtColor(screenshot(colour=True), cv2.COLOR_RGB2BGR))
    film = read_film(named)
    assert film.check is not None and not film.check.ok and film.image.ndim == 2
    with caplog.at_level(logging.WARNING, logger="cxr_regions.ingest"):
        image = load_film(named)
    assert (image == film.image).all()
    [record] = [r for r in caplog.records if "not clearly a radiograph" in r.getMessage()]
    assert "in colour" in record.getMessage() and "file-" in record.getMessage()
    assert "DOE" not in caplog.text and "1940" not in caplog.text
    nih = sorted(shared_path("nih-sample", "images").glob("*.png"))[0]
    assert read_film(nih).check.ok
    assert read_film(shared_path("dicom", "cr_chest_jpeg_mono2.dcm")).check is None  # chosen by its header


def test_each_limit_is_one_field_and_loosening_it_drops_exactly_its_reason():
    photo = colour_photo()
    assert PictureLimits() == PICTURE_LIMITS
    strict = check_picture(photo)
    loose = check_picture(photo, PictureLimits(max_colour_share=1.0))
    assert [r for r in strict.reasons if "in colour" not in r] == loose.reasons
    assert strict.measures == loose.measures
