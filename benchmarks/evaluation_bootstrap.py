"""How long the patient bootstrap takes: five labels, 1,000 resamples, test splits of several sizes.

    .venv/bin/python benchmarks/evaluation_bootstrap.py [--films 200 2000 20000] [--n-boot 1000]

Prints, per size, the seconds for all five AUC intervals and the mean's (one ``aucs_with_ci`` call)
and, for scale, for scikit-learn's ``roc_auc_score`` called once per resample and label.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from cxr_regions.evaluation.metrics import aucs_with_ci, patient_codes, patient_weights
from cxr_regions.regions import REGION_KEYS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, nargs="+", default=[200, 2000, 20000])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--films-per-patient", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    k = len(REGION_KEYS)
    print(f"{'films':>7} {'patients':>8} {'ours (s)':>9} {'sklearn loop (s)':>17}")
    for n in args.films:
        y = rng.integers(0, 2, size=(n, k))
        s = rng.random((n, k)) + 0.5 * y
        groups = np.arange(n) // args.films_per_patient
        start = time.perf_counter()
        aucs_with_ci(y, s, groups, REGION_KEYS, n_boot=args.n_boot)
        ours = time.perf_counter() - start
        # scikit-learn on 50 resamples, scaled to n_boot (the loop it replaces)
        weights = patient_weights(patient_codes(groups), 50, rng)
        start = time.perf_counter()
        for row in weights:
            for j in range(k):
                roc_auc_score(y[:, j], s[:, j], sample_weight=row)
        loop = (time.perf_counter() - start) * args.n_boot / 50
        print(f"{n:>7} {len(set(groups)):>8} {ours:>9.2f} {loop:>17.1f}")


if __name__ == "__main__":
    main()
