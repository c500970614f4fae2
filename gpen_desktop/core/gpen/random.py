"""Random-weight GPEN networks in the official key layout (tests, local servers, benchmarks)."""

from __future__ import annotations

from pathlib import Path

import torch

from gpen_desktop.core.gpen.network import FullGenerator


def random_generator(
    size: int,
    channel_multiplier: int = 2,
    narrow: float = 0.125,
    style_dim: int = 512,
    n_mlp: int = 8,
    seed: int = 0,
) -> FullGenerator:
    """A FullGenerator with deterministic random weights (noise weights and biases non-zero, so
    every parameter influences the output)."""
    gen = torch.Generator().manual_seed(seed)
    model = FullGenerator(size, style_dim, n_mlp, channel_multiplier, narrow)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("noise.weight"):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.5 + 0.1)
            elif name.endswith("bias") and "modulation" not in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif name.endswith("modulation.bias"):
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen))
    return model.eval()


def random_checkpoint(
    path: str | Path,
    size: int,
    channel_multiplier: int = 2,
    narrow: float = 0.125,
    style_dim: int = 512,
    n_mlp: int = 8,
    seed: int = 0,
) -> Path:
    """Write a random-weight checkpoint as a flat state dict (the official download form)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = random_generator(size, channel_multiplier, narrow, style_dim, n_mlp, seed)
    torch.save(model.state_dict(), path)
    return path
