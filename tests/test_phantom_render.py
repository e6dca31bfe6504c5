"""The phantom's films in memory: determinism, size independence, anatomy and visible findings."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cxr_regions.phantom import Finding, Prevalence, render_film, sample_findings, sample_truth
from cxr_regions.regions import NORMAL, REGION_KEYS

NORMAL_TRUTH = dict.fromkeys(REGION_KEYS, NORMAL)


def _film(seed: int, truth: dict[str, str], size: int = 128, **kw):
    return render_film(np.random.default_rng(seed), truth, size, **kw)


def test_same_seed_same_film_and_different_seeds_differ():
    truth = {**NORMAL_TRUTH, "lungs": "1", "aorta": "u"}
    a, b, c = _film(5, truth), _film(5, truth), _film(6, truth)
    assert a.image.dtype == np.float32 and a.image.shape == (128, 128)
    assert a.image.min() >= 0.0 and a.image.max() <= 1.0
    assert np.array_equal(a.image, b.image)
    assert all(np.array_equal(a.masks[k], b.masks[k]) for k in REGION_KEYS)
    assert np.abs(a.image - c.image).mean() > 0.02


def test_geometry_is_size_independent():
    """Films of one seed at 64 and 256 px show the same chest (others train on small films)."""
    small = _film(11, NORMAL_TRUTH, 64).image
    big = cv2.resize(_film(11, NORMAL_TRUTH, 256).image, (64, 64), interpolation=cv2.INTER_AREA)
    other = _film(12, NORMAL_TRUTH, 64).image
    same = np.corrcoef(small.ravel(), big.ravel())[0, 1]
    assert same > 0.95
    assert same > np.corrcoef(small.ravel(), other.ravel())[0, 1]


@pytest.mark.parametrize("seed", range(8))
def test_masks_lie_in_the_body_and_the_heart_on_the_image_right(seed):
    rng = np.random.default_rng(seed)
    truth = sample_truth(rng, Prevalence.parse("balanced"))
    film = render_film(rng, truth, 128)
    img = film.image
    corners = np.concatenate([img[:6, :6].ravel(), img[:6, -6:].ravel()])
    air = np.percentile(corners, 99) + 0.02
    for key in REGION_KEYS:
        mask = film.masks[key]
        assert mask.dtype == bool and mask.shape == img.shape and mask.sum() > 20, key
        assert (img[mask] > air).mean() > 0.97, f"{key} mask reaches outside the body"
    heart = film.masks["heart"]
    cols = np.nonzero(heart)[1]
    assert cols.mean() > 64 and (cols >= 64).mean() > 0.6, (
        "heart must sit on the image right (patient's left)"
    )
    knob_cols = np.nonzero(film.masks["aorta"][: int(np.nonzero(heart)[0].min())])[1]
    assert knob_cols.mean() > 64, "aortic knob must sit on the image right"
    lungs = film.masks["lungs"]
    assert lungs[:, :64].sum() > 0.2 * lungs.sum() and lungs[:, 64:].sum() > 0.2 * lungs.sum(), (
        "two lung fields"
    )


def _ctr(film) -> float:
    """Cardiothoracic ratio measured on the masks: widest heart / widest lung fields."""
    heart_cols = np.nonzero(film.masks["heart"].any(axis=0))[0]
    lung_cols = np.nonzero(film.masks["lungs"].any(axis=0))[0]
    return (heart_cols.max() - heart_cols.min()) / (lung_cols.max() - lung_cols.min())


def test_enlarged_heart_has_cardiothoracic_ratio_above_half():
    normal = [_ctr(_film(s, NORMAL_TRUTH, 256)) for s in range(8)]
    enlarged = [_ctr(_film(s, {**NORMAL_TRUTH, "heart": "1"}, 256)) for s in range(8)]
    assert max(normal) < 0.5 < min(enlarged)


def test_lung_lesion_appears_on_the_side_the_report_names():
    """A nodule in the patient's right lung is drawn on the image LEFT (no mirrored films)."""
    nodule = Finding(
        "lungs", "1", "nodule", side="right", zone="middle", severity=1.0, detail={"radii": [0.035]}
    )
    with_lesion = _film(3, {**NORMAL_TRUTH, "lungs": "1"}, 128, findings=[nodule]).image
    without = _film(3, NORMAL_TRUTH, 128, findings=[]).image
    diff = cv2.GaussianBlur(with_lesion - without, (0, 0), 3)
    assert diff[:, :64].max() > 0.1
    assert diff[:, :64].max() > 3 * diff[:, 64:].max()


@pytest.mark.parametrize("region", REGION_KEYS)
def test_each_abnormal_region_changes_the_film_visibly_at_64px(region):
    """An abnormal region changes the film beyond noise at the size the demo trains on."""
    changes = []
    for seed in range(6):
        base = _film(seed, NORMAL_TRUTH, 64, findings=[])
        truth = {**NORMAL_TRUTH, region: "u"}
        rng = np.random.default_rng(1000 + seed)
        sick = _film(seed, truth, 64, findings=sample_findings(rng, truth))
        smooth = cv2.GaussianBlur(sick.image - base.image, (0, 0), 1.0)
        changes.append(np.abs(smooth).max())
    assert min(changes) > 0.08, changes
