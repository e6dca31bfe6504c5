"""Command-line entry points of this stage: ``evaluate`` and ``compare``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""

    @app.command()
    def evaluate(
        run: Path = typer.Argument(..., help="A run folder written by `cxr-regions train`."),
        split: str = typer.Option(
            "test", "--split", help="Dataset split to score: train, val, test, or all (every film)."
        ),
        out: Path | None = typer.Option(
            None,
            "-o",
            "--out",
            help="Evaluation folder (default: RUN/evaluation, RUN/evaluation-SPLIT, or for another "
            "data set RUN/evaluation-DATASET-SPLIT).",
        ),
        dataset: Path | None = typer.Option(
            None,
            "--dataset",
            help="Dataset folder (default: the one the run was trained on). Another data set is an "
            "external validation: labels matched by name, the overlap reported.",
        ),
        n_boot: int = typer.Option(1000, "--n-boot", help="Patient bootstrap resamples for the 95% CIs."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    ) -> None:
        """Per-region ROC AUC and mean with 95% patient-bootstrap CIs; Youden thresholds from val;
        sensitivity, specificity, F1; ROC curves; predictions.csv.

        Calibration: a temperature per region fitted on val (calibration.json, used by explain and
        report); ECE and Brier before/after with CIs (calibration.csv, reliability.png).

        A region whose films are all one class is undefined; one no film has a label for is "not
        labelled". An AUC over fewer than 10 abnormal films is flagged unreliable.
        """
        from cxr_regions.evaluation.assess import evaluate_run

        result = evaluate_run(run, split=split, out=out, n_boot=n_boot, seed=seed, dataset=dataset)
        typer.echo((result.out / "auc.md").read_text(encoding="utf-8"))
        typer.echo(f"written to {result.out}")

    @app.command()
    def compare(
        run_a: Path = typer.Argument(..., help="Run A: a run folder, or an evaluation folder of one."),
        run_b: Path = typer.Argument(..., help="Run B, scored on the same films."),
        split: str = typer.Option("test", "--split", help="Dataset split both runs are scored on."),
        out: Path | None = typer.Option(None, "-o", "--out", help="Folder for compare.csv / compare.md."),
        dataset: Path | None = typer.Option(
            None, "--dataset", help="Dataset folder (default: the one the runs were trained on)."
        ),
        n_boot: int = typer.Option(1000, "--n-boot", help="Paired patient bootstrap resamples."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    ) -> None:
        """Per-region AUC differences B − A with paired patient-bootstrap 95% CIs and p-values.

        Uses each run's saved predictions (RUN/evaluation) when they match the split, else predicts.
        """
        from cxr_regions.evaluation.compare import compare_markdown, compare_runs

        frame = compare_runs(run_a, run_b, split=split, n_boot=n_boot, seed=seed, out=out, dataset=dataset)
        typer.echo(compare_markdown(frame, str(run_a), str(run_b), split, n_boot))
