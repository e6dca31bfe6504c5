"""The HTML report: one self-contained file with the data, the scores and a gallery of explained films."""

from cxr_regions.htmlreport.build import ReportInputs, render, write_html_report

__all__ = ["ReportInputs", "render", "write_html_report"]
