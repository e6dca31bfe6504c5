"""The LightningModule's validation AUC: torchmetrics' exact AUROC, NaN where a label has one class."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cxr_regions.training import auc_per_label
from cxr_regions.training.module import MultilabelAUC


def test_validation_auc_matches_scikit_learn_and_leaves_one_class_labels_undefined(recwarn):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(300, 3))
    y[:, 1] = 1  # only abnormal films in validation for this label
    scores = rng.random((300, 3)).astype(np.float32)
    scores[:40] = 0.5  # ties
    scores[:, 0] += 0.3 * y[:, 0]  # a label the scores separate somewhat
    metric = MultilabelAUC(3)
    for part in np.array_split(np.arange(300), 7):  # accumulated over batches
        metric.update(torch.from_numpy(np.clip(scores[part], 0, 1)), torch.from_numpy(y[part]))
    ours = metric.compute().tolist()
    reference = auc_per_label(y, np.clip(scores, 0, 1))
    assert math.isnan(ours[1]) and math.isnan(reference[1])
    assert ours[0] == pytest.approx(reference[0], abs=1e-6) and ours[0] > 0.6
    assert ours[2] == pytest.approx(reference[2], abs=1e-6)
    assert not [w for w in recwarn if "samples in targets" in str(w.message)]
