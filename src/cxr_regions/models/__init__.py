"""Model factory: the paper's four torchvision networks with a five-logit head and one-channel input."""
