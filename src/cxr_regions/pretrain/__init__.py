"""ChestX-ray14 pretraining: the paper's third initialisation."""
