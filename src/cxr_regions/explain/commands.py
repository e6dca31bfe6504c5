"""Command-line entry point of this stage: ``explain`` (heatmaps, panels, localisation scores)."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer

from cxr_regions.explain.explain_config import ExplainConfig
from cxr_regions.options import command


def register(app: typer.Typer) -> None:
    """Add this stage's command to the ``cxr-regions`` app."""
    command(app, "explain", ExplainConfig, explain)


def explain(config: ExplainConfig) -> None:
    """Per-region class-activation heatmaps, overlays and Fig. 3 panels for DICOM or PNG films.

    With --masks (phantom films), also scores how well each heatmap points at its region.
    """
    from rich.console import Console

    from cxr_regions.contracts.evaluation_files import CalibrationInfo
    from cxr_regions.explain.batch import explain_images, explain_split, read_reports, read_thresholds

    out_dir = config.out_dir
    thresholds, calibration = config.thresholds, config.calibration
    cuts = read_thresholds(thresholds) if thresholds else config.threshold
    calibrator = None
    if thresholds and not calibration:
        folder = thresholds if thresholds.is_dir() else thresholds.parent
        calibration = folder if CalibrationInfo.exists(folder) else None
    if calibration and not config.raw:
        from cxr_regions.evaluation import load_calibration

        calibrator = load_calibration(calibration)
    texts = read_reports(config.reports) if config.reports else None
    saved = dataclasses.replace(config, out=out_dir, calibration=calibration if calibrator else None)
    options: dict[str, Any] = dict(
        method=config.method, regions=config.regions, masks_dir=config.masks, frame_size=config.frame_size,
        thresholds=cuts, reports=texts, panels=config.panels, config=saved, calibration=calibrator,
    )  # fmt: skip
    if config.split:
        summary = explain_split(config.run, config.split, out_dir, dataset=config.dataset, **options)
    else:
        summary = explain_images(config.run, config.images, out_dir, **options)
    console = Console()
    shown = f"calibrated with {calibration}" if calibrator else "raw, uncalibrated"
    console.print(f"explained {len(summary.films)} film(s) with {config.method}: {out_dir}; p {shown}")
    if summary.localisation is not None:
        from cxr_regions.explain.localisation import summary_markdown

        console.print(summary_markdown(summary.localisation), markup=False)
        if summary.missing_masks:
            console.print(f"{len(summary.missing_masks)} film(s) had no mask and were not scored")
