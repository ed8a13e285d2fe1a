"""Pages: what people look at in site/ (contract §8)."""
