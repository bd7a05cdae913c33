"""Inference: photo preprocessing and reconstruction of a mesh from a prepared photo."""
