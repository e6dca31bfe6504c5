"""Command-line entry points of the workflows: ``experiment`` (the Table 2 grid) and ``demo`` (the whole
pipeline on a phantom, with a summary at the end)."""

from __future__ import annotations

import typer

from cxr_regions.options import command
from cxr_regions.workflows.workflow_config import DemoConfig, ExperimentCommand


def register(app: typer.Typer) -> None:
    """Add the workflows' commands to the ``cxr-regions`` app."""
    command(app, "experiment", ExperimentCommand, experiment)
    command(app, "demo", DemoConfig, demo)


def experiment(config: ExperimentCommand) -> None:
    """Train and evaluate every network × initialisation of a grid, then write Table 2
    (table2.md, table2.csv, table2.png).

    Cells already evaluated in the folder are kept, so rerunning resumes an interrupted grid.
    Cells whose pretrained weights are missing are listed as skipped, with what to provide.
    """
    from cxr_regions.workflows.experiment import load_grid, run_experiment

    grid = load_grid(config.grid)
    result = run_experiment(grid, config.out_dir, paper=config.paper)
    typer.echo(result.files["md"].read_text(encoding="utf-8"))
    typer.echo(
        f"{len(result.trained)} trained, {len(result.evaluated)} evaluated, {len(result.reused)} kept, "
        f"{len(result.skipped)} skipped; written to {result.out}"
    )


def demo(config: DemoConfig) -> None:
    """Run phantom -> ingest -> label -> build -> train -> evaluate -> explain -> HTML report on a
    synthetic PHANTOM (no patient data), into one folder, and say where the report is.

    The defaults (600 films, 64-px films, ResNet-18 from scratch, 12 epochs, LayerCAM heatmaps)
    are sized to finish in about ten minutes on two CPU cores.
    """
    import logging
    import warnings

    import lightning.pytorch  # noqa: F401  (sets its logger's level on import; quieten it after)
    from rich.console import Console
    from rich.table import Table

    from cxr_regions.workflows.demo import STAGES, run_demo

    # A demo shows its own progress: Lightning's start-up notes and one library deprecation are noise.
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")

    console = Console()
    console.rule("[bold]cxr-regions demo on a PHANTOM[/]")
    console.print(
        "Synthetic films and reports with known ground truth, not patient data. Settings sized for "
        f"about ten minutes on two CPU cores: {config.films} films at {config.size}×{config.size} px, "
        f"{config.arch} from scratch, {config.epochs} epochs, {config.method} heatmaps.",
        highlight=False,
    )

    def announce(step: int, stage: str, what: str) -> None:
        console.print(f"[bold cyan][{step}/{len(STAGES)}] {stage}[/]: {what}", highlight=False)

    result = run_demo(config, announce)
    total = sum(result.seconds.values())

    console.rule("[bold]summary (PHANTOM data)[/]")
    aucs = Table(title="test AUC with 95% patient-bootstrap interval")
    for column in ("label", "AUC", "95% CI"):
        aucs.add_column(column)
    assert result.auc is not None  # run_demo always evaluates
    for row in result.auc.itertuples(index=False):
        aucs.add_row(str(row.label), f"{row.auc:.3f}", f"{row.ci_low:.3f} – {row.ci_high:.3f}")
    console.print(aucs)
    if result.localisation is not None:
        title = f"do the {config.method} heatmaps point at the region? (test films with it abnormal)"
        where = Table(title=title)
        for column in ("region", "films", "pointing game", "energy in region", "chance", "all films"):
            where.add_column(column)
        for row in result.localisation.itertuples(index=False):
            where.add_row(
                row.region, str(row.films), f"{row.pointing_game:.0%}", f"{row.energy_share:.0%}",
                f"{row.chance:.0%}", f"{row.pointing_game_all:.0%}",
            )  # fmt: skip
        console.print(where)
    times = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in result.seconds.items())
    console.print(f"time: {total / 60:.1f} min ({times})", highlight=False)
    console.print(f"outputs: {result.out}/ (summary.md lists them)", highlight=False)
    console.print(f"[bold green]report:[/] {result.report.resolve()}", highlight=False)
