"""Fast inference for a loaded ``FullGenerator``: same output, a fraction of the work.

What changes against the reference forward (``FullGenerator.forward``), all exact algebra:

- Equalized-LR scales, ``lr_mul`` and the sqrt(2) gain of every fused leaky ReLU are folded into
  the weights once, at build time (leaky ReLU is positively homogeneous, so the gain moves into
  whatever linear op consumes the activation; the PixelNorm after ``final_linear`` ignores it).
- Biases ride inside the convolutions (the conv bias, or the bias of the depthwise blur that
  follows a transposed conv); leaky ReLU runs in place.
- Modulation: one face at a time, style and demodulation are folded into the conv weight (cheap:
  weights, not activations); for a batch on a GPU the activations are modulated instead, so all
  faces share one ordinary convolution (``batch_mode``).
- The ToRGB skip upsample (zero insertion + 4x4 FIR) is one depthwise transposed convolution.
- The encoder features' half of every "noise" concatenation is computed once per face and layer.

Reduced precision: float16 on CUDA, bfloat16 on CPUs with native bfloat16 matrix units (Intel
AMX or AVX512-BF16), where oneDNN runs the convolutions several times faster than in float32.
Styles, demodulation and the RGB skip path stay float32 and activations are stored channels-last
(oneDNN's native layout, no reorders between layers); the 8-bit output stays within 2 levels of
float32 (``gpen bench --compare-eager`` reports the measured difference). float32 is exact to
the reference (within 1e-3) and chosen explicitly with ``dtype="float32"``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)
SQRT2 = math.sqrt(2.0)

#: 3x3 stride-1 convs on maps at least this wide use NNPACK's Winograd kernels on the CPU.
WINOGRAD_MIN_SIZE = 32
#: Transposed convs (and the blur after them) on CPU maps at least this wide run channels-last.
CHANNELS_LAST_MIN_SIZE = 128
#: Generator layers on smaller maps (4 and 8 px) run in float32 even in reduced precision: they
#: cost almost nothing, and their rounding errors, amplified by every later layer, were half of
#: the output error (measured on 64-1024 px networks).
LOW_PRECISION_MIN_SIZE = 16


def winograd_available(device: torch.device, dtype: torch.dtype) -> bool:
    """NNPACK (Winograd F(6x6, 3x3)) for float32 CPU convs on CPUs without AVX-512, unless
    GPEN_NO_WINOGRAD is set. NNPACK's kernels stop at AVX2: with AVX2 at most it ran a 512 face
    in 1.63 s against oneDNN's 1.90 s; with AVX-512 oneDNN ties it (1.36-1.42 s either way)
    and NNPACK's transform buffers cost 0.4-1.1 GB more at 512-2048 px."""
    import os

    if os.environ.get("GPEN_NO_WINOGRAD") or device.type != "cpu" or dtype != torch.float32:
        return False
    if torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return False
    try:
        # _nnpack_available() also initialises NNPACK; without it every NNPACK conv fails.
        return bool(torch._nnpack_available())
    except Exception:  # pragma: no cover - builds without NNPACK
        return False


@dataclass
class _Mod:
    """A modulated conv with everything that does not depend on the face precomputed."""

    weight: torch.Tensor  # Cout x Cin x k x k, scale (and input gain) folded in; float32, or
    # the compute dtype for a reduced-precision layer that never folds a style into it
    weight_lp: torch.Tensor | None  # float32 ``weight`` in the compute dtype, made on first use
    weight_sq: torch.Tensor | None  # Cout x Cin: sum over k of weight^2 (for demodulation)
    mod_w: torch.Tensor  # Cin x style_dim (scale folded, transposed for w @ mod_w)
    mod_b: torch.Tensor  # Cin
    demodulate: bool
    gain: float  # gain of the input activation (sqrt 2), applied after demodulation
    upsample: bool
    padding: int
    polyphase: bool = False  # upsampling weight stored for :func:`polyphase_upsample`

    @property
    def out_channels(self) -> int:
        if self.polyphase:
            return self.weight.shape[0] // 4
        return self.weight.shape[1] if self.upsample else self.weight.shape[0]


@dataclass
class _Styled:
    mod: _Mod
    noise_weight: float  # times the encoder feature gain
    bias: torch.Tensor  # 2*Cout: conv half, feature half (in ``dtype``)
    dtype: torch.dtype  # this layer's compute and storage dtype


def _lin(layer: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return (layer.weight * layer.scale).float(), (layer.bias * layer.lr_mul).float()


def _mod(conv: Any, gain: float) -> _Mod:
    w = (conv.weight[0] * conv.scale).float()
    mw, mb = _lin(conv.modulation)
    w_g = w if conv.demodulate else w * gain
    if conv.upsample:
        w_g = w_g.transpose(0, 1)  # Cin x Cout x k x k, as conv_transpose2d wants it
    return _Mod(
        weight=w_g,
        weight_lp=None,
        weight_sq=w.pow(2).sum([2, 3]) if conv.demodulate else None,
        mod_w=mw.t().contiguous(),
        mod_b=mb,
        demodulate=conv.demodulate,
        gain=gain if conv.demodulate else 1.0,
        upsample=conv.upsample,
        padding=conv.padding,
    )


def _folds(m: _Mod, per_face: int) -> bool:
    """Whether one face folds its style into ``m``'s weight rather than into its input of
    ``per_face`` elements: when the weight is the smaller of the two."""
    return m.weight.numel() < per_face * 4


def polyphase_weight(w: torch.Tensor) -> torch.Tensor:
    """A stride-2 3x3 transposed conv's weight (Cin x Cout x 3 x 3) as the weight of an ordinary
    2x2 conv with 4*Cout outputs, one group of Cout per output phase (row parity, column
    parity); see :func:`polyphase_upsample`."""
    cin, cout = w.shape[:2]
    k = w.new_zeros(2, 2, cout, cin, 2, 2)
    wt = w.permute(1, 0, 2, 3)  # Cout x Cin x ky x kx
    # Per axis: an even output 2m takes x[m-1] (tap 2) and x[m] (tap 0); an odd one 2m+1 takes
    # x[m] (tap 1). On the input padded by one, x[m-1] and x[m] are 2x2 window positions 0, 1.
    taps = {0: ((0, 2), (1, 0)), 1: ((1, 1),)}
    for py in (0, 1):
        for px in (0, 1):
            for ty, ky in taps[py]:
                for tx, kx in taps[px]:
                    k[py, px, :, :, ty, tx] = wt[:, :, ky, kx]
    return k.reshape(4 * cout, cin, 2, 2)


def polyphase_upsample(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``conv_transpose2d(x, W, stride=2)`` for a 3x3 W given as ``polyphase_weight(W)``: one
    ordinary convolution at the input resolution (several times faster than a transposed conv
    on AMX) and one interleaving copy. Returns N x Cout x (2H+2) x (2W+2), channels-last: the
    transposed conv's (2H+1)-sized output plus a last row and column of zeros."""
    n, _, h, wd = x.shape
    cout = w.shape[0] // 4
    y = F.conv2d(x, w, padding=1)  # N x 4*Cout x (H+1) x (W+1), phases outermost
    y = y.permute(0, 2, 3, 1).reshape(n, h + 1, wd + 1, 2, 2, cout)
    y = y.permute(0, 1, 3, 2, 4, 5).reshape(n, 2 * h + 2, 2 * wd + 2, cout)
    return y.permute(0, 3, 1, 2)


class FastGPEN:
    """An inference-only functional copy of a FullGenerator's weights on ``device``/``dtype``."""

    def __init__(self, model: Any, device: Any = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        self.use_winograd = winograd_available(self.device, torch.float32)  # float32 layers
        # Reduced precision runs channels-last end to end (oneDNN's and cuDNN's native layout).
        self.channels_last = dtype != torch.float32 and self.device.type in ("cpu", "cuda")
        # ...and on the CPU its upsampling convs run as ordinary convs (oneDNN's AMX kernels
        # for transposed convs reach a quarter of the speed of its ordinary ones).
        self.polyphase = self.channels_last and self.device.type == "cpu"
        dev = self.device
        with torch.no_grad():
            self._build(model, dev)

    # ------------------------------------------------------------------ build
    def _t(self, t: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        return t.detach().to(self.device, dtype or self.dtype).contiguous()

    def _build(self, model: Any, dev: torch.device) -> None:
        from gpen_desktop.core.gpen.ops import make_kernel

        f32 = torch.float32
        # Encoder: ecd0 is a 1x1 conv; ecd1.. are blur + 3x3 stride-2 convs. Each output carries
        # an implicit sqrt(2) gain (dropped from the activation), folded into its consumers.
        self.encoder = []
        gain = 1.0
        for i, ecd in enumerate(model.encoders()):
            layer = ecd[0]
            conv = layer[1] if i else layer[0]
            act = layer[2] if i else layer[1]
            self.encoder.append(
                (
                    self._t(conv.weight * conv.scale * gain),
                    self._t(act.bias),
                    i > 0,
                )
            )
            gain = SQRT2
        self.enc_blur = self._t(make_kernel((1, 3, 3, 1)))
        fl = model.final_linear[0]
        w, b = _lin(fl)
        self.final_w, self.final_b = self._t(w * SQRT2, f32), self._t(b, f32)
        # Mapping MLP after PixelNorm (scale invariant, so final_linear's gain is dropped too).
        self.mapping = []
        g = 1.0
        for layer in list(model.generator.style)[1:]:
            w, b = _lin(layer)
            self.mapping.append((self._t(w * g, f32), self._t(b, f32)))
            g = SQRT2
        self.style_gain = g  # the last mapping activation's gain, folded into the modulations
        gen = model.generator
        self.const = self._t(gen.input.input, f32)  # conv1 runs in float32

        def layer_dtype(size: int) -> torch.dtype:
            return self.dtype if size >= LOW_PRECISION_MIN_SIZE else f32

        def prep_mod(conv: Any, in_gain: float, dtype: torch.dtype, in_size: int) -> _Mod:
            m = _mod(conv, in_gain)
            if m.upsample and dtype != f32 and self.polyphase:
                m.weight, m.polyphase = polyphase_weight(m.weight), True
            # One copy of each weight: float32 where a single face folds its style into it
            # (rounded once, after folding), the compute dtype where it never does.
            folds = _folds(m, conv.weight.shape[2] * in_size * in_size)
            m.weight = self._weight(m.weight, f32 if dtype == f32 or folds else dtype)
            m.weight_sq = None if m.weight_sq is None else self._t(m.weight_sq, f32)
            m.mod_w = self._t(m.mod_w * self.style_gain, f32)
            m.mod_b = self._t(m.mod_b, f32)
            return m

        def prep_styled(sc: Any, in_gain: float, size: int) -> _Styled:
            dtype = layer_dtype(size)
            return _Styled(
                mod=prep_mod(sc.conv, in_gain, dtype, size // 2 if sc.conv.upsample else size),
                noise_weight=float(sc.noise.weight) * SQRT2,  # encoder features carry sqrt(2)
                bias=self._t(sc.activate.bias, dtype),
                dtype=dtype,
            )

        size = 4
        self.conv1 = prep_styled(gen.conv1, 1.0, size)
        self.to_rgb1 = (
            prep_mod(gen.to_rgb1.conv, SQRT2, layer_dtype(size), size),
            self._t(gen.to_rgb1.bias.view(1, 3, 1, 1), f32),
        )
        self.blocks = []
        for i, to_rgb in enumerate(gen.to_rgbs):
            size *= 2
            up = prep_styled(gen.convs[2 * i], SQRT2, size)
            same = prep_styled(gen.convs[2 * i + 1], SQRT2, size)
            rgb = (
                prep_mod(to_rgb.conv, SQRT2, layer_dtype(size), size),
                self._t(to_rgb.bias.view(1, 3, 1, 1), f32),
            )
            self.blocks.append((up, same, rgb))
        k = make_kernel((1, 3, 3, 1))
        # after the transposed conv (pad 1, 1), in every dtype a layer may use
        self.up_blur = {dt: self._t(k * 4, dt) for dt in {f32, self.dtype}}
        # The RGB skip path accumulates in float32 whatever the compute dtype.
        self.skip_up = self._t((k * 4).view(1, 1, 4, 4).repeat(3, 1, 1, 1), f32)

    # ------------------------------------------------------------------ run
    def _is_cl(self, dtype: torch.dtype) -> bool:
        return self.channels_last and dtype != torch.float32

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in the memory layout of its dtype: channels-last for reduced precision."""
        return x.contiguous(memory_format=torch.channels_last) if self._is_cl(x.dtype) else x

    def _as(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return x if x.dtype == dtype else self._layout(x.to(dtype))

    def _weight(self, w: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """A weight on this device in ``dtype``, channels-last where the activations are
        (oneDNN would otherwise reorder it on every call)."""
        fmt = torch.channels_last if self._is_cl(dtype) else torch.contiguous_format
        return w.detach().to(self.device, dtype, memory_format=fmt)

    def _empty(self, n: int, c: int, h: int, w: int, dtype: torch.dtype) -> torch.Tensor:
        """An uninitialised N x C x H x W activation in the layout of ``dtype``."""
        dev = self.device
        if self._is_cl(dtype):
            return torch.empty(n, h, w, c, dtype=dtype, device=dev).permute(0, 3, 1, 2)
        return torch.empty(n, c, h, w, dtype=dtype, device=dev)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        for weight, bias, down in self.encoder:
            if down:
                c = x.shape[1]
                x = F.conv2d(x, self.enc_blur.expand(c, 1, 4, 4), padding=2, groups=c)
                x = F.conv2d(x, weight, bias, stride=2)
            else:
                x = self._conv(x, weight, 0, bias)
            x = F.leaky_relu_(x, 0.2)
            feats.append(x)
        return x.reshape(x.shape[0], -1), feats[::-1]

    def _latent(self, flat: torch.Tensor) -> torch.Tensor:
        z = F.leaky_relu(F.linear(flat.float(), self.final_w, self.final_b), 0.2)
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        for w, b in self.mapping:
            z = F.leaky_relu(F.linear(z, w, b), 0.2)
        return z  # N x style_dim (gain folded into the modulations)

    def _mod_conv(self, m: _Mod, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """Modulated conv of ``x`` (N x Cin x H x W) with per-face ``styles`` (N x style_dim).

        One face whose weights are smaller than its activations: style and demodulation are
        folded into the weight. Otherwise the activations are modulated and all faces share the
        plain weight (one conv for the whole batch).
        """
        if x.shape[0] == 1 and _folds(m, x[0].numel()):
            w = self._weight(self._folded(m, styles), x.dtype)
            if m.polyphase:
                return polyphase_upsample(x, w)
            return self._conv_transpose(x, w) if m.upsample else self._conv(x, w, m.padding)
        s = styles @ m.mod_w + m.mod_b  # N x Cin, float32
        d = torch.rsqrt(s.pow(2) @ m.weight_sq.t() + 1e-8) * m.gain if m.demodulate else None
        dt = x.dtype
        x = x * s.to(dt)[:, :, None, None]
        if m.weight.dtype != dt and m.weight_lp is None:  # a batch through a folding layer
            m.weight_lp = self._weight(m.weight, dt)
        w = m.weight if dt == m.weight.dtype else m.weight_lp
        if m.polyphase:
            out = polyphase_upsample(x, w)
        else:
            out = self._conv_transpose(x, w) if m.upsample else self._conv(x, w, m.padding)
        if d is not None:
            out = out.mul_(d.to(dt)[:, :, None, None])
        return out

    @staticmethod
    def _folded(m: _Mod, styles: torch.Tensor) -> torch.Tensor:
        """One face's weight with its style and demodulation folded in (float32, in the layout
        ``m.weight`` is stored in)."""
        s = styles @ m.mod_w + m.mod_b  # 1 x Cin
        d = torch.rsqrt(s.pow(2) @ m.weight_sq.t() + 1e-8) * m.gain if m.demodulate else None
        if m.polyphase:  # 4*Cout x Cin x 2 x 2, output channels phase-major
            w = m.weight * s.view(1, -1, 1, 1)
            return w if d is None else w * d.repeat(1, 4).view(-1, 1, 1, 1)
        if m.upsample:  # Cin x Cout x k x k for the transposed conv
            w = m.weight * s.view(-1, 1, 1, 1)
            return w if d is None else w * d.view(1, -1, 1, 1)
        w = m.weight * s.view(1, -1, 1, 1)
        return w if d is None else w * d.view(-1, 1, 1, 1)

    def _conv_transpose(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Stride-2 transposed conv (w: Cin x Cout x k x k). Large CPU maps run channels-last:
        oneDNN skips a reorder of the output, and the depthwise blur after it is faster too."""
        if self.device.type == "cpu" and x.shape[-1] >= CHANNELS_LAST_MIN_SIZE:
            x = x.contiguous(memory_format=torch.channels_last)  # no-op when already so
        return F.conv_transpose2d(x, w, stride=2)

    def _conv(
        self, x: torch.Tensor, w: torch.Tensor, padding: int, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        if w.shape[-1] == 1 and self.device.type == "cpu":
            # 1x1 convs (ToRGB: 3 outputs; ecd0: 3 inputs) are one GEMM; oneDNN is slow on them.
            n, cin, h, wd = x.shape
            w2 = w.view(w.shape[0], cin)
            if cin > 1 and x.stride(1) == 1:  # channels-last: (NHW x C) @ (C x Cout) GEMMs
                rows = x.permute(0, 2, 3, 1).reshape(n * h * wd, cin)
                return self._rows_mm(rows, w2, bias).view(n, h, wd, -1).permute(0, 3, 1, 2)
            flat = x.reshape(n, cin, h * wd).to(w.dtype)
            out = (
                torch.matmul(w2, flat)
                if bias is None
                else torch.baddbmm(bias.view(1, -1, 1), w2.expand(n, -1, -1), flat)
            )
            return out.view(n, w.shape[0], h, wd)
        if bias is not None:
            return F.conv2d(x, w, bias, padding=padding)
        if (
            self.use_winograd
            and padding == 1
            and x.shape[-1] >= WINOGRAD_MIN_SIZE
            and x.dtype == torch.float32
        ):
            try:
                return torch._nnpack_spatial_convolution(x, w, None, [1, 1])
            except RuntimeError as exc:  # never lose a face to an accelerator hiccup
                log.warning("NNPACK convolution failed (%s); using the standard path", exc)
                self.use_winograd = False
        return F.conv2d(x, w, padding=padding)

    def _styled(
        self, sc: _Styled, x: torch.Tensor, w: torch.Tensor, feat: torch.Tensor
    ) -> torch.Tensor:
        """Styled conv, then its output and the injected encoder features side by side (the
        "noise" concatenation), written straight into one buffer instead of ``torch.cat``."""
        cout = sc.mod.out_channels
        dt = sc.dtype
        out = self._mod_conv(sc.mod, self._as(x, dt), w)
        if sc.mod.upsample:
            blur = self.up_blur[dt].expand(cout, 1, 4, 4)
            out = F.conv2d(out, blur, sc.bias[:cout], padding=1, groups=cout)
            if sc.mod.polyphase:  # one more (zero) row and column went in: drop their output
                out = out[:, :, :-1, :-1]
        n, _, h, wd = out.shape
        both = self._empty(n, 2 * cout, h, wd, dt)
        if sc.mod.upsample:
            both[:, :cout].copy_(out)
        else:
            torch.add(out, sc.bias[:cout].view(1, -1, 1, 1), out=both[:, :cout])
        feat = feat.to(dt)
        torch.add(sc.bias[cout:].view(1, -1, 1, 1), feat, alpha=sc.noise_weight, out=both[:, cout:])
        return F.leaky_relu_(both, 0.2)

    @staticmethod
    def _rows_mm(rows: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """``rows @ w.T (+ bias)`` in ``w``'s dtype. Reduced-precision rows against a float32
        weight (the RGB path) are converted a cache-sized block at a time: converting the
        whole map first would cost a float32 copy of it (0.5 GB at 2048 px)."""
        if rows.dtype == w.dtype:
            return rows @ w.t() if bias is None else torch.addmm(bias, rows, w.t())
        out = torch.empty(rows.shape[0], w.shape[0], dtype=w.dtype, device=rows.device)
        step = max(1024, (1 << 20) // rows.shape[1])  # 4 MB of float32 rows
        for i in range(0, rows.shape[0], step):
            block = rows[i : i + step].to(w.dtype)
            if bias is None:
                torch.mm(block, w.t(), out=out[i : i + step])
            else:
                torch.addmm(bias, block, w.t(), out=out[i : i + step])
        return out

    def _to_rgb(
        self,
        rgb: tuple[_Mod, torch.Tensor],
        x: torch.Tensor,
        w: torch.Tensor,
        skip: torch.Tensor | None,
    ) -> torch.Tensor:
        m, bias = rgb
        # float32 out: a bfloat16 result would be rounded by up to a level of the output
        if x.shape[0] == 1 and self.device.type == "cpu":  # the 1x1 GEMM takes any input dtype
            out = self._conv(x, self._folded(m, w), 0) + bias
        else:
            out = self._mod_conv(m, x.float(), w) + bias
        if skip is not None:
            out = out + F.conv_transpose2d(skip, self.skip_up, stride=2, padding=1, groups=3)
        return out

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        flat, feats = self._encode(x)
        w = self._latent(flat)
        out = self.const.expand(x.shape[0], -1, -1, -1)
        out = self._styled(self.conv1, out, w, feats[0])
        skip = self._to_rgb(self.to_rgb1, out, w, None)
        for i, (up, same, rgb) in enumerate(self.blocks):
            out = self._styled(up, out, w, feats[i + 1])
            out = self._styled(same, out, w, feats[i + 1])
            skip = self._to_rgb(rgb, out, w, skip)
        return skip

    def __call__(self, x: torch.Tensor, batch_mode: bool | None = None) -> torch.Tensor:
        """x: N x 3 x S x S in [-1, 1] -> N x 3 x S x S (float32)."""
        x = self._layout(x.to(self.device, self.dtype))
        if batch_mode is None:
            batch_mode = self.device.type != "cpu" and x.shape[0] > 1
        with torch.inference_mode():
            if batch_mode:
                return self._forward(x).contiguous()
            return torch.cat([self._forward(x[i : i + 1]) for i in range(x.shape[0])]).contiguous()
