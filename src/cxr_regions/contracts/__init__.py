"""The files that cross stages, as typed records: shared by every stage, importing none.

Each record reads and writes its file (``Record.read(path)`` / ``record.write(path)`` for a JSON
document, ``TABLE.read(path)`` / ``TABLE.write(path, rows)`` for a CSV table); docs/data-contracts.md
describes them and is tested against them. :mod:`cxr_regions.contracts.core` says how to add one.

The names are imported on first use (PEP 562), so that ``cxr-regions --help`` does not load pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "Document": "core",
    "Record": "core",
    "Table": "core",
    "ERRORS": "images",
    "FULL_DIR": "images",
    "IMAGES": "images",
    "IMAGES_DIR": "images",
    "ErrorRow": "images",
    "ImageRow": "images",
    "MANIFEST": "dataset",
    "SPLITS": "dataset",
    "DatasetInfo": "dataset",
    "ManifestRow": "dataset",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.contracts.core import Document, Record, Table
    from cxr_regions.contracts.dataset import MANIFEST, SPLITS, DatasetInfo, ManifestRow
    from cxr_regions.contracts.images import ERRORS, FULL_DIR, IMAGES, IMAGES_DIR, ErrorRow, ImageRow
