"""Stage 7, explain: per-region heatmaps, overlays, Fig. 3 panels and localisation scores.

The public names are imported on first use (PEP 562), so that ``cxr-regions --help`` does not load
torch and pytorch-grad-cam.
"""

from __future__ import annotations

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "ExplainConfig": "explain_config",
    "ExplainSummary": "batch",
    "FilmSource": "batch",
    "explain_films": "batch",
    "explain_images": "batch",
    "explain_split": "batch",
    "read_thresholds": "batch",
    "frame_size_of": "batch",
    "METHODS": "heatmaps",
    "FilmHeatmaps": "heatmaps",
    "compute_heatmaps": "heatmaps",
    "min_map_side": "heatmaps",
    "target_layer": "heatmaps",
    "overlay": "overlays",
    "energy_share": "localisation",
    "pointing_hit": "localisation",
    "score_film": "localisation",
    "summarise": "localisation",
    "summarise_by_label": "localisation",
    "panel_png": "panels",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
