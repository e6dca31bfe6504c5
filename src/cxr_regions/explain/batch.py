"""``explain``: heatmaps, overlays, figure panels and localisation scores for a list of films
(files, or one split of a dataset folder).

The explain folder (docs/data-contracts.md):
``explain.csv`` (one row per film: its name, source, the model's probabilities and the regions it
predicts abnormal), ``heatmaps/<name>/<region>.png`` (overlays at the film's size),
``heatmaps/<name>/heatmaps.npz`` (the raw heatmaps, float16 in [0, 1]), ``panels/<name>.png``
(Fig. 3 panels), with ``--masks``: ``localisation.csv`` (per film and region) and ``localisation.md``
(per region, beside the chance level), and ``config.yaml``.
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxr_regions.contracts.dataset import DatasetInfo
from cxr_regions.contracts.evaluation_files import THRESHOLDS
from cxr_regions.contracts.explain_files import EXPLAIN, LOCALISATION
from cxr_regions.contracts.run_folder import ModelInfo, SavedConfig
from cxr_regions.errors import UserError
from cxr_regions.explain import localisation
from cxr_regions.explain.explain_config import ExplainConfig
from cxr_regions.explain.heatmaps import METHODS, compute_heatmaps, min_map_side, target_layer
from cxr_regions.explain.overlays import overlay, save_png
from cxr_regions.explain.panels import panel_png
from cxr_regions.fileio import write_bytes, write_text
from cxr_regions.progress import track
from cxr_regions.regions import DEFAULT_THRESHOLD, called, operating_thresholds

FILM_SUFFIXES = {".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ""}


@dataclass
class ExplainSummary:
    """Where the outputs went, the per-film table and (with masks) the localisation summary."""

    out: Path
    films: pd.DataFrame
    localisation: pd.DataFrame | None = None
    missing_masks: list[str] = field(default_factory=list)


def film_name(path: Path) -> str:
    """A film's output name: its file name without a film suffix (DICOMs often have none)."""
    return path.stem if path.suffix.lower() in FILM_SUFFIXES else path.name


def expand_images(images: Sequence[os.PathLike[str] | str]) -> list[Path]:
    """Files as given and folders as the films inside them (recursive, sorted); absent paths are errors."""
    files: list[Path] = []
    for item in map(Path, images):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in FILM_SUFFIXES)
            if not found:
                raise UserError(f"no films (DICOM, PNG, JPEG, TIFF) in folder {item}")
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            raise UserError(f"image {item} does not exist")
    if not files:
        raise UserError("no images given: pass DICOM or PNG files, or folders holding them")
    names: dict[str, Path] = {}
    for path in files:
        name = film_name(path)
        if name in names:
            raise UserError(
                f"{names[name]} and {path} would both be written as {name!r}; "
                "explain names its outputs after the file names, so give them distinct names"
            )
        names[name] = path
    return files


def read_thresholds(path: os.PathLike[str] | str) -> dict[str, float]:
    """Per-label thresholds from evaluate's ``thresholds.csv`` (or the evaluation folder holding it)."""
    table = THRESHOLDS.read(path, only=["label", "threshold"])  # a hand-made table needs no more
    return {str(r.label): float(r.threshold) for r in table.itertuples(index=False)}


def read_reports(path: os.PathLike[str] | str) -> dict[str, str]:
    """Report texts per film name from a CSV with columns ``image`` and ``text``."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"image", "text"} <= set(table.columns):
        raise UserError(f"{path} needs columns image (film file name without suffix) and text")
    return dict(zip(table["image"], table["text"], strict=True))


def frame_size_of(info: ModelInfo, fallback: int) -> int:
    """The pack size the model was trained at (films are resized to it before the heatmap): the
    ``size`` of the dataset its ``model.json`` names, or ``fallback`` where that is not at hand."""
    dataset = info.dataset_path
    if dataset and DatasetInfo.exists(dataset):
        return DatasetInfo.read(dataset).size
    return fallback


@dataclass(frozen=True)
class FilmSource:
    """A film to explain: its output name, where it came from, and how to read it (2-D array)."""

    name: str
    source: str
    read: Callable[[], np.ndarray]


def explain_images(
    run_dir: os.PathLike[str] | str,
    images: Sequence[os.PathLike[str] | str],
    out: os.PathLike[str] | str,
    method: str = "gradcam",
    regions: Sequence[str] | None = None,
    masks_dir: os.PathLike[str] | str | None = None,
    **options: Any,
) -> ExplainSummary:
    """Heatmaps of ``regions`` for each DICOM/PNG/JPEG film (files or folders) with the run's model.

    Options (keywords): ``frame_size`` (default: the size the run was trained at), ``thresholds``
    (one probability, or one per label, at or above which a region counts as predicted abnormal,
    which picks the heatmaps shown on the panel), ``reports`` (report text per film name, labelled
    with the report labeler for the panel), ``panels`` (every film's panel, none, or those of the
    films named), ``progress``, ``config``. See the module doc for the outputs.
    """
    from cxr_regions.ingest import load_film

    files = expand_images(images)
    sources = [FilmSource(film_name(p), str(p), functools.partial(load_film, p)) for p in files]
    return explain_films(run_dir, sources, out, method, regions, masks_dir, **options)


def explain_split(
    run_dir: os.PathLike[str] | str,
    split: str,
    out: os.PathLike[str] | str,
    method: str = "gradcam",
    regions: Sequence[str] | None = None,
    masks_dir: os.PathLike[str] | str | None = None,
    dataset: os.PathLike[str] | str | None = None,
    **options: Any,
) -> ExplainSummary:
    """Heatmaps of the films of one split of a dataset folder (default: the one the run was trained
    on), read from its packed array and named by ``image_id`` (oversampled copies left out)."""
    from cxr_regions.build import open_dataset
    from cxr_regions.training import load_run

    if dataset is None:
        recorded = load_run(Path(run_dir)).info.dataset_path
        if not recorded:
            raise UserError(f"{run_dir}/model.json records no dataset folder; pass it with --dataset")
        dataset = recorded
    if not Path(dataset).is_dir():
        raise UserError(f"dataset folder {dataset} does not exist; pass the dataset folder with --dataset")
    data = open_dataset(dataset)
    manifest = data.manifest
    rows = manifest[(manifest["split"] == split) & (manifest["image_id"] == manifest["source_image_id"])]
    if rows.empty:
        splits = ", ".join(sorted(manifest["split"].unique()))
        raise UserError(f"{dataset} has no films in split {split!r}; its splits are {splits}")
    sources = [
        FilmSource(
            str(r.image_id), f"{dataset}#{r.index}", functools.partial(_packed_film, data.images, r.index)
        )
        for r in rows.drop_duplicates("image_id").itertuples()
    ]
    return explain_films(run_dir, sources, out, method, regions, masks_dir, **options)


def _packed_film(images: np.ndarray, index: int) -> np.ndarray:
    return np.asarray(images[int(index)])


def explain_films(
    run_dir: os.PathLike[str] | str,
    films: Sequence[FilmSource],
    out: os.PathLike[str] | str,
    method: str = "gradcam",
    regions: Sequence[str] | None = None,
    masks_dir: os.PathLike[str] | str | None = None,
    *,
    frame_size: int | None = None,
    thresholds: Mapping[str, float] | float = DEFAULT_THRESHOLD,
    reports: Mapping[str, str] | None = None,
    panels: bool | Collection[str] = True,
    progress: bool = True,
    config: ExplainConfig | None = None,
    calibration: Any | None = None,
) -> ExplainSummary:
    """The work behind :func:`explain_images` and :func:`explain_split`, for any film sources.

    ``calibration`` (``cxr_regions.evaluation.load_calibration(EVAL_DIR)``): the panels and
    ``p_<label>`` show calibrated probabilities (``p_raw_<label>`` keeps the model's own, the scale
    the thresholds are on; calibration keeps the order, so the same regions are called abnormal).
    A label the run never saw labelled in training (``untrained_labels`` in model.json) gets no
    probability (empty) and is never called abnormal.
    """
    from cxr_regions.training import load_run

    if method.lower() not in METHODS:
        raise UserError(f"unknown heatmap method {method!r}; choose one of {', '.join(METHODS)}")
    run_dir, out = Path(run_dir), Path(out)
    loaded = load_run(run_dir)
    names = list(loaded.label_names)
    wanted = _wanted_regions(regions, names)
    size = frame_size or frame_size_of(loaded.info, int(loaded.input_size))
    cuts = operating_thresholds(thresholds, names)
    untrained = set(loaded.info.untrained_labels)  # never labelled in training: no output
    masks_path = Path(masks_dir) if masks_dir is not None else None
    if masks_path is not None and not masks_path.is_dir():
        raise UserError(f"masks folder {masks_path} does not exist")
    labeler = _labeler() if reports else None
    model = loaded.model.eval()
    crop = int(loaded.input_size)
    layer = target_layer(model, min(crop, size), min_map_side(method))
    config = config or ExplainConfig(
        run=run_dir,
        images=[Path(f.source) for f in films],
        out=out,
        method=method,
        regions=list(wanted),
        masks=masks_path,
        frame_size=size,
    )
    SavedConfig.write(config, out, command="explain")

    rows, scores, missing = [], [], []
    for item in track(films, "explain", enabled=progress):
        name = item.name
        try:
            film = item.read()
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"cannot read film {item.source}: {exc}") from exc
        result = compute_heatmaps(model, film, names, wanted, method, size, layer, crop)
        raw = {k: v for k, v in result.probabilities.items() if k not in untrained}
        predicted = called(raw, cuts)
        shown = calibration.apply(dict(raw)) if calibration is not None else raw
        _write_heatmaps(out / "heatmaps" / name, film, result.heatmaps)
        text = (reports or {}).get(name)
        if panels is True or (not isinstance(panels, bool) and name in panels):
            report_labels = labeler.label(text).values if (labeler and text) else None
            title = f"{name} (calibrated probabilities)" if calibration is not None else name
            png = panel_png(film, result.heatmaps, shown, predicted, text, report_labels, title)
            write_bytes(out / "panels" / f"{name}.png", png)
        rows.append(
            {
                "image": name,
                "source": item.source,
                "height": film.shape[0],
                "width": film.shape[1],
                **{f"p_{k}": shown.get(k, math.nan) for k in names},
                **{f"p_raw_{k}": raw.get(k, math.nan) for k in names},
                "calibrated": calibration is not None,
                "predicted_abnormal": " ".join(predicted),
            }
        )
        if masks_path is not None:
            mask_file = masks_path / f"{name}.npz"
            if mask_file.exists():
                scored = localisation.score_film(name, result.heatmaps, localisation.load_masks(mask_file))
                scores.append(scored.assign(predicted_abnormal=scored["region"].isin(predicted)))
            else:
                missing.append(name)
    films = pd.DataFrame(rows)
    EXPLAIN.write(out, films, names, float_format="%.6f")
    summary = ExplainSummary(out=out, films=films, missing_masks=missing)
    if masks_path is not None:
        if not scores:
            raise UserError(
                f"none of the {len(films)} films has a mask in {masks_path} (expected <film name>.npz)"
            )
        per_film = pd.concat(scores, ignore_index=True)
        LOCALISATION.write(out, per_film, float_format="%.6f")
        summary.localisation = localisation.summarise(per_film)
        note = (
            f"\n{len(missing)} film(s) had no mask and were not scored: {', '.join(missing)}\n"
            if missing
            else ""
        )
        shown = localisation.summarise(per_film[per_film["predicted_abnormal"]])
        write_text(
            out / "localisation.md",
            f"# Localisation of the {method} heatmaps\n\n## All films\n\n"
            f"{localisation.summary_markdown(summary.localisation)}\n"
            "## Films where the model predicts the region abnormal (the heatmaps the panels show)\n\n"
            f"{localisation.summary_markdown(shown)}"
            f"\nPointing game: share of films whose heatmap peak lies inside the region's mask; energy in "
            f"mask: share of the heatmap's mass inside it; chance: the mask's share of the film.\n{note}",
        )
    return summary


def _wanted_regions(regions: Sequence[str] | None, names: list[str]) -> list[str]:
    if not regions:
        return names
    unknown = [r for r in regions if r not in names]
    if unknown:
        raise UserError(f"the model predicts {', '.join(names)}; it has no output for {', '.join(unknown)}")
    return [n for n in names if n in set(regions)]


def _labeler():
    """The report labeler for the panels: each report read in its own language (Chinese or English)."""
    from cxr_regions.label import make_labeler

    return make_labeler("auto")


def _write_heatmaps(folder: Path, film: np.ndarray, heatmaps: Mapping[str, np.ndarray]) -> None:
    for key, heat in heatmaps.items():
        save_png(folder / f"{key}.png", overlay(film, heat))
    buffer = io.BytesIO()
    # numpy's stubs read **arrays as if a key could be its allow_pickle flag
    np.savez_compressed(buffer, **{k: v.astype(np.float16) for k, v in heatmaps.items()})  # type: ignore[arg-type]
    write_bytes(folder / "heatmaps.npz", buffer.getvalue())
