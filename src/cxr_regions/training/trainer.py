"""``train``: a dataset folder -> a run folder (docs/data-contracts.md), with Lightning doing the loop.

The run folder holds ``config.yaml`` (the resolved configuration), ``metrics.csv`` (one row per
epoch), ``tb/`` (TensorBoard), ``checkpoints/best.ckpt`` + ``last.ckpt`` and, once training ends, the
best epoch's weights as ``model.safetensors`` + ``model.json``. ``--resume`` continues from
``last.ckpt``, so a killed run loses at most the epoch in progress.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import lightning as L
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from cxr_regions.contracts.run_folder import SavedConfig
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_csv
from cxr_regions.models import create_model, input_size, min_input_size, model_from_spec
from cxr_regions.training.export import save_model
from cxr_regions.training.finetuning import UnfreezeBackbone, frozen_record
from cxr_regions.training.model_card import write_model_card
from cxr_regions.training.module import RegionModule
from cxr_regions.training.recipe import TrainConfig

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.csv"
CHECKPOINTS = "checkpoints"
# Settings a resumed run must share with the run it continues.
_RESUME_MUST_MATCH = (
    "dataset",
    "arch",
    "init",
    "input_size",
    "lr_schedule",
    "freeze_backbone",
    "unfreeze_after",
    "upsample",
)


class EpochMetricsCSV(Callback):
    """Writes ``metrics.csv``: after each validation, one row with the epoch's losses, AUCs and the
    learning rate its training steps used.

    On resume, rows of epochs the checkpoint does not cover (an epoch in progress when the run was
    killed) are dropped, so every epoch appears once.
    """

    def __init__(self, path: Path, label_names: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = [
            "epoch",
            "step",
            "train_loss",
            "val_loss",
            *(f"val_auc_{n}" for n in label_names),
            "val_mean_auc",
            "lr",
        ]
        self.rows: list[dict[str, Any]] = []
        self._lr = math.nan

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Epoch schedules step before validation, plateau ones after: read the epoch's lr up front.
        self._lr = trainer.optimizers[0].param_groups[0]["lr"]

    @rank_zero_only
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.rows = []
        if self.path.is_file():
            old = pd.read_csv(self.path)
            self.rows = old[old["epoch"] < trainer.current_epoch].to_dict("records")
            write_csv(self.path, pd.DataFrame(self.rows, columns=self.columns))

    @rank_zero_only
    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        row: dict[str, Any] = {"epoch": trainer.current_epoch, "step": trainer.global_step}
        for column in self.columns[2:-1]:
            value = metrics.get(column)
            row[column] = float(value) if value is not None else math.nan
        row["lr"] = self._lr
        self.rows.append(row)
        write_csv(self.path, pd.DataFrame(self.rows, columns=self.columns))


def resolve_input_size(arch: str, requested: int | None, film_size: int) -> int:
    """The crop side: as requested, else the paper's (227/224 of 256 px) scaled to the films' size."""
    if requested is not None:
        size = int(requested)
    else:
        size = min(film_size, round(input_size(arch) * film_size / 256))
        size = max(size, min(min_input_size(arch), film_size))
    if size > film_size:
        raise UserError(
            f"--input-size {size} is larger than the dataset's {film_size}-px films; "
            "choose a smaller one or rebuild the dataset with a larger --size"
        )
    return size


def resolve_precision(config: TrainConfig) -> str:
    """``--precision`` as given, else bf16-mixed on a GPU that supports it, 16-mixed on others, 32 on CPU."""
    if config.precision:
        return config.precision
    if not _on_gpu(config):
        return "32-true"
    return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"


def resolve_deterministic(config: TrainConfig) -> bool:
    """``--deterministic`` as given, else on when training on the CPU.

    On the CPU deterministic algorithms cost next to nothing, and with the seeded data order and
    augmentation a run repeats exactly. On a GPU, ``--deterministic`` sets ``CUBLAS_WORKSPACE_CONFIG``
    (cuBLAS needs it) and uses deterministic kernels where PyTorch has them, warning for those it
    has not (e.g. the backward pass of adaptive average pooling) instead of stopping.
    """
    if config.deterministic is not None:
        return config.deterministic
    return not _on_gpu(config)


def _on_gpu(config: TrainConfig) -> bool:
    return torch.cuda.is_available() and config.accelerator in ("auto", "gpu", "cuda")


@contextlib.contextmanager
def _restored_torch_flags() -> Iterator[None]:
    """Puts back the process-wide flags ``deterministic`` changes once training is done."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark, cublas = torch.backends.cudnn.benchmark, os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
        if cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas


class _DropLitLoggerTip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


@contextlib.contextmanager
def _without_lightning_noise(resuming: bool, frozen: bool = False) -> Iterator[None]:
    """Silences, during the fit, exactly what Lightning prints that no user can act on:

    - torch's ``FutureWarning`` that ``LeafSpec`` is deprecated: raised inside Lightning's own
      ``CombinedLoader`` (Lightning 2.6 on torch ≥ 2.9) once per loader and epoch, not by this code;
    - on ``--resume``, ``ModelCheckpoint``'s warning that the checkpoint folder is not empty: it
      holds the checkpoints of the run being resumed;
    - with ``--freeze-backbone``, the fit loop's warning that modules are in eval mode: the frozen
      batch norms are, on purpose;
    - the logger connector's advertisement for another logging service.
    """
    tip, rank_zero_log = _DropLitLoggerTip(), logging.getLogger("lightning.pytorch.utilities.rank_zero")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning)
        if resuming:
            warnings.filterwarnings("ignore", r"Checkpoint directory .* exists and is not empty", UserWarning)
        if frozen:  # frozen batch norms stay in eval mode on purpose
            warnings.filterwarnings("ignore", r"Found \d+ module\(s\) in eval mode at the start of training")
        rank_zero_log.addFilter(tip)
        try:
            yield
        finally:
            rank_zero_log.removeFilter(tip)


def _devices(value: str | int) -> str | int:
    return int(value) if isinstance(value, str) and value.strip().lstrip("-").isdigit() else value


def _check_labels(data: Any) -> None:
    val = data.split("val")
    if val.empty:
        raise UserError(f"dataset {data.path} has no validation films; rebuild it with a validation split")
    if data.split("train").empty:
        raise UserError(f"dataset {data.path} has no training films")
    labels = data.labels(val)
    both = [(col.min() != col.max()) for col in labels.T]
    if not any(both):
        raise UserError(
            f"no label has both classes among the {len(val)} validation films of {data.path}: "
            "no AUC can be computed, so early stopping cannot work. Use a larger dataset"
        )


def _check_resume(run: Path, resolved: TrainConfig) -> None:
    if not SavedConfig.exists(run):
        return
    saved = SavedConfig.read(run).as_config(TrainConfig)
    for key in _RESUME_MUST_MATCH:
        theirs, ours = getattr(saved, key), getattr(resolved, key)
        same = (
            Path(str(theirs)).resolve() == Path(ours).resolve()
            if key == "dataset"
            else str(theirs) == str(ours)
        )
        if not same:
            raise UserError(
                f"cannot resume {run}: it was trained with {key}={theirs}, this command asks for {ours}. "
                "Use the same settings, or another -o folder for a new run"
            )


def train(config: TrainConfig, callbacks: Sequence[Callback] = ()) -> Path:
    """Train on ``config.dataset``; returns the run folder. Generic over the dataset's label names.

    ``callbacks`` are added to Lightning's (tests and the pretraining stage use this).
    """
    from cxr_regions.build import RegionDataModule, open_dataset

    data = open_dataset(config.dataset)
    _check_labels(data)
    run = Path(config.out) if config.out is not None else config.default_out()
    arch = cast(str, config.arch)  # resolved from --init by TrainConfig.__post_init__ when not given
    size = resolve_input_size(arch, config.input_size, data.size)
    precision = resolve_precision(config)
    deterministic = resolve_deterministic(config)
    resolved = dataclasses.replace(
        config, out=run, input_size=size, precision=precision, deterministic=deterministic
    )

    last = run / CHECKPOINTS / "last.ckpt"
    ckpt_path: Path | None = None
    if last.is_file():
        if not config.resume:
            raise UserError(
                f"{run} already holds a training run ({last}); pass --resume to continue it, "
                "or choose another -o folder"
            )
        _check_resume(run, resolved)
        ckpt_path = last
    elif config.resume:
        log.warning("nothing to resume in %s (no %s): starting a new run", run, last)

    L.seed_everything(config.seed, workers=True, verbose=False)
    model = create_model(arch, len(data.label_names), config.init, config.weights, size, config.upsample)
    if config.freeze_backbone:
        model.freeze_backbone()
        log.info(
            "backbone frozen: %d of %d parameters do not learn",
            model.frozen_parameters(),
            sum(p.numel() for p in model.parameters()),
        )
    module = RegionModule(
        model,
        data.label_names,
        lr=config.lr,
        lr_schedule=config.lr_schedule,
        lr_factor=config.lr_factor,
        lr_patience=config.lr_patience,
    )
    datamodule = RegionDataModule(
        config.dataset,
        crop_size=size,
        batch_size=config.batch_size,
        num_workers=config.num_workers,
        seed=config.seed,
        augment=config.augment,
        augment_on=config.augment_on,
    )
    if rank_zero_only.rank == 0:  # type: ignore[attr-defined]  # lightning sets .rank on the function
        run.mkdir(parents=True, exist_ok=True)
        SavedConfig.write(resolved, run, command="train")

    with _restored_torch_flags(), _without_lightning_noise(ckpt_path is not None, config.freeze_backbone):
        trainer, best = _trainer(config, run, data.label_names, precision, deterministic, callbacks)
        train_films = int(data.split("train")["repeat"].sum())
        steps = max(1, min(50, train_films // (config.batch_size * trainer.world_size)))
        # an attribute Lightning's logger connector sets on the trainer (not declared on the class)
        trainer.log_every_n_steps = steps  # type: ignore[attr-defined]
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    if trainer.is_global_zero:
        export_best(run, best.best_model_path or str(last), model, data, config)
        write_model_card(run)
    return run


def _trainer(
    config: TrainConfig,
    run: Path,
    label_names: Sequence[str],
    precision: str,
    deterministic: bool,
    callbacks: Sequence[Callback],
) -> tuple[L.Trainer, ModelCheckpoint]:
    """Lightning's Trainer with the run's callbacks, and the callback that keeps the best epoch."""
    best = ModelCheckpoint(
        dirpath=run / CHECKPOINTS,
        filename="best",
        monitor="val_mean_auc",
        mode="max",
        save_top_k=1,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    # Lightning's save_last writes only when the best improves; this one writes after every epoch.
    # It must come after `best`, so that the state it saves knows this epoch's best.
    every_epoch = ModelCheckpoint(
        dirpath=run / CHECKPOINTS, filename="last", save_top_k=1, enable_version_counter=False
    )
    thaw = [UnfreezeBackbone(config.unfreeze_after)] if config.unfreeze_after is not None else []
    stopping = EarlyStopping(
        monitor="val_mean_auc", mode="max", patience=config.patience, stopping_threshold=config.stop_at_auc
    )
    trainer = L.Trainer(
        max_epochs=config.epochs,
        deterministic=("warn" if _on_gpu(config) else True) if deterministic else False,
        accelerator=config.accelerator,
        devices=_devices(config.devices),
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=cast(Any, precision),  # one of Lightning's names (Lightning checks it)
        callbacks=[
            EpochMetricsCSV(run / METRICS_FILE, label_names),
            LearningRateMonitor(logging_interval="epoch"),
            stopping,
            best,
            every_epoch,
            *thaw,
            *callbacks,
        ],
        logger=TensorBoardLogger(run, name="tb", version="", default_hp_metric=False),
        default_root_dir=run,
        num_sanity_val_steps=0,
        enable_progress_bar=config.progress,
        enable_model_summary=config.progress,
    )
    return trainer, best


def export_best(
    run: Path, checkpoint_path: str | Path, model: Any, data: Any, config: TrainConfig | None = None
) -> Path:
    """Write the weights of ``checkpoint_path`` (the best epoch) as ``model.safetensors`` + ``model.json``
    (with what ``config`` froze, where given)."""
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    best = model_from_spec(model.spec, empty=True)
    best.init_report = model.init_report
    best.provenance = model.provenance
    state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    best.load_state_dict(state, strict=True, assign=True)
    extra: dict[str, Any] = {
        "dataset_id": data.dataset_id,
        "dataset_path": str(Path(data.path).resolve()),
        "best_epoch": int(checkpoint["epoch"]),
        "labelled_train_films": data.labelled(data.split("train")),
        "frozen": frozen_record(config) if config is not None else None,
    }
    extra["untrained_labels"] = [n for n, count in extra["labelled_train_films"].items() if count == 0]
    metrics_path = run / METRICS_FILE
    if metrics_path.is_file():
        metrics = pd.read_csv(metrics_path)
        row = metrics[metrics["epoch"] == extra["best_epoch"]]
        if not row.empty:
            values = row.iloc[-1].to_dict()
            extra["val_metrics"] = {k: _finite(v) for k, v in values.items() if k.startswith("val_")}
        extra["epochs_trained"] = int(metrics["epoch"].max()) + 1
    return save_model(best, run, data.label_names, **extra)


def _finite(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
