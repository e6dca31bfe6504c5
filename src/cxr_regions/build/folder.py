"""Building a dataset folder: split, oversample, pack, and write manifest, stats and ``dataset.json``.

Two protocols:

- ``clean`` (default): split by patient first (multilabel-stratified), then give training films of
  rare labels a repeat factor; augmentation happens online, on the training split only.
- ``paper``: the paper's order — duplicate rare-label films, expand by offline augmentation, then split
  at image level. Flagged as leaking everywhere it is written.

Both run the leak check; a clean build that finds a patient in two splits stops with an error.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxr_regions import __version__
from cxr_regions.build import packed
from cxr_regions.build.augment import offline_variant
from cxr_regions.build.build_config import BuildConfig
from cxr_regions.build.grouped_split import stratified_split
from cxr_regions.build.join import UNMATCHED_COLUMNS, fold, join_tables, raw_values, value_counts
from cxr_regions.build.oversample import repeat_factors
from cxr_regions.build.pack import fit_square, pack_images, write_array
from cxr_regions.build.paper_protocol import AUGMENTED, ORIGINAL, leak_check, paper_rows
from cxr_regions.build.split_stats import stats_markdown
from cxr_regions.configfile import save_config, to_dict
from cxr_regions.contracts.dataset import (
    IMAGES_FILE,
    MANIFEST,
    STATS_FILE,
    UNMATCHED_FILE,
    DatasetCounts,
    DatasetInfo,
    JoinCounts,
    LeakCheck,
    Oversampling,
    PackedArray,
)
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_csv, write_text
from cxr_regions.regions import REGION_KEYS


def build_dataset(
    labels_csv: str | os.PathLike[str],
    images_csv: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
) -> Path:
    """``labels.csv`` + ``images.csv`` -> a dataset folder (docs/data-contracts.md). Returns ``out``."""
    config = config or BuildConfig()
    joined = join_tables(labels_csv, images_csv, on=config.join, views=config.views)
    if joined.films.empty:
        raise UserError(
            f"no film of {images_csv} matched a report of {labels_csv} (join by {config.join}); "
            "check --join and the id columns"
        )
    raw = joined.films[list(REGION_KEYS)]
    films = pd.concat([joined.films[["image_id", "patient_key"]], fold(raw, REGION_KEYS)], axis=1)
    inputs = {"labels_csv": str(Path(labels_csv).resolve()), "images_csv": str(Path(images_csv).resolve())}
    return _build(
        Path(out),
        films,
        list(REGION_KEYS),
        config,
        sources=joined.films["png"].tolist(),
        raw_counts=value_counts(raw, REGION_KEYS),
        unmatched=joined.unmatched,
        join=joined.summary,
        inputs=inputs,
    )


def build_from_arrays(
    out: str | os.PathLike[str],
    images: np.ndarray,
    table: pd.DataFrame,
    config: BuildConfig | None = None,
    label_names: Sequence[str] = REGION_KEYS,
) -> Path:
    """Build a dataset from films already in memory: ``images`` N×S×S uint8 aligned with ``table``
    (``image_id``, ``patient_key``, one column per label with 0/1 or ``1``/``u``/``0``). Same split,
    oversampling, packing and stats as :func:`build_dataset`; films not at ``config.size`` are fitted."""
    config = config or BuildConfig()
    label_names = list(label_names)
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise UserError(f"images must be a uint8 N×H×W array, got {images.dtype} {images.shape}")
    missing = [c for c in ("image_id", "patient_key", *label_names) if c not in table.columns]
    if missing:
        raise UserError(f"table lacks column(s) {', '.join(missing)}")
    if len(table) != len(images):
        raise UserError(f"table has {len(table)} rows but images has {len(images)} films")
    clash = sorted(set(label_names) & packed.RESERVED_COLUMNS)
    if clash:
        raise UserError(f"label names {clash} clash with manifest columns; rename them")
    table = table.reset_index(drop=True)
    ids = table[["image_id", "patient_key"]].astype(str)
    raw = raw_values(table.astype({n: str for n in label_names}), label_names, "table", "image_id")
    films = pd.concat([ids, fold(raw, label_names)], axis=1)
    return _build(
        Path(out),
        films,
        label_names,
        config,
        array=images,
        raw_counts=value_counts(raw, label_names),
        unmatched=pd.DataFrame(columns=UNMATCHED_COLUMNS),
        join=None,
        inputs={"arrays": f"{images.shape[0]} films of {images.shape[1]}×{images.shape[2]}"},
    )


def _check_films(films: pd.DataFrame) -> None:
    dups = films["image_id"][films["image_id"].duplicated()]
    if len(dups):
        raise UserError(f"image ids must be unique; repeated: {', '.join(map(str, dups.unique()[:5]))}")
    if (films["patient_key"].astype(str).str.strip() == "").any():
        raise UserError("every film needs a patient_key (the split is by patient)")


def _build(
    out: Path,
    films: pd.DataFrame,
    label_names: list[str],
    config: BuildConfig,
    *,
    sources: list[str] | None = None,
    array: np.ndarray | None = None,
    raw_counts: dict[str, dict[str, int]],
    unmatched: pd.DataFrame,
    join: dict[str, int] | None,
    inputs: dict[str, str],
) -> Path:
    _check_films(films)
    out.mkdir(parents=True, exist_ok=True)
    DatasetInfo.path_in(out).unlink(missing_ok=True)  # an interrupted rebuild must not look complete
    if config.protocol == "clean":
        manifest, plan, scope = _clean_manifest(films, label_names, config)
    else:
        manifest, plan, scope = _paper_manifest(films, label_names, config)
    leak = leak_check(manifest)
    if config.protocol == "clean" and leak["leaking"]:
        raise RuntimeError(f"clean split leaks (a patient or source film in two splits): {leak}")

    _write_images(out, manifest, config, sources, array)
    manifest = manifest.drop(columns=["source_pos"])
    manifest_file = MANIFEST.write(out, manifest, label_names)
    digest = hashlib.sha256(manifest_file.read_bytes()).hexdigest()
    write_csv(out / UNMATCHED_FILE, unmatched)
    info = DatasetInfo(
        dataset_id=f"{out.resolve().name}-{digest[:10]}",
        protocol=config.protocol,
        leaking=bool(leak["leaking"]),
        labels=label_names,
        seed=config.seed,
        size=config.size,
        version=__version__,
        built_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        inputs=inputs,
        counts=DatasetCounts.model_validate(_counts(manifest)),
        leak_check=LeakCheck.model_validate(leak),
        oversampling=Oversampling(scope=scope, **plan.as_dict()),
        raw_label_counts=raw_counts,
        join=JoinCounts(**join) if join is not None else None,
        images=PackedArray(file=IMAGES_FILE, shape=[len(manifest), config.size, config.size]),
        manifest_sha256=digest,
        config=to_dict(config),
    )
    write_text(out / STATS_FILE, stats_markdown(manifest, info))
    save_config(config, out / "build.yaml", command="build")
    info.write(out)
    return out


def _order_by_split(manifest: pd.DataFrame) -> pd.DataFrame:
    rank = manifest["split"].map({s: i for i, s in enumerate(packed.SPLITS)})
    manifest = manifest.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    manifest.insert(0, "index", np.arange(len(manifest)))
    return manifest


def _finish(manifest: pd.DataFrame, label_names: list[str]) -> pd.DataFrame:
    manifest["label_string"] = ["".join(map(str, r)) for r in manifest[label_names].to_numpy(dtype=int)]
    columns = ["index", "image_id", "patient_key", *label_names, "label_string", "split", "repeat"]
    return manifest[[*columns, "source_image_id", "kind", "source_pos"]]


def _clean_manifest(films: pd.DataFrame, label_names: list[str], config: BuildConfig):
    split = stratified_split(
        films[label_names].to_numpy(),
        films["patient_key"].to_numpy(),
        config.split,
        config.seed,
        config.min_positives,
    )
    manifest = films.assign(
        split=split, source_image_id=films["image_id"], kind=ORIGINAL, source_pos=np.arange(len(films))
    )
    manifest = _order_by_split(manifest)
    train = (manifest["split"] == "train").to_numpy()
    train_labels = manifest.loc[train, label_names].to_numpy()
    plan = repeat_factors(train_labels, label_names, config.min_share, config.seed)
    repeat = np.ones(len(manifest), dtype=np.int64)
    repeat[train] = plan.repeat
    manifest["repeat"] = repeat
    return _finish(manifest, label_names), plan, "training split (repeat factor per film)"


def _paper_manifest(films: pd.DataFrame, label_names: list[str], config: BuildConfig):
    rows, plan = paper_rows(films, label_names, config.min_share, config.paper_expansion, config.seed)
    labels, groups = rows[label_names].to_numpy(), rows["image_id"].to_numpy()
    rows["split"] = stratified_split(labels, groups, config.split, config.seed, config.min_positives)
    rows["repeat"] = 1
    manifest = _order_by_split(rows)
    return _finish(manifest, label_names), plan, "all films before the split (paper: copies in the array)"


def _write_images(
    out: Path,
    manifest: pd.DataFrame,
    config: BuildConfig,
    sources: list[str] | None,
    array: np.ndarray | None,
) -> None:
    target = out / IMAGES_FILE
    positions = manifest["source_pos"].to_numpy()
    options: dict[str, Any] = {"size": config.size, "workers": config.workers, "resize": config.resize}
    options |= {"engine": config.engine, "scheduler": config.scheduler}
    if config.protocol == "clean" and sources is not None:
        pack_images([sources[p] for p in positions], target, progress=config.progress, **options)
        return
    work = out / ".work"
    if sources is not None:
        packed_sources = pack_images(sources, work / "sources.npy", progress=config.progress, **options)
        originals = np.load(packed_sources, mmap_mode="r")
    else:
        originals = array
    kinds = manifest["kind"].to_numpy()

    def fill(i: int) -> np.ndarray:
        film = fit_square(np.asarray(originals[positions[i]]), config.size, config.resize)
        if kinds[i] == AUGMENTED:
            rng = np.random.default_rng([config.seed, i])
            return offline_variant(film, rng, crop_fraction=config.paper_crop_fraction)
        return film

    (out / f"{IMAGES_FILE}.pack.json").unlink(missing_ok=True)
    write_array(target, len(manifest), config.size, fill, config.progress, label="writing images")
    if work.exists():
        shutil.rmtree(work)


def _counts(manifest: pd.DataFrame) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "films": len(manifest),
        "patients": int(manifest["patient_key"].nunique()),
        "source_films": int(manifest["source_image_id"].nunique()),
    }
    for split in packed.SPLITS:
        part = manifest[manifest["split"] == split]
        counts[split] = {
            "films": len(part),
            "patients": int(part["patient_key"].nunique()),
            "epoch_draws": int(part["repeat"].sum()),
        }
    return counts
