"""Progressive growth (``--grow-from``): a generator one resolution larger from a trained one.

The grown network (size 2S) has the same style_dim, n_mlp, channel_multiplier and narrow as the
trained one (size S). What happens to each tensor of the grown state dict:

- **copied unchanged** (same name meaning, same shape): the mapping network
  (``generator.style.*``), the 4x4 constant, ``conv1``, ``to_rgb1``, every styled conv and ToRGB
  from 8 px up to S px (``generator.convs.0 … 2k-1``, ``generator.to_rgbs.0 … k-1``), the
  encoder's ``final_linear``, and the encoder's downsampling layers, shifted by one:
  the grown ``ecd{i+1}`` is the trained ``ecd{i}`` (i >= 1), since both map the same
  resolutions;
- **duplicated from the previous resolution** (the new 2S px layers): the synthesis block
  ``generator.convs.2k``, ``generator.convs.2k+1`` and ``generator.to_rgbs.k`` start as copies
  of the S px block (``convs.2k-2``, ``convs.2k-1``, ``to_rgbs.k-1``), and the encoder input
  layer ``ecd0`` (1x1, RGB -> C[2S]) as a copy of the trained ``ecd0`` (RGB -> C[S]). Where the
  new layer has fewer channels (from 64 px up each resolution halves them), the leading slice
  of every dimension is taken;
- **freshly initialised**: the new encoder downsampling layer ``ecd1`` (C[2S] -> C[S]), which
  has no counterpart in the smaller network; blur kernels are rebuilt, never copied.

The discriminator is not grown (it starts fresh unless ``--init-d`` gives one of the new size).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from gpen_desktop.core.errors import GpenError


def _fit(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """``source`` itself when shapes match, else its leading slice when it is larger in every
    dimension, else None."""
    if source.shape == target.shape:
        return source.clone()
    if source.ndim != target.ndim or any(
        s < t for s, t in zip(source.shape, target.shape, strict=True)
    ):
        return None
    return source[tuple(slice(0, t) for t in target.shape)].clone()


def grown_state_dict(small: Mapping[str, torch.Tensor], big_model: torch.nn.Module) -> dict:
    """The state dict of ``big_model`` (a FullGenerator of twice the size of ``small``) with
    the tensors described in the module docstring taken from ``small``. Returns
    ``{"state_dict", "copied", "duplicated", "fresh"}`` (the last three: lists of names)."""
    from gpen_desktop.core.gpen import config_from_state_dict

    cfg = config_from_state_dict(small)
    big = big_model.state_dict()
    k = cfg.log_size - 2  # number of upsampling blocks in the small generator
    out: dict[str, torch.Tensor] = {}
    copied, duplicated, fresh = [], [], []

    def source_of(name: str) -> tuple[str | None, bool]:
        """(name in the small network, is a duplicate)."""
        if m := re.match(r"ecd(\d+)\.(.*)$", name):
            i, rest = int(m.group(1)), m.group(2)
            if i == 0:
                return f"ecd0.{rest}", True
            if i == 1:
                return None, False
            return f"ecd{i - 1}.{rest}", False
        if m := re.match(r"generator\.convs\.(\d+)\.(.*)$", name):
            i, rest = int(m.group(1)), m.group(2)
            return (f"generator.convs.{i - 2}.{rest}", True) if i >= 2 * k else (name, False)
        if m := re.match(r"generator\.to_rgbs\.(\d+)\.(.*)$", name):
            i, rest = int(m.group(1)), m.group(2)
            return (f"generator.to_rgbs.{i - 1}.{rest}", True) if i >= k else (name, False)
        return name, False

    for name, target in big.items():
        if name.endswith(".kernel"):
            continue
        src_name, dup = source_of(name)
        value = _fit(small[src_name], target) if src_name in small else None
        if value is None:
            fresh.append(name)
            continue
        out[name] = value.to(target.dtype)
        (duplicated if dup else copied).append(name)
    return {"state_dict": out, "copied": copied, "duplicated": duplicated, "fresh": fresh}


def grow_into(model: torch.nn.Module, path: str) -> dict:
    """Load ``path`` (any generator file the app reads, or a training checkpoint's ``g_ema``)
    into ``model`` (twice its size) as :func:`grown_state_dict` describes; returns its report."""
    from gpen_desktop.core.checkpoints import read_state_dict
    from gpen_desktop.core.gpen import ConfigError, config_from_state_dict

    small, _fmt, _hints = read_state_dict(path)
    try:
        cfg = config_from_state_dict(small)
    except ConfigError as exc:
        raise GpenError(f"--grow-from {path}: {exc}") from None
    mine = model.config
    if mine.size != 2 * cfg.size:
        raise GpenError(
            f"--grow-from: the file is a {cfg.size} px model; this run is {mine.size} px "
            f"(it must be {2 * cfg.size})"
        )
    diffs = [
        f"{key} {getattr(cfg, key):g} (this run: {getattr(mine, key):g})"
        for key in ("channel_multiplier", "narrow", "style_dim", "n_mlp")
        if abs(getattr(cfg, key) - getattr(mine, key)) > 1e-9
    ]
    if diffs:
        raise GpenError(f"--grow-from: the file does not fit this run: {', '.join(diffs)}")
    report = grown_state_dict(small, model)
    model.load_state_dict(report["state_dict"], strict=False)
    return report
