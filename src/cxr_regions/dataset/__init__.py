"""Stage 3, build: labels.csv + images.csv -> a split, packed, training-ready dataset."""
