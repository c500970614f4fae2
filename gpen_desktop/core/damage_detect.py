"""Find Damage: scratches, dust specks and creases on scanned photos, found without weights.

:func:`find_damage` returns an HxW bool mask (True = damaged) at the photo's size: the marks
the damage brush paints and ``gpen restore --damage-mask`` reads (white = damaged). Every
mark is a suggestion: the app puts them in the photo's damage layer, where the person edits
them.

The classical detector (:class:`ClassicalDetector`) works on the luma:

1. *residual*: after a light blur against grain, the top-hat (the luma minus its opening
   with an 11 px disc) for bright lines and the black-hat (closing minus luma) for dark ones:
   what is narrower than the disc is left, while step edges, which survive an opening, leave
   nothing. The same runs at half size for creases up to ~18 px wide;
2. *local spread and edges*: each residual is divided by its local spread (a median of the
   absolute residual from a 21 px median filter over ~44 px, taken at quarter size so a thin
   scratch cannot move it; hair, grass, text and fabric have a large spread, a smooth sky a
   small one) plus the gradient of the
   background (sharpening halos along object edges are thin lines too), and clipped;
3. *line integration*: that score averaged along 31 px segments in 16 directions, less the
   average at right angles: a scratch keeps its contrast along its own direction while grain
   averages out and a blob or a dense texture answers the same in every direction;
4. *shape tests*: hysteresis thresholds, then connected components: a line must be long and
   thin and not lie in a crowd of other line pixels (mortar, fabric), a speck small,
   compact, strong and isolated (nothing else in a ring around it). The same runs again among
   the pixels of each direction (within ~35 degrees) on their own: a scratch that crosses a
   mast or an object's outline merges with it into a blob, but among its own direction's
   pixels it is a thin line again.

Faces (boxes, or better their 5 landmarks) are protected: the thresholds inside a face are
higher, and nothing is marked on the eyes (eyelashes, catch-lights) or the mouth.

``sensitivity`` (0-1, default :data:`DEFAULT_SENSITIVITY`) moves every threshold together:
higher finds fainter and shorter damage, and marks more by mistake.

A learned detector can be added later through :func:`register_detector`: anything with a
``name`` and ``detect(gray, sensitivity, protect) -> (mask, counts)`` (:class:`Detector`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gpen_desktop.core.errors import GpenError

#: The sensitivity the app, ``gpen damage`` and ``--auto-damage`` start from.
DEFAULT_SENSITIVITY = 0.5
#: The detector :func:`find_damage` uses unless told otherwise.
DEFAULT_DETECTOR = "classical"


@dataclass(frozen=True)
class DamageResult:
    """What :func:`find_damage` found: ``mask`` HxW bool (True = damaged), how many
    ``scratches`` (lines, creases included) and ``specks``, the ``detector`` and the
    ``seconds`` it took."""

    mask: np.ndarray
    scratches: int = 0
    specks: int = 0
    detector: str = DEFAULT_DETECTOR
    sensitivity: float = DEFAULT_SENSITIVITY
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pixels(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def share(self) -> float:
        """The share of the photo's pixels marked (0-1)."""
        return self.pixels / max(1, self.mask.size)

    def to_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "sensitivity": round(float(self.sensitivity), 3),
            "width": int(self.mask.shape[1]),
            "height": int(self.mask.shape[0]),
            "damaged_pixels": self.pixels,
            "damaged_share": round(self.share, 6),
            "scratches": int(self.scratches),
            "specks": int(self.specks),
            "seconds": round(float(self.seconds), 3),
        }


class Detector(Protocol):
    """A damage detector: ``detect(gray, sensitivity, protect)`` with ``gray`` HxW float32 luma
    in 0-255, ``sensitivity`` 0-1 and ``protect`` HxW float32 (1 = ordinary, higher = that
    many times stricter, ``inf`` = never mark) or None; returns (HxW bool mask, counts by
    kind, e.g. ``{"scratches": 3, "specks": 12}``)."""

    name: str

    def detect(
        self, gray: np.ndarray, sensitivity: float, protect: np.ndarray | None
    ) -> tuple[np.ndarray, dict[str, int]]: ...


_DETECTORS: dict[str, Callable[[], Detector]] = {}


def register_detector(name: str, factory: Callable[[], Detector]) -> None:
    """Make a detector available to :func:`find_damage` by ``name`` (e.g. a learned one)."""
    _DETECTORS[name] = factory


def detector_names() -> tuple[str, ...]:
    return tuple(_DETECTORS)


def check_sensitivity(value: float) -> float:
    """``value`` as a float in 0-1, else GpenError in one line."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GpenError(f"sensitivity must be a number from 0 to 1, got {value!r}") from None
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise GpenError(f"sensitivity must be from 0 to 1, got {value}")
    return v


# --------------------------------------------------------------------------- inputs


def as_gray(pixels: np.ndarray) -> np.ndarray:
    """HxW float32 luma in 0-255 of an HxW, HxWx1, HxWx3 or HxWx4 (alpha ignored) uint8,
    uint16 (scaled by 1/257) or float (0-1) image."""
    a = np.asarray(pixels)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[:, :, :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        scale = _scale_of(pixels)
    elif a.ndim == 2:
        scale = _scale_of(pixels)
        a = a.astype(np.float32)
    else:
        raise GpenError(f"damage detection needs a grey or RGB image, got shape {a.shape}")
    return np.ascontiguousarray(a * np.float32(scale), np.float32)


def _scale_of(pixels: np.ndarray) -> float:
    if pixels.dtype == np.uint8:
        return 1.0
    if pixels.dtype == np.uint16:
        return 1.0 / 257.0
    if pixels.dtype == bool:
        return 255.0
    return 255.0 if np.issubdtype(pixels.dtype, np.floating) else 1.0


def opaque_mask(alpha: np.ndarray | None) -> np.ndarray | None:
    """HxW bool of the pixels at least half opaque (None: no alpha, all opaque)."""
    if alpha is None:
        return None
    a = np.asarray(alpha)
    top = 65535 if a.dtype == np.uint16 else 255 if a.dtype == np.uint8 else 1.0
    return a >= top / 2


#: Protection factors: inside a face box every threshold is this many times higher.
FACE_STRICTER = 2.5
#: Around the eyes and the mouth nothing is marked (radius, as a share of the eye distance).
EYE_RADIUS = 0.42
MOUTH_RADIUS = 0.38


def face_protection(shape: tuple[int, int], faces: Sequence[Any]) -> np.ndarray | None:
    """HxW float32 threshold factors for ``faces`` (:class:`~gpen_desktop.core.types.Face`,
    or anything with ``box`` and optional ``landmarks``): :data:`FACE_STRICTER` inside each
    face's box (grown by a fifth), ``inf`` on the eyes and mouth (from the landmarks), 1
    elsewhere; None without faces."""
    import cv2

    if not faces:
        return None
    h, w = shape
    protect = np.ones((h, w), np.float32)
    for face in faces:
        x0, y0, x1, y1 = (float(v) for v in face.box)
        gx, gy = (x1 - x0) * 0.2, (y1 - y0) * 0.2
        bx0, by0 = max(0, int(x0 - gx)), max(0, int(y0 - gy * 1.5))
        bx1, by1 = min(w, int(math.ceil(x1 + gx))), min(h, int(math.ceil(y1 + gy)))
        if bx1 > bx0 and by1 > by0:
            view = protect[by0:by1, bx0:bx1]
            np.maximum(view, FACE_STRICTER, out=view)
        points = getattr(face, "landmarks", None)
        if points is None:
            continue
        pts = np.asarray(points, np.float64)
        eye = float(np.hypot(*(pts[1] - pts[0]))) or (x1 - x0) * 0.4
        for i, (px, py) in enumerate(pts):
            if i == 2:
                continue  # the nose: the stricter face factor is enough
            r = eye * (EYE_RADIUS if i < 2 else MOUTH_RADIUS)
            cv2.circle(protect, (round(px), round(py)), max(1, round(r)), np.inf, -1)
    return protect


# --------------------------------------------------------------------------- entry point


def find_damage(
    pixels: np.ndarray,
    sensitivity: float = DEFAULT_SENSITIVITY,
    faces: Sequence[Any] = (),
    alpha: np.ndarray | None = None,
    detector: str = DEFAULT_DETECTOR,
) -> DamageResult:
    """The damage marks of an image (see the module docstring).

    ``pixels``: HxW or HxWx3/4 uint8, uint16 or float (0-1); ``alpha``: HxW, transparent
    pixels (below half) are never marked and their edge is not taken for damage; ``faces``:
    faces to protect (boxes and landmarks in the image's pixels); ``sensitivity`` 0-1.
    """
    sensitivity = check_sensitivity(sensitivity)
    if detector not in _DETECTORS:
        raise GpenError(
            f"unknown damage detector {detector!r}; known: {', '.join(sorted(_DETECTORS))}"
        )
    t0 = time.perf_counter()
    arr = np.asarray(pixels)
    if alpha is None and arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[:, :, 3]
    gray = as_gray(arr)
    opaque = opaque_mask(alpha)
    protect = face_protection(gray.shape, faces)
    if opaque is not None:
        import cv2

        if not opaque.any():
            return DamageResult(
                np.zeros(gray.shape, bool), detector=detector, sensitivity=sensitivity
            )
        # fill the transparent part with the opaque part's median: its edge becomes a step,
        # which the median residual ignores; a thin band along it is never marked
        gray = np.where(opaque, gray, np.float32(np.median(gray[opaque])))
        band = cv2.dilate((~opaque).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        protect = np.ones(gray.shape, np.float32) if protect is None else protect
        protect[band] = np.inf
    det = _DETECTORS[detector]()
    mask, counts = det.detect(gray, sensitivity, protect)
    mask = np.asarray(mask, bool)
    if protect is not None:
        mask &= np.isfinite(protect)
    return DamageResult(
        mask=mask,
        scratches=int(counts.get("scratches", 0)),
        specks=int(counts.get("specks", 0)),
        detector=detector,
        sensitivity=sensitivity,
        seconds=time.perf_counter() - t0,
        extra={k: v for k, v in counts.items() if k not in ("scratches", "specks")},
    )


def find_damage_in_photo(
    photo: Any, sensitivity: float = DEFAULT_SENSITIVITY, faces: Sequence[Any] = ()
) -> DamageResult:
    """:func:`find_damage` on a :class:`~gpen_desktop.core.types.Photo` (8 or 16 bits, grey
    or colour, with or without alpha)."""
    return find_damage(photo.pixels, sensitivity, faces, alpha=photo.alpha)


# --------------------------------------------------------------------------- the detector


def _line_kernels(length: int, count: int) -> list[np.ndarray]:
    """``count`` normalised line kernels (sum 1) ``length`` px long through the centre, at
    evenly spaced directions over 180 degrees (drawn with sub-pixel splats)."""
    size = length | 1
    c = size // 2
    kernels = []
    steps = np.linspace(-(length - 1) / 2, (length - 1) / 2, length * 4)
    for k in range(count):
        theta = math.pi * k / count
        dx, dy = math.cos(theta), math.sin(theta)
        ker = np.zeros((size, size), np.float32)
        xs, ys = c + steps * dx, c + steps * dy
        x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
        fx, fy = (xs - x0).astype(np.float32), (ys - y0).astype(np.float32)
        for ox, oy, wgt in (
            (0, 0, (1 - fx) * (1 - fy)),
            (1, 0, fx * (1 - fy)),
            (0, 1, (1 - fx) * fy),
            (1, 1, fx * fy),
        ):
            xi, yi = np.clip(x0 + ox, 0, size - 1), np.clip(y0 + oy, 0, size - 1)
            np.add.at(ker, (yi, xi), wgt)
        kernels.append(ker / ker.sum())
    return kernels


@dataclass(frozen=True)
class Tuning:
    """The classical detector's constants (measured on ``gpen bench damage``)."""

    disk: int = 11  # top-hat / black-hat disc (px): lines up to ~9 px wide stand out
    pre_blur: float = 1.0  # Gaussian sigma (px) against grain before the top-hat
    length: int = 31  # line integration length (px)
    directions: int = 16
    clip: float = 6.0  # residual / local spread is clipped here before integrating
    edge_weight: float = 1.0  # background gradient (levels/px) added to the local spread
    seed: float = 3.6  # line score of a seed at sensitivity 0.5
    grow: float = 1.8  # line score a line grows through
    crowd: float = 0.06  # most share of strong line pixels within 30 px of a rescued line
    min_length: float = 70.0  # least line extent (px) at sensitivity 0.5
    max_width: float = 12.0  # most mean width (px) of a line component
    speck_min: float = 28.0  # least speck contrast (levels) at sensitivity 0.5
    speck_z: float = 5.0  # speck contrast / local energy
    speck_max_area: int = 150
    clutter_window: int = 41  # local residual energy for specks (px)
    wide: bool = True  # also look at half size for creases up to ~18 px wide
    split_directions: bool = True  # also test the pixels of each direction on their own
    main_crowd: float = 0.02
    split_span: int = 3  # directions on either side that count as the same (of 16)
    split_step: int = 2  # every other direction starts a group
    split_trim: int = 1  # keep what lies this close (px) to a pixel ...
    split_core: float = 0.25  # ... whose score is this far from the grow to the seed score
    split_crowd: float = 0.01  # most share of same-direction line pixels around those


class ClassicalDetector:
    """Top-hat residual, oriented line integration, clutter normalisation, shape tests."""

    name = "classical"

    def __init__(self, tuning: Tuning | None = None) -> None:
        self.t = tuning or Tuning()
        self._kernels = _line_kernels(self.t.length, self.t.directions)

    def detect(
        self, gray: np.ndarray, sensitivity: float, protect: np.ndarray | None
    ) -> tuple[np.ndarray, dict[str, int]]:
        import cv2

        t = self.t
        # sensitivity 0.5 -> x1; 1 -> x0.5; 0 -> x2 on every threshold
        f = float(2.0 ** (1.0 - 2.0 * sensitivity))
        g8 = np.clip(np.round(gray), 0, 255).astype(np.uint8)
        lines, n_lines = self._lines(gray, f, protect)
        if t.wide and min(gray.shape) >= 128:
            h, w = gray.shape
            small = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            sp = None
            if protect is not None:
                sp = cv2.resize(protect, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
            wide, n_wide = self._lines(small, f, sp, wide=True)
            if n_wide:
                up = cv2.resize(wide.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
                lines |= up > 0
                n_lines += n_wide
        specks, n_specks = self._specks(gray, g8, f, protect, lines)
        return lines | specks, {"scratches": n_lines, "specks": n_specks}

    # ------------------------------------------------------------------ lines
    def line_score(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score, sign, direction): how much each pixel is part of a thin line (0 = not),
        whether that line is bright (+1) or dark (-1), and the index of its direction (of
        ``directions`` over 180 degrees)."""
        import cv2

        t = self.t
        h, w = gray.shape
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (t.disk, t.disk))
        smooth = cv2.GaussianBlur(gray, (0, 0), t.pre_blur) if t.pre_blur > 0 else gray
        opened = cv2.morphologyEx(smooth, cv2.MORPH_OPEN, disk)
        closed = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, disk)
        bright, dark = smooth - opened, closed - smooth
        # the local spread of the residual (median at quarter size: a scratch covers too
        # little of the window to move it), with a floor from the whole photo's
        # the spread comes from the median residual (about the grain's sigma), not from the
        # top-hat, whose value on grain is its local maximum (two to three sigma)
        g8 = np.clip(np.round(smooth), 0, 255).astype(np.uint8)
        res = np.abs(smooth - cv2.medianBlur(g8, 21).astype(np.float32)) * 1.4826
        q = np.clip(res * 4.0, 0, 255).astype(np.uint8)[2::4, 2::4]
        local = cv2.medianBlur(q, 11).astype(np.float32) * 0.25
        local = cv2.resize(local, (w, h), interpolation=cv2.INTER_LINEAR)
        spread = np.maximum(local, max(float(np.median(q)) * 0.125, 1.0))
        # object edges: their sharpening halos are thin lines too
        background = cv2.GaussianBlur(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, disk), (0, 0), 1.5)
        gx = cv2.Sobel(background, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(background, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        grad = cv2.dilate(
            np.sqrt(gx * gx + gy * gy), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
        )
        spread += t.edge_weight * grad
        half = len(self._kernels) // 2
        score = np.zeros((h, w), np.float32)
        sign = np.zeros((h, w), np.int8)
        direction = np.zeros((h, w), np.int8)
        for polarity, r in ((1, bright), (-1, dark)):
            z = cv2.GaussianBlur(np.minimum(r / spread, t.clip), (0, 0), 0.7)
            best = np.zeros((h, w), np.float32)
            which = np.zeros((h, w), np.int8)
            for k in range(half):
                along = cv2.filter2D(z, -1, self._kernels[k], borderType=cv2.BORDER_REFLECT)
                across = cv2.filter2D(z, -1, self._kernels[k + half], borderType=cv2.BORDER_REFLECT)
                # a line along k answers along - across > 0; one across it, < 0 (index k + half)
                diff = along - across
                for idx, v in ((k, diff), (k + half, -diff)):
                    up = v > best
                    best[up] = v[up]
                    which[up] = idx
            best[z < 0.3 * best] = 0  # the pixel itself must be on the line
            better = best > score
            score[better] = best[better]
            sign[better] = polarity
            direction[better] = which[better]
        return score, sign, direction

    def _lines(
        self, gray: np.ndarray, f: float, protect: np.ndarray | None, wide: bool = False
    ) -> tuple[np.ndarray, int]:
        t = self.t
        score, _sign, direction = self.line_score(gray)
        if protect is not None:
            score = score / protect
        seeds = score > t.seed * f
        grow = score > t.grow * f
        mask = _hysteresis(grow, seeds)
        # what counts as a crowd of lines is measured at the default thresholds: it does
        # not move with the sensitivity
        strong = score > t.seed
        scale = 0.5 if wide else 1.0
        length, width = t.min_length * f * scale, t.max_width * scale
        if t.main_crowd > 0:
            import cv2

            crowd_all = cv2.blur(strong.astype(np.float32), (61, 61))
            lines, n = _line_components(mask, length, width, crowd_all, t.main_crowd, 61, strong)
        else:
            lines, n = _line_components(mask, length, width)
        if t.split_directions:
            # a scratch that crosses a mast, a wire or an object's outline grows into it and
            # fails the shape test as a whole: taken among the pixels of about its own
            # direction only, it is a thin line again
            import cv2

            count = t.directions
            win = 61
            core = score > (t.grow + t.split_core * (t.seed - t.grow)) * f
            trim = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * t.split_trim + 1,) * 2)
            for k in range(0, count, t.split_step):
                near = np.zeros(direction.shape, bool)
                for j in range(-t.split_span, t.split_span + 1):
                    near |= direction == (k + j) % count
                # (each direction on its own: a line accepted in one must not cut the
                # components of the next)
                part = _hysteresis(grow & near, seeds & near)
                if not part.any():
                    continue
                # unless it lies among other lines of its direction (mortar, text, fabric):
                # the share of such pixels around it, less its own, must stay small
                crowd = cv2.blur((strong & near).astype(np.float32), (win, win))
                found, m = _line_components(
                    part, length, width, crowd, t.split_crowd, win, strong & near
                )
                if t.split_trim:
                    # its weak fringe (grown along the sides) stays out
                    found &= cv2.dilate((core & near).astype(np.uint8), trim) > 0
                lines |= found
                n += m
        # a scratch grown into a blob of photo structure fails the width test as a whole:
        # its strong pixels alone may still be a line, unless they lie in a crowd of lines
        # (a brick wall's mortar, text, fabric)
        rest = mask & ~lines & seeds
        if rest.any():
            import cv2

            crowd = cv2.blur(strong.astype(np.float32), (61, 61))
            rest &= crowd <= t.crowd
            more, k = _line_components(rest, length, width)
            lines |= more
            n += k
        return lines, n

    def _specks(
        self,
        gray: np.ndarray,
        g8: np.ndarray,
        f: float,
        protect: np.ndarray | None,
        lines: np.ndarray,
    ) -> tuple[np.ndarray, int]:
        import cv2

        t = self.t
        bg = cv2.medianBlur(g8, 15).astype(np.float32)
        res = gray - bg
        a = np.abs(res)
        energy = cv2.blur(a, (t.clutter_window, t.clutter_window)) + 1.0
        need = np.maximum(t.speck_min * f, t.speck_z * f * energy)
        if protect is not None:
            need = need * protect
        cand = (a > need).astype(np.uint8)
        cand[lines] = 0
        n, labels, stats, _c = cv2.connectedComponentsWithStats(cand, connectivity=8)
        if n <= 1:
            return np.zeros(gray.shape, bool), 0
        # anything else strong in a ring around a speck (text, texture, hair) disqualifies it
        busy = (a > 0.5 * need).astype(np.uint8)
        ring_count = cv2.boxFilter(busy, cv2.CV_32F, (17, 17), normalize=False)
        area = stats[1:, cv2.CC_STAT_AREA]
        bw, bh = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
        cx = stats[1:, cv2.CC_STAT_LEFT] + bw // 2
        cy = stats[1:, cv2.CC_STAT_TOP] + bh // 2
        around = ring_count[cy, cx]
        # grown blob (its halo at half strength) must fill most of what is busy nearby
        compact = area >= 0.35 * bw * bh
        small = (area <= t.speck_max_area) & (np.maximum(bw, bh) <= 16) & (area >= 2)
        alone = around <= area * 2.2 + 4
        ok = np.zeros(n, bool)
        ok[1:] = compact & small & alone
        keep = ok[labels]
        if keep.any():
            keep = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        return keep, int(ok.sum())


def _hysteresis(grow: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    import cv2

    n, labels = cv2.connectedComponents(grow.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(grow.shape, bool)
    hit = np.zeros(n, bool)
    hit[np.unique(labels[seeds & grow])] = True
    hit[0] = False
    return hit[labels]


def _line_components(
    mask: np.ndarray,
    min_length: float,
    max_width: float,
    crowd: np.ndarray | None = None,
    max_crowd: float = 0.0,
    window: int = 61,
    counted: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """The components of ``mask`` that are lines: extent (bounding-box diagonal) at least
    ``min_length``, mean width (area / extent) at most ``max_width``; with ``crowd`` (the
    share of line pixels in a ``window`` box around each pixel), its mean over the
    component, less what the component adds itself (its ``counted`` pixels per length), at
    most ``max_crowd``."""
    import cv2

    n, labels, stats, _c = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool), 0
    bw = stats[1:, cv2.CC_STAT_WIDTH].astype(np.float32)
    bh = stats[1:, cv2.CC_STAT_HEIGHT].astype(np.float32)
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float32)
    extent = np.hypot(bw, bh)
    mean_width = area / np.maximum(extent, 1)
    ok = np.zeros(n, bool)
    ok[1:] = (extent >= min_length) & (mean_width <= max_width)
    if crowd is not None and ok.any():
        around = np.bincount(labels.ravel(), weights=crowd.ravel(), minlength=n)[1:]
        own_px = area
        if counted is not None:
            own_px = np.bincount(labels.ravel(), weights=counted.ravel(), minlength=n)[1:]
        own = own_px / np.maximum(extent, 1) / window
        ok[1:] &= around / np.maximum(area, 1) - own <= max_crowd
    return ok[labels], int(ok.sum())


register_detector(ClassicalDetector.name, ClassicalDetector)


# --------------------------------------------------------------------------- files


def save_mask_png(mask: np.ndarray, path: Any, overwrite: bool = False) -> None:
    """Write ``mask`` (HxW, nonzero = damaged) as an 8-bit grey PNG, white = damaged: the
    file ``gpen restore --damage-mask`` reads. Atomic; ImageError when it cannot."""
    import cv2

    from gpen_desktop.core.errors import ImageError
    from gpen_desktop.core.fileio import atomic_write

    m = np.asarray(mask)
    if m.ndim != 2:
        raise ImageError(f"a damage mask must be one channel, got shape {m.shape}")
    ok, data = cv2.imencode(".png", np.where(m != 0, 255, 0).astype(np.uint8))
    if not ok:
        raise ImageError("cannot encode the damage mask as PNG")
    with atomic_write(path, overwrite=overwrite, parents=True, error=ImageError) as tmp:
        tmp.write_bytes(data.tobytes())
