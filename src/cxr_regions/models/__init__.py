"""Stage models: the paper's four torchvision networks (and any other by name), timm backbones and
transformers encoders, with one logit per label and one-channel input; the architecture registry;
pretrained weights (ImageNet, ChestX-ray14 pretraining, torchxrayvision, Hugging Face) and their
provenance; heatmap target layers."""

from cxr_regions.models.factory import (
    ARCHS,
    available_archs,
    check_arch,
    create_model,
    default_arch,
    model_from_spec,
    parse_init,
    require_start_extras,
)
from cxr_regions.models.network import ModelSpec, RegionNet
from cxr_regions.models.provenance import Provenance
from cxr_regions.models.registry import (
    MIN_INPUT_SIZES,
    ArchEntry,
    arch_entry,
    input_size,
    min_input_size,
    register_arch,
)
from cxr_regions.models.starts import IMAGENET_MEAN, IMAGENET_STD, SCRATCH_MEAN, SCRATCH_STD
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
    "Provenance",
    "RegionNet",
    "arch_entry",
    "available_archs",
    "check_arch",
    "create_model",
    "default_arch",
    "feature_map_sides",
    "gradcam_target_layer",
    "imagenet_weights_file",
    "input_size",
    "min_input_size",
    "model_from_spec",
    "parse_init",
    "register_arch",
    "require_start_extras",
    "resolve_checkpoint",
    "target_layer",
]
