"""The Table 2 grid: train and evaluate every network × initialisation, then tabulate.

A grid file (YAML, validated by :class:`GridConfig`) names the dataset, the networks, the
initialisations and the training settings shared by every cell. The experiment folder holds one
run folder per cell (``<init>-<arch>/``, its evaluation in ``<init>-<arch>/evaluation/``) and the
table files. A cell is done once its ``evaluation.json`` exists (for the grid's dataset, split,
resamples and seed), so rerunning the same command resumes an interrupted grid: finished cells are
kept, trained ones only evaluated, interrupted training resumed from its last checkpoint. A cell
trained with other settings than the grid now asks for stops the grid with a message. A cell whose
pretrained weights are not on this machine is listed as skipped, with what to provide and where,
instead of stopping the grid.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from rich.console import Console

from cxr_regions.build import open_dataset
from cxr_regions.configfile import save_config
from cxr_regions.contracts.evaluation_files import EvaluationInfo
from cxr_regions.contracts.run_folder import WEIGHTS_FILE, ModelInfo, SavedConfig
from cxr_regions.errors import UserError
from cxr_regions.evaluation import (
    INITS,
    CellOutcome,
    Init,
    arch_name,
    default_evaluation_dir,
    evaluate_run,
    init_name,
    read_evaluation,
    write_table2,
)
from cxr_regions.extras import require_extra
from cxr_regions.fileio import write_json
from cxr_regions.models import check_arch, imagenet_weights_file, min_input_size
from cxr_regions.training import TrainConfig, train

PAPER_ARCHS: tuple[str, ...] = ("alexnet", "vgg16", "resnet34", "densenet121")
GRID_FILE = "experiment.yaml"
# TrainConfig fields the grid sets per cell; everything else may be overridden under ``train:``.
_CELL_FIELDS = ("dataset", "arch", "init", "weights", "out", "seed", "resume")


class GridConfig(BaseModel):
    """A grid file: which cells to run and the training settings they share."""

    model_config = ConfigDict(extra="forbid")

    dataset: Path = Field(description="Dataset folder written by `cxr-regions build`.")
    archs: list[str] = Field(default_factory=lambda: list(PAPER_ARCHS), min_length=1)
    inits: list[Init] = Field(default_factory=lambda: list(INITS), min_length=1)
    chestx14: dict[str, Path] | Path | None = Field(
        None, description="Pretraining run folder (or model.safetensors) per arch, or one for all."
    )
    imagenet_weights: dict[str, Path] = Field(
        default_factory=dict, description="ImageNet weight file per arch (default: the torch hub cache)."
    )
    train: dict[str, Any] = Field(default_factory=dict, description="TrainConfig overrides for every cell.")
    per_arch: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Overrides for one network, e.g. {alexnet: {input_size: 63}}."
    )
    n_boot: int = Field(1000, ge=1)
    seed: int = 0
    split: Literal["val", "test"] = "test"

    @field_validator("archs", "inits")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError(f"listed twice: {sorted({v for v in values if values.count(v) > 1})}")
        return values

    def resolve(self, base: Path) -> GridConfig:
        """Paths relative to the grid file's folder made absolute."""

        def fix(p: Path) -> Path:
            p = Path(p).expanduser()
            return p if p.is_absolute() else (base / p).resolve()

        chest = self.chestx14
        if isinstance(chest, dict):
            chest = {k: fix(v) for k, v in chest.items()}
        elif chest is not None:
            chest = fix(chest)
        return self.model_copy(
            update={
                "dataset": fix(self.dataset),
                "chestx14": chest,
                "imagenet_weights": {k: fix(v) for k, v in self.imagenet_weights.items()},
            }
        )

    def checkpoint(self, arch: str) -> Path | None:
        """The ChestX-ray14 pretraining checkpoint named for ``arch``, if any."""
        if isinstance(self.chestx14, dict):
            return self.chestx14.get(arch)
        return self.chestx14


def load_grid(path: Path) -> GridConfig:
    """Read and validate a grid file; relative paths are taken from the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"grid file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of settings (dataset, archs, inits, train...)")
    try:
        grid = GridConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise UserError(f"{path}: {problems}") from None
    return grid.resolve(path.parent.resolve())


@dataclasses.dataclass
class Cell:
    """One grid cell and, where it cannot run here, why."""

    init: str
    arch: str
    init_arg: str
    missing: str | None = None

    @property
    def name(self) -> str:
        """The cell's folder name (``timm:NAME`` written ``timm-NAME``)."""
        return f"{self.init}-{self.arch.replace(':', '-')}"


def plan_cells(grid: GridConfig) -> list[Cell]:
    """The grid's cells in table order (initialisation blocks, then networks), weights checked."""
    for arch in grid.archs:
        if arch.startswith("hf:"):
            raise UserError(
                f"{arch}: a transformers encoder starts from its own weights; train it with `train`"
            )
        if arch.startswith("timm:"):
            require_extra("timm", f"the grid file's network {arch}")
        try:
            check_arch(arch)
        except UserError as exc:
            raise UserError(
                f"grid file: unknown network {arch} ({exc}); the paper's are {', '.join(PAPER_ARCHS)}"
            ) from None
    cells = []
    for init in grid.inits:
        for arch in grid.archs:
            if init == "scratch":
                cells.append(Cell(init, arch, "scratch"))
            elif init == "imagenet":
                cells.append(Cell(init, arch, "imagenet", _imagenet_missing(grid, arch)))
            else:
                checkpoint = grid.checkpoint(arch)
                missing = None
                if checkpoint is None:
                    missing = f"weights missing: no ChestX-ray14 checkpoint (set chestx14.{arch} in the grid)"
                elif not (checkpoint / WEIGHTS_FILE if checkpoint.is_dir() else checkpoint).is_file():
                    missing = (
                        f"weights missing: {checkpoint} holds no model.safetensors; run "
                        f"`cxr-regions pretrain --arch {arch}` and point chestx14.{arch} at its run folder"
                    )
                cells.append(Cell(init, arch, f"chestx14:{checkpoint}", missing))
    return cells


def _imagenet_missing(grid: GridConfig, arch: str) -> str | None:
    """Why the ImageNet cell of ``arch`` cannot run here, or None when its weights are on disk."""
    if arch.startswith("timm:"):
        # here: timm is an optional extra (timm)
        from cxr_regions.models.timm_backbones import weights_file

        try:
            weights_file(arch.removeprefix("timm:"), grid.imagenet_weights.get(arch))
        except UserError as exc:
            return f"weights missing: {exc}"
        return None
    try:
        _, file_name, cached = imagenet_weights_file(arch)
    except UserError as exc:
        return f"no ImageNet weights: {exc}"
    where = grid.imagenet_weights.get(arch) or cached
    if where.is_file():
        return None
    return (
        f"weights missing: ImageNet {file_name} not found at {where}; place it in "
        f"$TORCH_HOME/hub/checkpoints or set imagenet_weights.{arch} in the grid file"
    )


def train_config(grid: GridConfig, cell: Cell, run_dir: Path):
    """The TrainConfig of one cell: the grid's overrides plus the cell's network and initialisation."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    overrides = {**grid.train, **grid.per_arch.get(cell.arch, {})}
    bad = sorted(set(overrides) - fields)
    if bad:
        valid = ", ".join(sorted(fields - set(_CELL_FIELDS)))
        raise UserError(f"grid file: unknown training setting(s) {', '.join(bad)}; valid: {valid}")
    fixed = sorted(set(overrides) & set(_CELL_FIELDS))
    if fixed:
        raise UserError(f"grid file: {fixed[0]} is set per cell by the grid; remove it from train/per_arch")
    settings: dict[str, Any] = {
        **overrides,
        "dataset": grid.dataset,
        "arch": cell.arch,
        "init": cell.init_arg,
        "out": run_dir,
        "seed": grid.seed,
    }
    settings["resume"] = (run_dir / "checkpoints" / "last.ckpt").exists()
    if cell.init == "imagenet" and grid.imagenet_weights.get(cell.arch):
        settings["weights"] = grid.imagenet_weights[cell.arch]
    return TrainConfig(**settings)


def check_cells(grid: GridConfig, cells: list[Cell], out: Path, film_size: int) -> None:
    """Before hours of training: every runnable cell's TrainConfig is valid, its crop size fits,
    and a cell trained earlier in ``out`` was trained with the settings the grid asks for now."""
    unknown = sorted(set(grid.per_arch) - set(grid.archs))
    if unknown:
        raise UserError(f"grid file: per_arch names {', '.join(unknown)}, which archs: does not list")
    for cell in cells:
        if cell.missing:
            continue
        config = train_config(grid, cell, out / cell.name)
        if config.input_size is not None:
            least = min_input_size(cell.arch)
            if not least <= config.input_size <= film_size:
                raise UserError(
                    f"grid file: input_size {config.input_size} does not suit {cell.arch} on {film_size}-px "
                    f"films (it needs {least}..{film_size}); set per_arch.{cell.arch}.input_size, or leave "
                    "input_size out to use the paper's crop scaled to the films"
                )
        _check_trained_as_asked(grid, cell, out / cell.name, config)


def _check_trained_as_asked(grid: GridConfig, cell: Cell, run_dir: Path, config: Any) -> None:
    """A run folder already in the grid must match the grid's settings, or its AUCs are not comparable."""
    if not SavedConfig.exists(run_dir):
        return
    saved = SavedConfig.read(run_dir).as_config(type(config))
    keys = ["arch", "init", "seed", *grid.train, *grid.per_arch.get(cell.arch, {})]
    # a setting left to its automatic value (None) is saved resolved, so only explicit ones compare
    differ = [
        k
        for k in dict.fromkeys(keys)
        if getattr(config, k) is not None and str(getattr(saved, k)) != str(getattr(config, k))
    ]
    if Path(saved.dataset).resolve() != Path(config.dataset).resolve():
        differ.insert(0, "dataset")
    if differ:
        found = ", ".join(f"{k}={getattr(saved, k)} (grid: {getattr(config, k)})" for k in differ)
        raise UserError(
            f"{run_dir} was trained with {found}; its AUCs would not be comparable with the other cells. "
            "Use another --out folder, or delete that cell's folder to retrain it"
        )


@dataclasses.dataclass
class ExperimentResult:
    """What an ``experiment`` call did: the cells, which it trained / evaluated now, the table files."""

    out: Path
    cells: list[CellOutcome]
    trained: list[str]
    evaluated: list[str]
    reused: list[str]
    skipped: list[str]
    files: dict[str, Path]


def _trained(run_dir: Path) -> bool:
    """Training finished: the exported weights and their description are both there."""
    return (run_dir / WEIGHTS_FILE).is_file() and ModelInfo.exists(run_dir)


def _evaluated(grid: GridConfig, run_dir: Path) -> EvaluationInfo | None:
    """The cell's evaluation, if one exists for this grid's dataset, split, resamples and seed."""
    path = EvaluationInfo.path_in(default_evaluation_dir(run_dir, grid.split))
    if not (path.is_file() and _trained(run_dir)):
        return None
    doc = read_evaluation(path)
    same = (
        doc.split == grid.split
        and doc.n_boot == grid.n_boot
        and doc.seed == grid.seed
        and Path(str(doc.dataset)).resolve() == grid.dataset
    )
    # an evaluation older than the exported weights belongs to an earlier training run
    fresh = path.stat().st_mtime >= (run_dir / WEIGHTS_FILE).stat().st_mtime
    return doc if same and fresh else None


def run_experiment(grid: GridConfig, out: Path, paper: bool = False) -> ExperimentResult:
    """Train and evaluate every cell not done yet in ``out``; rewrite the Table 2 files after each cell."""
    console = Console(stderr=True)
    out = Path(out)
    if not grid.dataset.is_dir():
        raise UserError(f"dataset folder {grid.dataset} not found (the grid file's `dataset:`)")
    cells = plan_cells(grid)
    data = open_dataset(grid.dataset)
    check_cells(grid, cells, out, data.size)
    out.mkdir(parents=True, exist_ok=True)
    save_config(grid, out / GRID_FILE, command="experiment")
    outcomes = {c.name: CellOutcome(c.init, c.arch, "pending", note="not run yet") for c in cells}
    result = ExperimentResult(out, [], [], [], [], [], {})
    title = f"Table 2 on {data.dataset_id} ({grid.split} split, {data.size}-px films)"
    for i, cell in enumerate(cells, 1):
        label = f"[{i}/{len(cells)}] {init_name(cell.init)} · {arch_name(cell.arch)}"
        run_dir = out / cell.name
        doc = _evaluated(grid, run_dir)
        if doc is not None:
            console.print(f"{label}: done before, kept", highlight=False)
            outcomes[cell.name] = CellOutcome.from_evaluation(cell.init, cell.arch, doc)
            result.reused.append(cell.name)
        elif cell.missing:
            console.print(f"{label}: skipped — {cell.missing}", highlight=False)
            outcomes[cell.name] = CellOutcome(cell.init, cell.arch, "skipped", note=cell.missing)
            result.skipped.append(cell.name)
        else:
            if not _trained(run_dir):
                console.print(f"{label}: training", highlight=False)
                start = time.monotonic()
                train(train_config(grid, cell, run_dir))
                console.print(f"{label}: trained in {time.monotonic() - start:.0f} s", highlight=False)
                result.trained.append(cell.name)
            evaluation = evaluate_run(
                run_dir, split=grid.split, n_boot=grid.n_boot, seed=grid.seed, dataset=grid.dataset
            )
            outcomes[cell.name] = CellOutcome.from_evaluation(
                cell.init, cell.arch, read_evaluation(evaluation.out)
            )
            result.evaluated.append(cell.name)
            console.print(f"{label}: mean AUC {outcomes[cell.name].auc['mean'][0]:.3f}", highlight=False)
            write_table2(list(outcomes.values()), out, paper=paper, title=title)  # the table so far
    result.cells = list(outcomes.values())
    result.files = write_table2(result.cells, out, paper=paper, title=title)
    write_json(
        out / "experiment.json",
        {
            "grid": grid.model_dump(mode="json"),
            "cells": [
                {"cell": c.name, "run": str(out / c.name), "status": o.status, "note": o.note}
                for c, o in zip(cells, result.cells, strict=True)
            ],
            "trained_now": result.trained,
            "evaluated_now": result.evaluated,
            "kept": result.reused,
            "skipped": result.skipped,
            "files": {k: str(v) for k, v in result.files.items()},
        },
    )
    return result
