"""Building blocks of GPEN in the paper's vocabulary (StyleGAN2 layers with equalized learning rate).

Module and parameter names follow the official checkpoints' state-dict keys exactly, so official
weights load with ``strict=True``. These modules are the reference ("eager") forward; the fast
inference path in :mod:`gpen_desktop.core.gpen.fast` is built from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from gpen_desktop.core.gpen.ops import fused_leaky_relu, make_kernel, upfirdn2d

BLUR_KERNEL = (1, 3, 3, 1)


class PixelNorm(nn.Module):
    """Normalise each latent vector to unit root-mean-square."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class FusedLeakyReLU(nn.Module):
    """Per-channel bias, leaky ReLU (slope 0.2), gain sqrt(2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias)


class Blur(nn.Module):
    """FIR low-pass (normalised outer product of ``taps``, times ``gain``) with padding ``pad``."""

    def __init__(self, taps: Sequence[int], pad: tuple[int, int], gain: float = 1.0) -> None:
        super().__init__()
        self.taps, self.gain = tuple(taps), gain
        self.register_buffer("kernel", make_kernel(taps) * gain)
        self.pad = pad

    def fresh_kernel(self) -> torch.Tensor:
        return make_kernel(self.taps) * self.gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2x upsampling by zero insertion and FIR filtering (the ToRGB skip path)."""

    def __init__(self, taps: Sequence[int], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        self.taps, self.gain = tuple(taps), factor**2
        kernel = make_kernel(taps) * self.gain
        self.register_buffer("kernel", kernel)
        p = kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def fresh_kernel(self) -> torch.Tensor:
        return make_kernel(self.taps) * self.gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualConv2d(nn.Module):
    """Convolution whose weight is scaled by 1/sqrt(fan_in) at run time."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.stride = stride
        self.padding = padding
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(
            x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding
        )


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate; ``lr_mul`` scales weight and bias at run time.

    With ``activation=True`` the bias is applied inside a fused leaky ReLU.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activation: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.activation = activation
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            out = F.linear(x, self.weight * self.scale)
            return fused_leaky_relu(out, self.bias * self.lr_mul)
        bias = None if self.bias is None else self.bias * self.lr_mul
        return F.linear(x, self.weight * self.scale, bias)


class ConvLayer(nn.Sequential):
    """[Blur] + EqualConv2d + FusedLeakyReLU, optionally downsampling by 2 (encoder/discriminator).

    Keys: ``0`` conv (or blur), ``1`` activation (or conv), ``2`` activation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        downsample: bool = False,
        taps: Sequence[int] = BLUR_KERNEL,
        bias: bool = True,
        activate: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        if downsample:
            p = (len(taps) - 2) + (kernel_size - 1)
            layers.append(Blur(taps, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(
            EqualConv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                bias=bias and not activate,
            )
        )
        if activate:
            layers.append(FusedLeakyReLU(out_channels))
        super().__init__(*layers)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution (per-sample weights), optionally demodulated and upsampling.

    Upsampling = stride-2 transposed convolution followed by a blur (kernel x4, pad (1, 1)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        taps: Sequence[int] = BLUR_KERNEL,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.upsample = upsample
        self.demodulate = demodulate
        if upsample:
            factor = 2
            p = (len(taps) - factor) - (kernel_size - 1)
            self.blur = Blur(taps, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), gain=factor**2)
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(
            torch.randn(1, out_channels, in_channels, kernel_size, kernel_size)
        )
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        batch, in_ch, height, width = x.shape
        k = self.kernel_size
        s = self.modulation(style).view(batch, 1, in_ch, 1, 1)
        weight = self.scale * self.weight * s
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
            weight = weight * demod.view(batch, self.out_channels, 1, 1, 1)
        x = x.reshape(1, batch * in_ch, height, width)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(batch * in_ch, self.out_channels, k, k)
            out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=batch)
            out = out.view(batch, self.out_channels, out.shape[2], out.shape[3])
            return self.blur(out)
        weight = weight.view(batch * self.out_channels, in_ch, k, k)
        out = F.conv2d(x, weight, padding=self.padding, groups=batch)
        return out.view(batch, self.out_channels, out.shape[2], out.shape[3])


class NoiseInjection(nn.Module):
    """GPEN's twist: concatenate ``weight * feature`` (an encoder feature map) along channels."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.weight * feature), dim=1)


class ConstantInput(nn.Module):
    """The learned 4x4 constant the generator starts from."""

    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.repeat(batch, 1, 1, 1)


class StyledConv(nn.Module):
    """Modulated conv, then the encoder feature concatenated, then fused leaky ReLU (2x channels)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dim: int,
        upsample: bool = False,
        taps: Sequence[int] = BLUR_KERNEL,
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(
            in_channels, out_channels, kernel_size, style_dim, upsample=upsample, taps=taps
        )
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels * 2)

    def forward(self, x: torch.Tensor, style: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), feature))


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB (no demodulation) plus bias, added to the upsampled skip."""

    def __init__(
        self,
        in_channels: int,
        style_dim: int,
        upsample: bool = True,
        taps: Sequence[int] = BLUR_KERNEL,
    ) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(taps)
        self.conv = ModulatedConv2d(in_channels, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(
        self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out
