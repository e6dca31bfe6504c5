"""A run folder's shareable description: ``model.json`` (:class:`ModelInfo`, beside the weights
``model.safetensors``) written by ``train`` and ``pretrain``, read by evaluate, explain, the reading
room and ``--init chestx14:RUN``; and the ``config.yaml`` every stage saves beside its outputs
(:class:`SavedConfig`), read back where a later command must match an earlier one."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from cxr_regions.contracts.core import Document, Record
from cxr_regions.contracts.names import CONFIG_YAML, MODEL_JSON

WEIGHTS_FILE = "model.safetensors"
"""The best epoch's weights (safetensors: never unpickled)."""
C = TypeVar("C")


class ModelInfo(Document):
    """``model.json``: everything a trained model needs besides its weights, and where it came from."""

    FILE = MODEL_JSON
    WRITER = "cxr-regions train"
    VERSION_KEY = "format_version"
    LEADING: ClassVar[Mapping[str, Any]] = {"format": "cxr-regions/model"}

    arch: str = Field(description="The torchvision (or registered) architecture name.")
    num_classes: int = Field(description="Logits: one per label.")
    input_size: int = Field(description="The crop side the network sees.")
    mean: float = Field(description="One-channel normalisation mean (the film in [0, 1]).")
    std: float = Field(description="One-channel normalisation standard deviation.")
    init: str = Field("scratch", description="`scratch`, `imagenet` or `chestx14`.")
    init_source: str | None = Field(None, description="The weights file it started from, where one.")
    head: str = Field("", description="Module name of the classifier layer.")
    first_conv: str = Field("", description="Module name of the first convolution (one input channel).")
    label_names: list[str] = Field(description="The labels, in logit order.")
    init_report: dict[str, Any] = Field(
        default_factory=dict,
        description="How the start weights were loaded: `source`, tensors `loaded`, `replaced_head`, "
        "`missing` and `unexpected` keys.",
    )
    cxr_regions_version: str | None = Field(None, description="The cxr-regions version that wrote it.")
    written_at: str | None = Field(None, description="When (ISO 8601, UTC).")
    dataset_id: str | None = Field(None, description="The training dataset's `dataset_id`.")
    dataset_path: str | None = Field(None, description="The training dataset folder (absolute).")
    best_epoch: int | None = Field(None, description="The epoch whose weights these are (best val mean AUC).")
    labelled_train_films: dict[str, int] | None = Field(
        None, description="Label -> training films that have the label."
    )
    untrained_labels: list[str] = Field(
        default_factory=list,
        description="Labels no training film has: explain and the report give them no probability.",
    )
    val_metrics: dict[str, float | None] | None = Field(
        None, description="The best epoch's validation row of metrics.csv (`val_loss`, `val_auc_<label>`...)."
    )
    epochs_trained: int | None = Field(None, description="Epochs finished.")

    SPEC_FIELDS: ClassVar[tuple[str, ...]] = (
        "arch",
        "num_classes",
        "input_size",
        "mean",
        "std",
        "init",
        "init_source",
        "head",
        "first_conv",
    )
    """The fields that describe the network itself (``cxr_regions.models.ModelSpec``)."""

    @classmethod
    def path_in(cls, path: str | os.PathLike[str]) -> Path:
        """``model.json`` of a run folder, or beside a ``model.safetensors`` path, or the file itself."""
        path = Path(path)
        if path.name == WEIGHTS_FILE:
            return path.with_name(cls.FILE)
        return super().path_in(path)


class SavedConfig(Record):
    """``config.yaml`` (and every ``<name>.yaml`` a stage saves): the settings a command ran with."""

    FILE: ClassVar[str] = CONFIG_YAML

    cxr_regions_version: str | None = Field(None, description="The cxr-regions version that wrote it.")
    command: str | None = Field(None, description="The command (`train`, `evaluate`, `explain`...).")
    written_at: str | None = Field(None, description="When (ISO 8601, UTC).")
    config: dict[str, Any] = Field(description="The settings, as the command resolved them.")

    @classmethod
    def path_in(cls, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        return path if path.suffix in (".yaml", ".yml") else path / cls.FILE

    @classmethod
    def exists(cls, path: str | os.PathLike[str]) -> bool:
        return cls.path_in(path).is_file()

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> SavedConfig:
        """The saved settings in a folder's ``config.yaml`` (or the YAML file given)."""
        import yaml

        from cxr_regions.errors import UserError

        file = cls.path_in(path)
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UserError(f"cannot read {file}: {exc}") from None
        if not isinstance(doc, dict):
            raise UserError(f"{file} is not a saved configuration (expected a mapping)")
        if "config" not in doc:  # a bare mapping of settings
            doc = {"config": doc}
        return cls.model_validate({k: v for k, v in doc.items() if k in cls.model_fields})

    @staticmethod
    def write(config: Any, path: str | os.PathLike[str], command: str) -> Path:
        """Save a config (a dataclass or pydantic model) into a folder's ``config.yaml`` (or the
        YAML file given), with the version, command and time."""
        from cxr_regions.configfile import save_config

        return save_config(config, SavedConfig.path_in(path), command=command)

    def as_config(self, config_cls: type[C]) -> C:
        """The settings as the config dataclass they were saved from; fields this version does
        not know are left out, fields the file lacks take their defaults."""
        names = {f.name for f in dataclasses.fields(config_cls)}  # type: ignore[arg-type]
        return config_cls(**{k: v for k, v in self.config.items() if k in names})
