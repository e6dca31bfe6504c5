"""``summary.json`` (written by ``demo``): the demo's settings and figures as data, for scripts (the
documentation's demo figures are written from it)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cxr_regions.contracts.core import Document
from cxr_regions.contracts.names import SUMMARY_JSON


class DemoSummary(Document):
    """``summary.json``: what ``summary.md`` shows, as data."""

    FILE = SUMMARY_JSON
    WRITER = "cxr-regions demo"

    config: dict[str, Any] = Field(description="The settings (as demo.yaml).")
    seconds: dict[str, float] = Field(description="Stage -> seconds it took.")
    counts: dict[str, Any] = Field(description="`patients` (phantom) and `heatmap_films` (explained).")
    labeler_agreement: dict[str, float] = Field(
        description="Region -> share of reports whose label matches the phantom's truth."
    )
    auc: list[dict[str, Any]] = Field(description="The rows of `run/evaluation/auc.csv`.")
    localisation: list[dict[str, Any]] = Field(
        description="Per region: `films`, `pointing_game`, `energy_share`, `chance`, and "
        "`pointing_game_all`/`energy_share_all` over every test film."
    )
