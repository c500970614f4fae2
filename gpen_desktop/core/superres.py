"""Background super-resolution with any single-image model spandrel recognises, tiled.

GPEN's own background upscalers are ``realesrnet_x1/x2/x4.pth`` (Real-ESRGAN RRDBNet in the
basicsr key layout under ``params_ema``; x2 and x1 feed the network pixel-unshuffled inputs).
spandrel (the loader behind chaiNNer and ComfyUI) recognises those and many other
architectures (ESRGAN, SwinIR, HAT, ...) from the state dict alone; no architecture code lives
here. Files are read with our own safe reader (``torch.load(weights_only=True)`` or
safetensors), never with a full unpickler.

Real-ESRGAN's compact general model ``realesr-general-x4v3.pth`` (SRVGGNetCompact: 64
features, 32 convolutions, PReLU, x4; about 2.4 MFLOP per input pixel against RealESRNet's
36) is another spandrel architecture. With its weak-denoise partner
``realesr-general-wdn-x4v3.pth`` beside it, a denoise strength ``dn`` in [0, 1] runs the
network whose weights are ``dn * x4v3 + (1 - dn) * wdn`` (Real-ESRGAN's ``-dn``: 1 = the
x4v3 file, strong denoising; 0 = the wdn file, keeps the grain).

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

from gpen_desktop.core.catalog import CHECKPOINT_EXTENSIONS, GENERAL_WDN_X4V3, GENERAL_X4V3
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
#: spandrel's name of the SRVGGNetCompact architecture.
COMPACT_ARCH = "RealESRGAN Compact"
#: Speed classes by the architecture's cost per input pixel (MFLOP, counted by torch's FLOP
#: counter on shapes only): "fast" below this, "best" (the full networks) above. The compact
#: general model counts 2.4, RealESRNet 35.9; on a 2-core Xeon the compact one ran 10.5x
#: (bfloat16) to 20x (float32, NCHW) faster per megapixel with the same tiles
#: (``gpen bench --sr realesr-general-x4v3 --sr-compare realesrnet_x4``).
FAST_MFLOPS_PER_PX = 10.0


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
    #: the network's cost per input pixel (MFLOP, 2 per multiply-add), 0 = unknown
    mflops_per_px: float = 0.0

    @property
    def speed(self) -> str:
        """The speed class: "fast" (under :data:`FAST_MFLOPS_PER_PX`), "best" (a full
        network: slower, the most detail), "" when the cost could not be counted."""
        if not self.mflops_per_px:
            return ""
        return "fast" if self.mflops_per_px < FAST_MFLOPS_PER_PX else "best"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def in_size(self) -> int:
        """0: an upscaler takes any size (for code that lists restorers and upscalers alike)."""
        return 0

    def summary(self) -> str:
        tags = f" ({', '.join(self.tags)})" if self.tags else ""
        cost = f", {self.mflops_per_px:.1f} MFLOP/px ({self.speed})" if self.speed else ""
        return (
            f"{self.name}: {self.arch} x{self.scale} super-resolution{tags}, "
            f"{self.n_params / 1e6:.1f} M params{cost}"
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


def _load_descriptor(path: Path, count: bool = False) -> tuple[Any, SRInfo]:
    """spandrel's descriptor of the file and what it holds; ``count``: also count its cost per
    pixel (``mflops_per_px``, for the speed class)."""
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
        name=_known_name(arch, desc.scale, desc.tags, path.name) or path.stem,
        arch=arch,
        scale=int(desc.scale),
        purpose=purpose,
        tags=list(desc.tags),
        n_params=int(n_params),
        features=features,
        path=str(path),
        format=fmt,
        file_size=path.stat().st_size,
        mflops_per_px=mflops_per_pixel(desc) if count else 0.0,
    )
    return desc, info


def is_official_layout(arch: str, scale: int, tags: list[str]) -> bool:
    """Whether the tensors have the layout of a catalogued upscaler: RealESRNet (RRDBNet, 64
    features, 23 blocks) or Real-ESRGAN's compact general x4 (64 features, 32 convs)."""
    return _known_name(arch, scale, tags) is not None


def _known_name(arch: str, scale: int, tags: list[str], filename: str = "") -> str | None:
    """The catalogue's name when the layout is a catalogued one: GPEN's RealESRNet (RRDBNet,
    64 features, 23 blocks), or Real-ESRGAN's compact general x4 (SRVGGNetCompact, 64
    features, 32 convs). The x4v3 file and its weak-denoise partner share one layout, so only
    the file name tells them apart ("wdn" in it: the partner)."""
    if arch == "ESRGAN" and "64nf" in tags and "23nb" in tags and "ESRGAN+" not in tags:
        unshuffled = "unshuffle" in tags
        if (scale == 4 and not unshuffled) or (scale in (1, 2) and unshuffled):
            return f"realesrnet_x{scale}"
    if arch == COMPACT_ARCH and scale == 4 and "64nf" in tags and "32nc" in tags:
        return GENERAL_WDN_X4V3 if "wdn" in filename.lower() else GENERAL_X4V3
    return None


def mflops_per_pixel(descriptor: Any, side: int = 64) -> float:
    """The network's cost per input pixel in MFLOP (torch's FLOP counter: 2 per multiply-add
    of convolutions and matrix products), counted on shapes only (meta tensors: nothing is
    computed) for a ``side`` x ``side`` input; 0.0 when the architecture cannot run on meta
    tensors."""
    import torch
    from torch.func import functional_call
    from torch.utils.flop_counter import FlopCounterMode

    req = descriptor.size_requirements
    grid = max(1, int(req.multiple_of))
    side = max(side, int(req.minimum or 0))
    side = -(-side // grid) * grid
    model = descriptor.model
    try:
        meta = {
            k: torch.empty_like(v, device="meta")
            for k, v in [*model.named_parameters(), *model.named_buffers()]
        }
        x = torch.empty(1, descriptor.input_channels, side, side, device="meta")
        with FlopCounterMode(display=False) as counter:
            functional_call(model, meta, (x,))
        return counter.get_total_flops() / (side * side) / 1e6
    except Exception as exc:  # an architecture with data-dependent steps: cost unknown
        log.debug("cannot count the FLOPs of %s: %s", descriptor.architecture.name, exc)
        return 0.0


def inspect_sr_model(path: str | Path) -> SRInfo:
    """Identify a super-resolution model file by content; SuperResolutionError (one line) when
    it is not one (naming what spandrel saw) or when spandrel is not installed."""
    return _load_descriptor(Path(path), count=True)[1]


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
        #: Denoise strength in use (None: the file's own weights), and why it is not when it
        #: was asked for (one line).
        self.denoise_strength: float | None = None
        self.denoise_note: str | None = None
        self.partner_path: Path | None = None
        self._own: dict[str, Any] | None = None  # the x4v3 file's weights (float32, CPU)
        self._partner: dict[str, Any] | None = None
        self._blends: dict[float, dict[str, Any]] = {}  # strength -> blended weights
        self._weights_key = 1.0  # the strength whose weights the model holds
        if info.name == GENERAL_X4V3 and info.path:
            self.partner_path = denoise_partner(info.path)

    @property
    def scale(self) -> int:
        return self.info.scale

    @property
    def dtype_name(self) -> str:
        """The dtype the model runs in ("bfloat16", "float32", ...)."""
        return str(self.dtype).replace("torch.", "")

    #: Blended weights kept per strength (a slider goes back and forth over a few values).
    BLEND_CACHE = 8

    def set_denoise(self, strength: float) -> None:
        """Real-ESRGAN's denoise strength for the compact general model: from the next tile on
        the network runs ``strength * x4v3 + (1 - strength) * wdn`` weights (1 = the x4v3
        file as it is, 0 = its weak-denoise partner). Only for ``realesr-general-x4v3`` with
        ``realesr-general-wdn-x4v3`` beside it (:func:`denoise_partner`); without the partner
        a strength under 1 runs the plain model and ``denoise_note`` says why. Other models
        ignore it. Blends are cached per strength (to 4 decimals)."""
        import torch

        if self.info.name != GENERAL_X4V3:
            return
        s = min(1.0, max(0.0, round(float(strength), 4)))
        self.denoise_note = None
        if s < 1.0 and self._partner_weights() is None:
            self.denoise_strength, key = None, 1.0
        else:
            self.denoise_strength, key = s, s
        if key == self._weights_key:
            return
        if self._own is None:  # the file's weights, before the first blend replaces them
            source = self._master if self._master is not None else self._desc.model.state_dict()
            self._own = {
                k: v.detach().to("cpu", torch.float32, copy=True) for k, v in source.items()
            }
        if key == 1.0:
            weights = self._own
        else:
            weights = self._blends.pop(key, None)
            if weights is None:
                weights = blend_weights(self._own, self._partner or {}, key)
            self._blends[key] = weights  # most recent last
            while len(self._blends) > self.BLEND_CACHE:
                self._blends.pop(next(iter(self._blends)))
        self._desc.model.load_state_dict(weights)  # into the running dtype, device and layout
        if self._master is not None:
            self._master = weights
        self._weights_key = key

    def _partner_weights(self) -> dict[str, Any] | None:
        """The weak-denoise partner's weights (read once), or None with ``denoise_note``."""
        import torch

        if self._partner is not None:
            return self._partner
        own = Path(self.info.path).name
        if self.partner_path is None:
            self.denoise_note = (
                f"denoise strength needs {GENERAL_WDN_X4V3}.pth beside {own} (model manager); "
                "ran the plain model"
            )
            return None
        try:
            desc, info = _load_descriptor(self.partner_path)
        except SuperResolutionError as exc:
            self.denoise_note = f"denoise strength: {exc}; ran the plain model"
            return None
        if (info.arch, info.scale, info.tags) != (self.info.arch, self.info.scale, self.info.tags):
            self.denoise_note = (
                f"denoise strength: {self.partner_path.name} is not a {GENERAL_WDN_X4V3} "
                f"model ({info.arch} x{info.scale}, {', '.join(info.tags)}); ran the plain model"
            )
            return None
        self._partner = {
            k: v.detach().to("cpu", torch.float32, copy=True)
            for k, v in desc.model.state_dict().items()
        }
        return self._partner

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


def load_sr_model(
    path: str | Path,
    device: Any = "auto",
    precision: str = "auto",
    denoise_strength: float | None = None,
) -> SuperResolver:
    """Load a super-resolution model file for :meth:`SuperResolver.upscale` on ``device`` in
    ``precision`` (see :func:`sr_dtype`), with ``denoise_strength`` (see
    :meth:`SuperResolver.set_denoise`; None: the file's weights). Raises SuperResolutionError
    (one line) for anything that is not a usable SR model."""
    desc, info = _load_descriptor(Path(path))
    log.info("loaded %s", info.summary())
    sr = SuperResolver(desc, info, device, precision)
    if denoise_strength is not None:
        sr.set_denoise(denoise_strength)
    return sr


# --------------------------------------------------------------------------- denoise strength


def denoise_partner(path: str | Path) -> Path | None:
    """The weak-denoise partner of a ``realesr-general-x4v3`` file, beside it: the file name
    with ``realesr-general-x4v3`` replaced by ``realesr-general-wdn-x4v3`` (as Real-ESRGAN
    finds it), else ``realesr-general-wdn-x4v3`` with any checkpoint extension; None when
    there is none."""
    path = Path(path)
    names = []
    if GENERAL_X4V3 in path.name:
        names.append(path.name.replace(GENERAL_X4V3, GENERAL_WDN_X4V3))
    names += [GENERAL_WDN_X4V3 + ext for ext in CHECKPOINT_EXTENSIONS if ext != ".onnx"]
    for name in names:
        candidate = path.with_name(name)
        if candidate.is_file() and candidate.resolve() != path.resolve():
            return candidate
    return None


def blend_weights(strong: dict[str, Any], weak: dict[str, Any], strength: float) -> dict[str, Any]:
    """Real-ESRGAN's network interpolation (``dni``): ``strength * strong + (1 - strength) *
    weak``, tensor by tensor (same keys and shapes), in float32; strength 1 and 0 give exact
    copies of ``strong`` and ``weak``."""
    import torch

    if set(strong) != set(weak) or any(strong[k].shape != weak[k].shape for k in strong):
        raise SuperResolutionError("the two networks of a denoise blend differ in layout")
    out = {}
    for k, a in strong.items():
        a, b = a.to(torch.float32), weak[k].to(torch.float32)
        if strength >= 1.0:
            out[k] = a.clone()
        elif strength <= 0.0:
            out[k] = b.clone()
        else:
            out[k] = a * strength + b * (1.0 - strength)
    return out


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


def random_compact_state_dict(
    num_feat: int = 64, num_conv: int = 32, scale: int = 4, seed: int = 0
) -> dict:
    """A random-weight SRVGGNetCompact (built with spandrel's own class; PReLU) as a state dict
    in the key layout of Real-ESRGAN's ``realesr-general-x4v3.pth`` (``body.N.weight`` and
    ``.bias`` for convolutions, ``body.N.weight`` for PReLUs). num_feat 64, num_conv 32, scale
    4 is the official size. For tests and benchmarks."""
    import torch

    _spandrel()
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    net = Compact(
        num_in_ch=3,
        num_out_ch=3,
        num_feat=num_feat,
        num_conv=num_conv,
        upscale=scale,
        act_type="prelu",
    )
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def random_compact_checkpoint(
    path: str | Path, num_feat: int = 64, num_conv: int = 32, scale: int = 4, seed: int = 0
) -> Path:
    """Write :func:`random_compact_state_dict` as ``{'params': state_dict}`` (the form of
    Real-ESRGAN's realesr-general files)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params": random_compact_state_dict(num_feat, num_conv, scale, seed)}, path)
    return path


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
