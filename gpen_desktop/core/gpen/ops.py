"""Low-level operations of the StyleGAN2 family, in plain PyTorch (nothing compiled).

``upfirdn2d`` = upsample by zero insertion, pad, FIR filter, downsample — the one primitive behind
every blur, upsample and downsample in GPEN. Tensors are NCHW.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def make_kernel(taps: Sequence[float]) -> torch.Tensor:
    """The normalised 2-D FIR kernel (outer product of ``taps``, summing to 1), float32."""
    # numpy, so that building a model under ``torch.device("meta")`` stays cheap (a torch
    # factory call there goes through a wrapper that imports torch._dynamo: seconds).
    k = np.asarray(taps, dtype=np.float32)
    if k.ndim == 1:
        k = np.outer(k, k)
    return torch.from_numpy(k / k.sum())


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor, scale: float = SQRT2) -> torch.Tensor:
    """``leaky_relu(x + bias, 0.2) * scale`` with ``bias`` per channel (dim 1)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), 0.2) * scale


def upfirdn2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int = 1,
    down: int = 1,
    pad: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """Upsample (zero insertion) by ``up``, pad (``pad[0]`` before, ``pad[1]`` after, both axes),
    convolve every channel with ``kernel`` (flipped, i.e. true convolution), keep every ``down``-th
    sample. Negative pads crop.
    """
    n, c, h, w = x.shape
    if up > 1:
        y = x.new_zeros(n, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        hh, ww = x.shape[2], x.shape[3]
        x = x[:, :, max(-p0, 0) : hh - max(-p1, 0), max(-p0, 0) : ww - max(-p1, 0)]
    kh, kw = kernel.shape
    weight = torch.flip(kernel, [0, 1]).to(x.dtype).view(1, 1, kh, kw).expand(c, 1, kh, kw)
    out = F.conv2d(x, weight, groups=c)
    if down > 1:
        out = out[:, :, ::down, ::down]
    return out
