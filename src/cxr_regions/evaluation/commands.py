"""Command-line entry points of this stage: ``evaluate`` and ``compare``."""

from __future__ import annotations

import typer

from cxr_regions.evaluation.evaluate_config import CompareConfig, EvaluateConfig
from cxr_regions.options import command


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "evaluate", EvaluateConfig, evaluate)
    command(app, "compare", CompareConfig, compare)


def evaluate(config: EvaluateConfig) -> None:
    """Per-region ROC AUC and mean with 95% patient-bootstrap CIs; Youden thresholds from val;
    sensitivity, specificity, F1; ROC curves; predictions.csv.

    Calibration: a temperature per region fitted on val (calibration.json, used by explain and
    report); ECE and Brier before/after with CIs (calibration.csv, reliability.png).

    A region whose films are all one class is undefined; one no film has a label for is "not
    labelled". An AUC over fewer than 10 abnormal films is flagged unreliable.
    """
    from cxr_regions.evaluation.assess import evaluate_run

    result = evaluate_run(
        config.run,
        split=config.split,
        out=config.out,
        n_boot=config.n_boot,
        seed=config.seed,
        dataset=config.dataset,
    )
    typer.echo((result.out / "auc.md").read_text(encoding="utf-8"))
    typer.echo(f"written to {result.out}")


def compare(config: CompareConfig) -> None:
    """Per-region AUC differences B − A with paired patient-bootstrap 95% CIs and p-values.

    Uses each run's saved predictions (RUN/evaluation) when they match the split, else predicts.
    """
    from cxr_regions.evaluation.compare import compare_markdown, compare_runs

    frame = compare_runs(
        config.a, config.b, split=config.split, n_boot=config.n_boot, seed=config.seed, out=config.out,
        dataset=config.dataset,
    )  # fmt: skip
    typer.echo(compare_markdown(frame, str(config.a), str(config.b), config.split, config.n_boot))
