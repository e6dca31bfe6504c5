"""Per-film repeat factors that lift rare labels to a minimum share of the training epoch.

A label's share is the fraction of the epoch's draws (films counted with their repeat factor) that
are positive for it. Labels under ``min_share`` (thorax and diaphragm in the paper's data) get their
positive films repeated, the rarest first, until every label that has positives reaches the share.
Nothing is copied: the factor goes into the manifest and the training sampler honours it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_ROUNDS = 1000
MAX_EPOCH_GROWTH = 10


@dataclass
class RepeatPlan:
    """Repeat factors and the label shares before and after, for the record."""

    repeat: np.ndarray
    share_before: dict[str, float]
    share_after: dict[str, float]
    boosted: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "share_before": self.share_before,
            "share_after": self.share_after,
            "boosted": self.boosted,
            "unreachable": self.unreachable,
            "films": len(self.repeat),
            "epoch_draws": int(self.repeat.sum()),
            "max_repeat": int(self.repeat.max()) if len(self.repeat) else 0,
        }


def label_shares(labels: np.ndarray, repeat: np.ndarray, label_names: Sequence[str]) -> dict[str, float]:
    """Share of the epoch's draws positive for each label."""
    total = float(repeat.sum())
    if total == 0:
        return {name: 0.0 for name in label_names}
    weighted = (labels.astype(bool) * repeat[:, None]).sum(axis=0)
    return {name: float(w) / total for name, w in zip(label_names, weighted, strict=True)}


def repeat_factors(
    labels: np.ndarray, label_names: Sequence[str], min_share: float, seed: int = 0
) -> RepeatPlan:
    """Integer repeat factors (≥ 1) so that each label with positives makes up ≥ ``min_share`` of draws.

    Each round takes the label furthest under the share and adds the fewest extra draws that lift it
    to the share, spread evenly over its positive films (one more each to the films repeated least,
    ties broken by a seeded shuffle), so a label just under the share is not overshot. Raising one
    label dilutes the others, so rounds go on until all are met. A ``min_share`` that the labels
    cannot all reach together (e.g. 14 disjoint labels at 0.2) stops once the epoch has grown
    ``MAX_EPOCH_GROWTH``-fold (or after ``MAX_ROUNDS`` rounds) and lists the labels left short in
    ``unreachable``.
    """
    if not 0 <= min_share < 1:
        raise ValueError(f"min_share must be in [0, 1), got {min_share}")
    positive = np.asarray(labels).astype(bool)
    repeat = np.ones(len(positive), dtype=np.int64)
    tiebreak = np.random.default_rng(seed).permutation(len(positive))
    before = label_shares(positive, repeat, label_names)
    has_positives = np.asarray(positive.any(axis=0))
    boosted: list[str] = []
    for _ in range(MAX_ROUNDS):
        total = float(repeat.sum())
        shares = (positive * repeat[:, None]).sum(axis=0) / max(total, 1.0)
        short = np.flatnonzero(has_positives & (shares < min_share - 1e-12))
        if len(short) == 0 or total > MAX_EPOCH_GROWTH * len(repeat):
            break
        j = int(short[np.argmin(shares[short])])
        members = np.flatnonzero(positive[:, j])
        weighted = float(repeat[members].sum())
        # (weighted + e) / (total + e) >= s  <=>  e >= (s*total - weighted) / (1 - s)
        extra = max(1, math.ceil((min_share * total - weighted) / (1 - min_share) - 1e-9))
        each, rest = divmod(extra, len(members))
        repeat[members] += each
        least_first = members[np.lexsort((tiebreak[members], repeat[members]))]
        repeat[least_first[:rest]] += 1
        if label_names[j] not in boosted:
            boosted.append(label_names[j])
    after = label_shares(positive, repeat, label_names)
    unreachable = [
        n for n, h in zip(label_names, has_positives, strict=True) if h and after[n] < min_share - 1e-9
    ]
    return RepeatPlan(repeat, before, after, boosted, unreachable)
