"""Stage 10, serve: the reading room, a web service where radiologists read new films with the model.

``cxr-regions serve RUN`` starts it (FastAPI + uvicorn): films come in by upload or a watch folder
through ingest's selection, decoding and de-identification, the model's probabilities and heatmaps
appear on a worklist and in a viewer, and the radiologists' verdicts go into an SQLite database
under ``--data`` (:class:`Store`). The public names load on first use.
"""

from __future__ import annotations

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "ServeConfig": "configuration",
    "create_app": "app",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
