"""A phantom folder's ``truth.csv`` (written by ``phantom``): what was drawn on each synthetic film,
read by the demo (the labeler's agreement with the truth, the region masks of the test films)."""

from __future__ import annotations

from cxr_regions.contracts.core import Record, column
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.names import TRUTH_CSV


class TruthRow(Record):
    """One phantom film and its ground truth."""

    film_id: str = column("The film's number in the phantom (its masks are `masks/<film_id>.npz`).")
    accession_number: str = column("Identifies the film and its report.")
    patient_id: str = column("The synthetic patient's id (a phantom has no real patients).")
    labels: dict[str, str] = column("The ground truth per region: `1`, `u` or `0`.", template="<label>")
    label_string: str = column("The five values in region order, `u` counted as `1`.")
    view: str = column("`PA` or `AP`.")
    dicom_path: str = column("The DICOM file, relative to the phantom folder.")
    description: str = column(
        "What was drawn per abnormal region, e.g. `lungs:nodule/right/upper` (sides are the patient's)."
    )


TRUTH = Table(TRUTH_CSV, TruthRow, "cxr-regions phantom")
"""``truth.csv``: ``TRUTH.read(phantom_folder, REGION_KEYS)``."""
