"""Command-line entry points of this stage: ``pretrain-prepare`` and ``pretrain``.

``pretrain`` takes every option of ``train`` (both generated from ``TrainConfig``, so the two
commands cannot drift apart) plus the options of the preparation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cxr_regions.options import ENGINE, SCHEDULER, options_from, with_options
from cxr_regions.training.recipe import TrainConfig

NIH_HELP = (
    "ChestX-ray14 folder in NIH's layout: Data_Entry_2017_v2020.csv (or Data_Entry_2017.csv), "
    "images/ or images_001/images/…, and train_val_list.txt + test_list.txt where present."
)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    app.command("pretrain-prepare")(prepare_command)
    train_options = options_from(
        TrainConfig, exclude=["dataset"], help={"out": "Run folder \\[default: runs/chestx14-ARCH]."}
    )
    app.command("pretrain")(with_options(pretrain_command, train_options))


def _prepare_config(
    nih_dir: Path,
    out: Path,
    size: int,
    workers: int,
    resize: str,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
    allow_missing: bool,
    engine: str = "local",
    scheduler: str | None = None,
):
    from cxr_regions.pretrain.nih_split import SplitConfig
    from cxr_regions.pretrain.prepare import PrepareConfig

    split = SplitConfig(val_fraction=val_fraction, test_fraction=test_fraction, seed=split_seed)
    return PrepareConfig(
        nih_dir=nih_dir,
        out=out,
        size=size,
        workers=workers,
        resize=resize,
        split=split,
        allow_missing=allow_missing,
        engine=engine,
        scheduler=scheduler,
    )


SIZE = typer.Option(256, "--size", help="Side of the packed square films in px (as `build --size`).")
PACK_WORKERS = typer.Option(4, "--pack-workers", help="Threads decoding PNGs while packing.")
RESIZE = typer.Option("pad", "--resize", help="pad (keep aspect ratio) or stretch, for non-square films.")
VAL_FRACTION = typer.Option(
    0.1, "--val-fraction", help="Share of the non-test patients held out for validation."
)
TEST_FRACTION = typer.Option(
    0.2, "--test-fraction", help="Share of patients for test, only where the official list files are absent."
)
SPLIT_SEED = typer.Option(0, "--split-seed", help="Seed of the patient-level split.")
ALLOW_MISSING = typer.Option(
    False,
    "--allow-missing",
    help="Use the films present when some of the label file's films have no image (listed in missing.csv).",
)


def prepare_command(
    nih_dir: Path = typer.Argument(..., help=NIH_HELP),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Folder for the packed dataset (e.g. runs/chestx14-256px)."
    ),
    size: int = SIZE,
    workers: int = PACK_WORKERS,
    resize: str = RESIZE,
    val_fraction: float = VAL_FRACTION,
    test_fraction: float = TEST_FRACTION,
    split_seed: int = SPLIT_SEED,
    allow_missing: bool = ALLOW_MISSING,
    engine: str = ENGINE,
    scheduler: str | None = SCHEDULER,
    regions: bool = typer.Option(
        False,
        "--regions",
        help="Label the films with the five regions mapped from NIH's findings (docs/chestx14.md): "
        "heart, lungs, diaphragm; thorax and aorta are missing (not labelled), never normal.",
    ),
) -> None:
    """Pack ChestX-ray14 into a dataset folder (the format `build` writes), once for all architectures.

    Test split: the official test_list.txt where present, else a random 20% of patients.

    Validation: a share of the other patients. No patient is in two splits.

    Resumable: run it again after an interruption. 112,120 films at 256 px take about 7 GB.
    """
    from cxr_regions.pretrain.prepare import prepare_nih

    config = _prepare_config(
        nih_dir,
        out,
        size,
        workers,
        resize,
        val_fraction,
        test_fraction,
        split_seed,
        allow_missing,
        engine,
        scheduler,
    )
    config.regions = regions
    done = prepare_nih(config)
    typer.echo(f"prepared dataset: {done} (see {done / 'stats.md'})")


def pretrain_command(
    nih_dir: Path = typer.Argument(..., help=NIH_HELP),
    prepared: Path | None = typer.Option(
        None,
        "--prepared",
        help="Packed dataset folder: used if complete, else written (or resumed) there "
        "\\[default: chestx14-SIZEpx beside the run folder, shared by every architecture].",
    ),
    size: int = SIZE,
    pack_workers: int = PACK_WORKERS,
    resize: str = RESIZE,
    val_fraction: float = VAL_FRACTION,
    test_fraction: float = TEST_FRACTION,
    split_seed: int = SPLIT_SEED,
    allow_missing: bool = ALLOW_MISSING,
    **train_options: Any,
) -> None:
    """Pretrain a network on ChestX-ray14's 14 findings: the paper's third initialisation.

    Prepares the films once (see `pretrain-prepare`), then trains with the trainer and options of `train`.

    Writes chestx14_auc.csv/.md in the run folder: test AUC per finding beside CheXNet's.

    Fine-tune with: cxr-regions train DATASET --arch SAME_ARCH --init chestx14:RUN
    """
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from cxr_regions.models import default_arch
    from cxr_regions.pretrain.run import default_prepared_dir, default_run_dir, pretrain

    arch = train_options["arch"] or default_arch(train_options["init"])
    out = train_options.pop("out") or default_run_dir(arch.replace(":", "-").replace("/", "-"))
    prepared = prepared or default_prepared_dir(out, size)
    prepare = _prepare_config(
        nih_dir, prepared, size, pack_workers, resize, val_fraction, test_fraction, split_seed, allow_missing
    )
    config = TrainConfig(dataset=prepared, out=out, **train_options)
    run = pretrain(prepare, config)
    if rank_zero_only.rank == 0:
        typer.echo((run / "chestx14_auc.md").read_text(encoding="utf-8"))
        typer.echo(f"run folder: {run}\ncheckpoint for fine-tuning: --init chestx14:{run}")
