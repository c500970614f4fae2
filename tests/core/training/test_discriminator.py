"""GPEN's discriminator loads the official -D layout strictly and scores batches."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from gpen_desktop.core.gpen import discriminator_config_from_state_dict
from gpen_desktop.core.gpen.discriminator import Discriminator

LAYOUTS = json.loads((Path(__file__).parents[2] / "data" / "gpen_layouts.json").read_text())


def test_official_d_layout_loads_strictly_with_random_tensors():
    layout = next(lay for lay in LAYOUTS["layouts"] if lay["kind"] == "Discriminator")
    sd = {k: torch.empty(shape, device="meta") for k, shape in layout["keys"].items()}
    config = discriminator_config_from_state_dict(sd)
    assert (config.size, config.channel_multiplier, config.narrow) == (512, 2, 1.0)
    with torch.device("meta"):
        model = Discriminator(config.size, config.channel_multiplier, config.narrow)
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == layout["keys"]
    assert sum(p.numel() for p in model.parameters()) == layout["n_params"]
    model.load_state_dict(sd, strict=True, assign=True)


def test_tiny_discriminator_round_trips_a_random_state_dict():
    d = Discriminator(64, narrow=0.125)
    sd = {k: torch.randn_like(v) for k, v in d.state_dict().items()}
    other = Discriminator(64, narrow=0.125)
    other.load_state_dict(sd, strict=True)
    x = torch.randn(4, 3, 64, 64)
    out = other(x)
    assert out.shape == (4, 1) and torch.isfinite(out).all()
