"""The reading room: a web service where radiologists read new films with the model and save verdicts."""
