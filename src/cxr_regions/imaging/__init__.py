"""Stage 2, ingest: DICOM files -> de-identified PNGs and an image table."""
