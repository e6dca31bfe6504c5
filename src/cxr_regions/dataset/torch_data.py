"""PyTorch access to a packed dataset: ``PackedDataset`` (one split) and ``RegionDataModule`` (Lightning).

The batches a model sees are ``(x, y)``: float32 B×1×crop×crop in [0, 1] and float32 B×L labels.
Training views are random crop + rotation within ±15° + mild brightness/contrast (never a flip);
validation and test views are centre crops. The training epoch draws each film ``repeat`` times (its
manifest repeat factor) in an order reshuffled every epoch from the seed.

Where augmentation runs (``augment_on``): ``workers`` — in the data-loader processes, one
``cv2.warpAffine`` per film; ``device`` — workers only slice uint8 films and the random views are made
on the accelerator in ``on_after_batch_transfer`` (a whole batch in one ``grid_sample``); ``auto`` —
``device`` when the trainer runs on a GPU, else ``workers``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cxr_regions.dataset.augment import AugmentParams, augment_batch, center_batch, center_view, random_view
from cxr_regions.dataset.packed import SPLITS, open_dataset
from cxr_regions.errors import UserError

AUGMENT_ON = ("auto", "workers", "device")


class RandomView:
    """Worker-side training transform: uint8 S×S -> float32 crop×crop (a fresh random view each call).

    Its generator is seeded from ``torch.initial_seed()`` in each process, which the DataLoader derives
    from its own seeded generator: reproducible, and different in every worker.
    """

    def __init__(self, params: AugmentParams) -> None:
        self.params = params
        self._rng: np.random.Generator | None = None
        self._pid = -1

    def __call__(self, img: np.ndarray) -> np.ndarray:
        if self._rng is None or self._pid != os.getpid():
            self._rng = np.random.default_rng(torch.initial_seed())
            self._pid = os.getpid()
        return random_view(img, self.params, self._rng)


class CenterView:
    """Evaluation transform: uint8 S×S -> float32 centre crop (``as_uint8``: keep uint8 for the device)."""

    def __init__(self, crop: int, as_uint8: bool = False) -> None:
        self.crop = crop
        self.as_uint8 = as_uint8

    def __call__(self, img: np.ndarray) -> np.ndarray:
        if self.as_uint8:
            start = (img.shape[-1] - self.crop) // 2
            return img[start : start + self.crop, start : start + self.crop]
        return center_view(img, self.crop)


class PackedDataset(Dataset):
    """One split of a packed dataset: item ``i`` is ``(uint8 tensor 1×S×S, float32 label vector)``.

    ``transform`` (a callable on the uint8 S×S numpy film) replaces the raw film, e.g. with a float
    crop. ``expand_repeats``: list each film ``repeat`` times (the training epoch). The memory map is
    opened lazily in each process, so the dataset pickles cheaply into worker processes.
    """

    def __init__(
        self, path: str | os.PathLike[str], split: str, transform: Any = None, expand_repeats: bool = False
    ) -> None:
        if split not in SPLITS:
            raise UserError(f"unknown split {split!r}; the splits are {', '.join(SPLITS)}")
        data = open_dataset(path)
        self.path = Path(path)
        self.split = split
        self.transform = transform
        self.label_names = data.label_names
        rows = np.flatnonzero((data.manifest["split"] == split).to_numpy())
        self.rows = data.manifest.iloc[rows].reset_index(drop=True)
        self.labels = torch.from_numpy(data.labels(self.rows))
        positions = np.arange(len(rows))
        self.order = np.repeat(positions, self.rows["repeat"].to_numpy()) if expand_repeats else positions
        self._array_rows = rows
        self._images: np.ndarray | None = None

    @property
    def images(self) -> np.ndarray:
        if self._images is None:
            self._images = np.load(self.path / "images.npy", mmap_mode="r")
        return self._images

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pos = self.order[index]
        film = self.images[self._array_rows[pos]]
        view = self.transform(film) if self.transform is not None else np.array(film)
        return torch.from_numpy(np.ascontiguousarray(view))[None], self.labels[pos]


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)


class RegionDataModule(L.LightningDataModule):
    """The Lightning data module over a dataset folder written by ``build`` (see the module docstring).

    ``crop_size``: the model's input side (224 or 227 from 256; scale it for smaller packed sizes).
    ``augment=False`` gives centre crops in training too. Outside a Trainer with ``augment_on="device"``,
    pass batches through :meth:`device_transform` yourself.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        crop_size: int,
        batch_size: int = 16,
        num_workers: int = 2,
        seed: int = 0,
        augment: bool = True,
        augment_on: str = "auto",
        max_rotation: float = 15.0,
        brightness: float = 0.1,
        contrast: float = 0.1,
        pin_memory: bool | None = None,
        drop_last: bool = False,
    ) -> None:
        super().__init__()
        if augment_on not in AUGMENT_ON:
            raise UserError(f"augment_on must be one of {', '.join(AUGMENT_ON)}, got {augment_on!r}")
        self.path = Path(path)
        self.data = open_dataset(self.path)
        if crop_size > self.data.size:
            raise UserError(
                f"crop size {crop_size} is larger than the packed films ({self.data.size}); "
                "use a smaller crop or rebuild with a larger --size"
            )
        self.params = AugmentParams(crop_size, max_rotation, brightness, contrast)
        self.crop_size = crop_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.augment = augment
        self.augment_on = augment_on
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.drop_last = drop_last
        self._device_generators: dict[str, torch.Generator] = {}

    @property
    def label_names(self) -> list[str]:
        return self.data.label_names

    @property
    def dataset_id(self) -> str:
        return self.data.dataset_id

    @property
    def size(self) -> int:
        """Side of the packed films."""
        return self.data.size

    @property
    def mode(self) -> str:
        """Where augmentation runs: ``workers`` or ``device`` (``auto`` resolved against the trainer)."""
        if self.augment_on != "auto":
            return self.augment_on
        trainer = self.trainer
        on_gpu = trainer is not None and trainer.strategy.root_device.type == "cuda"
        return "device" if on_gpu else "workers"

    def dataset(self, split: str, train: bool = False) -> PackedDataset:
        """The dataset behind a loader: ``train=True`` gives the repeat-expanded, augmented epoch."""
        on_device = self.mode == "device"
        if train and self.augment:
            transform = None if on_device else RandomView(self.params)
        else:
            transform = CenterView(self.crop_size, as_uint8=on_device)
        return PackedDataset(self.path, split, transform=transform, expand_repeats=train)

    def _loader(self, dataset: PackedDataset, shuffle: bool, drop_last: bool = False) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            drop_last=drop_last,
            worker_init_fn=_worker_init if self.num_workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("train", train=True), shuffle=True, drop_last=self.drop_last)

    def val_dataloader(self) -> DataLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_dataloader("test")

    def eval_dataloader(self, split: str) -> DataLoader:
        """Centre-cropped films of one split, in manifest order (``loader.dataset.rows`` has their ids)."""
        return self._loader(self.dataset(split), shuffle=False)

    def device_transform(self, batch: tuple[torch.Tensor, ...], train: bool) -> tuple[torch.Tensor, ...]:
        """Turn a batch of uint8 films on the device into model input; float batches pass unchanged."""
        x, y = batch[0], batch[1]
        if x.dtype != torch.uint8:
            return batch
        if train and self.augment and x.shape[-1] == self.size:
            key = str(x.device)
            if key not in self._device_generators:
                self._device_generators[key] = torch.Generator(device=x.device).manual_seed(self.seed)
            x = augment_batch(x, self.params, self._device_generators[key])
        else:
            x = center_batch(x, self.crop_size)
        return (x, y, *batch[2:])

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        training = self.trainer is not None and self.trainer.training
        return self.device_transform(batch, train=training)
