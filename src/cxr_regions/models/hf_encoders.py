"""Foundation encoders through ``transformers`` as a starting point: ``--init hf:REPO``.

A vision encoder (e.g. RAD-DINO, a DINOv2 ViT-B/14 trained on chest radiographs) is the backbone; our
head is a linear layer on its final class token (after the encoder's last layer norm: what the
encoders' model cards recommend for classification). With ``--freeze-backbone`` only that head
learns: a linear probe. The film is fed as the encoder's own image processor would feed it: the grey
channel repeated to three, normalised with the processor's ``image_mean``/``image_std``.

Weights are read from local files only — the Hugging Face cache or a folder given with
``--weights`` (config.json, model.safetensors, preprocessor_config.json, README.md) — as safetensors,
never with ``trust_remote_code``. A run saves the encoder's configuration in ``model.json``, so
loading a trained run needs no cache at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra
from cxr_regions.models.network import install_token_grid
from cxr_regions.models.provenance import RESEARCH_ONLY_LICENCES, Provenance, research_only_text, sha256_file

SUPPORTED_TYPES = ("dinov2", "dinov2_with_registers", "vit")
"""transformers model types with a patch grid and a class token (DINOv2 with and without registers, ViT)."""

NEEDED_FILES = ("config.json", "model.safetensors")


def transformers_lib() -> Any:
    """The transformers package, its download progress bars off (a missing [hf] extra: a UserError)."""
    require_extra("hf", "--init hf:REPO")
    # here: transformers and huggingface_hub are an optional extra (hf), checked for just above
    import transformers

    transformers.utils.logging.disable_progress_bar()
    return transformers


class EncoderClassifier(nn.Module):
    """A transformers vision encoder (``.encoder``) and a linear head (``.head``) on its final class token."""

    def __init__(self, encoder: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        config: Any = encoder.config  # a transformers PretrainedConfig
        self.head = nn.Linear(int(config.hidden_size), num_classes)
        self._interpolate = config.model_type == "vit"
        # Used only in masked-image pretraining: never trained here (and DDP would find it unused).
        self.unused_parameters = tuple(n for n, _ in self.named_parameters() if n.endswith("mask_token"))
        for name, param in self.named_parameters():
            if name in self.unused_parameters:
                param.requires_grad = False

    def features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The encoder's final class token for normalised ``B×C×H×W`` pixel values."""
        extra = {"interpolate_pos_encoding": True} if self._interpolate else {}
        return self.encoder(pixel_values=pixel_values, **extra).last_hidden_state[:, 0]

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixel_values))


def local_folder(repo: str, weights: Path | str | None = None) -> Path:
    """The local folder holding ``repo``'s files: ``weights`` or ``repo`` itself when it is a folder,
    else its snapshot in the Hugging Face cache. Missing files: a :class:`UserError` naming the file,
    the folder and the download command."""
    # here: transformers and huggingface_hub are an optional extra (hf)
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    if weights is not None or Path(repo).expanduser().is_dir():
        folder = Path(weights if weights is not None else repo).expanduser()
        where = f"folder {folder}"
        if not folder.is_dir():
            raise UserError(
                f"--weights {folder}: no such folder (expected {', '.join(NEEDED_FILES)} of {repo})"
            )
    else:
        try:
            folder = Path(snapshot_download(repo, local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError):
            raise UserError(
                f"{repo} is not on this machine: no snapshot of it (model.safetensors, config.json) in the "
                f"Hugging Face cache {constants.HF_HUB_CACHE}. Nothing is downloaded by cxr-regions: run "
                f"`hf download {repo}` (huggingface_hub's command line), or pass --weights FOLDER"
            ) from None
        where = f"the Hugging Face cache's snapshot {folder}"
    for name in NEEDED_FILES:
        if not (folder / name).is_file():
            raise UserError(
                f"{name} of {repo} is missing in {where}; run `hf download {repo}` (it fetches "
                f"{', '.join(NEEDED_FILES)}), or pass --weights FOLDER holding them"
            )
    return folder


def _check_type(config: Any, repo: str) -> None:
    if config.model_type not in SUPPORTED_TYPES:
        raise UserError(
            f"{repo} is a transformers {config.model_type!r} model; supported encoders are ViT-style models "
            f"with a patch grid and a class token: {', '.join(SUPPORTED_TYPES)} (e.g. microsoft/rad-dino)"
        )


def build_encoder(
    num_classes: int, folder: Path | None = None, config: dict[str, Any] | None = None, repo: str = ""
) -> tuple[EncoderClassifier, dict[str, Any]]:
    """The encoder with our head: with its weights from ``folder`` (safetensors, local files only),
    or randomly initialised from a saved ``config`` (a trained run's weights are loaded next).
    Returns it and its configuration as a dict."""
    tf = transformers_lib()
    if folder is not None:
        cfg = tf.AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        _check_type(cfg, repo or str(folder))
        extra = {"add_pooling_layer": False} if cfg.model_type == "vit" else {}
        encoder = tf.AutoModel.from_pretrained(
            folder, local_files_only=True, use_safetensors=True, trust_remote_code=False, **extra
        )
    else:
        assert config is not None
        values = {k: v for k, v in config.items() if k != "model_type"}
        cfg = tf.AutoConfig.for_model(config["model_type"], **values)
        _check_type(cfg, repo)
        extra = {"add_pooling_layer": False} if cfg.model_type == "vit" else {}
        encoder = tf.AutoModel.from_config(cfg, **extra)
    net = EncoderClassifier(encoder, num_classes).train()  # from_pretrained leaves it in eval mode
    install_token_grid(
        net,
        encoder.encoder.layer[-1],
        _side(cfg.patch_size),
        1 + int(getattr(cfg, "num_register_tokens", 0) or 0),
    )
    return net, encoder.config.to_dict()


def _side(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def processor_input(folder: Path) -> tuple[list[float], list[float], int | None]:
    """The encoder's own image processor's normalisation (per channel) and the film side it feeds."""
    tf = transformers_lib()
    try:
        processor = tf.AutoImageProcessor.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError) as exc:
        raise UserError(
            f"no image processor for the encoder in {folder} (preprocessor_config.json): {exc}. "
            "It says how films are normalised; fetch it with the model"
        ) from None
    mean = [float(v) for v in processor.image_mean]
    std = [float(v) for v in processor.image_std]
    crop = getattr(processor, "crop_size", None) if getattr(processor, "do_center_crop", False) else None
    size = crop or getattr(processor, "size", None)
    side = None
    for key in ("height", "shortest_edge"):
        value = getattr(size, key, None) if size is not None else None
        if value is None and isinstance(size, dict):
            value = size.get(key)
        if value:
            side = int(value)
            break
    return mean, std, side


def provenance(repo: str, folder: Path) -> Provenance:
    """The encoder's provenance from its local files: the model card's licence and intended use."""
    tf = transformers_lib()
    licence, intended, research_only = None, None, False
    card_path = folder / "README.md"
    if card_path.is_file():
        # here: transformers and huggingface_hub are an optional extra (hf)
        from huggingface_hub import ModelCard

        card = ModelCard.load(card_path)
        data = card.data.to_dict() if card.data else {}
        licence = data.get("license_name") or data.get("license")
        if data.get("license") == "other" and data.get("license_name"):
            licence = str(data["license_name"])
        intended = research_only_text(card.text or "")
        research_only = intended is not None or str(licence or "").lower() in RESEARCH_ONLY_LICENCES
    weights = folder / "model.safetensors"
    revision = folder.name if folder.parent.name == "snapshots" else None
    return Provenance(
        library="transformers",
        library_version=tf.__version__,
        weights=f"{repo}@{revision}" if revision else repo,
        file=str(weights),
        sha256=sha256_file(weights),
        url=None if Path(repo).expanduser().is_dir() else f"https://huggingface.co/{repo}",
        licence=str(licence) if licence else None,
        intended_use=intended or ("not stated in the model card" if card_path.is_file() else None),
        research_only=research_only,
    )
