"""The shareable artefact of a run: ``model.safetensors`` (weights) + ``model.json`` (everything else).

It is what ``evaluate``, ``explain`` and ``--init chestx14:PATH`` read. Loading it never unpickles
anything: the weights are safetensors, the description is JSON.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxr_regions import __version__
from cxr_regions.contracts.run_folder import WEIGHTS_FILE, ModelInfo
from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path
from cxr_regions.models import ModelSpec, Provenance, RegionNet, model_from_spec, resolve_checkpoint

FORMAT = ModelInfo.LEADING["format"]


@dataclass
class LoadedRun:
    """A trained model ready for inference, and what ``model.json`` says about it."""

    model: RegionNet
    info: ModelInfo
    label_names: list[str]
    input_size: int
    path: Path

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec


def save_model(
    model: RegionNet, out_dir: Path | str, label_names: list[str] | tuple[str, ...], **extra: Any
) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``out_dir``; returns the weights path.

    ``extra`` (dataset id and path, best epoch, validation AUCs...: fields of
    :class:`~cxr_regions.contracts.ModelInfo`) goes into ``model.json``.
    """
    from safetensors.torch import save_file

    if len(label_names) != model.spec.num_classes:
        raise ValueError(f"{len(label_names)} label names for {model.spec.num_classes} logits")
    out_dir = Path(out_dir)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights_path = out_dir / WEIGHTS_FILE
    with atomic_path(weights_path) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT, "arch": model.spec.arch})
    info = ModelInfo(
        **model.spec.to_dict(),
        label_names=list(label_names),
        init_report=model.init_report,
        provenance=model.provenance or None,
        cxr_regions_version=__version__,
        written_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    )
    info.write(out_dir)
    return weights_path


def load_run(run_dir: Path | str) -> LoadedRun:
    """Load a run folder (or a path to its ``model.safetensors``) for inference, in eval mode, on CPU."""
    from safetensors.torch import load_file

    weights_path, info_path = resolve_checkpoint(run_dir)
    info = ModelInfo.read(info_path)
    spec = ModelSpec.from_info(info)
    model = model_from_spec(spec, empty=True)
    model.init_report = dict(info.init_report)
    model.provenance = info.provenance.to_dict() if info.provenance else {}
    try:
        model.load_state_dict(load_file(str(weights_path)), strict=True, assign=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:1500]
        raise UserError(f"{weights_path} does not match {info_path}: {detail}") from None
    unloaded = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if unloaded:
        raise UserError(
            f"{weights_path} leaves {len(unloaded)} tensors of {spec.arch} empty, e.g. {unloaded[:3]}"
        )
    model.eval()
    return LoadedRun(
        model=model,
        info=info,
        label_names=list(info.label_names),
        input_size=int(spec.input_size),
        path=weights_path.parent,
    )


def read_provenance(run_dir: Path | str) -> Provenance:
    """Where a run's starting weights came from (``model.json``'s ``provenance``): library, name,
    file hash, licence, intended use, and whether they are for research only. For the pages of
    ``serve`` and the model card; reading it loads no weights."""
    _, info_path = resolve_checkpoint(run_dir)
    return ModelInfo.read(info_path).weights_provenance()
