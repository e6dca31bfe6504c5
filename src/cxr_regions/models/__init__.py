"""Stage models: the paper's four torchvision networks (and any other by name) with one logit per
label and one-channel input; the architecture registry; pretrained weights; heatmap target layers."""

from cxr_regions.models.factory import (
    ARCHS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    SCRATCH_MEAN,
    SCRATCH_STD,
    available_archs,
    create_model,
    model_from_spec,
    parse_init,
)
from cxr_regions.models.network import ModelSpec, RegionNet
from cxr_regions.models.registry import (
    MIN_INPUT_SIZES,
    ArchEntry,
    arch_entry,
    input_size,
    min_input_size,
    register_arch,
)
from cxr_regions.models.targets import feature_map_sides, gradcam_target_layer, target_layer
from cxr_regions.models.weights import INFO_FILE, WEIGHTS_FILE, imagenet_weights_file, resolve_checkpoint

__all__ = [
    "ARCHS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "INFO_FILE",
    "MIN_INPUT_SIZES",
    "SCRATCH_MEAN",
    "SCRATCH_STD",
    "WEIGHTS_FILE",
    "ArchEntry",
    "ModelSpec",
    "RegionNet",
    "arch_entry",
    "available_archs",
    "create_model",
    "feature_map_sides",
    "gradcam_target_layer",
    "imagenet_weights_file",
    "input_size",
    "min_input_size",
    "model_from_spec",
    "parse_init",
    "register_arch",
    "resolve_checkpoint",
    "target_layer",
]
