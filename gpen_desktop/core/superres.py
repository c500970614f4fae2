"""Background super-resolution with any single-image model spandrel recognises, tiled.

GPEN's own background upscalers are ``realesrnet_x1/x2/x4.pth`` (Real-ESRGAN RRDBNet in the
basicsr key layout under ``params_ema``; x2 and x1 feed the network pixel-unshuffled inputs).
spandrel (the loader behind chaiNNer and ComfyUI) recognises those and many other
architectures (ESRGAN, SwinIR, HAT, ...) from the state dict alone; no architecture code lives
here. Files are read with our own safe reader (``torch.load(weights_only=True)`` or
safetensors), never with a full unpickler.

Images go through in tiles: every tile is run with ``overlap`` pixels of real context on each
side and only its core is kept, so a 12 MP photo fits in memory on a CPU or a GPU and the tiled
result matches the untiled one wherever the network's reach is within the overlap. Tile origins
sit on the model's size grid (a multiple of 4 for pixel-unshuffle models), so every tile sees
the same unshuffle phase as the whole image.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.errors import Cancelled, GpenError, SuperResolutionError
from gpen_desktop.core.types import CancelFn, ProgressFn

log = logging.getLogger(__name__)


INSTALL_HINT = "background super-resolution needs the 'spandrel' package: pip install spandrel"
#: Context pixels (input resolution) run on each side of a tile and then discarded.
DEFAULT_OVERLAP = 32
MIN_TILE = 64
#: Largest automatic tile side (input px): bigger tiles are no faster on a CPU, only hungrier.
MAX_AUTO_TILE = {"cpu": 512, "cuda": 2048, "mps": 1024}
#: Share of the free memory an automatic tile may plan to use.
MEMORY_SHARE = {"cpu": 0.4, "cuda": 0.6, "mps": 0.4}
#: Activation bytes per *output* pixel and per feature channel (float32): RRDBNet measured
#: ~11 (peak RSS of 128-256 px tiles at x2 and x4, num_feat 64), padded for other architectures.
_BYTES_PER_OUT_PX_PER_FEAT = 18.0
#: The same at the input resolution (the residual trunk).
_BYTES_PER_IN_PX_PER_FEAT = 20.0


@dataclass
class SRInfo:
    """What a super-resolution model file holds, as spandrel reads it from the tensors."""

    name: str  # best known name: "realesrnet_x4" for GPEN's files, else the file's stem
    arch: str  # spandrel's architecture name, e.g. "ESRGAN"
    scale: int  # output pixels per input pixel, per side
    purpose: str  # spandrel's purpose: "SR" or "Restoration" (scale 1)
    tags: list[str] = field(default_factory=list)  # e.g. ["64nf", "23nb", "unshuffle"]
    n_params: int = 0
    features: int = 64  # width of the widest feature map we know of (memory estimate)
    path: str = ""
    format: str = ""
    file_size: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def in_size(self) -> int:
        """0: an upscaler takes any size (for code that lists restorers and upscalers alike)."""
        return 0

    def summary(self) -> str:
        tags = f" ({', '.join(self.tags)})" if self.tags else ""
        return (
            f"{self.name}: {self.arch} x{self.scale} super-resolution{tags}, "
            f"{self.n_params / 1e6:.1f} M params"
        )


# --------------------------------------------------------------------------- spandrel


def _spandrel() -> Any:
    try:
        import spandrel
    except ImportError:
        raise SuperResolutionError(INSTALL_HINT) from None
    return spandrel


def spandrel_available() -> bool:
    """True when spandrel can be imported (background super-resolution works)."""
    try:
        _spandrel()
    except SuperResolutionError:
        return False
    return True


def _read(path: Path) -> tuple[dict, str]:
    """The file's state dict, read safely: safetensors, or our weights-only torch reader."""
    if not path.is_file():
        raise SuperResolutionError(f"super-resolution model not found: {path}")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file

            return load_file(str(path)), "safetensors"
        except Exception as exc:  # safetensors raises its own error types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:100]
            raise SuperResolutionError(f"cannot read {path.name} ({first})") from None
    from gpen_desktop.core.checkpoints import read_state_dict

    sd, fmt, _ = read_state_dict(path)
    return sd, fmt


def _describe_other(sd: dict, path: Path) -> str:
    from gpen_desktop.core.checkpoints import guess_architecture

    keys = list(sd)
    if any(k.startswith("ecd0.") for k in keys):
        return (
            f"{path.name} is a GPEN face restorer, not a super-resolution model "
            "(use it as the restoration model)"
        )
    guess = guess_architecture(keys)
    what = f" (it looks like {guess})" if guess else ""
    return f"{path.name} is not a model spandrel recognises{what}; keys like {', '.join(keys[:3])}"


def _load_descriptor(path: Path) -> tuple[Any, SRInfo]:
    spandrel = _spandrel()
    sd, fmt = _read(path)
    try:
        desc = spandrel.ModelLoader().load_from_state_dict(sd)
    except spandrel.UnsupportedModelError:
        raise SuperResolutionError(_describe_other(sd, path)) from None
    except Exception as exc:  # a recognised architecture whose tensors do not fit
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise SuperResolutionError(
            f"{path.name} looks like a spandrel model but does not load ({first})"
        ) from None
    arch = desc.architecture.name
    purpose = desc.purpose
    if not isinstance(desc, spandrel.ImageModelDescriptor) or purpose not in ("SR", "Restoration"):
        raise SuperResolutionError(
            f"{path.name} is a {arch} model for {purpose} (as spandrel reads it), not a "
            "single-image super-resolution model"
        )
    if desc.input_channels != 3 or desc.output_channels != 3:
        raise SuperResolutionError(
            f"{path.name} is a {arch} model with {desc.input_channels} input and "
            f"{desc.output_channels} output channels; only RGB (3 -> 3) models are supported"
        )
    n_params = sum(p.numel() for p in desc.model.parameters())
    features = 64
    for tag in desc.tags:
        if tag.endswith("nf") and tag[:-2].isdigit():
            features = int(tag[:-2])
    info = SRInfo(
        name=_known_name(arch, desc.scale, desc.tags) or path.stem,
        arch=arch,
        scale=int(desc.scale),
        purpose=purpose,
        tags=list(desc.tags),
        n_params=int(n_params),
        features=features,
        path=str(path),
        format=fmt,
        file_size=path.stat().st_size,
    )
    return desc, info


def _known_name(arch: str, scale: int, tags: list[str]) -> str | None:
    """GPEN's RealESRNet name when the layout is theirs (RRDBNet, 64 features, 23 blocks)."""
    if arch == "ESRGAN" and "64nf" in tags and "23nb" in tags and "ESRGAN+" not in tags:
        unshuffled = "unshuffle" in tags
        if (scale == 4 and not unshuffled) or (scale in (1, 2) and unshuffled):
            return f"realesrnet_x{scale}"
    return None


def inspect_sr_model(path: str | Path) -> SRInfo:
    """Identify a super-resolution model file by content; SuperResolutionError (one line) when
    it is not one (naming what spandrel saw) or when spandrel is not installed."""
    return _load_descriptor(Path(path))[1]


# --------------------------------------------------------------------------- memory and tiles


def estimate_bytes_per_pixel(info: SRInfo) -> float:
    """Activation memory (bytes, float32) per input pixel of a tile — a generous estimate."""
    f = max(info.features, 32)
    return f * (_BYTES_PER_IN_PX_PER_FEAT + _BYTES_PER_OUT_PX_PER_FEAT * max(info.scale, 1) ** 2)


def auto_tile_size(
    info: SRInfo,
    device: Any,
    overlap: int = DEFAULT_OVERLAP,
    free_bytes: int | None = None,
    bytes_per_value: int = 4,
) -> int:
    """The tile side (input px, a multiple of 16) whose run fits in a share of the free memory
    of ``device``, between MIN_TILE and the device's MAX_AUTO_TILE."""
    from gpen_desktop.core.devices import free_memory

    kind = getattr(device, "type", str(device))
    if free_bytes is None:
        free_bytes = free_memory(device)
    cap = MAX_AUTO_TILE.get(kind, 512)
    if not free_bytes:
        return min(cap, 512)
    budget = free_bytes * MEMORY_SHARE.get(kind, 0.4)
    per_px = estimate_bytes_per_pixel(info) * bytes_per_value / 4.0
    side = int(math.sqrt(budget / per_px)) - 2 * overlap
    side = max(MIN_TILE, min(cap, side))
    return side // 16 * 16


def _splits(n: int, tile: int, grid: int) -> list[tuple[int, int]]:
    """Cover [0, n) with near-equal pieces of at most ``tile`` whose starts are on ``grid``."""
    count = max(1, math.ceil(n / tile))
    step = math.ceil(math.ceil(n / count) / grid) * grid
    edges = list(range(0, n, step)) + [n]
    return list(zip(edges[:-1], edges[1:], strict=True))


def plan_tiles(
    height: int, width: int, tile: int, overlap: int = DEFAULT_OVERLAP, grid: int = 1
) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """Tiles covering a height x width image: ``[(core, padded), ...]``, each box
    ``(y0, y1, x0, x1)`` in input pixels. Cores tile the image exactly; ``padded`` adds up to
    ``overlap`` px of context on each side (clipped to the image). Starts lie on ``grid``."""
    if tile < 1:
        raise GpenError(f"tile size must be positive, got {tile}")
    grid = max(1, int(grid))
    tile = max(grid, tile // grid * grid)
    margin = math.ceil(max(0, overlap) / grid) * grid
    plan = []
    for y0, y1 in _splits(height, tile, grid):
        for x0, x1 in _splits(width, tile, grid):
            padded = (
                max(0, y0 - margin),
                min(height, y1 + margin),
                max(0, x0 - margin),
                min(width, x1 + margin),
            )
            plan.append(((y0, y1, x0, x1), padded))
    return plan


# --------------------------------------------------------------------------- running


def sr_dtype(device: Any, precision: str, descriptor: Any = None) -> Any:
    """The torch dtype a super-resolution model runs in: the face network's rule
    (:func:`gpen_desktop.core.inference.pick_dtype`: ``auto`` = float16 on CUDA, bfloat16 on a
    CPU with native bfloat16, float32 elsewhere), then float32 where the model's architecture
    does not support the reduced type (spandrel's ``supports_half``/``supports_bfloat16``) or
    where the device has no fast float16 (a CPU)."""
    import torch

    from gpen_desktop.core.inference import pick_dtype

    dtype = pick_dtype(device, precision)
    kind = torch.device(device).type
    if dtype == torch.float16 and (
        kind == "cpu" or (descriptor is not None and not descriptor.supports_half)
    ):
        return torch.float32
    if dtype == torch.bfloat16 and descriptor is not None and not descriptor.supports_bfloat16:
        return torch.float32
    return dtype


class SuperResolver:
    """A loaded super-resolution model that enlarges whole photos tile by tile."""

    def __init__(
        self, descriptor: Any, info: SRInfo, device: Any = "auto", precision: str = "auto"
    ) -> None:
        import torch

        from gpen_desktop.core.devices import resolve_device

        self.info = info
        self.device = resolve_device(device) if isinstance(device, str) else torch.device(device)
        self._desc = descriptor
        self.precision = precision
        self.dtype = sr_dtype(self.device, precision, descriptor)
        self._master: dict[str, Any] | None = None
        #: Activations stored channels-last (NHWC): oneDNN's and cuDNN's native layout, no
        #: reorders between convolutions (measured on a Xeon with AMX, one 64 px tile of the
        #: official RealESRNet x4: 1.25x in float32, 1.8x in bfloat16; see `gpen bench --sr`).
        self.channels_last = True
        self._place()
        self.grid = max(1, int(descriptor.size_requirements.multiple_of))
        self.last_tiles = 0
        self.last_tile_size = 0
        self.fallback_note: str | None = None

    @property
    def scale(self) -> int:
        return self.info.scale

    @property
    def dtype_name(self) -> str:
        """The dtype the model runs in ("bfloat16", "float32", ...)."""
        return str(self.dtype).replace("torch.", "")

    def _place(self) -> None:
        """Put the model on ``self.device`` in ``self.dtype``. The weights as loaded are kept
        (on the CPU) while the model runs in a reduced type, so a switch back to float32 (a
        precision change, a GPU's fallback to the CPU) gets them exactly, not rounded."""
        import torch

        model = self._desc.model
        if self._master is None and self.dtype != torch.float32:
            self._master = {
                k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
            }
        self._desc.to(self.device, self.dtype).eval()
        if self.dtype == torch.float32 and self._master is not None:
            model.load_state_dict(self._master)
        self.channels_last = self.channels_last and self.device.type in ("cpu", "cuda")
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self._desc.model.to(memory_format=fmt)

    def set_precision(self, precision: str) -> None:
        """Run in another precision from the next tile on (same weights, no reload)."""
        self.precision = precision
        dtype = sr_dtype(self.device, precision, self._desc)
        if dtype != self.dtype:
            self.dtype = dtype
            self._place()

    def set_channels_last(self, on: bool) -> None:
        """Store activations channels-last (the default on CPUs and CUDA) or not (benchmarks)."""
        self.channels_last = bool(on)
        self._place()

    def _to(self, device: Any) -> None:
        import torch

        self.device = torch.device(device)
        self.channels_last = True
        self.dtype = sr_dtype(self.device, self.precision, self._desc)
        self._place()

    def _run_tile(self, piece: np.ndarray, maxval: float) -> Any:
        import torch

        t = torch.from_numpy(np.ascontiguousarray(piece)).to(self.device)
        t = t.permute(2, 0, 1)[None].to(torch.float32).div_(maxval).to(self.dtype)
        if self.channels_last:
            t = t.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            y = self._desc(t)
            return y[0].permute(1, 2, 0).float().mul_(maxval).round_().clamp_(0, maxval)

    def upscale(
        self,
        pixels: np.ndarray,
        tile: int = 0,
        overlap: int = DEFAULT_OVERLAP,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """Enlarge an HxWx3 RGB uint8/uint16 image ``scale`` times (same dtype out).

        The model runs on float [0, 1] (16-bit inputs keep their precision) in tiles of
        ``tile`` input px (0 = from the device's free memory) with ``overlap`` px of context
        on each side. ``progress(done, total, message)`` is called after every tile;
        ``cancel()`` is polled before every tile and raises :class:`Cancelled`. A GPU that
        runs out of memory retries with tiles half as large, then hands the run to the CPU
        (``fallback_note`` says so).
        """
        from gpen_desktop.core.devices import describe, is_out_of_memory

        img = np.asarray(pixels)
        if img.ndim != 3 or img.shape[2] != 3:
            raise GpenError(f"super-resolution needs an HxWx3 RGB image, got shape {img.shape}")
        if img.dtype not in (np.uint8, np.uint16):
            raise GpenError(f"super-resolution needs uint8 or uint16 pixels, got {img.dtype}")
        if tile < 0:
            raise GpenError(f"tile size must be 0 (automatic) or positive, got {tile}")
        size = tile or auto_tile_size(self.info, self.device, overlap)
        while True:
            try:
                return self._upscale(img, size, overlap, progress, cancel)
            except Cancelled:
                raise
            except Exception as exc:
                if self.device.type == "cpu" or not is_out_of_memory(exc):
                    raise
                self._free_gpu()
                if size // 2 >= MIN_TILE:
                    log.warning("super-resolution tile %d px ran out of memory; halving", size)
                    size //= 2
                    continue
                self.fallback_note = (
                    f"{describe(self.device)} ran out of memory; super-resolution ran on the CPU"
                )
                log.warning(self.fallback_note)
                self._to("cpu")
                size = tile or auto_tile_size(self.info, self.device, overlap)

    def _free_gpu(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _upscale(
        self,
        img: np.ndarray,
        tile: int,
        overlap: int,
        progress: ProgressFn | None,
        cancel: CancelFn | None,
    ) -> np.ndarray:
        h, w = img.shape[:2]
        s = self.scale
        maxval = 65535.0 if img.dtype == np.uint16 else 255.0
        plan = plan_tiles(h, w, tile, overlap, self.grid)
        self.last_tiles, self.last_tile_size = len(plan), tile
        out = np.empty((h * s, w * s, 3), img.dtype)
        t0 = time.perf_counter()
        total = len(plan)
        for n, ((y0, y1, x0, x1), (py0, py1, px0, px1)) in enumerate(plan):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            y = self._run_tile(img[py0:py1, px0:px1], maxval)
            core = y[(y0 - py0) * s : (y1 - py0) * s, (x0 - px0) * s : (x1 - px0) * s]
            out[y0 * s : y1 * s, x0 * s : x1 * s] = core.cpu().numpy().astype(img.dtype)
            if progress is not None:
                progress(n + 1, total, f"enhancing background: tile {n + 1}/{total}")
        log.info(
            "super-resolved %dx%d x%d in %d tiles of %d px in %.1f s",
            w,
            h,
            s,
            total,
            tile,
            time.perf_counter() - t0,
        )
        return out


def load_sr_model(path: str | Path, device: Any = "auto", precision: str = "auto") -> SuperResolver:
    """Load a super-resolution model file for :meth:`SuperResolver.upscale` on ``device`` in
    ``precision`` (see :func:`sr_dtype`). Raises SuperResolutionError (one line) for anything
    that is not a usable SR model."""
    desc, info = _load_descriptor(Path(path))
    log.info("loaded %s", info.summary())
    return SuperResolver(desc, info, device, precision)


def resize_to(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an image to width x height: area when shrinking, Lanczos when enlarging."""
    import cv2

    h, w = pixels.shape[:2]
    if (w, h) == (width, height):
        return pixels
    interp = cv2.INTER_AREA if width < w else cv2.INTER_LANCZOS4
    return cv2.resize(pixels, (width, height), interpolation=interp)


# --------------------------------------------------------------------------- random models

_OLD_TO_BASICSR = {0: "conv_first", 3: "conv_up1", 6: "conv_up2", 8: "conv_hr", 10: "conv_last"}


def random_rrdbnet_state_dict(
    scale: int = 4, num_feat: int = 64, num_block: int = 23, seed: int = 0
) -> dict:
    """A random-weight Real-ESRGAN RRDBNet (built with spandrel's own architecture class) as a
    state dict in the basicsr key layout of ``realesrnet_x{1,2,4}.pth`` (``conv_first``,
    ``body.N.rdbM.convK``, ``conv_body``, ``conv_up1/2``, ``conv_hr``, ``conv_last``); scale 2
    and 1 take 12 and 48 pixel-unshuffled input channels, as the official files do. For tests
    and benchmarks (num_feat 64, num_block 23 is the official size)."""
    import re

    import torch

    spandrel = _spandrel()
    del spandrel
    from spandrel.architectures.ESRGAN import ESRGAN

    if scale not in (1, 2, 4):
        raise ValueError(f"RealESRNet scales are 1, 2 and 4, got {scale}")
    shuffle = {4: None, 2: 2, 1: 4}[scale]
    torch.manual_seed(seed)
    net = ESRGAN(
        in_nc=3 * (shuffle or 1) ** 2,
        out_nc=3,
        num_filters=num_feat,
        num_blocks=num_block,
        scale=4,
        shuffle_factor=shuffle,
    )
    out = {}
    for key, value in net.state_dict().items():
        value = value.detach().clone()
        m = re.fullmatch(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)", key)
        if m:  # residual-dense convs start small, as basicsr initialises them (x0.1)
            out[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = value * 0.1
            continue
        m = re.fullmatch(r"model\.1\.sub\.(\d+)\.(weight|bias)", key)
        if m:
            out[f"conv_body.{m[2]}"] = value
            continue
        m = re.fullmatch(r"model\.(\d+)\.(weight|bias)", key)
        if not m or int(m[1]) not in _OLD_TO_BASICSR:
            raise RuntimeError(f"unexpected RRDBNet tensor {key}")
        out[f"{_OLD_TO_BASICSR[int(m[1])]}.{m[2]}"] = value
    return out


def random_sr_checkpoint(
    path: str | Path, scale: int = 4, num_feat: int = 8, num_block: int = 1, seed: int = 0
) -> Path:
    """Write :func:`random_rrdbnet_state_dict` as ``{'params_ema': state_dict}`` (the form of
    GPEN's realesrnet files)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = random_rrdbnet_state_dict(scale, num_feat, num_block, seed)
    torch.save({"params_ema": sd}, path)
    return path
