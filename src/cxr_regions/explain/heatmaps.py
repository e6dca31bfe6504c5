"""Class-activation heatmaps per region with pytorch-grad-cam, at the film's own size.

Recipe: the film is fitted into a square frame the way the dataset packs films
(``cxr_regions.ingest.fit_square``: resized, then padded to a square), so the network sees
anatomy at the scale it was trained on;
the whole frame goes through the network once per region (as one batch); each region's CAM is
cropped back out of the padding and resized to the film's height and width, with values in [0, 1].
No flip or other augmentation is applied: a mirrored chest is a different anatomy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytorch_grad_cam
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from cxr_regions.errors import UserError
from cxr_regions.ingest import Placement, fit_square_placed
from cxr_regions.models import target_layer as deepest_fine_enough

#: The CAM methods offered by ``explain --method`` (pytorch-grad-cam class names).
METHODS: dict[str, str] = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigengradcam": "EigenGradCAM",
    "scorecam": "ScoreCAM",
}


Frame = Placement
"""Where a film sits inside the square frame the network sees (``cxr_regions.ingest.Placement``)."""


@dataclass
class FilmHeatmaps:
    """A film's heatmaps (region key -> float32 H×W in [0, 1]) and the model's probabilities."""

    heatmaps: dict[str, np.ndarray]
    probabilities: dict[str, float]


def cam_class(method: str) -> type:
    """The pytorch-grad-cam class for a method name, with an error listing the valid names."""
    try:
        return getattr(pytorch_grad_cam, METHODS[method.lower()])
    except KeyError:
        raise UserError(f"unknown heatmap method {method!r}; choose one of {', '.join(METHODS)}") from None


MIN_MAP_SIDE = 4
"""Smallest feature map (cells per side) a heatmap is read from. At the paper's input sizes every
architecture's last stage is 7×7 or finer and is used; on small films (the 64-128 px demo and
tests) it shrinks to 2×2, too coarse to tell one region from another, so the deepest earlier stage
that has at least this many cells is used instead."""

FINE_MAP_SIDE = {"layercam": 7}
"""Methods that stay reliable on shallower, finer layers (LayerCAM weighs each location by its own
gradient; Jiang et al., IEEE TIP 2021) read the deepest map of at least this many cells. On the
demo's ResNet-18 (64-px phantoms), Grad-CAM's heart heatmap points at the heart far less often from
the 7×7 map than from the 4×4 one, while LayerCAM's does as well from both and finds the aorta only
from the 7×7 map: ``benchmarks/heatmap_localisation.py DEMO --map-sides 4,7`` measures it."""


def min_map_side(method: str) -> int:
    """The smallest feature map a method's heatmap is read from (see ``MIN_MAP_SIDE``)."""
    return FINE_MAP_SIDE.get(method.lower(), MIN_MAP_SIDE)


def target_layer(model: nn.Module, frame_size: int = 224, min_side: int = MIN_MAP_SIDE) -> nn.Module:
    """The layer whose activations the CAM weighs, for films framed at ``frame_size``: the deepest of
    the architecture's heatmap layers (``cxr_regions.models.target_layer``, from the model registry)
    whose map has at least ``min_side`` cells per side."""
    return deepest_fine_enough(model, frame_size, min_side)


def to_unit_float(film: np.ndarray) -> np.ndarray:
    """A 2-D film as float32 in [0, 1] (uint8 / uint16 scaled by their range, floats clipped)."""
    if film.ndim != 2:
        raise UserError(f"a film must be a 2-D grayscale image, got shape {film.shape}")
    if np.issubdtype(film.dtype, np.integer):
        return film.astype(np.float32) / float(np.iinfo(film.dtype).max)
    return np.clip(film.astype(np.float32), 0.0, 1.0)


def fit_frame(film: np.ndarray, size: int) -> tuple[np.ndarray, Frame]:
    """A film (float in [0, 1]) fitted into the size×size frame as ``build`` packs films
    (``cxr_regions.ingest.fit_square``: resized, then padded with black), and where it lies."""
    framed, frame = fit_square_placed(film.astype(np.float32, copy=False), size)
    return np.clip(framed, 0.0, 1.0), frame


def unframe(cam: np.ndarray, frame: Frame, shape: tuple[int, int]) -> np.ndarray:
    """Cut a frame-sized CAM back to the film's area and resize it to the film's shape, in [0, 1]."""
    return np.clip(frame.unfit(cam.astype(np.float32), shape), 0.0, 1.0)


def compute_heatmaps(
    model: nn.Module,
    film: np.ndarray,
    label_names: Sequence[str],
    regions: Sequence[str] | None = None,
    method: str = "gradcam",
    frame_size: int = 256,
    layer: nn.Module | None = None,
    crop: int | None = None,
) -> FilmHeatmaps:
    """Heatmaps of ``regions`` (default: every label) for one film, each at the film's size in [0, 1].

    ``model`` takes float B×1×S×S in [0, 1] and returns logits in ``label_names`` order;
    ``film`` is a 2-D grayscale array (uint8, uint16 or float in [0, 1]). ``crop``: the model sees
    the centre ``crop``×``crop`` window of the framed film, as ``evaluate`` does (so the
    probabilities are the same); the heatmap is 0 in the border the window leaves out.
    """
    names = list(label_names)
    wanted = list(regions) if regions else names
    missing = [r for r in wanted if r not in names]
    if missing:
        raise UserError(f"the model has no output for {', '.join(missing)}; it predicts {', '.join(names)}")
    unit = to_unit_float(film)
    framed, frame = fit_frame(unit, frame_size)
    side = min(crop or frame_size, frame_size)
    start = (frame_size - side) // 2
    window = np.ascontiguousarray(framed[start : start + side, start : start + side])
    device = next(model.parameters()).device
    batch = torch.from_numpy(window)[None, None].repeat(len(wanted), 1, 1, 1).to(device)
    targets = [ClassifierOutputTarget(names.index(r)) for r in wanted]
    model.eval()
    chosen = layer or target_layer(model, side, min_map_side(method))
    cam = cam_class(method)(model=model, target_layers=[chosen])
    try:
        with torch.inference_mode(False), torch.enable_grad():
            maps = cam(input_tensor=batch, targets=targets)
        logits = cam.outputs[0].detach().float().cpu()
    finally:
        cam.activations_and_grads.release()
    probs = torch.sigmoid(logits).numpy()
    canvas = np.zeros((len(wanted), frame_size, frame_size), dtype=np.float32)
    canvas[:, start : start + side, start : start + side] = maps
    return FilmHeatmaps(
        heatmaps={r: unframe(m, frame, unit.shape) for r, m in zip(wanted, canvas, strict=True)},
        probabilities={n: float(p) for n, p in zip(names, probs, strict=True)},
    )
