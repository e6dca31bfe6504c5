"""The paper's order (``--protocol paper``) and the leak check run on every dataset.

The paper duplicates films of rare regions until each makes up at least 20% of the data, expands the
data by offline augmentation (crop + rotation) from 1,877 to 8,632 films, and only then splits 80/10/10
at image level. Copies of one film therefore sit in training and test, which inflates test AUCs. This
module rebuilds that order on purpose, so that the inflation can be measured against the clean build,
and counts the leakage of any dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxr_regions.build.build_config import PAPER_EXPANSION
from cxr_regions.build.oversample import RepeatPlan, repeat_factors

ORIGINAL, DUPLICATE, AUGMENTED = "original", "duplicate", "augmented"


def paper_rows(
    films: pd.DataFrame,
    label_names: Sequence[str],
    min_share: float = 0.2,
    expansion: float = PAPER_EXPANSION,
    seed: int = 0,
) -> tuple[pd.DataFrame, RepeatPlan]:
    """The rows of a paper-protocol dataset before its split.

    ``films`` has ``image_id``, ``patient_key`` and binary label columns. Returns one row per packed
    image with ``source_pos`` (row of ``films`` it derives from), ``source_image_id``, ``kind``
    (original / duplicate / augmented) and a new ``image_id`` for copies (``<id>~dup<k>``,
    ``<id>~aug<k>``), plus the duplication plan.
    """
    labels = films[list(label_names)].to_numpy()
    plan = repeat_factors(labels, list(label_names), min_share, seed)
    source_pos = np.repeat(np.arange(len(films)), plan.repeat)
    copy_number = np.concatenate([np.arange(r) for r in plan.repeat]) if len(films) else np.zeros(0, int)
    target = round(len(films) * expansion)
    extra = max(0, target - len(source_pos))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(source_pos), size=extra) if extra and len(source_pos) else np.zeros(0, int)
    aug_sources = source_pos[picks]
    aug_number = pd.Series(aug_sources).groupby(aug_sources).cumcount().to_numpy() + 1
    rows = pd.DataFrame(
        {
            "source_pos": np.concatenate([source_pos, aug_sources]),
            "kind": [ORIGINAL if c == 0 else DUPLICATE for c in copy_number] + [AUGMENTED] * len(picks),
        }
    )
    suffix = [f"~dup{c}" if c else "" for c in copy_number] + [f"~aug{n}" for n in aug_number]
    rows["source_image_id"] = films["image_id"].to_numpy(dtype=object)[rows["source_pos"]]
    rows["image_id"] = [f"{b}{s}" for b, s in zip(rows["source_image_id"], suffix, strict=True)]
    rows["patient_key"] = films["patient_key"].to_numpy(dtype=object)[rows["source_pos"]]
    for name in label_names:
        rows[name] = films[name].to_numpy()[rows["source_pos"]]
    return rows, plan


def leak_check(manifest: pd.DataFrame) -> dict[str, object]:
    """Count evaluation films that share a source film or a patient with the training split.

    Returns, for ``val`` and ``test``: films, films sharing a source film with training, films sharing a
    patient with training (and their fractions); plus the number of patients found in several splits
    and an overall ``leaking`` flag.
    """
    train = manifest[manifest["split"] == "train"]
    train_sources = set(train["source_image_id"])
    train_patients = set(train["patient_key"])
    result: dict[str, object] = {}
    leaking = False
    for split in ("val", "test"):
        rows = manifest[manifest["split"] == split]
        shared_source = int(rows["source_image_id"].isin(train_sources).sum())
        shared_patient = int(rows["patient_key"].isin(train_patients).sum())
        n = len(rows)
        result[split] = {
            "films": n,
            "sharing_source_film_with_train": shared_source,
            "sharing_patient_with_train": shared_patient,
            "fraction_sharing_source_film": shared_source / n if n else 0.0,
            "fraction_sharing_patient": shared_patient / n if n else 0.0,
        }
        leaking = leaking or shared_source > 0 or shared_patient > 0
    per_patient = manifest.groupby("patient_key", sort=False)["split"].nunique()
    several = int((per_patient > 1).sum())
    result["patients_in_several_splits"] = several
    result["leaking"] = leaking or several > 0
    return result
