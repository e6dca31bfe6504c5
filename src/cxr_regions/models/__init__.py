"""Model factory: the paper's four torchvision networks with one logit per label and one-channel input."""

from cxr_regions.models.factory import (
    ARCHS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    MIN_INPUT_SIZES,
    SCRATCH_MEAN,
    SCRATCH_STD,
    ModelSpec,
    RegionNet,
    available_archs,
    create_model,
    gradcam_target_layer,
    input_size,
    model_from_spec,
    parse_init,
)
from cxr_regions.models.weights import imagenet_weights_file

__all__ = [
    "ARCHS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MIN_INPUT_SIZES",
    "SCRATCH_MEAN",
    "SCRATCH_STD",
    "ModelSpec",
    "RegionNet",
    "available_archs",
    "create_model",
    "gradcam_target_layer",
    "imagenet_weights_file",
    "input_size",
    "model_from_spec",
    "parse_init",
]
