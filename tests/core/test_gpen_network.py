"""The GPEN network: parity with the reference vector and the official state-dict layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gpen_desktop.core.gpen import (
    Discriminator,
    FullGenerator,
    GPENConfig,
    config_from_state_dict,
    discriminator_config_from_state_dict,
    random_generator,
)
from gpen_desktop.core.inference import to_tensor, to_uint8

DATA = Path(__file__).parents[1] / "data"
LAYOUTS = json.loads((DATA / "gpen_layouts.json").read_text())["layouts"]


@pytest.fixture(scope="module")
def parity():
    return torch.load(DATA / "parity_64.pt", weights_only=True)


def test_parity_with_reference_vector(parity):
    sd = parity["state_dict"]
    config = config_from_state_dict(sd)
    cfg = parity["config"]
    assert (config.size, config.channel_multiplier, config.narrow) == (
        cfg["in_size"],
        cfg["channel_multiplier"],
        cfg["narrow"],
    )
    assert (config.style_dim, config.n_mlp) == (cfg["style_dim"], cfg["n_mlp"])
    model = FullGenerator.from_config(config).eval()
    model.load_state_dict(sd, strict=True)
    x = to_tensor(parity["input_rgb_u8"].numpy())
    with torch.no_grad():
        y = model(x)
    err = (y - parity["output"]).abs().max().item()
    assert err <= 1e-4, f"max abs error {err}"
    assert (to_uint8(y) == parity["output_rgb_u8"].numpy()).all()


def _meta_state(keys: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay["name"] for lay in LAYOUTS])
def test_official_layout_builds_and_loads_strictly(layout):
    sd = _meta_state(layout["keys"])
    if layout["kind"] == "Discriminator":
        config = discriminator_config_from_state_dict(sd)
        with torch.device("meta"):
            model = Discriminator(config.size, config.channel_multiplier, config.narrow)
    else:
        config = config_from_state_dict(sd)
        assert (config.style_dim, config.n_mlp) == (layout["style_dim"], layout["n_mlp"])
        with torch.device("meta"):
            model = FullGenerator.from_config(config)
    assert config.size == layout["in_size"]
    assert config.channel_multiplier == layout["channel_multiplier"]
    assert config.narrow == layout["narrow"]
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == layout["keys"]
    assert sum(p.numel() for p in model.parameters()) == layout["n_params"]
    model.load_state_dict(sd, strict=True, assign=True)


def test_channel_table_matches_design():
    ch = GPENConfig(1024, channel_multiplier=2, narrow=1).channels
    assert [ch[r] for r in (4, 32, 64, 128, 256, 512, 1024)] == [512, 512, 512, 256, 128, 64, 32]
    assert GPENConfig(256, channel_multiplier=1, narrow=0.5).channels[256] == 32


def test_output_is_deterministic_and_batch_independent():
    model = random_generator(64, seed=3)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        full = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
        again = model(x)
    assert torch.equal(full, again)
    assert (full - single).abs().max() < 1e-5


def test_every_parameter_influences_the_output():
    model = random_generator(64, seed=4)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    model.requires_grad_(True)
    model(x).square().mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert dead == []


def test_discriminator_scores_a_batch():
    d = Discriminator(64, narrow=0.125)
    out = d(torch.randn(4, 3, 64, 64))
    assert out.shape == (4, 1) and torch.isfinite(out).all()
