"""GPEN's discriminator: the StyleGAN2 residual discriminator in the official ``-D`` key layout.

Released ``GPEN-BFR-*-D.pth`` files (see ``reference/gpen_layouts.json``) load into
:class:`Discriminator` with ``strict=True``. Input: N x 3 x S x S images in [-1, 1]; output:
N x 1 realness logits.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gpen_desktop.core.gpen.config import GPENConfig
from gpen_desktop.core.gpen.layers import ConvLayer, EqualLinear


class ResBlock(nn.Module):
    """Discriminator residual block: two convs (second downsamples) plus a 1x1 skip."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(in_ch, in_ch, 3)
        self.conv2 = ConvLayer(in_ch, out_ch, 3, downsample=True)
        self.skip = ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class Discriminator(nn.Module):
    """StyleGAN2 discriminator with minibatch standard deviation, in GPEN's key layout."""

    def __init__(self, size: int, channel_multiplier: int = 2, narrow: float = 1.0) -> None:
        super().__init__()
        config = GPENConfig(size, channel_multiplier=channel_multiplier, narrow=narrow)
        self.config = config
        ch = config.channels
        convs: list[nn.Module] = [ConvLayer(3, ch[size], 1)]
        in_ch = ch[size]
        for log_r in range(config.log_size, 2, -1):
            out_ch = ch[2 ** (log_r - 1)]
            convs.append(ResBlock(in_ch, out_ch))
            in_ch = out_ch
        self.convs = nn.Sequential(*convs)
        self.stddev_group = 4
        self.final_conv = ConvLayer(in_ch + 1, ch[4], 3)
        self.final_linear = nn.Sequential(
            EqualLinear(ch[4] * 16, ch[4], activation=True), EqualLinear(ch[4], 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.convs(x)
        batch, channels, height, width = out.shape
        group = min(batch, self.stddev_group)
        while batch % group:
            group -= 1
        std = out.view(group, -1, 1, channels, height, width)
        std = torch.sqrt(std.var(0, unbiased=False) + 1e-8).mean([2, 3, 4], keepdim=True)
        std = std.squeeze(2).repeat(group, 1, height, width)
        out = self.final_conv(torch.cat([out, std], 1))
        return self.final_linear(out.view(batch, -1))
