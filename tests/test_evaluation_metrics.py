"""AUCs, patient-bootstrap intervals and operating points (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from cxr_regions.evaluation.metrics import (
    auc_with_ci,
    aucs_with_ci,
    bootstrap_aucs,
    operating_point,
    patient_codes,
    patient_weights,
    weighted_auc,
    youden_threshold,
)
from cxr_regions.regions import REGION_KEYS


def _films(n_patients: int, films_per_patient: int = 2, separation: float = 0.8, seed: int = 0):
    """Labels, scores (rounded, so ties occur) and patient keys for a made-up test split."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"p{i:05d}" for i in range(n_patients)], films_per_patient)
    y = rng.integers(0, 2, size=len(groups))
    scores = np.round(rng.normal(size=len(groups)) + separation * y, 1)
    return y, scores, groups


def test_point_auc_equals_scikit_learn():
    y, s, g = _films(150)
    assert auc_with_ci(y, s, g, n_boot=50).auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_every_resample_auc_equals_scikit_learn_with_patient_weights():
    y, s, g = _films(80, films_per_patient=3)
    weights = patient_weights(patient_codes(g), 20, np.random.default_rng(3))
    # each film carries its patient's draw count; films of one patient share it
    assert all(len(set(row[g == g[0]])) == 1 for row in weights)
    ours = weighted_auc(y, s, weights)
    theirs = [roc_auc_score(y, s, sample_weight=row) for row in weights]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_interval_contains_point_and_narrows_with_more_patients():
    few = auc_with_ci(*_films(40), n_boot=500)
    many = auc_with_ci(*_films(1000), n_boot=500)
    for r in (few, many):
        assert r.ci_low <= r.auc <= r.ci_high
        assert r.n_boot_valid == 500
    assert (many.ci_high - many.ci_low) < 0.5 * (few.ci_high - few.ci_low)


def test_resampling_patients_is_not_fooled_by_repeated_films():
    y, s, g = _films(100, films_per_patient=1)
    base = auc_with_ci(y, s, g, n_boot=1000)
    copies = 8
    y8, s8 = np.repeat(y, copies), np.repeat(s, copies)
    same_patient = auc_with_ci(y8, s8, np.repeat(g, copies), n_boot=1000)
    own_patient = auc_with_ci(y8, s8, np.arange(len(y8)), n_boot=1000)
    width = lambda r: r.ci_high - r.ci_low  # noqa: E731
    assert same_patient.auc == pytest.approx(base.auc)
    assert width(same_patient) == pytest.approx(width(base), rel=0.25)
    assert width(own_patient) < 0.6 * width(same_patient)


def test_one_class_region_is_undefined_and_left_out_of_the_mean():
    rng = np.random.default_rng(1)
    n = 120
    y = rng.integers(0, 2, size=(n, len(REGION_KEYS)))
    y[:, 0] = 0  # no abnormal thorax in this split
    s = rng.random(size=y.shape) + 0.5 * y
    g = np.arange(n) // 2
    res = aucs_with_ci(y, s, g, REGION_KEYS, n_boot=200)
    thorax = res[REGION_KEYS[0]]
    assert not thorax.defined and math.isnan(thorax.ci_low) and thorax.n_pos == 0
    others = [roc_auc_score(y[:, j], s[:, j]) for j in range(1, len(REGION_KEYS))]
    assert res["mean"].auc == pytest.approx(np.mean(others))
    assert res["mean"].ci_low <= res["mean"].auc <= res["mean"].ci_high
    assert auc_with_ci(np.ones(10), np.linspace(0, 1, 10), np.arange(10)).defined is False


def test_resamples_are_paired_across_labels_and_reproducible():
    y, s, g = _films(60)
    two = bootstrap_aucs(np.c_[y, y], np.c_[s, s], g, n_boot=100, seed=7)
    np.testing.assert_array_equal(two[:, 0], two[:, 1])
    np.testing.assert_array_equal(two[:, 0], bootstrap_aucs(y, s, g, n_boot=100, seed=7)[:, 0])
    assert not np.array_equal(two[:, 0], bootstrap_aucs(y, s, g, n_boot=100, seed=8)[:, 0])


def test_youden_threshold_and_operating_point():
    y = np.array([0, 0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.9])
    t = youden_threshold(y, s)
    assert t == pytest.approx(0.5)  # tpr 1, fpr 0.25: the best J of this ROC
    op = operating_point(y, s, t, "val")
    assert (op.tp, op.fp, op.tn, op.fn) == (3, 1, 3, 0)
    assert op.sensitivity == 1.0 and op.specificity == pytest.approx(0.75)
    assert op.f1 == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert math.isnan(youden_threshold(np.zeros(4), np.arange(4)))
