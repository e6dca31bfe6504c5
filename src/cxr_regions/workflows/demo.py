"""The whole pipeline on a PHANTOM, through each stage's public API, into one folder and an HTML report.

phantom -> ingest -> label -> build -> train -> evaluate -> explain -> report. Each stage writes the
same files as its command (docs/data-contracts.md), so every step can be inspected or rerun alone
with the commands the summary lists. The defaults are sized to finish in about ten minutes on two
CPU cores: 64-px films, ResNet-18 from scratch, a few epochs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cxr_regions.build import BuildConfig, build_dataset, open_dataset
from cxr_regions.configfile import save_config, to_dict
from cxr_regions.contracts import label_rows as labels_contract
from cxr_regions.contracts.demo_summary import DemoSummary
from cxr_regions.contracts.evaluation_files import AUC, PREDICTIONS
from cxr_regions.contracts.explain_files import LOCALISATION
from cxr_regions.contracts.images import IMAGES
from cxr_regions.contracts.names import LABELS_CSV, SUMMARY_JSON
from cxr_regions.contracts.phantom_files import TRUTH
from cxr_regions.errors import UserError
from cxr_regions.evaluation import evaluate_run
from cxr_regions.explain import explain_split, summarise_by_label
from cxr_regions.fileio import remove_outputs, write_text
from cxr_regions.ingest import IngestConfig, ingest
from cxr_regions.label import label_file, read_report_texts
from cxr_regions.phantom import PhantomConfig, Prevalence, make_phantom
from cxr_regions.regions import REGION_KEYS, to_binary
from cxr_regions.report import ReportInputs, write_html_report
from cxr_regions.training import TrainConfig, train
from cxr_regions.workflows.workflow_config import DemoConfig


@dataclass
class DemoResult:
    """Where everything went, how long each stage took, and the headline figures."""

    out: Path
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)
    auc: pd.DataFrame | None = None
    localisation: pd.DataFrame | None = None
    labeler_agreement: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_auc(self) -> float:
        return float(self.auc.set_index("label").loc["mean", "auc"]) if self.auc is not None else float("nan")


STAGES = ("phantom", "ingest", "label", "build", "train", "evaluate", "explain", "report")
OUTPUTS = (
    "phantom", "ingest", LABELS_CSV, "labels.config.yaml", "dataset", "run", "explain", "explain-masks",
    "report.html", "summary.md", SUMMARY_JSON, "demo.yaml",
)  # fmt: skip
"""What the demo writes into its folder (and removes before it runs again there)."""


def clear_previous(out: Path) -> None:
    """Remove an earlier demo's outputs from ``out`` (so that no stage resumes from another run's
    files); refuse a folder with files that no demo wrote."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / "demo.yaml").exists():
        raise UserError(
            f"{out} holds files that the demo did not write; choose an empty or new folder with -o"
        )
    remove_outputs(out, OUTPUTS)


def run_demo(config: DemoConfig, announce: Callable[[int, str, str], None] | None = None) -> DemoResult:
    """Run every stage into ``config.out``; ``announce(step, stage, what)`` is told as each begins."""
    out = Path(config.out)
    clear_previous(out)  # no stage may resume from an earlier demo's files
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "demo.yaml", command="demo")
    result = DemoResult(out=out, report=out / "report.html")
    torch.set_num_threads(max(1, config.threads))
    paths = {
        "phantom": out / "phantom",
        "ingest": out / "ingest",
        "labels": out / LABELS_CSV,
        "dataset": out / "dataset",
        "run": out / "run",
        "evaluation": out / "run" / "evaluation",
        "explain": out / "explain",
        "masks": out / "explain-masks",
    }

    def stage(step: int, name: str, what: str, work: Callable[[], Any]) -> Any:
        if announce is not None:
            announce(step, name, what)
        started = time.perf_counter()
        value = work()
        result.seconds[name] = time.perf_counter() - started
        return value

    phantom_config = PhantomConfig(
        n=config.films,
        size=config.phantom_size,
        seed=config.seed,
        prevalence=Prevalence.parse(config.prevalence),
        workers=config.workers,
        overwrite=True,
        progress=config.progress,
    )
    summary = stage(
        1, "phantom", f"{config.films} synthetic films ({config.phantom_size} px DICOM) and Chinese reports",
        lambda: make_phantom(paths["phantom"], phantom_config),
    )  # fmt: skip
    result.counts["patients"] = summary.patients
    ingest_config = IngestConfig(
        size=config.size, workers=config.workers, salt_file=demo_salt(paths["phantom"], config.seed)
    )
    stage(
        2, "ingest", f"DICOM -> {config.size}-px PNGs and images.csv",
        lambda: ingest(paths["phantom"] / "dicom", paths["ingest"], ingest_config, progress=config.progress),
    )  # fmt: skip
    stage(
        3, "label", "reports -> five region labels with evidence",
        lambda: label_file(
            paths["phantom"] / "reports.csv", paths["labels"], id_col="accession_number",
            text_cols=["findings", "impression"], progress=config.progress,
        ),
    )  # fmt: skip
    result.labeler_agreement = labeler_agreement(paths["phantom"], paths["labels"])
    images_csv = IMAGES.path_in(paths["ingest"])
    build_config = BuildConfig(size=config.size, seed=config.seed, workers=1, progress=config.progress)
    stage(
        4, "build", "patient split 80/10/10, oversampling, packed films",
        lambda: build_dataset(paths["labels"], images_csv, paths["dataset"], build_config),
    )  # fmt: skip
    train_config = TrainConfig(
        dataset=paths["dataset"],
        out=paths["run"],
        arch=config.arch,
        init="scratch",
        input_size=None,
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        augment=config.augment,
        num_workers=0,
        seed=config.seed,
        progress=config.progress,
    )
    stage(
        5, "train", f"{config.arch} from scratch, {config.epochs} epochs on {config.size}-px films",
        lambda: train(train_config),
    )  # fmt: skip
    evaluation = stage(
        6, "evaluate", f"test-split AUCs with patient-bootstrap intervals ({config.n_boot} resamples)",
        lambda: evaluate_run(paths["run"], "test", paths["evaluation"], n_boot=config.n_boot),
    )  # fmt: skip
    result.auc = AUC.read(paths["evaluation"])

    data = open_dataset(paths["dataset"])
    test_ids = data.manifest.loc[data.manifest["split"] == "test", "image_id"].astype(str).tolist()
    images = IMAGES.read(paths["ingest"])
    texts = read_report_texts(
        paths["phantom"] / "reports.csv", "accession_number", ["findings", "impression"]
    )
    film_texts = texts_by_image(images, test_ids, texts)
    write_masks(paths["phantom"], images, test_ids, paths["masks"])
    gallery = gallery_films(PREDICTIONS.read(paths["evaluation"], REGION_KEYS), config)
    cuts = {name: point.threshold for name, point in evaluation.thresholds.items()}
    explained = stage(
        7, "explain", f"{config.method} heatmaps of the {len(test_ids)} test films, panels, localisation",
        lambda: explain_split(
            paths["run"], "test", paths["explain"], config.method, masks_dir=paths["masks"],
            dataset=paths["dataset"], thresholds=cuts, reports=film_texts, panels=set(gallery),
            progress=config.progress,
        ),
    )  # fmt: skip
    result.localisation = localisation_by_truth(paths["explain"], data.manifest)
    result.counts["heatmap_films"] = len(explained.films)
    inputs = ReportInputs(
        dataset=paths["dataset"],
        evaluation=paths["evaluation"],
        explain=paths["explain"],
        labels=paths["labels"],
        images=images_csv,
        reports=texts,
        title="cxr-regions demo on a PHANTOM",
        phantom=True,
        notes=demo_notes(config, result),
        gallery_size=config.gallery,
    )
    stage(8, "report", "one self-contained HTML file", lambda: write_html_report(result.report, inputs))
    write_text(out / "summary.md", summary_markdown(config, result))
    summary_document(config, result).write(out)
    return result


def labeler_agreement(phantom: Path, labels_csv: Path) -> dict[str, float]:
    """Per region, the share of reports whose binary label matches the phantom's ground truth."""
    truth = TRUTH.read(phantom, REGION_KEYS).set_index("accession_number")
    labels = labels_contract.read(labels_csv).set_index("report_id")
    common = truth.index.intersection(labels.index)
    agreement = {}
    for key in REGION_KEYS:
        pairs = zip(truth.loc[common, key], labels.loc[common, key], strict=True)
        agreement[key] = float(np.mean([to_binary(a) == to_binary(b) for a, b in pairs]))
    return agreement


def localisation_by_truth(explain_dir: Path, manifest: pd.DataFrame) -> pd.DataFrame:
    """Per region with abnormal test films, the localisation scores over those films (the films
    where a heatmap of the suspected area means something) and the pointing game over all of them
    (``explain.summarise_by_label``, in the summary's column names)."""
    table = summarise_by_label(LOCALISATION.read(explain_dir), manifest)
    table = table[table["abnormal_films"] > 0]
    return pd.DataFrame(
        {
            "region": table["region"],
            "films": table["abnormal_films"],
            "pointing_game": table["pointing_game_abnormal"],
            "energy_share": table["energy_share_abnormal"],
            "chance": table["chance_abnormal"],
            "pointing_game_all": table["pointing_game"],
            "energy_share_all": table["energy_share"],
        }
    ).reset_index(drop=True)


def texts_by_image(images: pd.DataFrame, image_ids: list[str], texts: dict[str, str]) -> dict[str, str]:
    """Report texts (by accession number) re-keyed by the image ids of the given films."""
    accession = dict(zip(images["image_id"], images["accession_number"], strict=True))
    return {i: texts[accession[i]] for i in image_ids if accession.get(i) in texts}


def write_masks(phantom: Path, images: pd.DataFrame, image_ids: list[str], out: Path) -> Path:
    """The phantom's region masks (by film id) copied to ``<image id>.npz`` for ``explain --masks``."""
    truth = TRUTH.read(phantom, REGION_KEYS)
    film_of = dict(zip(truth["accession_number"], truth["film_id"], strict=True))
    out.mkdir(parents=True, exist_ok=True)
    table = images.set_index("image_id")
    for image_id in image_ids:
        source = phantom / "masks" / f"{film_of[table.at[image_id, 'accession_number']]}.npz"
        (out / f"{image_id}.npz").write_bytes(source.read_bytes())
    return out


def gallery_films(predictions: pd.DataFrame, config: DemoConfig) -> list[str]:
    """Names of the films that get a Fig. 3 panel: the gallery's, films with abnormal regions first."""
    abnormal = predictions[list(REGION_KEYS)].sum(axis=1) > 0
    ordered = pd.concat([predictions[abnormal], predictions[~abnormal]])
    return ordered["image_id"].astype(str).head(config.gallery).tolist()


def demo_notes(config: DemoConfig, result: DemoResult) -> list[str]:
    """What the report's reader should know about how the demo was made."""
    agreement = ", ".join(f"{k} {v:.0%}" for k, v in result.labeler_agreement.items())
    patients = result.counts.get("patients", "?")
    return [
        f"Made by cxr-regions demo: {config.films} phantom films of {patients} patients, ingested at "
        f"{config.size}×{config.size} px, {config.arch} trained from scratch for {config.epochs} epochs "
        "(sized to finish in about ten minutes on two CPU cores; the paper uses 256-px films, 224-px "
        "crops, four ImageNet-size networks and up to 500 epochs).",
        "Labels come from the reports, read by the labeler; its agreement with the phantom's ground "
        f"truth: {agreement}.",
    ]


def summary_markdown(config: DemoConfig, result: DemoResult) -> str:
    """``summary.md``: stage times, the AUC table, the localisation scores and where to look."""
    lines = ["# cxr-regions demo (PHANTOM data)", "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in result.seconds.items()]
    lines += [f"| total | {sum(result.seconds.values()):.1f} |", ""]
    if result.auc is not None:
        lines += ["| label | AUC | 95% CI | abnormal films |", "|---|---:|---|---:|"]
        for row in result.auc.itertuples(index=False):
            flag = " (unreliable: < 10)" if row.label != "mean" and row.n_pos < 10 else ""
            ci = f"{row.ci_low:.3f} – {row.ci_high:.3f}"
            lines.append(f"| {row.label} | {row.auc:.3f} | {ci} | {row.n_pos}{flag} |")
        lines.append("")
    if result.localisation is not None:
        lines += [
            f"Localisation of the {config.method} heatmaps on the test films whose label calls the region "
            "abnormal (pointing game: the heatmap's peak lies in the region; chance: the region's share "
            "of the film):",
            "",
            "| region | films | pointing game | energy in region | chance | pointing game, all films |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in result.localisation.itertuples(index=False):
            lines.append(
                f"| {row.region} | {row.films} | {row.pointing_game:.0%} | {row.energy_share:.0%} "
                f"| {row.chance:.0%} | {row.pointing_game_all:.0%} |"
            )
        lines.append("")
    lines.append(f"Report: {result.report}")
    return "\n".join(lines) + "\n"


def demo_salt(folder: Path, seed: int) -> Path:
    """A salt file derived from the seed, so that a rerun gives the same film and patient keys, hence the
    same patient bootstrap and the same confidence intervals. Only for the phantom, which has no patients:
    a hospital's ingest keeps its random, secret salt."""
    path = folder / "demo-salt.txt"
    write_text(path, hashlib.sha256(f"cxr-regions demo, seed {seed}".encode()).hexdigest() + "\n")
    return path


def summary_record(config: DemoConfig, result: DemoResult) -> dict[str, Any]:
    """``summary.json``'s content: the settings and the figures of ``summary.md`` as data, for scripts
    (``benchmarks/demo_figures.py`` writes the figures of docs/getting-started.md from it)."""
    return summary_document(config, result).to_dict()


def summary_document(config: DemoConfig, result: DemoResult) -> DemoSummary:
    """``summary.json`` as its record."""

    def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
        return [] if frame is None else json.loads(frame.to_json(orient="records"))

    return DemoSummary(
        config=to_dict(config),
        seconds=result.seconds,
        counts=result.counts,
        labeler_agreement=result.labeler_agreement,
        auc=records(result.auc),
        localisation=records(result.localisation),
    )
