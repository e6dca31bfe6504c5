"""The whole pipeline on embedded phantom data."""
