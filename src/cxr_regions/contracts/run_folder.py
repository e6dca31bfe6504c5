"""A run folder's shareable description: ``model.json`` (:class:`ModelInfo`, beside the weights
``model.safetensors``) written by ``train`` and ``pretrain``, read by evaluate, explain, the reading
room and ``--init chestx14:RUN``, with the starting weights' :class:`Provenance` and the
:class:`FrozenLayers` of a linear probe; and the ``config.yaml`` every stage saves beside its
outputs (:class:`SavedConfig`), read back where a later command must match an earlier one."""

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


class Provenance(Record):
    """Where a model's starting weights came from (``model.json``'s ``provenance``): a fact about
    the model, shown by the model card and the reading room. A model trained from research-only
    weights stays research-only, also after a ``chestx14:`` hop (``based_on``)."""

    library: str = Field(
        description="Who published the weights: `torchvision`, `timm`, `torchxrayvision`, `transformers`, "
        "`cxr-regions` (a pretraining run, or random initialisation), `unknown` (not recorded)."
    )
    weights: str = Field(description="Their published name: weight enum, model tag or repository.")
    library_version: str | None = Field(None, description="The publishing library's version, where known.")
    file: str | None = Field(None, description="The weights file read.")
    sha256: str | None = Field(None, description="SHA-256 of `file` (hex).")
    converted_file: str | None = Field(
        None, description="The safetensors file made once from a pickled `file` (runs read only this)."
    )
    converted_sha256: str | None = Field(None, description="SHA-256 of `converted_file` (hex).")
    url: str | None = Field(None, description="Where the weights are published.")
    licence: str | None = Field(None, description="Their licence as published (absent: not stated).")
    intended_use: str | None = Field(None, description="Their intended use as published.")
    research_only: bool = Field(
        False, description="The publisher restricts the weights to research (no clinical use)."
    )
    based_on: Provenance | None = Field(
        None, description="The provenance of the weights a `chestx14:` checkpoint itself started from."
    )

    def to_dict(self) -> dict[str, Any]:
        """As written into ``model.json`` (fields that are not set left out)."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Provenance | None) -> Provenance:
        """From ``model.json`` (keys this version does not know ignored); a run written before
        provenance was recorded reads as unknown."""
        if isinstance(data, Provenance):
            return data
        if not data:
            return cls(library="unknown", weights="not recorded")
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})

    def summary(self) -> str:
        """One line for pages and cards: library, weights, licence, and the research-only note."""
        version = f" {self.library_version}" if self.library_version else ""
        parts = [f"{self.weights} ({self.library}{version})"]
        if self.sha256:
            parts.append(f"SHA-256 {self.sha256[:12]}…")
        parts.append(f"licence: {self.licence or 'not stated'}")
        if self.research_only:
            parts.append("RESEARCH USE ONLY as published")
        return "; ".join(parts)


class FrozenLayers(Record):
    """``model.json``'s ``frozen``: what ``--freeze-backbone`` kept from learning."""

    layers: str = Field(
        description="Which layers were frozen (the backbone: every layer but the classifier)."
    )
    unfreeze_after: int | None = Field(
        None,
        description="The epoch from which the backbone was fine-tuned too (`--unfreeze-after`), or null.",
    )
    note: str = Field(
        description="In words: `linear probe`, or a linear probe then fine-tuning from an epoch."
    )


class ModelInfo(Document):
    """``model.json``: everything a trained model needs besides its weights, and where it came from."""

    FILE = MODEL_JSON
    WRITER = "cxr-regions train"
    VERSION_KEY = "format_version"
    LEADING: ClassVar[Mapping[str, Any]] = {"format": "cxr-regions/model"}

    arch: str = Field(
        description="The architecture: a torchvision (or registered) name, `timm:NAME` or `hf:REPO`."
    )
    num_classes: int = Field(description="Logits: one per label.")
    input_size: int = Field(description="The crop side the network sees.")
    mean: float | list[float] = Field(
        description="Normalisation mean (the film in [0, 1]): one value, or one per input channel."
    )
    std: float | list[float] = Field(
        description="Normalisation standard deviation: one value, or one per input channel."
    )
    init: str = Field(
        "scratch",
        description="`scratch`, `imagenet`, `chestx14`, `txv` (torchxrayvision) or `hf` (transformers).",
    )
    init_source: str | None = Field(
        None,
        description="What it started from, where anything: a weights file, `txv:NAME`, an encoder folder.",
    )
    head: str = Field("", description="Module name of the classifier layer.")
    first_conv: str = Field(
        "", description="Module name of the first convolution (one input channel); empty for `hf:` encoders."
    )
    library: str = Field(
        "torchvision",
        description="The library that builds the network: `torchvision`, `timm` or `transformers` "
        "(files written before starting points: torchvision).",
    )
    in_channels: int = Field(
        1, description="Channels the network takes: 1, or 3 for `hf:` encoders (the grey film repeated)."
    )
    native_size: int | None = Field(
        None, description="The film side the starting weights were made for (absent: any)."
    )
    resize_to: int | None = Field(
        None,
        description="The side the model resizes each crop to before the network (`--upsample`; "
        "absent: none).",
    )
    backbone_config: dict[str, Any] | None = Field(
        None,
        description="The transformers configuration of an `hf:` encoder (so that loading the run needs "
        "no hub cache); absent for the other libraries.",
    )
    label_names: list[str] = Field(description="The labels, in logit order.")
    init_report: dict[str, Any] = Field(
        default_factory=dict,
        description="How the start weights were loaded: `source`, tensors `loaded`, `replaced_head`, "
        "`missing` and `unexpected` keys.",
    )
    provenance: Provenance | None = Field(
        None,
        description="Where the starting weights came from (absent in runs written before it was "
        "recorded: read as unknown).",
    )
    frozen: FrozenLayers | None = Field(
        None, description="What `--freeze-backbone` froze (absent: every layer learned)."
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
        "library",
        "in_channels",
        "native_size",
        "resize_to",
        "backbone_config",
    )
    """The fields that describe the network itself (``cxr_regions.models.ModelSpec``)."""

    def weights_provenance(self) -> Provenance:
        """``provenance``, or an unknown one for a run written before it was recorded."""
        return Provenance.from_dict(self.provenance)

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
