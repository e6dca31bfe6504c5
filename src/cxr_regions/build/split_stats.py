"""The dataset's tables: films and patients per split, and ``stats.md``, which puts them together with
the paper's Table 1 for all films and per split (made by the reports stage's ``table1``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxr_regions.build.packed import SPLITS, label_matrix
from cxr_regions.contracts.dataset import DatasetInfo
from cxr_regions.label import table1, table1_markdown
from cxr_regions.regions import label_title


def split_table(manifest: pd.DataFrame, label_names: Sequence[str]) -> pd.DataFrame:
    """Films, patients, abnormal films per label, and training-epoch draws, per split.

    A label missing from some films counts its abnormal films over the labelled ones
    (``3 of 40 labelled``); one missing from every film of the split is ``not labelled``.
    """
    rows = []
    for split in SPLITS:
        part = manifest[manifest["split"] == split]
        values = label_matrix(part, list(label_names))
        row: dict[str, Any] = {
            "split": split,
            "films": len(part),
            "patients": part["patient_key"].nunique(),
            "source films": part["source_image_id"].nunique(),
        }
        for j, name in enumerate(label_names):
            known = values[:, j][np.isfinite(values[:, j])]
            positives = int(known.sum())
            if len(known) == len(part):
                row[name] = positives
            else:
                row[name] = f"{positives} of {len(known)} labelled" if len(known) else "not labelled"
        row["epoch draws"] = int(part["repeat"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table."""
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def stats_markdown(manifest: pd.DataFrame, meta: DatasetInfo) -> str:
    """The text of ``stats.md`` for a built dataset and its ``dataset.json``."""
    label_names = list(meta.labels)
    lines = [f"# Dataset `{meta.dataset_id}`", ""]
    if meta.leaking:
        lines += [
            "> **LEAKING — paper protocol.** Films were duplicated and augmented *before* an image-level",
            "> split, so copies of one film (and films of one patient) sit in training and test. Test",
            "> figures from this dataset are inflated; use it only to measure that inflation.",
            "",
        ]
    lines += [
        f"Protocol `{meta.protocol}`, seed {meta.seed}, size {meta.size}, "
        f"built by cxr-regions {meta.version}.",
        "",
        "## Films and patients per split",
        "",
        markdown_table(split_table(manifest, label_names)),
        "",
    ]
    leak = meta.leak_check
    lines += ["## Leak check", ""]
    for split, part in (("val", leak.val), ("test", leak.test)):
        lines.append(
            f"- {split}: {part.sharing_source_film_with_train} of {part.films} films share a "
            f"source film with training, {part.sharing_patient_with_train} share a patient."
        )
    lines += [f"- patients in several splits: {leak.patients_in_several_splits}.", ""]
    lines += ["## Table 1: all films", "", table1_markdown(table1(manifest, label_names), title=None)]
    for split in SPLITS:
        part = manifest[manifest["split"] == split]
        lines += [f"## Table 1: {split}", "", table1_markdown(table1(part, label_names), None, note=False)]
    oversampling = meta.oversampling
    if oversampling:
        share = pd.DataFrame(
            {
                "label": [label_title(n) for n in label_names],
                "share before": [f"{oversampling.share_before[n]:.3f}" for n in label_names],
                "share after": [f"{oversampling.share_after[n]:.3f}" for n in label_names],
            }
        )
        lines += [
            f"## Oversampling ({oversampling.scope}, minimum share {meta.config['min_share']})",
            "",
            markdown_table(share),
            "",
            f"Boosted: {', '.join(oversampling.boosted) or 'none'}; "
            f"out of reach: {', '.join(oversampling.unreachable) or 'none'}.",
            "",
        ]
    raw = meta.raw_label_counts
    if raw:
        frame = pd.DataFrame(
            [{"label": label_title(n), **{v: raw[n].get(v, 0) for v in ("1", "u", "0")}} for n in label_names]
        )
        lines += [
            "## Raw label values of the matched films (before `u` is folded to 1)",
            "",
            markdown_table(frame),
            "",
        ]
    join = meta.join
    if join:
        counts = join.model_dump()
        lines += ["## Join", ""] + [f"- {k.replace('_', ' ')}: {v}" for k, v in counts.items()] + [""]
    return "\n".join(lines)
