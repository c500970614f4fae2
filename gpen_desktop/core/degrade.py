"""Synthetic degradation of face images: a seeded, recorded random mix of real-world defects.

A degradation is a sequence of *steps* taken in ``DegradeConfig.order``. Each step is applied
with its own probability and draws its parameters from configurable ranges:

==============  ===========================================================================
step            parameters (defaults; pixel values on the 0-255 scale)
==============  ===========================================================================
color           ``gamma`` 0.7-1.4, ``contrast`` 0.7-1.3 (around mid-grey), per-channel
                ``gain`` 0.92-1.08 (a slight colour cast)
gaussian_blur   ``sigma`` 0-3 px (kernel 2*ceil(3*sigma)+1)
motion_blur     ``length`` 3-25 px (integer), ``angle`` 0-180 degrees (a straight streak)
downsample      ``factor`` 2-16 (log-uniform), down with ``down`` and back up to the original
                size with ``up`` interpolation, each one of nearest/linear/cubic/area/lanczos
noise           additive Gaussian ``sigma`` 0-25, ``gray`` (one noise plane for all channels)
                with probability 0.4, ``noise_seed`` for the noise field
jpeg            ``quality`` 10-100 (integer): a real JPEG encode and decode with OpenCV
==============  ===========================================================================

Determinism: ``degrade(image, seed)`` is a pure function of (image, seed, config) — same
inputs, same bytes out. Every step draws from its own ``numpy.random.Generator`` seeded with
``(seed, step id)``, so changing one step's probability or range does not change what the other
steps draw. No global random state is used. The OpenCV calls used here compute each output
pixel independently of how the work is split across threads, so the result does not depend on
``cv2.setNumThreads`` (checked by the tests).

The returned step records are JSON-serialisable dicts, e.g. ``{"step": "jpeg", "quality": 37}``;
float parameters are rounded before use, so ``apply_steps(image, result.steps)`` reproduces
``result.image`` exactly.

Images are HxWx3 uint8 RGB in and out (same shape).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import cv2
import numpy as np

from gpen_desktop.core.errors import DegradeConfigError, GpenError

STEP_NAMES: tuple[str, ...] = (
    "color",
    "gaussian_blur",
    "motion_blur",
    "downsample",
    "noise",
    "jpeg",
)
"""Every known step; the position is the step's id in its random stream (append, never reorder)."""

INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}

_BORDER = cv2.BORDER_REFLECT_101
_DIGITS = 4  # float parameters are rounded to this many decimals before they are used


Range = tuple[float, float]


@dataclass(frozen=True)
class DegradeConfig:
    """Which steps run, in which order, how often (``*_p`` in [0, 1]) and with which ranges.

    Ranges are inclusive ``(low, high)`` pairs. Build one with keyword options
    (``DegradeConfig(jpeg_p=1.0, jpeg_quality=(20, 40))``), from a mapping
    (:meth:`from_dict`) or from a JSON/TOML file (:meth:`from_file`). In a mapping, options may
    be flat (``jpeg_quality = [20, 40]``) or grouped by step (``[jpeg]`` table with
    ``quality = [20, 40]`` and ``p = 1.0``); ``order`` lists the steps to consider.
    """

    order: tuple[str, ...] = STEP_NAMES
    color_p: float = 0.3
    color_gamma: Range = (0.7, 1.4)
    color_contrast: Range = (0.7, 1.3)
    color_gain: Range = (0.92, 1.08)
    gaussian_blur_p: float = 0.6
    gaussian_blur_sigma: Range = (0.0, 3.0)
    motion_blur_p: float = 0.2
    motion_blur_length: tuple[int, int] = (3, 25)
    downsample_p: float = 0.7
    downsample_factor: Range = (2.0, 16.0)
    downsample_interpolations: tuple[str, ...] = tuple(INTERPOLATIONS)
    noise_p: float = 0.5
    noise_sigma: Range = (0.0, 25.0)
    noise_gray_p: float = 0.4
    jpeg_p: float = 0.7
    jpeg_quality: tuple[int, int] = (10, 100)

    def __post_init__(self) -> None:
        order = self.order
        if isinstance(order, str):
            order = (order,)
        order = tuple(str(s) for s in order)
        for name in order:
            if name not in STEP_NAMES:
                raise DegradeConfigError(
                    f"degrade config: unknown step {name!r} in order (known: {', '.join(STEP_NAMES)})"
                )
        if len(set(order)) != len(order):
            raise DegradeConfigError("degrade config: a step appears twice in order")
        object.__setattr__(self, "order", order)

        for f in dataclasses.fields(self):
            if f.name.endswith("_p"):
                value = _as_float(f.name, getattr(self, f.name))
                if not 0.0 <= value <= 1.0:
                    raise DegradeConfigError(
                        f"degrade config: {f.name} must be in [0, 1], got {value}"
                    )
                object.__setattr__(self, f.name, value)

        limits: dict[str, tuple[float, float, bool]] = {  # name: (min, max, integer)
            "color_gamma": (0.05, 20.0, False),
            "color_contrast": (0.0, 10.0, False),
            "color_gain": (0.0, 10.0, False),
            "gaussian_blur_sigma": (0.0, 50.0, False),
            "motion_blur_length": (1, 201, True),
            "downsample_factor": (1.0, 64.0, False),
            "noise_sigma": (0.0, 255.0, False),
            "jpeg_quality": (1, 100, True),
        }
        for name, (lo_lim, hi_lim, integer) in limits.items():
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = (value, value)  # a single number: a fixed value
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
                raise DegradeConfigError(f"degrade config: {name} must be a [low, high] pair")
            lo, hi = (_as_float(name, v) for v in value)
            if integer:
                if lo != int(lo) or hi != int(hi):
                    raise DegradeConfigError(f"degrade config: {name} must be integers")
                lo, hi = int(lo), int(hi)
            if lo > hi:
                raise DegradeConfigError(f"degrade config: {name} low {lo} is above high {hi}")
            if lo < lo_lim or hi > hi_lim:
                raise DegradeConfigError(
                    f"degrade config: {name} must lie within [{lo_lim}, {hi_lim}], got [{lo}, {hi}]"
                )
            object.__setattr__(self, name, (lo, hi))

        interps = self.downsample_interpolations
        if isinstance(interps, str):
            interps = (interps,)
        interps = tuple(str(i) for i in interps)
        if not interps or any(i not in INTERPOLATIONS for i in interps):
            raise DegradeConfigError(
                "degrade config: downsample_interpolations must name some of "
                + ", ".join(INTERPOLATIONS)
            )
        object.__setattr__(self, "downsample_interpolations", interps)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DegradeConfig:
        """A config from flat options and/or per-step tables; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in STEP_NAMES and isinstance(value, Mapping):
                for sub, sub_value in value.items():
                    name = f"{key}_{sub}"
                    if name not in names:
                        raise DegradeConfigError(f"degrade config: unknown option {key}.{sub}")
                    kwargs[name] = sub_value
            elif key in names:
                kwargs[key] = value
            else:
                raise DegradeConfigError(f"degrade config: unknown option {key!r}")
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | Path) -> DegradeConfig:
        """Load a ``.json`` or ``.toml`` file (see :meth:`from_dict` for the keys)."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DegradeConfigError(
                f"degrade config: cannot read {path}: {exc.strerror or exc}"
            ) from exc
        suffix = path.suffix.lower()
        try:
            if suffix == ".toml":
                data = _toml_loads(raw.decode("utf-8"))
            elif suffix == ".json":
                data = json.loads(raw.decode("utf-8"))
            else:
                raise DegradeConfigError(f"degrade config: {path.name} must end in .json or .toml")
        except (ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, DegradeConfigError):
                raise
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DegradeConfigError(f"degrade config: {path.name} is not valid: {first}") from exc
        if not isinstance(data, Mapping):
            raise DegradeConfigError(f"degrade config: {path.name} must hold a table/object")
        return cls.from_dict(data)

    @classmethod
    def only(cls, *steps: str, **options: Any) -> DegradeConfig:
        """A config that always applies exactly ``steps`` (in the given order), with ``options``."""
        probs = {f"{name}_p": (1.0 if name in steps else 0.0) for name in STEP_NAMES}
        probs.update(options)
        return cls(order=tuple(steps), **probs)

    def replace(self, **changes: Any) -> DegradeConfig:
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable flat options (round-trips through :meth:`from_dict`)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class DegradeResult:
    """``image``: HxWx3 uint8 RGB; ``steps``: the applied steps in order (JSON-ready dicts)."""

    image: np.ndarray
    steps: list[dict[str, Any]]
    seed: int

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "steps": self.steps}


# -- public API --------------------------------------------------------------------------------


def degrade(
    image: np.ndarray, seed: int | None = None, config: DegradeConfig | None = None
) -> DegradeResult:
    """Degrade an HxWx3 uint8 RGB image; same (image, seed, config) -> same bytes.

    ``seed`` is a non-negative integer; None draws a fresh one from the OS (recorded in the
    result so the output can be reproduced).
    """
    _check_image(image)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
    steps = sample_steps(seed, config)
    return DegradeResult(image=apply_steps(image, steps), steps=steps, seed=int(seed))


def sample_steps(seed: int, config: DegradeConfig | None = None) -> list[dict[str, Any]]:
    """Decide which steps run and draw their parameters (no image needed)."""
    if int(seed) < 0:
        raise ValueError("seed must be a non-negative integer")
    config = config or DegradeConfig()
    steps: list[dict[str, Any]] = []
    for name in config.order:
        rng = np.random.default_rng([int(seed), STEP_NAMES.index(name)])
        if rng.random() >= getattr(config, f"{name}_p"):
            continue
        steps.append({"step": name, **_SAMPLERS[name](rng, config)})
    return steps


def apply_steps(image: np.ndarray, steps: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Apply recorded steps (as returned by :func:`sample_steps`) to an HxWx3 uint8 RGB image."""
    _check_image(image)
    out = np.ascontiguousarray(image)
    for record in steps:
        name = record.get("step")
        if name not in _APPLIERS:
            raise ValueError(f"unknown degradation step {name!r}")
        out = _APPLIERS[name](out, record)
        # Cheap invariant, keeps bugs in one step from leaking into the next one.
        assert out.dtype == np.uint8 and out.shape == image.shape, name
    return out


# -- samplers: (rng, config) -> parameters ------------------------------------------------------


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return round(float(rng.uniform(bounds[0], bounds[1])), _DIGITS)


def _sample_color(rng: np.random.Generator, c: DegradeConfig) -> dict[str, Any]:
    return {
        "gamma": _uniform(rng, c.color_gamma),
        "contrast": _uniform(rng, c.color_contrast),
        "gain": [_uniform(rng, c.color_gain) for _ in range(3)],
    }


def _sample_gaussian_blur(rng: np.random.Generator, c: DegradeConfig) -> dict[str, Any]:
    return {"sigma": _uniform(rng, c.gaussian_blur_sigma)}


def _sample_motion_blur(rng: np.random.Generator, c: DegradeConfig) -> dict[str, Any]:
    lo, hi = c.motion_blur_length
    return {
        "length": int(rng.integers(lo, hi, endpoint=True)),
        "angle": round(float(rng.uniform(0.0, 180.0)), 2),
    }


def _sample_downsample(rng: np.random.Generator, c: DegradeConfig) -> dict[str, Any]:
    lo, hi = c.downsample_factor
    factor = math.exp(rng.uniform(math.log(lo), math.log(hi)))  # log-uniform
    interps = c.downsample_interpolations
    return {
        "factor": min(max(round(factor, _DIGITS), lo), hi),
        "down": interps[int(rng.integers(len(interps)))],
        "up": interps[int(rng.integers(len(interps)))],
    }


def _sample_noise(rng: np.random.Generator, c: DegradeConfig) -> dict[str, Any]:
    return {
        "sigma": _uniform(rng, c.noise_sigma),
        "gray": bool(rng.random() < c.noise_gray_p),
        "noise_seed": int(rng.integers(0, 2**31 - 1)),
    }


def _sample_jpeg(rng: np.random.Generator, c: DegradeConfig) -> dict[str, Any]:
    lo, hi = c.jpeg_quality
    return {"quality": int(rng.integers(lo, hi, endpoint=True))}


_SAMPLERS = {
    "color": _sample_color,
    "gaussian_blur": _sample_gaussian_blur,
    "motion_blur": _sample_motion_blur,
    "downsample": _sample_downsample,
    "noise": _sample_noise,
    "jpeg": _sample_jpeg,
}


# -- appliers: (uint8 image, parameters) -> uint8 image ----------------------------------------


def _apply_color(img: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    v = (v ** float(p["gamma"]) - 0.5) * float(p["contrast"]) + 0.5
    lut = np.stack([v * float(g) for g in p["gain"]], axis=-1)  # 256 x 3
    lut = np.clip(np.rint(lut * 255.0), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(img, lut)


def _apply_gaussian_blur(img: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    sigma = float(p["sigma"])
    if sigma < 0.05:  # narrower than a twentieth of a pixel: the kernel is a single 1
        return img
    k = 2 * math.ceil(3.0 * sigma) + 1
    return cv2.GaussianBlur(img, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=_BORDER)


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A normalised float32 kernel of a straight streak ``length`` px long at ``angle`` degrees.

    The kernel is square with an odd side (``length`` rounded up to odd); the streak passes
    through its centre, is anti-aliased (bilinear splatting) and sums to 1.
    """
    length = max(int(length), 1)
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float64)
    c = (size - 1) / 2.0
    half = (length - 1) / 2.0
    n = max(4 * length, 2)
    t = np.linspace(-half, half, n)
    rad = math.radians(angle)
    xs = c + t * math.cos(rad)
    ys = c - t * math.sin(rad)  # image y grows downwards; angle counter-clockwise
    x0 = np.clip(np.floor(xs).astype(int), 0, size - 1)
    y0 = np.clip(np.floor(ys).astype(int), 0, size - 1)
    x1 = np.minimum(x0 + 1, size - 1)
    y1 = np.minimum(y0 + 1, size - 1)
    fx = np.clip(xs - x0, 0.0, 1.0)
    fy = np.clip(ys - y0, 0.0, 1.0)
    np.add.at(kernel, (y0, x0), (1 - fx) * (1 - fy))
    np.add.at(kernel, (y0, x1), fx * (1 - fy))
    np.add.at(kernel, (y1, x0), (1 - fx) * fy)
    np.add.at(kernel, (y1, x1), fx * fy)
    return (kernel / kernel.sum()).astype(np.float32)


def _apply_motion_blur(img: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    if int(p["length"]) <= 1:
        return img
    kernel = motion_kernel(int(p["length"]), float(p["angle"]))
    return cv2.filter2D(img, -1, kernel, borderType=_BORDER)


def _apply_downsample(img: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    h, w = img.shape[:2]
    factor = float(p["factor"])
    small_w, small_h = max(1, round(w / factor)), max(1, round(h / factor))
    small = cv2.resize(img, (small_w, small_h), interpolation=INTERPOLATIONS[p["down"]])
    return cv2.resize(small, (w, h), interpolation=INTERPOLATIONS[p["up"]])


@functools.lru_cache(maxsize=1)
def _normal_quantiles() -> np.ndarray:
    """65536 equally likely standard-normal values (mid-point quantiles), float32."""
    dist = NormalDist()
    return np.array([dist.inv_cdf((i + 0.5) / 65536.0) for i in range(65536)], np.float32)


def _apply_noise(img: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    # Gaussian samples by inverse-CDF lookup of 16-bit uniform integers: ~3x faster than
    # Generator.standard_normal, and 65536 levels (tails at +-4.3 sigma) are far finer than
    # the 8-bit output can show.
    sigma = float(p["sigma"])
    if sigma <= 0.0:
        return img
    h, w = img.shape[:2]
    shape = (h, w, 1) if p["gray"] else (h, w, 3)
    rng = np.random.default_rng(int(p["noise_seed"]))
    index = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    noise = np.take(_normal_quantiles() * np.float32(sigma), index)
    out = noise + img  # float32; gray noise broadcasts over the channels
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def _apply_jpeg(img: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(p["quality"])])
    if not ok:  # pragma: no cover - OpenCV always has a JPEG encoder
        raise GpenError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


_APPLIERS = {
    "color": _apply_color,
    "gaussian_blur": _apply_gaussian_blur,
    "motion_blur": _apply_motion_blur,
    "downsample": _apply_downsample,
    "noise": _apply_noise,
    "jpeg": _apply_jpeg,
}


# -- helpers -----------------------------------------------------------------------------------


def describe_steps(steps: Sequence[Mapping[str, Any]]) -> str:
    """A short human line, e.g. ``blur s=1.20, jpeg q=37`` (``none`` when nothing applied)."""
    parts = []
    for s in steps:
        name = s["step"]
        if name == "color":
            parts.append(f"color g={s['gamma']:.2f} c={s['contrast']:.2f}")
        elif name == "gaussian_blur":
            parts.append(f"blur s={s['sigma']:.2f}")
        elif name == "motion_blur":
            parts.append(f"motion {s['length']}px@{s['angle']:.0f}deg")
        elif name == "downsample":
            parts.append(f"down x{s['factor']:.1f} ({s['down']}/{s['up']})")
        elif name == "noise":
            parts.append(f"noise s={s['sigma']:.1f}{' gray' if s['gray'] else ''}")
        elif name == "jpeg":
            parts.append(f"jpeg q={s['quality']}")
        else:  # pragma: no cover
            parts.append(str(name))
    return ", ".join(parts) if parts else "none"


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy image")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")


def _as_float(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DegradeConfigError(
            f"degrade config: {name} must be a number, got {value!r}"
        ) from None
    if not math.isfinite(out) or isinstance(value, bool):
        raise DegradeConfigError(f"degrade config: {name} must be a finite number, got {value!r}")
    return out


def _toml_loads(text: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise DegradeConfigError(
                "degrade config: TOML needs Python 3.11+ (or the tomli package); use JSON"
            ) from None
    return tomllib.loads(text)
