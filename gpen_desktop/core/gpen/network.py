"""GPEN: an encoder whose features and latent drive a StyleGAN2 generator.

``FullGenerator`` holds the encoder (``ecd0 …``, ``final_linear``) and the ``generator``; its
state dict has exactly the official key layout. ``Discriminator`` is the StyleGAN2 discriminator
GPEN trains with. Images are N x 3 x S x S tensors in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from gpen_desktop.core.gpen.config import GPENConfig
from gpen_desktop.core.gpen.layers import (
    ConstantInput,
    ConvLayer,
    EqualLinear,
    PixelNorm,
    StyledConv,
    ToRGB,
)


class Generator(nn.Module):
    """StyleGAN2 synthesis network whose "noise" inputs are encoder feature maps (concatenated)."""

    def __init__(self, config: GPENConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        self.style_dim = config.style_dim
        self.style = nn.Sequential(
            PixelNorm(),
            *(
                EqualLinear(
                    config.style_dim, config.style_dim, lr_mul=config.lr_mlp, activation=True
                )
                for _ in range(config.n_mlp)
            ),
        )
        self.input = ConstantInput(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], 3, config.style_dim)
        self.to_rgb1 = ToRGB(ch[4] * 2, config.style_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        in_ch = ch[4]
        for log_r in range(3, config.log_size + 1):
            out_ch = ch[2**log_r]
            self.convs.append(StyledConv(in_ch * 2, out_ch, 3, config.style_dim, upsample=True))
            self.convs.append(StyledConv(out_ch * 2, out_ch, 3, config.style_dim))
            self.to_rgbs.append(ToRGB(out_ch * 2, config.style_dim))
            in_ch = out_ch

    def forward(self, latent: torch.Tensor, features: list[torch.Tensor]) -> torch.Tensor:
        """``latent``: N x style_dim (before the mapping MLP); ``features``: encoder maps from
        4x4 up to full size (one per resolution). Returns the RGB image N x 3 x S x S."""
        return self.synthesize(self.style(latent), features)

    def synthesize(self, w: torch.Tensor, features: list[torch.Tensor]) -> torch.Tensor:
        """The synthesis part alone: ``w`` is the mapped latent (N x style_dim, after the MLP);
        training differentiates through it (path-length regularisation)."""
        out = self.conv1(self.input(w.shape[0]), w, features[0])
        skip = self.to_rgb1(out, w)
        for i, to_rgb in enumerate(self.to_rgbs):
            feature = features[i + 1]
            out = self.convs[2 * i](out, w, feature)
            out = self.convs[2 * i + 1](out, w, feature)
            skip = to_rgb(out, w, skip)
        return skip


class FullGenerator(nn.Module):
    """The GPEN restorer: encoder -> (latent, multi-scale features) -> generator."""

    def __init__(
        self,
        size: int,
        style_dim: int = 512,
        n_mlp: int = 8,
        channel_multiplier: int = 2,
        narrow: float = 1.0,
    ) -> None:
        super().__init__()
        config = GPENConfig(size, style_dim, n_mlp, channel_multiplier, narrow)
        self.config = config
        ch = config.channels
        self.size = size
        self.log_size = config.log_size
        self.generator = Generator(config)
        self.ecd0 = nn.Sequential(ConvLayer(3, ch[size], 1))
        in_ch = ch[size]
        for i in range(1, self.log_size - 1):
            out_ch = ch[2 ** (self.log_size - i)]
            setattr(self, f"ecd{i}", nn.Sequential(ConvLayer(in_ch, out_ch, 3, downsample=True)))
            in_ch = out_ch
        self.final_linear = nn.Sequential(EqualLinear(ch[4] * 16, style_dim, activation=True))

    @classmethod
    def from_config(cls, config: GPENConfig) -> FullGenerator:
        return cls(
            config.size, config.style_dim, config.n_mlp, config.channel_multiplier, config.narrow
        )

    def encoders(self) -> list[nn.Module]:
        return [getattr(self, f"ecd{i}") for i in range(self.log_size - 1)]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Returns the latent (N x style_dim) and the features ordered 4x4 first."""
        features = []
        for ecd in self.encoders():
            x = ecd(x)
            features.append(x)
        latent = self.final_linear(x.reshape(x.shape[0], -1))
        return latent, features[::-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        latent, features = self.encode(x)
        return self.generator(latent, features)


# The discriminator lives in its own module; re-exported here for existing imports.
from gpen_desktop.core.gpen.discriminator import Discriminator, ResBlock  # noqa: E402

__all__ = ["Discriminator", "FullGenerator", "Generator", "ResBlock"]
