"""Stage 6, explain: per-region heatmaps, figure panels and the HTML report."""
