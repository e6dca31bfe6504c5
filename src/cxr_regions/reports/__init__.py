"""Stage 1, label: Chinese chest-film reports -> five region labels (labeling-policy.md)."""
