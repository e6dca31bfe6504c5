"""PyTorch access to a packed dataset: ``PackedDataset`` (one split) and ``RegionDataModule`` (Lightning).

The batches a model sees are ``(x, y)``: float32 B×1×crop×crop in [0, 1] and float32 B×L labels.
Training views are random crop + rotation within ±15° + mild brightness/contrast (never a flip);
validation and test views are centre crops. The training epoch draws each film ``repeat`` times (its
manifest repeat factor) in an order drawn from the seed and the epoch number (:class:`EpochShuffle`),
and each batch's random views from the process seed and the films it holds: a run resumed at epoch
``k`` sees the same films in the same order, with the same augmentation, as one never stopped.

Where augmentation runs (``augment_on``): ``workers`` — in the data-loader processes, one
``cv2.warpAffine`` per film; ``device`` — workers only slice uint8 films and the random views are made
on the accelerator (a whole batch in one ``grid_sample``); ``auto`` — ``device`` when the trainer runs
on a GPU, else ``workers``. Training batches leave the workers as uint8 (a quarter of the bytes of
float32 to pass between processes and to the GPU) and become float in ``on_after_batch_transfer``,
which Lightning calls; outside a Trainer, pass them through ``RegionDataModule.device_transform``.
Validation and test loaders yield float batches directly in ``workers`` mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence, Sized
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, get_worker_info

from cxr_regions.build.augment import AugmentParams, augment_batch, center_batch, center_view, random_view
from cxr_regions.build.packed import SPLITS, open_dataset
from cxr_regions.errors import UserError

AUGMENT_ON = ("auto", "workers", "device")
TORCH_DTYPES = {np.dtype(np.uint8): torch.uint8, np.dtype(np.float32): torch.float32}


class FilmView:
    """A view of a packed film that fills a preallocated array, so a whole batch is written in place.

    Subclasses set ``dtype`` and implement ``side`` and ``fill``; calling the view returns a new array.
    This base view is the raw uint8 S×S film.
    """

    dtype: np.dtype = np.dtype(np.uint8)

    def side(self, size: int) -> int:
        return size

    def start_batch(self, positions: Sequence[int]) -> None:
        """Called before a batch of these items is filled (random views reseed here)."""

    def fill(self, img: np.ndarray, out: np.ndarray) -> None:
        out[...] = img

    def __call__(self, img: np.ndarray) -> np.ndarray:
        side = self.side(img.shape[-1])
        out = np.empty((side, side), dtype=self.dtype)
        self.fill(img, out)
        return out


class RandomView(FilmView):
    """Worker-side training view: uint8 S×S -> float32 crop×crop in [0, 1] (``as_uint8``: uint8
    0..255, converted to float after the transfer), a fresh random view each call.

    Each batch draws from a generator seeded by ``torch.initial_seed()`` of the process (which the
    DataLoader derives from its own seeded generator) and the batch's item positions: reproducible,
    independent of the batches drawn before it (so a resumed epoch repeats the original one), and
    different in every worker.
    """

    def __init__(self, params: AugmentParams, as_uint8: bool = False) -> None:
        self.params = params
        self.as_uint8 = as_uint8
        self.dtype = np.dtype(np.uint8 if as_uint8 else np.float32)
        self._rng: np.random.Generator | None = None
        self._scratch = np.empty((params.crop, params.crop), dtype=np.uint8)

    def side(self, size: int) -> int:
        return self.params.crop

    def start_batch(self, positions: Sequence[int]) -> None:
        self._rng = np.random.default_rng([torch.initial_seed(), *(int(p) for p in positions)])

    def fill(self, img: np.ndarray, out: np.ndarray) -> None:
        if self._rng is None:
            self._rng = np.random.default_rng(torch.initial_seed())
        random_view(img, self.params, self._rng, out=out, scratch=self._scratch, as_uint8=self.as_uint8)


class CenterView(FilmView):
    """Evaluation view: uint8 S×S -> float32 centre crop (``as_uint8``: keep uint8 for the device)."""

    def __init__(self, crop: int, as_uint8: bool = False) -> None:
        self.crop = crop
        self.as_uint8 = as_uint8
        self.dtype = np.dtype(np.uint8 if as_uint8 else np.float32)

    def side(self, size: int) -> int:
        return self.crop

    def fill(self, img: np.ndarray, out: np.ndarray) -> None:
        if self.as_uint8:
            start = (img.shape[-1] - self.crop) // 2
            out[...] = img[start : start + self.crop, start : start + self.crop]
        else:
            center_view(img, self.crop, out=out)


class PackedDataset(Dataset):
    """One split of a packed dataset: item ``i`` is ``(uint8 tensor 1×S×S, float32 label vector)``.

    ``view`` (a :class:`FilmView`, e.g. a random or centre crop) replaces the raw film.
    ``expand_repeats``: list each film ``repeat`` times (the training epoch). ``rows`` holds the
    manifest rows of the split in order. The memory map is opened lazily in each process, so the
    dataset pickles cheaply into worker processes. :meth:`batch` builds a whole batch in place.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        split: str,
        view: FilmView | None = None,
        expand_repeats: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise UserError(f"unknown split {split!r}; the splits are {', '.join(SPLITS)}")
        data = open_dataset(path)
        self.path = Path(path)
        self.split = split
        self.view = view or FilmView()
        self.label_names = data.label_names
        self.size = data.size
        rows = np.flatnonzero((data.manifest["split"] == split).to_numpy())
        self.rows = data.manifest.iloc[rows].reset_index(drop=True)
        self.labels = torch.from_numpy(data.labels(self.rows))
        positions = np.arange(len(rows))
        self.order = np.repeat(positions, self.rows["repeat"].to_numpy()) if expand_repeats else positions
        self._array_rows = rows
        self._images: np.ndarray | None = None

    @property
    def images(self) -> np.ndarray:
        """The packed array (all splits), opened on first use in this process."""
        if self._images is None:
            # a plain ndarray view of the memory map: indexing it skips np.memmap's per-item overhead
            self._images = np.asarray(np.load(self.path / "images.npy", mmap_mode="r"))
        return self._images

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch([index])
        return x[0], y[0]

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Items ``indices`` as one batch ``(B×1×side×side, B×L)``, each view written in place."""
        positions = self.order[np.asarray(indices, dtype=np.int64)]
        side = self.view.side(self.size)
        x = torch.empty((len(positions), 1, side, side), dtype=TORCH_DTYPES[self.view.dtype])
        if len(positions) > 1 and get_worker_info() is not None:
            x.share_memory_()  # filled in place and handed to the main process without another copy
        pixels = x.numpy()
        self.view.start_batch(indices)
        for k, pos in enumerate(positions):
            self.view.fill(self.images[self._array_rows[pos]], pixels[k, 0])
        return x, self.labels[positions]


class _Batched(PackedDataset):
    """A PackedDataset whose DataLoader fetches whole batches (``__getitems__``) already stacked."""

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [self.batch(indices)]


def collate_batched(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """The collate function for :class:`_Batched`: its one item is already the batch."""
    return items[0]


class EpochShuffle(RandomSampler):
    """A random order of the training items drawn afresh each epoch from ``(seed, epoch)``.

    Each pass draws the next epoch's order; Lightning calls :meth:`set_epoch` before every epoch,
    also after ``--resume``, so a resumed run continues with the orders of the run it continues (a
    generator consumed epoch after epoch would restart at the first epoch's order). Under DDP
    Lightning replaces it, as any ``RandomSampler``, by its ``DistributedSampler``, which is seeded by
    the run's seed and the epoch the same way.
    """

    def __init__(self, data_source: Sized, seed: int = 0) -> None:
        super().__init__(data_source)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        yield from np.random.default_rng([self.seed, epoch]).permutation(len(self.data_source)).tolist()


class RegionDataModule(L.LightningDataModule):
    """The Lightning data module over a dataset folder written by ``build`` (see the module docstring).

    ``crop_size``: the model's input side (224 or 227 from 256; scale it for smaller packed sizes).
    ``augment=False`` gives centre crops in training too. Outside a Trainer, pass training batches
    (and, with ``augment_on="device"``, all batches) through :meth:`device_transform` yourself.
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
            # uint8 views cross from worker processes in a quarter of the bytes; device_transform makes
            # them float
            view = FilmView() if on_device else RandomView(self.params, as_uint8=self.num_workers > 0)
        else:
            view = CenterView(self.crop_size, as_uint8=on_device)
        return _Batched(self.path, split, view=view, expand_repeats=train)

    def _loader(self, dataset: PackedDataset, shuffle: bool, drop_last: bool = False) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)  # seeds the worker processes
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffle(dataset, self.seed) if shuffle else None,
            generator=generator,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            drop_last=drop_last,
            collate_fn=collate_batched,
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
        if train and self.augment and self.mode == "device":
            rank = self.trainer.global_rank if self.trainer is not None else 0
            epoch = self.trainer.current_epoch if self.trainer is not None else 0
            key = f"{x.device}/{epoch}"  # a generator per epoch, seeded from it: resumed epochs repeat
            if key not in self._device_generators:
                entropy = np.random.SeedSequence([self.seed, rank, epoch]).generate_state(2, np.uint64)[0]
                generator = torch.Generator(device=x.device).manual_seed(int(entropy) >> 1)
                self._device_generators = {key: generator}
            x = augment_batch(x, self.params, self._device_generators[key])
        else:
            x = center_batch(x, self.crop_size)
        return (x, y, *batch[2:])

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        training = self.trainer is not None and self.trainer.training
        return self.device_transform(batch, train=training)
