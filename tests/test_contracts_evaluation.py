"""The evaluation folder as contracts: `evaluate`'s scoring writes predictions.csv, auc.csv,
thresholds.csv, calibration.csv/.json and evaluation.json through the records, and they read back
typed (NaN as null in JSON; undefined AUCs as None); explain's tables and the reading room's
thresholds read through them too."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cxr_regions.contracts import (
    AUC,
    EXPLAIN,
    LOCALISATION,
    PREDICTIONS,
    THRESHOLDS,
    CalibrationInfo,
    EvaluationInfo,
)
from cxr_regions.errors import UserError

NAMES = ["heart", "lungs", "thorax"]


def predictions(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"image_id": [f"{seed}-{i:03d}" for i in range(n)], "patient_key": [f"p{i // 2}" for i in range(n)]}
    )
    for name in NAMES:
        truth = rng.integers(0, 2, n).astype(float)
        frame[f"p_{name}"] = np.clip(0.3 * truth + rng.uniform(0, 0.7, n), 0, 1)
        frame[name] = np.nan if name == "thorax" else truth  # thorax: never labelled
    return frame[["image_id", "patient_key", *(f"p_{k}" for k in NAMES), *NAMES]]


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    from cxr_regions.evaluation import score_predictions

    out = tmp_path_factory.mktemp("evaluation")
    score_predictions(predictions(60, 1), NAMES, out, val=predictions(40, 2), n_boot=20, info={"run": "r"})
    return out


def test_evaluation_json_reads_back_typed_with_undefined_values_as_null(evaluation):
    doc = json.loads((evaluation / "evaluation.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1 and doc["auc"]["thorax"]["auc"] is None  # not labelled: null
    info = EvaluationInfo.read(evaluation)
    assert info.labels == NAMES and info.undefined == ["thorax"] and info.run == "r"
    assert info.auc["heart"].defined and info.auc["thorax"].auc is None
    assert info.auc["thorax"].n_pos + info.auc["thorax"].n_neg == 0
    assert info.thresholds["thorax"].source.startswith("default 0.5")
    assert set(info.calibration) == set(NAMES) and info.calibration["heart"].n_films == 60
    assert info.external is None and "external" not in doc


def test_the_tables_read_back(evaluation):
    frame = PREDICTIONS.read(evaluation, NAMES)
    assert frame.columns.tolist() == PREDICTIONS.columns(NAMES) and len(frame) == 60
    assert frame["image_id"].iloc[0] == "1-000" and frame["thorax"].isna().all()
    row = next(PREDICTIONS.rows(frame, NAMES))
    assert set(row.p) == set(NAMES) and row.labels["thorax"] is None
    auc = AUC.read(evaluation)
    assert auc["label"].tolist() == [*NAMES, "mean"] and auc.columns.tolist() == AUC.columns()
    assert THRESHOLDS.read(evaluation)["label"].tolist() == NAMES
    calibration = CalibrationInfo.read(evaluation)
    assert calibration.labels == NAMES and calibration.temperatures["thorax"] == 1.0
    with pytest.raises(UserError, match=r"missing column\(s\) p_aorta"):
        PREDICTIONS.read(evaluation, ["aorta"])


def test_thresholds_a_user_writes_need_only_label_and_threshold(tmp_path):
    from cxr_regions.explain import read_thresholds

    (tmp_path / "thresholds.csv").write_text("label,threshold\nheart,0.3\n", encoding="utf-8")
    assert read_thresholds(tmp_path) == {"heart": 0.3}
    assert read_thresholds(tmp_path / "thresholds.csv") == {"heart": 0.3}
    (tmp_path / "thresholds.csv").write_text("label,cut\nheart,0.3\n", encoding="utf-8")
    with pytest.raises(UserError, match="threshold"):
        read_thresholds(tmp_path)


def test_explain_tables_round_trip(tmp_path):
    films = pd.DataFrame(
        {"image": ["001"], "source": ["a.dcm"], "height": [64], "width": [64], "p_heart": [0.7],
         "p_raw_heart": [0.8], "calibrated": [True], "predicted_abnormal": ["heart"]}
    )  # fmt: skip
    EXPLAIN.write(tmp_path, films, ["heart"])
    row = next(EXPLAIN.rows(EXPLAIN.read(tmp_path, ["heart"]), ["heart"]))
    assert (row.image, row.p["heart"], row.p_raw["heart"], row.calibrated) == ("001", 0.7, 0.8, True)
    scores = pd.DataFrame(
        {"image": ["001"], "region": ["heart"], "pointing_hit": [1.0], "energy_share": [math.nan],
         "mask_fraction": [0.1], "predicted_abnormal": [True]}
    )  # fmt: skip
    LOCALISATION.write(tmp_path, scores)
    back = next(LOCALISATION.rows(LOCALISATION.read(tmp_path)))
    assert back.image == "001" and back.energy_share is None and back.predicted_abnormal is True
