"""Stage 4, build: labels.csv + images.csv -> a split, packed, training-ready dataset.

Public API (names load on first use, so building and reading a dataset does not import torch):

- :func:`build_dataset`, :func:`build_from_arrays`, :class:`BuildConfig` — write a dataset folder.
- :func:`pack_images` — image files -> one uint8 N×S×S ``.npy`` (resumable, parallel).
- :func:`open_dataset` -> :class:`PackedData` — read a dataset folder (manifest, memmap, meta).
- :class:`PackedDataset`, :class:`RegionDataModule` — PyTorch / Lightning access (imports torch).
- :func:`leak_check` — count evaluation films sharing a source film or patient with training.
- :func:`split_table` — films, patients and abnormal films per split (Table 1 itself:
  :func:`cxr_regions.label.table1`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "BuildConfig": "build_config",
    "build_dataset": "folder",
    "build_from_arrays": "folder",
    "pack_images": "pack",
    "open_dataset": "packed",
    "PackedData": "packed",
    "PackedDataset": "torch_data",
    "RegionDataModule": "torch_data",
    "AugmentParams": "augment",
    "leak_check": "paper_protocol",
    "split_table": "split_stats",
}

__all__ = [
    "AugmentParams",
    "BuildConfig",
    "PackedData",
    "PackedDataset",
    "RegionDataModule",
    "build_dataset",
    "build_from_arrays",
    "leak_check",
    "open_dataset",
    "pack_images",
    "split_table",
]

if TYPE_CHECKING:
    from cxr_regions.build.augment import AugmentParams
    from cxr_regions.build.build_config import BuildConfig
    from cxr_regions.build.folder import build_dataset, build_from_arrays
    from cxr_regions.build.pack import pack_images
    from cxr_regions.build.packed import PackedData, open_dataset
    from cxr_regions.build.paper_protocol import leak_check
    from cxr_regions.build.split_stats import split_table
    from cxr_regions.build.torch_data import PackedDataset, RegionDataModule


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
