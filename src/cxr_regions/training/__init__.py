"""Stage 4, train: the paper's recipe with Lightning; run folders and exported weights."""
