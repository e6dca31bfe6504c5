"""Augmentation of square uint8 films: random crop + rotation within ±15° + mild brightness/contrast.

Never a flip: the heart is on the patient's left, and a mirrored film is a different anatomy.
Each random view is one affine map (crop offset and rotation about the crop's centre), applied in one
``cv2.warpAffine`` per film in data-loader workers, or in one ``grid_sample`` per batch on the GPU. Both
use the same parameter distributions; areas rotated in from outside the film are black (no mirrored
border fill). Validation and test films get a plain centre crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class AugmentParams:
    """How a training view is drawn: ``crop`` side, rotation range (degrees), brightness/contrast ranges.

    Brightness is an additive shift in [-brightness, brightness] of the full range; contrast scales
    around the view's mean by a factor in [1 - contrast, 1 + contrast].
    """

    crop: int
    max_rotation: float = 15.0
    brightness: float = 0.1
    contrast: float = 0.1

    def __post_init__(self) -> None:
        if self.crop < 1:
            raise ValueError(f"crop size must be positive, got {self.crop}")
        if not 0 <= self.max_rotation <= 15:
            raise ValueError(f"rotation must be within ±15° (the method's limit), got {self.max_rotation}")
        if not (0 <= self.brightness < 0.5 and 0 <= self.contrast < 0.5):
            raise ValueError("brightness and contrast ranges must be mild (in [0, 0.5))")


def _check_crop(size: int, crop: int) -> None:
    if crop > size:
        raise ValueError(f"crop {crop} is larger than the packed image size {size}")


def crop_rotation_matrix(
    size: int, crop: int, offset: tuple[int, int], angle: float, out: int | None = None
) -> np.ndarray:
    """The 2×3 ``cv2.warpAffine`` matrix that cuts the ``crop`` window at ``offset`` (x, y) from a
    ``size``-square film, rotated by ``angle`` degrees about the window's centre, into an ``out``-square
    (default ``crop``: no scaling). With angle 0 and no scaling it is an exact integer crop.
    """
    out = crop if out is None else out
    ox, oy = offset
    centre = (ox + (crop - 1) / 2.0, oy + (crop - 1) / 2.0)
    matrix: np.ndarray = cv2.getRotationMatrix2D(centre, float(angle), out / crop)
    matrix[:, 2] += (out - 1) / 2.0 - np.asarray(centre)
    return matrix


_TO_UNIT = np.arange(256, dtype=np.float32) / 255.0


def random_view(
    img: np.ndarray,
    params: AugmentParams,
    rng: np.random.Generator,
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
    as_uint8: bool = False,
) -> np.ndarray:
    """One random training view of a uint8 S×S film: float32 crop×crop in [0, 1] (or, ``as_uint8``,
    uint8 0..255: a quarter of the bytes to hand between processes).

    ``out`` (crop×crop, of the output type) and ``scratch`` (uint8 crop×crop) let a caller fill a
    batch in place.
    """
    size = img.shape[-1]
    _check_crop(size, params.crop)
    u = rng.random(5)
    span = size - params.crop + 1
    offset = (min(int(u[0] * span), span - 1), min(int(u[1] * span), span - 1))
    angle = params.max_rotation * (2 * u[2] - 1)
    matrix = crop_rotation_matrix(size, params.crop, offset, angle)
    view = cv2.warpAffine(
        img,
        matrix,
        (params.crop, params.crop),
        dst=scratch,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    contrast = 1 + params.contrast * (2 * u[3] - 1)
    shift = params.brightness * (2 * u[4] - 1)
    mean = cv2.mean(view)[0] / 255.0
    # brightness/contrast and the conversion to [0, 1] float in one 256-entry lookup table
    table = _TO_UNIT * np.float32(contrast) + np.float32(shift + mean * (1 - contrast))
    np.clip(table, 0.0, 1.0, out=table)
    if as_uint8:
        table = np.rint(table * 255).astype(np.uint8)
    return cv2.LUT(view, table, dst=out)


def center_view(img: np.ndarray, crop: int, out: np.ndarray | None = None) -> np.ndarray:
    """The centre crop×crop window of a uint8 S×S film, as float32 in [0, 1] (into ``out`` if given)."""
    size = img.shape[-1]
    _check_crop(size, crop)
    start = (size - crop) // 2
    return cv2.LUT(img[start : start + crop, start : start + crop], _TO_UNIT, dst=out)


def offline_variant(
    img: np.ndarray, rng: np.random.Generator, crop_fraction: float = 224 / 256, max_rotation: float = 15.0
) -> np.ndarray:
    """The paper protocol's offline augmentation: a random crop + rotation, resized back to S×S uint8."""
    size = img.shape[-1]
    crop = max(1, round(size * crop_fraction))
    x, y = (int(v) for v in rng.integers(0, size - crop + 1, size=2))
    angle = rng.uniform(-max_rotation, max_rotation)
    matrix = crop_rotation_matrix(size, crop, (x, y), angle, out=size)
    return cv2.warpAffine(
        img, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def _as_float(x: torch.Tensor) -> torch.Tensor:
    import torch

    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def augment_batch(
    x: torch.Tensor, params: AugmentParams, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random training views of a batch, on the batch's device: uint8 (or [0, 1] float) B×1×S×S ->
    float32 B×1×crop×crop in [0, 1]. Same distributions as :func:`random_view`; one ``grid_sample``.
    """
    import torch
    import torch.nn.functional as F

    batch, size = x.shape[0], x.shape[-1]
    _check_crop(size, params.crop)
    device = x.device
    gen_device = generator.device if generator is not None else device

    def uniform(low: float, high: float) -> torch.Tensor:
        r = torch.rand(batch, generator=generator, device=gen_device).to(device)
        return low + (high - low) * r

    offsets = torch.randint(0, size - params.crop + 1, (2, batch), generator=generator, device=gen_device)
    offsets = offsets.to(device=device, dtype=torch.float32)
    angle = torch.deg2rad(uniform(-params.max_rotation, params.max_rotation))
    scale = params.crop / size
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    # cv2's positive angle turns the content counter-clockwise on screen; the sampling grid is its inverse.
    theta = torch.stack(
        [
            torch.stack([cos, -sin, (2 * offsets[0] + params.crop - size) / size], dim=1),
            torch.stack([sin, cos, (2 * offsets[1] + params.crop - size) / size], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, [batch, 1, params.crop, params.crop], align_corners=False)
    view = F.grid_sample(_as_float(x), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    contrast = uniform(1 - params.contrast, 1 + params.contrast).view(-1, 1, 1, 1)
    shift = uniform(-params.brightness, params.brightness).view(-1, 1, 1, 1)
    mean = view.mean(dim=(1, 2, 3), keepdim=True)
    return (view * contrast + (shift + mean * (1 - contrast))).clamp_(0.0, 1.0)


def center_batch(x: torch.Tensor, crop: int) -> torch.Tensor:
    """Centre crop of a batch: uint8 (or float) B×1×S×S -> float32 B×1×crop×crop in [0, 1]."""
    size = x.shape[-1]
    _check_crop(size, crop)
    start = (size - crop) // 2
    return _as_float(x[..., start : start + crop, start : start + crop])
