"""cxr-regions: chest radiographs and Chinese reports -> a five-region classifier."""

__version__ = "0.1.0"
