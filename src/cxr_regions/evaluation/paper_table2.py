"""The paper's Table 2 (Huang, Fang & Gu 2020, §4): test ROC AUC per region and their mean.

Rows are initialisation blocks × networks; each tuple lists the regions in ``REGION_KEYS`` order
(the paper's column order: thorax, lungs, aorta, heart, diaphragm) followed by the mean.
"""

from __future__ import annotations

from typing import Literal

from cxr_regions.regions import REGION_KEYS

Init = Literal["scratch", "imagenet", "chestx14"]

COLUMNS: tuple[str, ...] = (*REGION_KEYS, "mean")
INITS: tuple[Init, ...] = ("scratch", "imagenet", "chestx14")
INIT_NAMES: dict[str, str] = {"scratch": "from scratch", "imagenet": "ImageNet", "chestx14": "ChestX-ray14"}
ARCH_NAMES: dict[str, str] = {
    "alexnet": "AlexNet",
    "vgg16": "VGG16",
    "resnet34": "ResNet34",
    "densenet121": "DenseNet121",
}

_TABLE2: dict[str, dict[str, tuple[float, ...]]] = {
    "scratch": {
        "alexnet": (0.733, 0.698, 0.812, 0.791, 0.788, 0.764),
        "vgg16": (0.748, 0.739, 0.832, 0.821, 0.812, 0.790),
        "resnet34": (0.781, 0.763, 0.842, 0.803, 0.813, 0.800),
        "densenet121": (0.745, 0.795, 0.839, 0.844, 0.822, 0.809),
    },
    "imagenet": {
        "alexnet": (0.772, 0.715, 0.895, 0.847, 0.849, 0.816),
        "vgg16": (0.801, 0.776, 0.909, 0.813, 0.804, 0.820),
        "resnet34": (0.741, 0.813, 0.845, 0.865, 0.831, 0.816),
        "densenet121": (0.746, 0.765, 0.842, 0.859, 0.826, 0.808),
    },
    "chestx14": {
        "alexnet": (0.784, 0.731, 0.887, 0.811, 0.837, 0.810),
        "vgg16": (0.799, 0.762, 0.912, 0.824, 0.817, 0.822),
        "resnet34": (0.751, 0.777, 0.920, 0.875, 0.846, 0.834),
        "densenet121": (0.804, 0.826, 0.898, 0.867, 0.826, 0.844),
    },
}


def paper_auc(init: str, arch: str) -> dict[str, float] | None:
    """The published AUCs of one cell by column, or None where the paper has no such cell."""
    row = _TABLE2.get(init, {}).get(arch)
    return None if row is None else dict(zip(COLUMNS, row, strict=True))


def arch_name(arch: str) -> str:
    """The paper's spelling of a network (the key itself for networks the paper did not use)."""
    return ARCH_NAMES.get(arch, arch)


def init_name(init: str) -> str:
    """The paper's name of an initialisation block."""
    return INIT_NAMES.get(init, init)
