"""Command-line entry point of this stage: ``explain`` (heatmaps, panels, localisation scores)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's command to the ``cxr-regions`` app."""

    @app.command()
    def explain(
        run: Path = typer.Argument(
            ..., help="A run folder written by `train` (model.safetensors + model.json)."
        ),
        images: list[Path] = typer.Argument(
            None, help="DICOM or PNG/JPEG films, or folders holding them (or use --split)."
        ),
        split: str = typer.Option(
            None, "--split", help="Explain the films of this split (e.g. test) of the run's dataset instead."
        ),
        dataset: Path = typer.Option(
            None,
            "--dataset",
            help="The dataset folder for --split (default: the one the run was trained on).",
        ),
        out: Path = typer.Option(None, "-o", "--out", help="Output folder (default: RUN/explain)."),
        method: str = typer.Option(
            "gradcam",
            "--method",
            help="gradcam, gradcam++, hirescam, xgradcam, layercam, eigengradcam, scorecam.",
        ),
        regions: list[str] = typer.Option(
            None, "--regions", help="Regions to explain, comma-separated (default: every label of the model)."
        ),
        masks: Path = typer.Option(
            None,
            "--masks",
            help="Folder of <film name>.npz region masks (a phantom's masks/): score localisation.",
        ),
        threshold: float = typer.Option(
            0.5, "--threshold", help="Probability above which a region counts as predicted abnormal."
        ),
        thresholds: Path = typer.Option(
            None, "--thresholds", help="Per-region thresholds: an evaluation folder or its thresholds.csv."
        ),
        calibration: Path = typer.Option(
            None,
            "--calibration",
            help="Show calibrated probabilities: an evaluation folder or its calibration.json "
            "\\[default: the --thresholds folder's, where `evaluate` saved one].",
        ),
        raw: bool = typer.Option(False, "--raw", help="Show the model's raw probabilities, uncalibrated."),
        reports: Path = typer.Option(
            None, "--reports", help="CSV with columns image, text: each film's report, shown on its panel."
        ),
        size: int = typer.Option(
            None, "--size", help="Frame the film is resized to (default: the size the run was trained at)."
        ),
        panels: bool = typer.Option(True, "--panels/--no-panels", help="Draw the Fig. 3 panel of each film."),
    ) -> None:
        """Per-region class-activation heatmaps, overlays and Fig. 3 panels for DICOM or PNG films.

        With --masks (phantom films), also scores how well each heatmap points at its region.
        """
        from rich.console import Console

        from cxr_regions.errors import UserError
        from cxr_regions.explain.batch import (
            ExplainConfig,
            explain_images,
            explain_split,
            read_reports,
            read_thresholds,
        )

        if bool(images) == bool(split):
            raise UserError("give either films (files or folders) or --split, not both and not neither")

        keys = [k.strip() for item in regions or [] for k in item.split(",") if k.strip()] or None
        out_dir = out or Path(run) / "explain"
        cuts = read_thresholds(thresholds) if thresholds else threshold
        calibrator = None
        if thresholds and not calibration:
            folder = thresholds if thresholds.is_dir() else thresholds.parent
            calibration = folder if (folder / "calibration.json").is_file() else None
        if calibration and not raw:
            from cxr_regions.evaluation import load_calibration

            calibrator = load_calibration(calibration)
        texts = read_reports(reports) if reports else None
        config = ExplainConfig(
            run=run, images=list(images or []), out=out_dir, method=method, regions=keys, masks=masks,
            frame_size=size, threshold=threshold, thresholds=thresholds, reports=reports, panels=panels,
            split=split, dataset=dataset, calibration=calibration if calibrator else None,
        )  # fmt: skip
        options = dict(
            method=method, regions=keys, masks_dir=masks, frame_size=size, thresholds=cuts, reports=texts,
            panels=panels, config=config, calibration=calibrator,
        )  # fmt: skip
        if split:
            summary = explain_split(run, split, out_dir, dataset=dataset, **options)
        else:
            summary = explain_images(run, images, out_dir, **options)
        console = Console()
        shown = f"calibrated with {calibration}" if calibrator else "raw, uncalibrated"
        console.print(f"explained {len(summary.films)} film(s) with {method}: {out_dir}; p {shown}")
        if summary.localisation is not None:
            from cxr_regions.explain.localisation import summary_markdown

            console.print(summary_markdown(summary.localisation), markup=False)
            if summary.missing_masks:
                console.print(f"{len(summary.missing_masks)} film(s) had no mask and were not scored")
