"""``serve --reports TABLE``: the accession and report columns are chosen from the table's header (names
compared as ``label`` compares them), and a table without them is an error naming the columns it has."""

from __future__ import annotations

import pytest

from cxr_regions.errors import UserError
from cxr_regions.serve.reports import read_report_table


def test_accession_and_findings_plus_impression_are_joined(tmp_path):
    table = tmp_path / "reports.csv"
    table.write_text(
        "Report ID,Accession Number,Findings,Impression\nr1,A1,心影增大。,心脏增大\nr2,A2,两肺清晰。,\n",
        encoding="utf-8",
    )
    assert read_report_table(table) == {"A1": "心影增大。\n心脏增大", "A2": "两肺清晰。"}  # accession first


def test_a_text_column_serves_where_findings_and_impression_are_not_both_there(tmp_path):
    table = tmp_path / "reports.tsv"
    table.write_text("accession\timpression\ttext\nB7\tx\t主动脉迂曲。\n", encoding="utf-8")
    assert read_report_table(table) == {"B7": "主动脉迂曲。"}


def test_a_table_without_the_columns_names_the_columns_it_has(tmp_path):
    table = tmp_path / "reports.csv"
    table.write_text("patient,findings\nP1,心影增大。\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"no accession and report columns.*'patient', 'findings'"):
        read_report_table(table)
    with pytest.raises(UserError, match="not found"):
        read_report_table(tmp_path / "missing.csv")
