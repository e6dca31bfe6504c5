"""Command-line entry points of this stage: ``pretrain-prepare`` and ``pretrain``.

``pretrain`` takes every option of ``train`` (both generated from ``TrainConfig``, so the two
commands cannot drift apart) plus the options of the preparation.
"""

from __future__ import annotations

import typer

from cxr_regions.extras import require_extra
from cxr_regions.options import command
from cxr_regions.pretrain.prepare_config import PrepareConfig, PretrainConfig


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "pretrain-prepare", PrepareConfig, prepare_command)
    command(app, "pretrain", PretrainConfig, pretrain_command)


def prepare_command(config: PrepareConfig) -> None:
    """Pack ChestX-ray14 into a dataset folder (the format `build` writes), once for all architectures.

    Test split: the official test_list.txt where present, else a random 20% of patients.

    Validation: a share of the other patients. No patient is in two splits.

    Resumable: run it again after an interruption. 112,120 films at 256 px take about 7 GB.
    """
    if config.engine == "dask":
        require_extra("cluster", "cxr-regions pretrain-prepare --engine dask")
    from cxr_regions.pretrain.prepare import prepare_nih

    done = prepare_nih(config)
    typer.echo(f"prepared dataset: {done} (see {done / 'stats.md'})")


def pretrain_command(config: PretrainConfig) -> None:
    """Pretrain a network on ChestX-ray14's 14 findings: the paper's third initialisation.

    Prepares the films once (see `pretrain-prepare`), then trains with the trainer and options of `train`.

    Writes chestx14_auc.csv/.md in the run folder: test AUC per finding beside CheXNet's.

    Fine-tune with: cxr-regions train DATASET --arch SAME_ARCH --init chestx14:RUN
    """
    # here: models imports torch, and cxr-regions --help imports this module
    from cxr_regions.models import require_start_extras

    require_start_extras(str(config.train.arch), config.train.init, "cxr-regions pretrain")
    # here: Lightning and the trainer wait for the command (cxr-regions --help imports this module)
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from cxr_regions.pretrain.run import pretrain

    run = pretrain(config.prepare, config.train)
    if rank_zero_only.rank == 0:  # type: ignore[attr-defined]  # lightning sets .rank on the function
        typer.echo((run / "chestx14_auc.md").read_text(encoding="utf-8"))
        typer.echo(f"run folder: {run}\ncheckpoint for fine-tuning: --init chestx14:{run}")
