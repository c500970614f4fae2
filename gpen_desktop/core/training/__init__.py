"""Training and fine-tuning GPEN (``gpen train``): config, data, losses, loop, checkpoints,
distributed. Nothing here imports Qt; torch is imported by the submodules."""
