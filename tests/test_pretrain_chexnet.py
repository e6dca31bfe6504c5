"""The CheXNet reference table and the comparison written beside a pretraining run."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cxr_regions.pretrain.chexnet import CHEXNET_AUC, CHEXNET_MEAN, write_comparison
from cxr_regions.pretrain.nih_findings import FINDING_KEYS


def test_reference_covers_the_14_findings_and_agrees_with_the_papers_mean():
    assert set(CHEXNET_AUC) == set(FINDING_KEYS)
    assert sum(CHEXNET_AUC.values()) / len(CHEXNET_AUC) == pytest.approx(CHEXNET_MEAN, abs=0.0005)


def test_comparison_leaves_undefined_aucs_out_of_the_mean_and_says_so(tmp_path):
    aucs = {key: 0.5 + 0.01 * i for i, key in enumerate(FINDING_KEYS)}
    aucs["hernia"] = math.nan
    table = write_comparison(aucs, tmp_path, positives={"effusion": 7})
    csv = pd.read_csv(tmp_path / "chestx14_auc.csv")
    assert list(csv["finding"]) == [*FINDING_KEYS, "mean"]
    mean = csv.set_index("finding").loc["mean"]
    assert mean["auc"] == pytest.approx(sum(v for v in aucs.values() if not math.isnan(v)) / 13, abs=1e-4)
    assert mean["chexnet_auc"] == CHEXNET_MEAN
    assert math.isnan(csv.set_index("finding").loc["hernia", "difference"])
    cardio = table.set_index("finding").loc["cardiomegaly"]
    assert cardio["difference"] == pytest.approx(aucs["cardiomegaly"] - CHEXNET_AUC["cardiomegaly"])
    md = (tmp_path / "chestx14_auc.md").read_text()
    assert "13 of 14 findings" in md and "Rajpurkar" in md
    hernia_line = next(line for line in md.splitlines() if line.startswith("| Hernia"))
    assert "—" in hernia_line
    assert "| Effusion | 7 |" in md


def test_comparison_carries_each_aucs_ci_and_positives_and_flags_fewer_than_10(tmp_path):
    from cxr_regions.confidence import AucResult

    aucs = {key: AucResult(0.7, 0.6, 0.8, n_pos=12, n_neg=100, n_boot_valid=1000) for key in FINDING_KEYS}
    aucs["hernia"] = AucResult(0.9, 0.5, 1.0, n_pos=3, n_neg=100, n_boot_valid=800)
    aucs["mean"] = AucResult(0.71, 0.65, 0.77, n_pos=40, n_neg=70, n_boot_valid=1000)
    table = write_comparison(aucs, tmp_path).set_index("finding")
    assert table.loc["hernia", "positives"] == 3 and not table.loc["hernia", "reliable"]
    assert table.loc["effusion", "reliable"] and table.loc["effusion", "ci_low"] == 0.6
    assert table.loc["mean", "ci_high"] == 0.77
    md = (tmp_path / "chestx14_auc.md").read_text()
    hernia = next(line for line in md.splitlines() if line.startswith("| Hernia"))
    assert "(unreliable)" in hernia and "0.500–1.000" in hernia and "| 3 |" in hernia
