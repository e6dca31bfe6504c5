"""Stage 3, label: Chinese or English chest-film reports -> five region labels (labeling-policy.md).

Public API::

    Labeler(vocabulary=None, markings_abnormal=False).label(text) -> ReportLabels
    make_labeler(language="zh"|"en"|"auto", vocabulary=None) -> Labeler | AutoLabeler
    load_vocabulary(path=None) -> Vocabulary
    label_file(input_path, output_csv, id_col=None, text_cols=None, binary=False,
               markings_abnormal=False) -> LabelSummary      # writes labels.csv
    read_report_texts(path, id_col=None, text_cols=None) -> {report id: text}   # as label reads it
    open_report_table(path, id_col=None, text_cols=None) -> ReportTable          # .chunks() streams
    inspect_table(path) -> TableInfo; column_named(info, name) -> str | None      # a table's columns
    table1(labels_frame) -> DataFrame;  table1_markdown(table) -> str

The names are imported on first use (PEP 562), so that ``cxr-regions --help``, which imports
this package, does not load pandas, pydantic or OpenCC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "Evidence": "labeler",
    "Labeler": "labeler",
    "ReportLabels": "labeler",
    "label_text": "labeler",
    "AutoLabeler": "bilingual",
    "make_labeler": "bilingual",
    "detect_language": "language",
    "LabelSummary": "files",
    "label_file": "files",
    "TableInfo": "table_reader",
    "column_listing": "table_reader",
    "column_named": "table_reader",
    "inspect_table": "table_reader",
    "ReportTable": "texts",
    "open_report_table": "texts",
    "read_report_texts": "texts",
    "table1": "table_one",
    "table1_markdown": "table_one",
    "Vocabulary": "vocabulary",
    "load_vocabulary": "vocabulary",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.label.bilingual import AutoLabeler, make_labeler
    from cxr_regions.label.files import LabelSummary, label_file
    from cxr_regions.label.labeler import Evidence, Labeler, ReportLabels, label_text
    from cxr_regions.label.language import detect_language
    from cxr_regions.label.table_one import table1, table1_markdown
    from cxr_regions.label.table_reader import TableInfo, column_listing, column_named, inspect_table
    from cxr_regions.label.texts import ReportTable, open_report_table, read_report_texts
    from cxr_regions.label.vocabulary import Vocabulary, load_vocabulary
