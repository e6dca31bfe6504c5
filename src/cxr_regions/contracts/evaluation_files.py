"""An evaluation folder (written by ``evaluate``): ``evaluation.json`` (:class:`EvaluationInfo`, written
last), ``predictions.csv``, ``auc.csv``, ``thresholds.csv``, ``calibration.csv`` and
``calibration.json`` (:class:`CalibrationInfo`); read by the model card, ``compare``, ``experiment``,
``explain``, the HTML report, the demo and the reading room."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from cxr_regions.contracts.core import Document, Record, column
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.names import (
    AUC_CSV,
    CALIBRATION_CSV,
    CALIBRATION_JSON,
    EVALUATION_JSON,
    PREDICTIONS_CSV,
    THRESHOLDS_CSV,
)


def _labelled(name: str, entry: type[Record], doc: str, label: str) -> type[Record]:
    """``entry``'s fields behind a first ``label`` column: a row of a per-label table."""
    fields: dict[str, Any] = {"label": (str, column(label))}
    fields |= {key: (info.annotation, info) for key, info in entry.model_fields.items()}
    return create_model(name, __base__=Record, __doc__=doc, **fields)


class AucEntry(Record):
    """One label's (or the mean's) AUC with its 95% patient-bootstrap interval."""

    auc: float | None = column("ROC AUC; empty (null) where undefined: one class, or no labelled film.")
    ci_low: float | None = column("Lower end of the 95% percentile interval of patient resamples.")
    ci_high: float | None = column("Upper end.")
    n_pos: int = column("Abnormal films (for `mean`: films abnormal in any label).")
    n_neg: int = column("Normal films (for `mean`: normal in every label).")
    n_boot_valid: int = column("Resamples that held both classes.")
    n_missing: int = column("Films without the label, left out.", default=0)
    defined: bool = column("False where the labelled films are one class or there are none.")
    reliable: bool = column("Defined and over at least 10 abnormal films.")


AucRow = _labelled(
    "AucRow", AucEntry, "A row of ``auc.csv``: each label, then ``mean``.", "The label, or `mean`."
)


class OperatingPointEntry(Record):
    """A label's threshold and what it gives on the evaluated films."""

    threshold: float = column("Youden's J threshold on validation (raw probability scale).")
    source: str = column("`val Youden`, or `default 0.5 (...)` and why.")
    sensitivity: float | None = column("On the evaluated films.")
    specificity: float | None = column("On the evaluated films.")
    f1: float | None = column("On the evaluated films.")
    tp: int = column("True positives.")
    fp: int = column("False positives.")
    tn: int = column("True negatives.")
    fn: int = column("False negatives.")


ThresholdRow = _labelled("ThresholdRow", OperatingPointEntry, "A row of ``thresholds.csv``.", "The label.")


class CalibrationRow(Record):
    """A row of ``calibration.csv``: ECE and Brier before/after temperature scaling, with CIs."""

    label: str = column("The label.")
    temperature: float = column("T: calibrated p = sigmoid(logit(p) / T).")
    fit: str = column("`fitted on N validation films`, or why T stayed 1.")
    n_films: int = column("Labelled films evaluated.")
    n_pos: int = column("Abnormal among them.")
    ece_before: float | None = column("Expected calibration error (10 equal-width bins), raw.")
    ece_before_ci_low: float | None = column("95% patient-bootstrap interval, low end.")
    ece_before_ci_high: float | None = column("High end.")
    brier_before: float | None = column("Brier score, raw.")
    brier_before_ci_low: float | None = column("Low end.")
    brier_before_ci_high: float | None = column("High end.")
    ece_after: float | None = column("ECE, calibrated.")
    ece_after_ci_low: float | None = column("Low end.")
    ece_after_ci_high: float | None = column("High end.")
    brier_after: float | None = column("Brier score, calibrated.")
    brier_after_ci_low: float | None = column("Low end.")
    brier_after_ci_high: float | None = column("High end.")


class LabelOverlap(Record):
    """An external validation's labels, matched by name."""

    scored: list[str] = Field(description="Labels in both the run and the dataset.")
    run_only: list[str] = Field(description="Predicted but not in the dataset (not labelled).")
    dataset_only: list[str] = Field(description="In the dataset, not predicted.")
    thresholds_from: str | None = Field(None, description="Where the thresholds and calibration come from.")


class EvaluationInfo(Document):
    """``evaluation.json``: the scores of one run on one split. Written last: its presence means
    the evaluation folder is complete."""

    FILE = EVALUATION_JSON
    WRITER = "cxr-regions evaluate"

    run: str | None = Field(None, description="The run folder.")
    dataset: str | None = Field(None, description="The dataset folder scored.")
    arch: str | None = Field(None, description="The run's architecture (model.json).")
    init: str | None = Field(None, description="The run's initialisation (model.json).")
    untrained_labels: list[str] = Field(default_factory=list, description="From model.json.")
    external: bool | None = Field(None, description="True for an external validation (another data set).")
    label_overlap: LabelOverlap | None = Field(None, description="External validation: the labels matched.")
    n_boot: int = Field(description="Patient bootstrap resamples.")
    seed: int = Field(description="Seed of the bootstrap.")
    split: str = Field(description="`train`, `val`, `test` or `all`.")
    n_films: int = Field(description="Films scored.")
    n_patients: int = Field(description="Their patients.")
    ci_level: float = Field(description="0.95.")
    labels: list[str] = Field(description="The labels scored, in order.")
    undefined: list[str] = Field(description="Labels without an AUC (one class, or not labelled).")
    auc: dict[str, AucEntry] = Field(description="Label or `mean` -> the auc.csv fields.")
    thresholds: dict[str, OperatingPointEntry] = Field(description="Label -> the thresholds.csv fields.")
    calibration: dict[str, CalibrationRow] | None = Field(
        None, description="Label -> the calibration.csv row, where a calibration was fitted."
    )


class CalibrationInfo(Document):
    """``calibration.json``: the temperature per label ``evaluate`` fitted on validation."""

    FILE = CALIBRATION_JSON
    WRITER = "cxr-regions evaluate"

    labels: list[str] = Field(description="The labels, in order.")
    temperatures: dict[str, float] = Field(description="Label -> T (calibrated p = sigmoid(logit(p) / T)).")
    notes: dict[str, str] = Field(
        default_factory=dict, description="Label -> `fitted on N validation films`, or why T stayed 1."
    )
    method: str = Field("temperature", description="`temperature`.")
    fitted_on: str = Field("val", description="`val`.")


class PredictionRow(Record):
    """A row of ``predictions.csv``: one scored film."""

    image_id: str = column("The film.")
    patient_key: str = column("Its patient (the bootstrap resamples patients).")
    p: dict[str, float | None] = column("The model's raw probability per label.", template="p_<label>")
    labels: dict[str, float | None] = column(
        "The true label, `0`/`1`, empty where missing.", template="<label>"
    )


PREDICTIONS = Table(PREDICTIONS_CSV, PredictionRow, "cxr-regions evaluate", text_cells=False)
"""``predictions.csv`` (``PREDICTIONS.read(folder, labels)``: probabilities as numbers, NaN where missing)."""
AUC = Table(AUC_CSV, AucRow, "cxr-regions evaluate", text_cells=False)
THRESHOLDS = Table(THRESHOLDS_CSV, ThresholdRow, "cxr-regions evaluate", text_cells=False)
CALIBRATION_TABLE = Table(CALIBRATION_CSV, CalibrationRow, "cxr-regions evaluate", text_cells=False)


def auc_entry(row: Any) -> AucEntry:
    """An :class:`AucEntry` from anything with its fields (an ``AucResult``, a row)."""
    return AucEntry(**{name: getattr(row, name) for name in AucEntry.model_fields})
