"""Command-line entry points of this stage: ``cxr-regions train``, its options generated from
:class:`~cxr_regions.training.recipe.TrainConfig` (one default, one help text per setting)."""

from __future__ import annotations

import typer

from cxr_regions.errors import UserError
from cxr_regions.options import command
from cxr_regions.training.recipe import TrainConfig


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "train", TrainConfig, train_command)


def train_command(config: TrainConfig) -> None:
    """Train a network on a built dataset with the paper's recipe: BCE, Adam, lr halving, early stopping.

    Writes config.yaml, metrics.csv, tb/, checkpoints/ (best, last) and model.safetensors + model.json.

    The same command runs on a CPU, a GPU or a cluster (--devices, --strategy ddp, --num-nodes).

    After a kill, rerun it with --resume: it continues from the last finished epoch.
    """
    # here: models imports torch, and cxr-regions --help imports this module
    from cxr_regions.models import require_start_extras

    require_start_extras(str(config.arch), config.init, "cxr-regions train")
    if not config.dataset.exists():
        raise UserError(f"dataset folder {config.dataset} not found (build one with `cxr-regions build`)")
    # here: the trainer imports Lightning, and cxr-regions --help imports this module
    from cxr_regions.training.trainer import train

    run = train(config)
    typer.echo(f"run folder: {run}")
