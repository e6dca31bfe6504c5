"""An explain folder (written by ``explain``): ``explain.csv`` (:data:`EXPLAIN`, one row per film) and,
with ``--masks``, ``localisation.csv`` (:data:`LOCALISATION`, one row per film and region), read by
the HTML report and the demo."""

from __future__ import annotations

from cxr_regions.contracts.core import Record, column
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.names import EXPLAIN_CSV, LOCALISATION_CSV


class ExplainRow(Record):
    """A row of ``explain.csv``: one explained film."""

    image: str = column("The film's name (its file name without suffix, or its `image_id` with --split).")
    source: str = column("The path read, or `<dataset>#<row>`.")
    height: int = column("The film's height in pixels.")
    width: int = column("The film's width in pixels.")
    p: dict[str, float | None] = column(
        "The probability shown (calibrated where a calibration is used); empty for an untrained label.",
        template="p_<label>",
    )
    p_raw: dict[str, float | None] = column("The model's own probability.", template="p_raw_<label>")
    calibrated: bool = column("Whether `p_<label>` is calibrated.")
    predicted_abnormal: str = column("The labels at or above their threshold (raw scale), space-separated.")


class LocalisationRow(Record):
    """A row of ``localisation.csv``: how one heatmap points at its region's mask."""

    image: str = column("The film's name (as in explain.csv).")
    region: str = column("The region (label).")
    pointing_hit: float = column(
        "1 when the heatmap's peak lies in the mask (the share of tied peaks inside)."
    )
    energy_share: float | None = column("The share of the heatmap's mass inside the mask.")
    mask_fraction: float = column("The mask's share of the film: the chance level of both.")
    predicted_abnormal: bool = column("Whether the model calls the region abnormal on this film.")


EXPLAIN = Table(EXPLAIN_CSV, ExplainRow, "cxr-regions explain", text_cells=False)
LOCALISATION = Table(LOCALISATION_CSV, LocalisationRow, "cxr-regions explain --masks", text_cells=False)
