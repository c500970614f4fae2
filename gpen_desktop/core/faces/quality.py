"""How much a face needs restoring: a 0-1 quality score from three measured parts.

:func:`face_quality` looks at one face of a photo (its 5 landmarks) and measures

- **sharpness**, relative to the face's size: the face is aligned to the GPEN template at its
  own size, clamped to :data:`MEASURE_MIN`..:data:`MEASURE_MAX` px (larger faces are shrunk
  with area averaging, smaller ones enlarged, which makes them read soft: a tiny face cannot
  hold fine detail and the network adds some). The face is not rotated (so noise stays
  white). ``detail`` is the RMS of the finest difference-of-Gaussians band (σ 0 → 1 px) over
  that of the next one (σ 1 → 2 px) inside an ellipse over eyes, nose and mouth (from the
  landmarks), after the noise's share of each band is taken out. Sharp photos of faces
  measure 0.82-1.11; blur, motion and enlargement lower it, and far above that range the fine
  band holds noise or artefacts rather than detail, which counts against sharpness too.
- **noise**: Immerkaer's estimator (the mean absolute response of the 3x3 Laplacian
  difference kernel, times sqrt(π/2) / 6) on the flattest 30 % of the face's own pixels
  (least gradient after a σ = 2 px blur), averaged over R, G and B; ``noise_sigma`` is in
  8-bit levels.
- **blockiness**, in the photo's own pixel grid: ``jpeg`` is how much larger the differences
  across JPEG's 8x8 block boundaries are than those inside the blocks (0 = no grid), and
  ``pixels`` the share of the row- and column-averaged differences that stands above their
  running median: enlarged pixels (nearest-neighbour upscaling) and other grids.

Each raw measure becomes a part in 0-1 (1 = no defect) by a linear ramp between two anchors
(see the ``*_ANCHORS`` constants; they come from ``gpen bench quality``: the clean faces'
values and those of clearly degraded copies). The score is the product of the parts, so one
bad part is enough to call a face poor. :data:`SHARP` is where the words say "sharp already".

``gpen bench quality`` measures how well the score separates clean faces from degraded
copies (:mod:`gpen_desktop.core.quality_bench`). Pure numpy + OpenCV; no Qt, no torch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Faces are measured at their own size, clamped to this range (aligned crop side, px).
MEASURE_MIN = 128
MEASURE_MAX = 256
#: Native pixels looked at for noise and blocks: at most this many px around the face.
NATIVE_MAX = 512

#: (bad, good) anchors of each raw measure: the part is 0 at ``bad``, 1 at ``good``. The
#: ranges quoted are those of the 12 clean faces of ``gpen bench quality`` (the astronaut and
#: Grace Hopper at 100/80/60 %, and mirrored) and of the same faces degraded.
#: detail: sharp faces measure 0.82-1.11; a Gaussian blur of σ = 1 px gives 0.55-0.76,
#: σ = 2 px 0.42-0.54, halving the resolution 0.59-0.87.
DETAIL_ANCHORS = (0.55, 0.9)
#: detail far above any sharp face's is fine-scale noise or artefacts, not detail (noise
#: added after a blur measures 1.4-2.1, enlarged pixels 1.0-1.5).
DETAIL_HIGH_ANCHORS = (1.5, 1.2)
#: noise σ in 8-bit levels: the clean faces measure 0.9-1.7 (skin texture, film grain);
#: added noise of σ 3 measures 3.1-3.5 (colour noise in 8-bit RGB, averaged over channels).
NOISE_ANCHORS = (8.0, 2.5)
#: JPEG 8x8 grid: clean -0.04-0.16 (Grace Hopper is itself a JPEG); saved again at quality 90
#: up to 0.17, 75: 0.11-0.29, 50: 0.23-0.44, 30: 0.35-0.58, 15: 0.61-0.96.
JPEG_ANCHORS = (0.6, 0.2)
#: enlarged pixels: clean 0.085-0.13, JPEG quality 15 up to 0.18; nearest-neighbour
#: enlargement ×3: 1.0, and 0.3-0.8 when noise or JPEG came after it.
PIXELS_ANCHORS = (0.35, 0.18)

#: At or above this score a face reads "sharp already" (and the default threshold offered
#: for leaving sharp faces as they are).
SHARP = 0.8
#: With fading on, faces whose score is within this much under the threshold get a lower
#: blend (see :func:`blend_factor`).
FADE_WIDTH = 0.2

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# Immerkaer's kernel: the difference of two Laplacians; its response to noise of std σ has
# std 6σ and mean absolute value 6σ·sqrt(2/π).
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_BAND_SIGMAS = (1.0, 2.0)


@dataclass(frozen=True)
class FaceQuality:
    """One face's quality: ``score`` and its ``sharpness``, ``noise`` and ``blockiness``
    parts (each 0-1, 1 = no defect; score = their product), the raw measures they come from
    (``detail`` band ratio, ``noise_sigma`` in 8-bit levels, ``jpeg`` and ``pixels`` grid
    strengths) and ``measured_px``, the aligned crop side the sharpness was measured at."""

    score: float
    sharpness: float
    noise: float
    blockiness: float
    detail: float
    noise_sigma: float
    jpeg: float
    pixels: float
    measured_px: int

    @property
    def sharp(self) -> bool:
        """Whether the words call it sharp already (score at least :data:`SHARP`)."""
        return self.score >= SHARP

    def words(self) -> str:
        """A few plain words: "sharp already", "a little soft", or its worst defect: "blurry",
        "noisy", "blocky" (JPEG blocks or enlarged pixels)."""
        if self.score >= SHARP:
            return "sharp already"
        if self.score >= 0.6:
            return "a little soft"
        weakest = min(
            (self.sharpness, "blurry"), (self.noise, "noisy"), (self.blockiness, "blocky")
        )
        return weakest[1]

    def parts_text(self) -> str:
        """The parts in one line: "sharpness 0.95 · noise 1.7 (low) · blocks none"."""
        sigma = self.noise_sigma
        level = "low" if sigma <= NOISE_ANCHORS[1] else "some" if self.noise > 0.4 else "heavy"
        b = self.blockiness
        blocks = "none" if b >= 0.95 else "some" if b >= 0.4 else "strong"
        return f"sharpness {self.sharpness:.2f} · noise {sigma:.1f} ({level}) · blocks {blocks}"

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "words": self.words(),
            "sharpness": round(self.sharpness, 3),
            "noise": round(self.noise, 3),
            "blockiness": round(self.blockiness, 3),
            "measures": {
                "detail": round(self.detail, 4),
                "noise_sigma": round(self.noise_sigma, 3),
                "jpeg": round(self.jpeg, 4),
                "pixels": round(self.pixels, 4),
                "measured_px": self.measured_px,
            },
        }


def ramp(value: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between (either direction), clamped."""
    return float(np.clip((value - bad) / (good - bad), 0.0, 1.0))


def blend_factor(score: float | None, threshold: float, fade: bool = False) -> float:
    """What a face's blend is multiplied by when faces scoring above ``threshold`` are left
    as they are (``threshold`` 0 = off: always 1; 1 leaves none). 0 means leave the face
    untouched (no network run); with ``fade``, scores within :data:`FADE_WIDTH` under the
    threshold ramp from 1 down to 0 at it, so restored and untouched faces meet without a
    jump. A face not measured (``score`` None) is restored."""
    if not threshold or score is None:
        return 1.0
    if score > threshold:
        return 0.0
    if not fade:
        return 1.0
    return float(min(1.0, (threshold - score) / FADE_WIDTH))


def face_quality(rgb: np.ndarray, landmarks: Any) -> FaceQuality | None:
    """The quality of the face with ``landmarks`` ((5, 2) photo px, GPEN order) in ``rgb``
    (HxWx3 uint8 or uint16 RGB; 16-bit is measured as 8-bit). None when the face lies
    (almost) outside the photo or its landmarks are degenerate."""
    import cv2

    from gpen_desktop.core.errors import FaceError
    from gpen_desktop.core.faces.align import align_matrix, compose_affine, matrix_scale
    from gpen_desktop.core.types import to_uint8

    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
    try:
        unit = align_matrix(np.asarray(landmarks, np.float64), 1)
    except FaceError:
        return None
    side = 1.0 / matrix_scale(unit)  # the aligned crop's side in photo px
    box = _footprint(unit, rgb.shape[1], rgb.shape[0])
    if box is None:
        return None
    x0, y0, x1, y1 = box
    region = to_uint8(rgb[y0:y1, x0:x1, :3])  # 16-bit: only the face's pixels converted
    gray = region.astype(np.float32) @ _LUMA
    offset = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]])

    # sharpness: the face at its own size (clamped), shrunk with area averaging or enlarged;
    # not rotated, so that noise stays white and its share of each band is known
    size = int(round(min(max(side, MEASURE_MIN), MEASURE_MAX)))
    factor = size / side
    src = gray
    if abs(factor - 1.0) > 0.02:
        h, w = gray.shape
        sw, sh = max(1, round(w * factor)), max(1, round(h * factor))
        how = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        src = cv2.resize(gray, (sw, sh), interpolation=how)
        fx, fy = w / sw, h / sh  # resized pixel -> region pixel (cv2.resize's centres)
        to_region = np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5]])
    else:
        to_region = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    to_crop = compose_affine(compose_affine(unit, offset), to_region)  # src px -> unit crop
    detail = _detail(src, _inner_ellipse(src.shape, to_crop))
    # noise and blocks: the face's own pixels, at most NATIVE_MAX around its centre
    window = _native_window(gray.shape, unit, offset, x0, y0)
    wy0, wy1, wx0, wx1 = window
    sigma = float(
        np.mean([_noise_sigma(region[wy0:wy1, wx0:wx1, c].astype(np.float32)) for c in range(3)])
    )
    native = gray[wy0:wy1, wx0:wx1]
    jpeg = _jpeg_grid(native)
    pixels = _pixel_grid(native)

    sharpness = min(ramp(detail, *DETAIL_ANCHORS), ramp(detail, *DETAIL_HIGH_ANCHORS))
    noise = ramp(sigma, *NOISE_ANCHORS)
    blockiness = min(ramp(jpeg, *JPEG_ANCHORS), ramp(pixels, *PIXELS_ANCHORS))
    return FaceQuality(
        score=sharpness * noise * blockiness,
        sharpness=sharpness,
        noise=noise,
        blockiness=blockiness,
        detail=detail,
        noise_sigma=sigma,
        jpeg=jpeg,
        pixels=pixels,
        measured_px=size,
    )


def faces_quality(rgb: np.ndarray, faces: Sequence[Any]) -> list[FaceQuality | None]:
    """:func:`face_quality` of each face (``core.types.Face``; None for one without
    landmarks)."""
    out: list[FaceQuality | None] = []
    for face in faces:
        points = face.landmarks_array()
        out.append(None if points is None else face_quality(rgb, points))
    return out


# --------------------------------------------------------------------------- the measures


def _footprint(unit: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The photo box (x0, y0, x1, y1) under the aligned crop, clipped to the photo; x0 and
    y0 on JPEG's 8 px grid. None when less than 16 x 16 px of it is inside the photo."""
    from gpen_desktop.core.faces.align import invert_affine

    inv = invert_affine(unit)
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float64) @ inv[:, :2].T + inv[:, 2]
    lo = np.floor(corners.min(axis=0)).astype(int)
    hi = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0 = max(0, int(lo[0])), max(0, int(lo[1]))
    x1, y1 = min(width, int(hi[0])), min(height, int(hi[1]))
    x0, y0 = x0 - x0 % 8, y0 - y0 % 8
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    return x0, y0, x1, y1


def _native_window(
    shape: tuple[int, int], unit: np.ndarray, offset: np.ndarray, x0: int, y0: int
) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) in region pixels: the whole region, or NATIVE_MAX px of it around
    the face's centre (starting on the photo's 8 px grid)."""
    from gpen_desktop.core.faces.align import invert_affine

    h, w = shape
    inv = invert_affine(unit)
    cx, cy = inv[:, :2] @ np.array([0.5, 0.6]) + inv[:, 2] - offset[:, 2]
    out = []
    for centre, n, origin in ((cy, h, y0), (cx, w, x0)):
        if n <= NATIVE_MAX:
            out += [0, n]
            continue
        start = int(np.clip(round(centre - NATIVE_MAX / 2), 0, n - NATIVE_MAX))
        start -= (origin + start) % 8
        out += [start, start + NATIVE_MAX]
    return out[0], out[1], out[2], out[3]


def _inner_ellipse(shape: tuple[int, int], to_crop: np.ndarray) -> np.ndarray:
    """The eyes-nose-mouth ellipse of the aligned face as a bool mask of an image of
    ``shape`` whose pixels ``to_crop`` maps to unit crop coordinates (0-1)."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    u = to_crop[0, 0] * x + to_crop[0, 1] * y + to_crop[0, 2]
    v = to_crop[1, 0] * x + to_crop[1, 1] * y + to_crop[1, 2]
    return ((u - 0.5) / 0.27) ** 2 + ((v - 0.6) / 0.3) ** 2 <= 1.0


def _bands(image: np.ndarray) -> list[np.ndarray]:
    import cv2

    levels = [image] + [cv2.GaussianBlur(image, (0, 0), s) for s in _BAND_SIGMAS]
    return [levels[i] - levels[i + 1] for i in range(len(_BAND_SIGMAS))]


@functools.cache
def _band_gains() -> tuple[float, ...]:
    """Each band's energy gain on white noise (its share of a noise variance); computed on
    first use, so that importing this module (the GUI reads SHARP) loads no OpenCV."""
    delta = np.zeros((65, 65), np.float32)
    delta[32, 32] = 1.0
    return tuple(float((b**2).sum()) for b in _bands(delta))


def _detail(crop: np.ndarray, mask: np.ndarray) -> float:
    """RMS of the finest band over the next one inside ``mask``, noise taken out."""
    sigma = _noise_sigma(crop, mask)
    energy = [float(np.mean(b[mask] ** 2)) for b in _bands(crop)]
    fine, coarse = (
        max(e - g * sigma * sigma, 1e-6) for e, g in zip(energy, _band_gains(), strict=True)
    )
    return float(np.sqrt(fine / coarse))


def _noise_sigma(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Immerkaer's noise σ (image units) on the flattest 30 % of ``image`` (within ``mask``)."""
    import cv2

    if min(image.shape[:2]) < 8:
        return 0.0
    response = np.abs(cv2.filter2D(image, -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT_101))
    smooth = cv2.GaussianBlur(image, (0, 0), 2.0)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    inner = (slice(2, -2), slice(2, -2))  # away from the mirrored border
    response, gradient = response[inner], gradient[inner]
    if mask is not None:
        keep = mask[inner]
        response, gradient = response[keep], gradient[keep]
    if response.size == 0:
        return 0.0
    flat = gradient <= np.percentile(gradient, 30)
    return float(np.sqrt(np.pi / 2) / 6 * np.mean(response[flat]))


def _profiles(gray: np.ndarray) -> list[np.ndarray]:
    """Mean absolute difference between neighbouring columns, and between rows."""
    return [
        np.abs(np.diff(gray, axis=1)).mean(axis=0).astype(np.float64),
        np.abs(np.diff(gray, axis=0)).mean(axis=1).astype(np.float64),
    ]


def _jpeg_grid(gray: np.ndarray) -> float:
    """How much larger differences across the 8x8 grid (the region starts on it) are than
    inside the blocks, relative to those: 0 = none (mean of columns and rows)."""
    out = []
    for profile in _profiles(gray):
        n = len(profile) // 8 * 8
        if n < 16:
            out.append(0.0)
            continue
        phases = profile[:n].reshape(-1, 8).mean(axis=0)  # phase 7: across a boundary
        inside = float(phases[:7].mean())
        out.append((float(phases[7]) - inside) / max(inside, 0.5))
    return float(np.mean(out))


def _pixel_grid(gray: np.ndarray, window: int = 17) -> float:
    """The share of the column and row difference profiles above their running median
    (0.08-0.14 on clean photos; enlarged pixels put every block edge above it)."""
    out = []
    for profile in _profiles(gray):
        if len(profile) < window:
            out.append(0.0)
            continue
        padded = np.pad(profile, window // 2, mode="reflect")
        base = np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
        out.append(float(np.maximum(profile - base, 0).sum() / max(profile.sum(), 1e-6)))
    return float(np.mean(out))
