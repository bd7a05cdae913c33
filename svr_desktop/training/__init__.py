"""Training: typed configs and presets, the loop, checkpoints, metrics, DDP."""
