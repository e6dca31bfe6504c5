"""Command-line entry points of this stage: ``cxr-regions train``."""

from __future__ import annotations

from pathlib import Path

import typer

from cxr_regions.errors import UserError


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    app.command("train")(train_command)


def train_command(
    dataset: Path = typer.Argument(..., help="Dataset folder written by `cxr-regions build`."),
    arch: str = typer.Option(
        "densenet121",
        "--arch",
        help="alexnet, vgg16, resnet34, densenet121 (the paper's), or any torchvision classification model.",
    ),
    init: str = typer.Option(
        "imagenet",
        "--init",
        help="scratch, imagenet, or chestx14:PATH (a `cxr-regions pretrain` run folder).",
    ),
    out: Path | None = typer.Option(None, "-o", "--out", help="Run folder \\[default: runs/ARCH-INIT]."),
    epochs: int = typer.Option(500, "--epochs", help="Maximum epochs."),
    batch_size: int = typer.Option(16, "--batch-size", help="Films per step (per device)."),
    lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate."),
    lr_schedule: str = typer.Option(
        "plateau",
        "--lr-schedule",
        help="plateau: halve the lr when validation loss stops improving; step: halve it every epoch.",
    ),
    lr_patience: int = typer.Option(1, "--lr-patience", help="Epochs without val-loss gain before halving."),
    patience: int = typer.Option(10, "--patience", help="Early stopping: epochs without val mean AUC gain."),
    stop_at_auc: float | None = typer.Option(
        None, "--stop-at-auc", help="Also stop as soon as the val mean AUC reaches this (quick demos)."
    ),
    input_size: int | None = typer.Option(
        None,
        "--input-size",
        help="Crop side \\[default: 227 AlexNet/VGG16, 224 others; scaled for films ≠ 256 px].",
    ),
    weights: Path | None = typer.Option(
        None, "--weights", help="Local ImageNet weights file (torchvision's .pth) for --init imagenet."
    ),
    accelerator: str = typer.Option("auto", "--accelerator", help="Lightning accelerator: auto, cpu, gpu..."),
    devices: str = typer.Option("auto", "--devices", help="Lightning devices: auto, a count, or ids '0,1'."),
    strategy: str = typer.Option("auto", "--strategy", help="Lightning strategy, e.g. ddp."),
    num_nodes: int = typer.Option(1, "--num-nodes", help="Machines in a multi-node run."),
    precision: str | None = typer.Option(
        None, "--precision", help="Lightning precision \\[default: bf16-mixed on GPU, 32-true on CPU]."
    ),
    num_workers: int = typer.Option(2, "--num-workers", help="Data-loader worker processes."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Random crop/rotation/brightness."),
    seed: int = typer.Option(0, "--seed", help="Seed for weights, shuffling and augmentation."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in -o from its last checkpoint."),
) -> None:
    """Train a network on a built dataset with the paper's recipe: BCE, Adam, lr halving, early stopping.

    Writes config.yaml, metrics.csv, tb/, checkpoints/ (best, last) and model.safetensors + model.json.

    The same command runs on a CPU, a GPU or a cluster (--devices, --strategy ddp, --num-nodes).

    After a kill, rerun it with --resume: it continues from the last finished epoch.
    """
    from cxr_regions.training.config import TrainConfig
    from cxr_regions.training.trainer import train

    if not dataset.exists():
        raise UserError(f"dataset folder {dataset} not found (build one with `cxr-regions build`)")
    config = TrainConfig(
        dataset=dataset,
        out=out,
        arch=arch,
        init=init,
        weights=weights,
        input_size=input_size,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lr_schedule=lr_schedule,
        lr_patience=lr_patience,
        patience=patience,
        stop_at_auc=stop_at_auc,
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        num_nodes=num_nodes,
        precision=precision,
        seed=seed,
        num_workers=num_workers,
        augment=augment,
        resume=resume,
    )
    run = train(config)
    typer.echo(f"run folder: {run}")
