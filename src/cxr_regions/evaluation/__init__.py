"""Stage 5, evaluate: AUCs with patient-bootstrap intervals, model comparison, the Table 2 grid."""
