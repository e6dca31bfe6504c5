"""PyTorch access: batch shapes, repeat factors in the epoch, and never a mirrored film."""

from __future__ import annotations

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch

from cxr_regions.build import BuildConfig, PackedDataset, RegionDataModule, build_from_arrays
from cxr_regions.build.augment import AugmentParams, augment_batch, random_view
from cxr_regions.build.torch_data import EpochShuffle
from cxr_regions.regions import REGION_KEYS

SIZE, CROP = 64, 56


def asymmetric_film(size: int = SIZE) -> np.ndarray:
    """Bright top-left quadrant, mid-grey bottom-left, dark right half: a mirror or flip shows."""
    film = np.full((size, size), 10, dtype=np.uint8)
    film[: size // 2, : size // 2] = 250
    film[size // 2 :, : size // 2] = 120
    return film


def assert_not_mirrored(x: torch.Tensor) -> None:
    """Each view's left half stays brighter than its right, and its top-left brighter than bottom-left."""
    half = x.shape[-1] // 2
    left, right = x[..., :half].mean(dim=(1, 2, 3)), x[..., half:].mean(dim=(1, 2, 3))
    top_left, bottom_left = x[..., :half, :half].mean(dim=(1, 2, 3)), x[..., half:, :half].mean(dim=(1, 2, 3))
    assert bool((left > right + 0.2).all()), (left, right)
    assert bool((top_left > bottom_left + 0.03).all()), (top_left, bottom_left)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame(
        {
            "image_id": [f"f{i}" for i in range(n)],
            "patient_key": [f"p{i // 2}" for i in range(n)],
            **{k: (rng.random(n) < 0.3).astype(int) for k in REGION_KEYS},
        }
    )
    table.loc[:5, "thorax"] = 1
    images = np.repeat(asymmetric_film()[None], n, axis=0)
    out = tmp_path_factory.mktemp("loader") / "ds"
    return build_from_arrays(out, images, table, BuildConfig(size=SIZE, progress=False))


def test_training_epoch_honours_repeat_and_batches_are_float_crops(dataset_dir):
    dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=8, num_workers=0)
    train = dm.data.split("train")
    assert (train["repeat"] > 1).any()
    loader = dm.train_dataloader()
    assert len(loader.dataset) == train["repeat"].sum()
    seen = []
    for batch in loader:
        x, y = dm.device_transform(batch, train=True)
        assert x.dtype == torch.float32 and y.dtype == torch.float32
        assert x.shape[1:] == (1, CROP, CROP) and y.shape[1] == len(REGION_KEYS)
        assert float(x.min()) >= 0 and float(x.max()) <= 1
        seen.append(x)
    assert sum(len(x) for x in seen) == train["repeat"].sum()
    counts = np.bincount(loader.dataset.order, minlength=len(train))
    assert np.array_equal(counts, train["repeat"].to_numpy())


def test_epoch_order_is_reshuffled_and_reproducible(dataset_dir):
    def labels_in_order(seed):
        dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=4, num_workers=0, seed=seed)
        loader = dm.train_dataloader()
        return [torch.cat([y for _, y in loader]) for _ in range(2)]

    first, again = labels_in_order(0), labels_in_order(0)
    assert torch.equal(first[0], again[0])
    assert not torch.equal(first[0], first[1])


def test_epoch_order_and_augmentation_depend_on_the_seed_and_epoch_only(dataset_dir):
    """A run resumed at epoch k (Lightning calls set_epoch(k) on a fresh loader) sees what an
    uninterrupted run sees in epoch k: the same films, in the same order, with the same views."""

    def epoch(k: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=4, num_workers=0, seed=seed)
        loader = dm.train_dataloader()
        assert isinstance(loader.sampler, EpochShuffle)
        loader.sampler.set_epoch(k)
        torch.manual_seed(seed)  # as seed_everything does
        batches = [dm.device_transform(b, train=True) for b in loader]
        return torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])

    dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=4, num_workers=0)
    loader = dm.train_dataloader()
    torch.manual_seed(0)
    uninterrupted = [[dm.device_transform(b, train=True) for b in loader] for _ in range(3)]
    x2, y2 = (torch.cat([b[i] for b in uninterrupted[2]]) for i in (0, 1))
    resumed_x, resumed_y = epoch(2)
    assert torch.equal(resumed_y, y2) and torch.equal(resumed_x, x2)
    assert not torch.equal(epoch(1)[0], resumed_x)
    assert not torch.equal(epoch(2, seed=1)[0], resumed_x)
    assert sorted(EpochShuffle(range(10), seed=3)) == list(range(10))


def test_validation_is_a_deterministic_centre_crop(dataset_dir):
    dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=64, num_workers=0)
    x, _ = next(iter(dm.val_dataloader()))
    start = (SIZE - CROP) // 2
    expected = torch.from_numpy(asymmetric_film()[start : start + CROP, start : start + CROP]).float() / 255
    assert torch.equal(x[0, 0], expected)


def test_worker_augmentation_never_mirrors(dataset_dir):
    dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=16, num_workers=2, augment_on="workers")
    loader = dm.train_dataloader()
    batches = [dm.device_transform(batch, train=True)[0] for _ in range(3) for batch in loader]
    views = torch.cat(batches)
    assert len(views) > 100
    assert_not_mirrored(views)
    assert views.std(dim=0).mean() > 0.01, "views should differ (random crop/rotation)"


def test_cpu_and_batch_views_never_mirror_even_at_the_extremes():
    film = asymmetric_film(128)
    params = AugmentParams(crop=112)
    rng = np.random.default_rng(1)
    views = torch.stack([torch.from_numpy(random_view(film, params, rng))[None] for _ in range(200)])
    assert_not_mirrored(views)
    batch = torch.from_numpy(film)[None, None].repeat(200, 1, 1, 1)
    assert_not_mirrored(augment_batch(batch, params, torch.Generator().manual_seed(0)))


class _Recorder(L.LightningModule):
    """A one-weight model that keeps every training batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def training_step(self, batch, _):
        x, y = batch
        self.seen.append(x.detach().clone())
        return ((x.mean() * self.w) - y.mean()) ** 2

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.parametrize("augment_on", ["device", "workers"])
def test_a_trainer_gets_float_views_that_never_mirror(dataset_dir, augment_on):
    dm = RegionDataModule(dataset_dir, crop_size=CROP, batch_size=16, num_workers=0, augment_on=augment_on)
    model = _Recorder()
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=dm)
    views = torch.cat(model.seen)
    assert views.dtype == torch.float32 and views.shape[1:] == (1, CROP, CROP)
    assert len(views) == 2 * dm.data.split("train")["repeat"].sum()
    assert_not_mirrored(views)


def test_packed_dataset_returns_raw_uint8_films(dataset_dir):
    ds = PackedDataset(dataset_dir, "test")
    x, y = ds[0]
    assert x.dtype == torch.uint8 and x.shape == (1, SIZE, SIZE)
    assert torch.equal(x[0], torch.from_numpy(asymmetric_film()))
    assert y.shape == (len(REGION_KEYS),)
