"""Class-activation heatmaps per region with pytorch-grad-cam, at the film's own size.

Recipe: the film is fitted into a square frame the way the dataset packs films (padded to a
square, resized to the pack size), so the network sees anatomy at the scale it was trained on;
the whole frame goes through the network once per region (as one batch); each region's CAM is
cropped back out of the padding and resized to the film's height and width, with values in [0, 1].
No flip or other augmentation is applied: a mirrored chest is a different anatomy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cxr_regions.errors import UserError

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


@dataclass(frozen=True)
class Frame:
    """Where a film sits inside the square frame the network sees."""

    size: int
    top: int
    left: int
    height: int
    width: int


@dataclass
class FilmHeatmaps:
    """A film's heatmaps (region key -> float32 H×W in [0, 1]) and the model's probabilities."""

    heatmaps: dict[str, np.ndarray]
    probabilities: dict[str, float]


def cam_class(method: str) -> type:
    """The pytorch-grad-cam class for a method name, with an error listing the valid names."""
    import pytorch_grad_cam

    try:
        return getattr(pytorch_grad_cam, METHODS[method.lower()])
    except KeyError:
        raise UserError(f"unknown heatmap method {method!r}; choose one of {', '.join(METHODS)}") from None


def target_layer(model: nn.Module) -> nn.Module:
    """The layer whose activations the CAM weighs: the architecture's last spatial feature block.

    Uses ``cxr_regions.models.gradcam_target_layer`` (which knows each architecture); for any other
    network, the last module to produce a spatial (B×C×H×W, H,W > 1) output in a forward pass.
    """
    try:
        from cxr_regions.models import gradcam_target_layer
    except ImportError:
        gradcam_target_layer = None
    if gradcam_target_layer is not None:
        try:
            return gradcam_target_layer(model)
        except (KeyError, ValueError, AttributeError, TypeError):
            pass
    return last_spatial_module(model)


def last_spatial_module(model: nn.Module, size: int = 224) -> nn.Module:
    """The last module (in order of completion) whose output is a feature map larger than 1×1."""
    seen: list[nn.Module] = []

    def hook(module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and min(output.shape[-2:]) > 1:
            seen.append(module)

    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    if not seen:
        raise ValueError(f"{type(model).__name__} has no spatial feature map for a heatmap")
    return seen[-1]


def to_unit_float(film: np.ndarray) -> np.ndarray:
    """A 2-D film as float32 in [0, 1] (uint8 / uint16 scaled by their range, floats clipped)."""
    if film.ndim != 2:
        raise UserError(f"a film must be a 2-D grayscale image, got shape {film.shape}")
    if np.issubdtype(film.dtype, np.integer):
        return film.astype(np.float32) / float(np.iinfo(film.dtype).max)
    return np.clip(film.astype(np.float32), 0.0, 1.0)


def fit_frame(film: np.ndarray, size: int) -> tuple[np.ndarray, Frame]:
    """Pad a film (float in [0, 1]) to a centred square with black, then resize it to ``size``."""
    import cv2

    h, w = film.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    square = np.zeros((side, side), dtype=np.float32)
    square[top : top + h, left : left + w] = film
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    framed = cv2.resize(square, (size, size), interpolation=interp)
    scale = size / side
    frame = Frame(size, round(top * scale), round(left * scale), round(h * scale), round(w * scale))
    return np.clip(framed, 0.0, 1.0), frame


def unframe(cam: np.ndarray, frame: Frame, shape: tuple[int, int]) -> np.ndarray:
    """Cut a frame-sized CAM back to the film's area and resize it to the film's shape, in [0, 1]."""
    import cv2

    inner = cam[frame.top : frame.top + max(frame.height, 1), frame.left : frame.left + max(frame.width, 1)]
    resized = cv2.resize(inner.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0)


def compute_heatmaps(
    model: nn.Module,
    film: np.ndarray,
    label_names: Sequence[str],
    regions: Sequence[str] | None = None,
    method: str = "gradcam",
    frame_size: int = 256,
    layer: nn.Module | None = None,
) -> FilmHeatmaps:
    """Heatmaps of ``regions`` (default: every label) for one film, each at the film's size in [0, 1].

    ``model`` takes float B×1×S×S in [0, 1] and returns logits in ``label_names`` order;
    ``film`` is a 2-D grayscale array (uint8, uint16 or float in [0, 1]).
    """
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    names = list(label_names)
    wanted = list(regions) if regions else names
    missing = [r for r in wanted if r not in names]
    if missing:
        raise UserError(f"the model has no output for {', '.join(missing)}; it predicts {', '.join(names)}")
    unit = to_unit_float(film)
    framed, frame = fit_frame(unit, frame_size)
    device = next(model.parameters()).device
    batch = torch.from_numpy(framed)[None, None].repeat(len(wanted), 1, 1, 1).to(device)
    targets = [ClassifierOutputTarget(names.index(r)) for r in wanted]
    model.eval()
    cam = cam_class(method)(model=model, target_layers=[layer or target_layer(model)])
    try:
        with torch.inference_mode(False), torch.enable_grad():
            maps = cam(input_tensor=batch, targets=targets)
        logits = cam.outputs[0].detach().float().cpu()
    finally:
        cam.activations_and_grads.release()
    probs = torch.sigmoid(logits).numpy()
    return FilmHeatmaps(
        heatmaps={r: unframe(m, frame, unit.shape) for r, m in zip(wanted, maps, strict=True)},
        probabilities={n: float(p) for n, p in zip(names, probs, strict=True)},
    )
