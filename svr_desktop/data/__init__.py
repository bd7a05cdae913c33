"""Data: procedural parts, the orthographic renderer, the data-set builder and loader."""
