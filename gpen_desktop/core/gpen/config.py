"""GPEN hyperparameters and how to read them off a state dict's tensor shapes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

RESOLUTIONS = (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


def channel_table(channel_multiplier: float, narrow: float) -> dict[int, int]:
    """Channels per resolution: 512*narrow up to 32 px, then 256..8 x channel_multiplier*narrow."""
    table = {r: int(512 * narrow) for r in (4, 8, 16, 32)}
    for r, base in zip((64, 128, 256, 512, 1024, 2048), (256, 128, 64, 32, 16, 8), strict=True):
        table[r] = int(base * channel_multiplier * narrow)
    return table


@dataclass(frozen=True)
class GPENConfig:
    """Everything needed to build a GPEN ``FullGenerator`` (or its discriminator)."""

    size: int
    style_dim: int = 512
    n_mlp: int = 8
    channel_multiplier: int = 2
    narrow: float = 1.0
    lr_mlp: float = 0.01

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    @property
    def channels(self) -> dict[int, int]:
        return channel_table(self.channel_multiplier, self.narrow)

    def to_json(self) -> dict:
        return asdict(self)


class ConfigError(ValueError):
    """The tensors do not describe a consistent GPEN network."""


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    if key not in sd:
        raise ConfigError(f"missing tensor '{key}'")
    return tuple(sd[key].shape)


def _solve_multiplier_narrow(c_top: int, size: int, c4: int) -> tuple[int, float]:
    """From channels at 4 px (512*narrow) and at ``size`` (base*cm*narrow), find (cm, narrow)."""
    narrow = c4 / 512
    if size <= 32:
        return 2, narrow
    base = {64: 256, 128: 128, 256: 64, 512: 32, 1024: 16, 2048: 8}[size]
    cm = c_top / (base * narrow)
    if abs(cm - round(cm)) > 1e-6 or round(cm) < 1:
        # int() truncation in the channel table can hide the exact ratio; try small integers.
        for cand in (1, 2, 4):
            if int(base * cand * narrow) == c_top:
                return cand, narrow
        raise ConfigError(f"channel counts {c4} (4 px) and {c_top} ({size} px) fit no GPEN config")
    return round(cm), narrow


def config_from_state_dict(sd: Mapping) -> GPENConfig:
    """Read size, style_dim, n_mlp, channel_multiplier and narrow of a FullGenerator state dict."""
    ecd = [int(m.group(1)) for k in sd if (m := re.match(r"ecd(\d+)\.", k))]
    if not ecd:
        raise ConfigError("no encoder tensors ('ecd0.…')")
    log_size = max(ecd) + 2
    size = 2**log_size
    if size not in RESOLUTIONS or size < 8:
        raise ConfigError(f"unsupported size {size}")
    mlp = [int(m.group(1)) for k in sd if (m := re.match(r"generator\.style\.(\d+)\.weight$", k))]
    n_mlp = max(mlp) if mlp else 0
    if n_mlp < 1:
        raise ConfigError("no mapping network tensors ('generator.style.1.weight')")
    style_dim = _shape(sd, "generator.style.1.weight")[0]
    c4 = _shape(sd, "generator.input.input")[1]
    c_top = _shape(sd, "ecd0.0.0.weight")[0]
    cm, narrow = _solve_multiplier_narrow(c_top, size, c4)
    return GPENConfig(
        size=size, style_dim=style_dim, n_mlp=n_mlp, channel_multiplier=cm, narrow=narrow
    )


def discriminator_config_from_state_dict(sd: Mapping) -> GPENConfig:
    """Read size, channel_multiplier and narrow of a GPEN discriminator state dict."""
    blocks = [int(m.group(1)) for k in sd if (m := re.match(r"convs\.(\d+)\.conv1\.", k))]
    if not blocks:
        raise ConfigError("no discriminator blocks ('convs.1.conv1.…')")
    size = 2 ** (max(blocks) + 2)
    c4 = _shape(sd, "final_conv.0.weight")[0]
    c_top = _shape(sd, "convs.0.0.weight")[0]
    cm, narrow = _solve_multiplier_narrow(c_top, size, c4)
    return GPENConfig(size=size, channel_multiplier=cm, narrow=narrow)
