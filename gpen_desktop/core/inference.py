"""Running a loaded GPEN network on aligned face crops, in batches.

Conversion convention (DESIGN §2): ``x = u8 / 255 * 2 - 1`` in, ``round(clamp((y + 1) / 2, 0, 1) * 255)``
out; tensors NCHW RGB.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gpen_desktop.core.errors import Cancelled
from gpen_desktop.core.precision import PRECISIONS
from gpen_desktop.core.runtime import release_memory
from gpen_desktop.core.types import CancelFn, ProgressFn

log = logging.getLogger(__name__)


def to_tensor(batch_u8: np.ndarray, device: Any = "cpu", dtype: Any = None) -> Any:
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float tensor in [-1, 1] on ``device``."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(batch_u8)).to(device)
    t = t.permute(0, 3, 1, 2).float().div_(255.0).mul_(2.0).sub_(1.0)
    return t if dtype is None else t.to(dtype)


def to_uint8(y: Any) -> np.ndarray:
    """N x 3 x H x W tensor in [-1, 1] -> N x H x W x 3 uint8 RGB numpy."""
    import torch

    y = torch.round(torch.clamp((y.float() + 1.0) / 2.0, 0.0, 1.0) * 255.0).to(torch.uint8)
    return y.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def resize_crop(crop: np.ndarray, size: int) -> np.ndarray:
    """Resize a square-ish crop to size x size (area when shrinking, cubic when enlarging)."""
    import cv2

    h, w = crop.shape[:2]
    if (h, w) == (size, size):
        return crop
    interp = cv2.INTER_AREA if max(h, w) > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp)


def cpu_has_native_bfloat16() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (AMX tiles or AVX512-BF16) and
    PyTorch's oneDNN can use it; ``GPEN_CPU_FLOAT32=1`` answers False (exact float32 always)."""
    import torch

    if os.environ.get("GPEN_CPU_FLOAT32"):
        return False
    try:
        hw = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
        return bool(hw and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - other architectures, builds without oneDNN
        return False


def pick_dtype(device: Any, dtype: str = "auto") -> Any:
    """The torch dtype for a precision name (:data:`~gpen_desktop.core.precision.PRECISIONS`).

    ``auto``: float16 on CUDA, bfloat16 on a CPU with native bfloat16, float32 otherwise.
    ValueError for a name not in PRECISIONS.
    """
    import torch

    if dtype == "auto":
        kind = torch.device(device).type
        if kind == "cuda":
            return torch.float16
        if kind == "cpu" and cpu_has_native_bfloat16():
            return torch.bfloat16
        return torch.float32
    if dtype not in PRECISIONS:
        raise ValueError(f"unknown precision {dtype!r} ({', '.join(PRECISIONS)})")
    return getattr(torch, dtype)


class FastRunner:
    """The runner choice: a FullGenerator on uint8 batches on ``device``.

    ``engine="fast"`` runs :class:`~gpen_desktop.core.gpen.fast.FastGPEN` in the precision
    :func:`pick_dtype` picks; ``engine="eager"`` runs the plain reference forward (float32),
    the baseline that ``gpen bench --compare-eager`` measures against.
    """

    def __init__(self, model: Any, device: Any, dtype: str = "auto", engine: str = "fast") -> None:
        import torch

        self.device = torch.device(device)
        self.engine = engine
        if engine == "eager":
            self.dtype = torch.float32
            self.model = model.to(self.device)
            self.net = None
        elif engine == "fast":
            from gpen_desktop.core.gpen.fast import FastGPEN

            self.dtype = pick_dtype(self.device, dtype)
            self.net = FastGPEN(model, self.device, self.dtype)
        else:
            raise ValueError(f"unknown engine {engine!r} (fast or eager)")
        self.dtype_name = str(self.dtype).replace("torch.", "")

    def run(self, x: Any) -> Any:
        """N x 3 x S x S in [-1, 1] -> N x 3 x S x S float32."""
        import torch

        if self.net is None:
            with torch.inference_mode():
                return self.model(x.to(self.device, torch.float32))
        return self.net(x)

    def run_uint8(self, batch_u8: np.ndarray) -> np.ndarray:
        """N x S x S x 3 uint8 RGB -> N x S x S x 3 uint8 RGB."""
        return to_uint8(self.run(to_tensor(batch_u8, self.device)))


def activation_bytes_per_face(
    size: int, channel_multiplier: int = 2, narrow: float = 1.0, bytes_per_value: int = 2
) -> int:
    """A generous estimate of the activation memory one face needs at once (the full-size
    encoder features plus the widest generator tensors at the top two resolutions)."""
    from gpen_desktop.core.gpen import channel_table

    ch = channel_table(channel_multiplier, narrow)
    top = ch[size] * size * size
    values = 12 * top + 6 * ch[size // 2] * (size // 2) ** 2
    return int(values * bytes_per_value)


def suggest_batch_size(
    requested: int,
    size: int,
    device: Any,
    free_bytes: int | None = None,
    channel_multiplier: int = 2,
    narrow: float = 1.0,
    bytes_per_value: int = 2,
) -> int:
    """Faces per pass that fit in the GPU's free memory (with 25 % headroom), at most
    ``requested``. CPUs run faces one by one anyway, so they get ``requested`` unchanged."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return max(1, requested)
    if free_bytes is None:
        try:
            free_bytes = torch.cuda.mem_get_info(device)[0]
        except (RuntimeError, AssertionError):  # no usable CUDA: let the OOM fallback decide
            return max(1, requested)
    per_face = activation_bytes_per_face(size, channel_multiplier, narrow, bytes_per_value)
    fits = int(free_bytes * 0.75 // max(per_face, 1))
    return max(1, min(requested, fits))


class Enhancer:
    """Runs a loaded checkpoint on aligned crops, ``batch_size`` faces per forward pass.

    Falls back to the CPU for the rest of a run when a GPU runs out of memory
    (``fallback_note`` says so).
    """

    def __init__(
        self,
        loaded: Any,
        device: Any = "auto",
        batch_size: int = 4,
        dtype: str = "auto",
        engine: str = "fast",
    ) -> None:
        from gpen_desktop.core.devices import resolve_device

        self.loaded = loaded
        self.info = loaded.info
        self.size = loaded.info.in_size
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.batch_size = max(1, int(batch_size))
        self.dtype = dtype
        self.engine = engine
        self.fallback_note: str | None = None
        self._runner = None

    def _get_runner(self) -> Any:
        if self._runner is None or self._runner.device != self.device:
            make_runner = getattr(self.loaded, "make_runner", None)  # a file with its own
            if make_runner is not None:  # runtime (ONNX: core/onnx_model.py)
                self._runner = make_runner(self.device, self.dtype)
            else:
                self._runner = FastRunner(self.loaded.model, self.device, self.dtype, self.engine)
        return self._runner

    def set_precision(self, dtype: str) -> None:
        """Run in another precision from the next batch on (same weights, no reload)."""
        if dtype != self.dtype:
            self.dtype = dtype
            self._runner = None

    @property
    def precision(self) -> str:
        """The dtype the network last ran in ("bfloat16", "float32", ...); "" before a run."""
        return self._runner.dtype_name if self._runner is not None else ""

    def forward(self, batch_u8: np.ndarray) -> np.ndarray:
        """One batch N x S x S x 3 uint8 -> N x S x S x 3 uint8; a GPU that runs out of memory
        hands this and every later batch of the run to the CPU (``fallback_note`` says so)."""
        from gpen_desktop.core.devices import run_with_fallback

        def run(device: Any) -> np.ndarray:
            self.device = device
            return self._get_runner().run_uint8(batch_u8)

        def note(text: str) -> None:
            self.fallback_note = text

        return run_with_fallback(run, self.device, note)[0]

    def restore_crops(
        self,
        crops: Sequence[np.ndarray],
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
        on_batch: Callable[[int, list[np.ndarray]], None] | None = None,
    ) -> list[np.ndarray]:
        """Restore H x W x 3 uint8 RGB crops (resized to the model size if needed).

        ``cancel()`` is polled before every batch and raises :class:`Cancelled`;
        ``on_batch(first_index, outputs)`` sees each batch as soon as it is done.
        """
        total = len(crops)
        out: list[np.ndarray] = []
        t0 = time.perf_counter()
        info = self.info
        batch = suggest_batch_size(
            self.batch_size,
            self.size,
            self.device,
            channel_multiplier=info.channel_multiplier,
            narrow=info.narrow,
        )
        for start in range(0, total, batch):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            chunk = [resize_crop(np.asarray(c), self.size) for c in crops[start : start + batch]]
            result = list(self.forward(np.stack(chunk)))
            out.extend(result)
            if on_batch is not None:
                on_batch(start, result)
            if progress is not None:
                progress(len(out), total, f"restored {len(out)}/{total} faces")
        log.debug("restored %d crops in %.2f s", total, time.perf_counter() - t0)
        release_memory()
        return out
