"""Report texts for the gallery: the reports stage's reader, under the name callers of this stage used.

``report`` reads report tables with :func:`cxr_regions.reports.read_report_texts`, exactly as ``label``
reads them (every format and encoding, the same recognised columns); this module only re-exports it.
"""

from cxr_regions.reports import read_report_texts

__all__ = ["read_report_texts"]
