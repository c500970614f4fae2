"""Grain that matches: measure a photo's noise around a face, make more of the same.

A restored face is clean; pasted into a grainy scan it looks stuck on. This module measures
the grain of the photo in a ring around each face and synthesises grain with the same level,
colour and size, which :func:`gpen_desktop.core.faces.paste.paste_faces` adds to the restored
face before compositing.

The noise model: stationary Gaussian noise, the same in every flat area of the ring, the sum
of two independent parts: per-pixel noise (sensor, scan, quantisation) and grain of one size
``s`` (white noise blurred with a Gaussian of sigma ``s`` px, normalised to unit variance).
Each part is ``L z`` with ``z`` three independent fields and ``L L^T`` its 3x3 RGB covariance
(pixel-value units squared): luminance-only grain has a rank-one covariance (every channel
moves together), colour grain independent channels.

The measurement, on flat areas only:

- three band-pass responses per channel: Immerkaer's 3x3 kernel (a difference of Laplacians
  that cancels constant, linear and quadratic shading) with its taps 1, 2 and 4 px apart;
- the region is cut in blocks; the flattest third (by the gradient of a blurred luma) is used,
  never a block touching clipped, transparent or damage-filled pixels;
- each band's channel variances and covariances come from medians of absolute values (MAD,
  robust to the edges that remain);
- the grain size is the ``s`` whose two parts, fitted with non-negative amplitudes, best
  explain the three bands; the fitted parts are the noise. The bands' gains for every size
  are exact sums of squares of the kernels (:func:`band_gains`), not simulations.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np

#: Immerkaer's noise kernel: zero response to constant, linear and quadratic shading; on unit
#: white noise its response has standard deviation 6.
FINE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
#: The bands measured: :data:`FINE` with its taps 1, 2 and 4 px apart (one octave each).
SPACINGS = (1, 2, 4)
#: Per-pixel noise is grain of this size (a Gaussian this narrow is a single tap).
WHITE = 0.25
#: The grain sizes (Gaussian sigma, px) the fit chooses between: up to 2 px, where the coarsest
#: band still sees grain well (beyond, its variance would rest on little evidence).
SIZES = tuple(float(v) for v in np.round(np.geomspace(0.4, 2.0, 30), 3))
#: Block side (px) of the flat-area search, and the share of the flattest blocks used.
BLOCK = 16
FLAT_SHARE = 0.35
#: Fewest pixels a measurement may rest on, and the most its medians read.
MIN_PIXELS = 1500
MAX_SAMPLES = 60_000
#: BT.601 luma weights (the noise "level" is the luma noise's standard deviation).
LUMA = np.array([0.299, 0.587, 0.114])
_MAD = 1.482602218505602  # standard deviation of a normal / its median absolute value


def band_kernel(spacing: int) -> np.ndarray:
    """:data:`FINE` with its taps ``spacing`` px apart ((2 s + 1) square, float32)."""
    k = np.zeros((2 * spacing + 1, 2 * spacing + 1), np.float32)
    k[::spacing, ::spacing] = FINE
    return k


@dataclass(frozen=True)
class Grain:
    """Noise measured in one region of a photo (units: the photo's pixel values, at the
    resolution it was measured).

    ``sizes``: the sizes of its parts (px; :data:`WHITE` = per-pixel noise); ``parts[j]``:
    3x3 RGB covariance of the part of size ``sizes[j]``; ``bands[k]``: 3x3 covariance of the
    response of band :data:`SPACINGS` ``[k]`` (what the parts were fitted to); ``pixels``: how
    many pixels it rests on."""

    sizes: tuple[float, ...]
    parts: np.ndarray
    bands: np.ndarray
    pixels: int

    @property
    def cov(self) -> np.ndarray:
        """3x3 covariance of the whole noise (RGB)."""
        return self.parts.sum(axis=0) if len(self.parts) else np.zeros((3, 3))

    @property
    def variance(self) -> float:
        """Sum of the channels' noise variances."""
        return float(np.trace(self.cov))

    @property
    def level(self) -> float:
        """Standard deviation of the luma noise (pixel values)."""
        return float(math.sqrt(max(0.0, LUMA @ self.cov @ LUMA)))

    @property
    def size(self) -> float:
        """The grain's size (px): its parts' sizes averaged by their variance."""
        v = np.trace(self.parts, axis1=1, axis2=2) if len(self.parts) else np.zeros(0)
        return float(v @ np.array(self.sizes) / v.sum()) if v.sum() > 0 else 0.0

    @property
    def colour(self) -> float:
        """Share of the noise's variance that is colour (0 = luminance-only grain, where every
        channel moves together; 2/3 = independent channels)."""
        total = self.variance
        if total <= 0:
            return 0.0
        grey = np.full(3, 1 / math.sqrt(3))
        return float(np.clip(1.0 - grey @ self.cov @ grey / total, 0.0, 1.0))

    def describe(self, maxval: float = 255.0) -> str:
        """One line: level in 8-bit levels, colour share and size."""
        kind = "colour" if self.colour > 0.2 else "luminance"
        return (
            f"grain {self.level * 255.0 / maxval:.1f}/255 ({kind}, colour share "
            f"{self.colour:.2f}), size {self.size:.2f} px"
        )


@functools.lru_cache(maxsize=64)
def grain_kernel(size: float) -> np.ndarray:
    """The 1-D Gaussian (sigma ``size`` px) that shapes white noise into grain; its 2-D outer
    product has unit sum of squares, so the grain keeps unit variance."""
    import cv2

    radius = max(1, math.ceil(3 * size))
    k = cv2.getGaussianKernel(2 * radius + 1, float(size), cv2.CV_64F)[:, 0]
    k = k / math.sqrt(float(np.sum(k**2)))  # 2-D sum of squares = (1-D)^2 = 1
    k.setflags(write=False)
    return k


@functools.lru_cache(maxsize=128)
def band_gains(size: float) -> np.ndarray:
    """The variance of each band's (:data:`SPACINGS`) response to unit-variance grain of
    ``size`` px: exactly the sum of squares of the kernels convolved."""
    import cv2

    shape = np.outer(grain_kernel(size), grain_kernel(size))
    gains = []
    for d in SPACINGS:  # the full convolution (both kernels are symmetric: correlation is it)
        padded = np.pad(shape, 2 * d)
        response = cv2.filter2D(
            padded, cv2.CV_64F, band_kernel(d).astype(np.float64), borderType=cv2.BORDER_CONSTANT
        )
        gains.append(float(np.sum(response**2)))
    g = np.array(gains)
    g.setflags(write=False)
    return g


def fit_parts(bands: np.ndarray) -> tuple[tuple[float, ...], np.ndarray]:
    """The parts (sizes, covariances) whose band responses best explain ``bands`` (K x 3 x 3):
    for every grain size in :data:`SIZES`, per-pixel noise and grain of that size with
    non-negative variances fitted to the bands' traces (each band weighted by its own value,
    so every octave counts); the size with the least error wins. The parts' colour covariances
    come from a least-squares fit of each matrix entry over the parts present."""
    from scipy.optimize import nnls

    t = np.trace(bands, axis1=1, axis2=2)
    if not np.all(np.isfinite(t)) or t.max() <= 0:
        return (), np.zeros((0, 3, 3))
    w = 1.0 / np.maximum(t, 1e-6 * t.max())
    best = None
    for s in SIZES:
        g = np.stack([band_gains(WHITE), band_gains(s)], axis=1)
        tau, err = nnls(g * w[:, None], t * w)
        if best is None or err < best[0] - 1e-12:
            best = (err, s, g, tau)
    _err, s, g, tau = best
    active = [j for j in range(2) if tau[j] > 1e-9 * max(tau.max(), 1e-30)]
    if not active:
        return (), np.zeros((0, 3, 3))
    a = g[:, active] * w[:, None]
    rhs = (bands * w[:, None, None]).reshape(len(SPACINGS), 9)
    x, *_ = np.linalg.lstsq(a, rhs, rcond=None)
    sizes = tuple((WHITE, s)[j] for j in active)
    return sizes, np.stack([psd(x[i].reshape(3, 3)) for i in range(len(active))])


def _robust_sd(values: np.ndarray) -> float:
    return float(_MAD * np.median(np.abs(values))) if values.size else 0.0


def _robust_cov(r: np.ndarray) -> np.ndarray:
    """3x3 covariance of the zero-mean columns of ``r`` (N x 3) from robust deviations:
    ``cov(a, b) = (sd(a + b)^2 - sd(a - b)^2) / 4``; made positive semi-definite."""
    c = np.zeros((3, 3))
    for i in range(3):
        c[i, i] = _robust_sd(r[:, i]) ** 2
        for j in range(i):
            plus = _robust_sd(r[:, i] + r[:, j]) ** 2
            minus = _robust_sd(r[:, i] - r[:, j]) ** 2
            c[i, j] = c[j, i] = (plus - minus) / 4.0
    return psd(c)


def psd(c: np.ndarray) -> np.ndarray:
    """``c`` (symmetric) with negative eigenvalues set to 0."""
    w, v = np.linalg.eigh((c + c.T) / 2.0)
    return (v * np.clip(w, 0.0, None)) @ v.T


def flat_pixels(
    pixels: np.ndarray, region: np.ndarray, maxval: float, share: float = FLAT_SHARE
) -> np.ndarray:
    """The pixels of ``region`` (HxW bool) in its flattest blocks: a bool HxW mask.

    ``pixels``: HxWx3 float32. Blocks of :data:`BLOCK` px (smaller for small regions) lying
    wholly in ``region`` and away from clipped values are ranked by the mean gradient of the
    luma blurred with sigma 2 px; the flattest ``share`` (at least enough blocks for
    :data:`MIN_PIXELS`) are kept."""
    import cv2

    h, w = region.shape
    y = pixels @ LUMA.astype(np.float32)
    smooth = cv2.GaussianBlur(y, (0, 0), 2.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    structure = np.sqrt(gx * gx + gy * gy)
    usable = region & (smooth > 0.03 * maxval) & (smooth < 0.97 * maxval)
    b = BLOCK if min(h, w) >= 4 * BLOCK else max(4, min(h, w) // 4)
    hb, wb = h // b, w // b
    out = np.zeros((h, w), bool)
    if hb == 0 or wb == 0:
        return out
    tiles = usable[: hb * b, : wb * b].reshape(hb, b, wb, b)
    full = tiles.all(axis=(1, 3))
    if not full.any():
        return out
    score = structure[: hb * b, : wb * b].reshape(hb, b, wb, b).mean(axis=(1, 3))
    cand = np.flatnonzero(full.ravel())
    order = cand[np.argsort(score.ravel()[cand], kind="stable")]
    keep_n = max(math.ceil(share * order.size), math.ceil(MIN_PIXELS / (b * b)))
    keep = np.zeros(hb * wb, bool)
    keep[order[:keep_n]] = True
    blocks = keep.reshape(hb, 1, wb, 1)
    out[: hb * b, : wb * b] = np.broadcast_to(blocks, (hb, b, wb, b)).reshape(hb * b, wb * b)
    return out


def band_covariances(pixels: np.ndarray, where: np.ndarray) -> np.ndarray:
    """K x 3 x 3: the robust covariance of each band's response (:data:`SPACINGS`) over the
    pixels ``where`` (HxW bool) of ``pixels`` (HxWx3 float32; at most :data:`MAX_SAMPLES` of
    them, evenly spread)."""
    import cv2

    at = np.flatnonzero(where)
    if at.size > MAX_SAMPLES:  # an even spread of them is plenty for medians
        at = at[:: -(-at.size // MAX_SAMPLES)]
    out = np.zeros((len(SPACINGS), 3, 3))
    for k, d in enumerate(SPACINGS):
        r = cv2.filter2D(pixels, cv2.CV_32F, band_kernel(d), borderType=cv2.BORDER_REFLECT)
        out[k] = _robust_cov(r.reshape(-1, 3)[at].astype(np.float64))
    return out


def measure_grain(
    pixels: np.ndarray, region: np.ndarray, maxval: float = 255.0, share: float = FLAT_SHARE
) -> Grain | None:
    """The grain of ``pixels`` (HxWx3, any numeric dtype, values up to ``maxval``) in the
    flat parts of ``region`` (HxW bool); None when fewer than :data:`MIN_PIXELS` flat pixels
    are found there. Pixels near the array's edge are not used (the kernels reach past it)."""
    p = np.asarray(pixels, np.float32)
    region = np.asarray(region, bool).copy()
    e = max(SPACINGS)
    region[:e], region[-e:], region[:, :e], region[:, -e:] = False, False, False, False
    flat = flat_pixels(p, region, maxval, share)
    n = int(flat.sum())
    if n < MIN_PIXELS:
        return None
    bands = band_covariances(p, flat)
    sizes, parts = fit_parts(bands)
    return Grain(sizes=sizes, parts=parts, bands=bands, pixels=n)


def grain_rng(*keys: object) -> np.random.Generator:
    """A generator seeded from ``keys`` (e.g. a face's paste matrix): the same face in the same
    place gets the same grain on every run and machine."""
    digest = hashlib.sha256(repr(keys).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def synthesize(
    shape: tuple[int, int],
    sizes: tuple[float, ...],
    parts: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """HxWx3 float32 Gaussian grain: the sum of independent parts of ``sizes`` (px) with
    covariances ``parts`` (J x 3 x 3; zero ones are skipped)."""
    import cv2

    h, w = shape
    out = np.zeros((h, w, 3), np.float32)
    for size, cov in zip(sizes, parts, strict=True):
        vals, vecs = np.linalg.eigh(psd(np.asarray(cov, np.float64)))
        if vals.max() <= 0:
            continue
        mix = (vecs * np.sqrt(np.clip(vals, 0.0, None))).astype(np.float32)  # mix mix^T = cov
        z = rng.standard_normal((h, w, 3), dtype=np.float32)
        if size > WHITE:
            k = grain_kernel(size).astype(np.float32)
            z = cv2.sepFilter2D(z, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT)
        out += z @ mix.T
    return out


@dataclass(frozen=True)
class GrainMatch:
    """The grain :func:`plan_grain` chose for one face: ``sizes`` and ``parts`` (as in
    :class:`Grain`), the ring's noise variance ``ring`` and the added grain's ``added`` (sums
    over channels)."""

    sizes: tuple[float, ...]
    parts: np.ndarray
    ring: float
    added: float

    def gain(self, weight: np.ndarray) -> np.ndarray:
        """Per-pixel amplitude of the grain where the face is pasted with ``weight`` (HxW in
        (0, 1]): a pasted pixel ``b + w (f + a g - b)`` keeps the ring's noise variance ``V``
        when ``a^2 = 1 + 2 V (1 / w - 1) / A``, where ``A`` is the added grain's variance and
        the face's own noise is ``V - A`` (the photo's noise under the face is ``V``,
        independent of both)."""
        w = np.clip(np.asarray(weight, np.float32), 1e-3, 1.0)
        if self.added <= 0:
            return np.zeros_like(w)
        return np.sqrt(1.0 + 2.0 * self.ring * (1.0 / w - 1.0) / self.added).astype(np.float32)


def plan_grain(
    ring: Grain, face_pixels: np.ndarray, face_region: np.ndarray, maxval: float = 255.0
) -> GrainMatch:
    """The grain to add to a restored face so that it reads like ``ring``: in every band, the
    ring's response less the restored face's own (measured in the flat parts of
    ``face_region`` of ``face_pixels``), fitted with components as in :func:`measure_grain`."""
    own = measure_grain(face_pixels, face_region, maxval)
    bands = ring.bands if own is None else np.array([psd(b) for b in ring.bands - own.bands])
    sizes, parts = fit_parts(bands)
    added = float(np.trace(parts.sum(axis=0))) if len(parts) else 0.0
    return GrainMatch(sizes=sizes, parts=parts, ring=ring.variance, added=added)
