"""Command-line entry points of this stage: ``cxr-regions train``, its options generated from
:class:`~cxr_regions.training.recipe.TrainConfig` (one default, one help text per setting)."""

from __future__ import annotations

from typing import Any

import typer

from cxr_regions.errors import UserError
from cxr_regions.options import options_from, with_options
from cxr_regions.training.recipe import TrainConfig


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    app.command("train")(with_options(train_command, options_from(TrainConfig)))


def train_command(**options: Any) -> None:
    """Train a network on a built dataset with the paper's recipe: BCE, Adam, lr halving, early stopping.

    Writes config.yaml, metrics.csv, tb/, checkpoints/ (best, last) and model.safetensors + model.json.

    The same command runs on a CPU, a GPU or a cluster (--devices, --strategy ddp, --num-nodes).

    After a kill, rerun it with --resume: it continues from the last finished epoch.
    """
    from cxr_regions.training.trainer import train

    config = TrainConfig(**options)
    if not config.dataset.exists():
        raise UserError(f"dataset folder {config.dataset} not found (build one with `cxr-regions build`)")
    run = train(config)
    typer.echo(f"run folder: {run}")
