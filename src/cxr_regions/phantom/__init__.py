"""Embedded demo data: a synthetic chest-radiograph phantom with ground truth, reports and DICOM files."""
