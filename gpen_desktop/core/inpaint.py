"""Damage masks: filling scratches and tears marked by a person (white = damaged).

Two fillers, as the official GPEN pipeline pairs them:

- everywhere (the background, and faces when no inpainting checkpoint is present): OpenCV's
  ``cv2.inpaint`` — Telea's fast marching method or Navier-Stokes — on the stroke pixels only;
  every pixel outside the mask stays bit-identical;
- faces under strokes, when a GPEN-Inpainting checkpoint is given: that model is *blind*
  inpainting (trained on aligned faces with 1-3 white brush strokes painted on them: 3 channels,
  no mask channel), so the aligned crop gets the stroke pixels — the mask warped with the
  crop's own alignment — set to white (255, 255, 255) and goes through the network.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.options import (
    INPAINT_METHODS,  # noqa: F401 - re-exported: the choice lists live in core.options
    INPAINT_MODES,
    check_inpaint_options,
    option,
)

log = logging.getLogger(__name__)

#: "inpaint": faces under strokes get the inpainting model's output; "inpaint+restore": the
#: restoration model then runs on that output, as on every other face.
METHOD_LABELS = dict(option("inpaint_method").choices)
#: Neighbourhood (px) OpenCV considers around each filled pixel.
INPAINT_RADIUS = 5
#: A warped mask pixel counts as a stroke from this coverage on (bilinear warp).
STROKE_THRESHOLD = 0.5


def as_damage_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """A damage mask as an HxW bool array (True = damaged) for a width x height photo.

    Accepts bool, or uint8/uint16/float arrays (HxW, HxWx3 or HxWx4) where values above half
    of the range are damaged (luma for colour; a 4th channel's transparency counts as
    undamaged). ImageError when its size differs from the photo's.
    """
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] in (3, 4):
        alpha = m[:, :, 3] if m.shape[2] == 4 else None
        from gpen_desktop.core.types import luma

        rgb = m[:, :, :3]
        if rgb.dtype in (np.uint8, np.uint16):
            m = luma(np.ascontiguousarray(rgb))
        else:
            m = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if alpha is not None:
            m = np.where(_above_half(alpha), m, 0).astype(m.dtype)
    elif m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.ndim != 2:
        raise ImageError(f"a damage mask must be a grey or RGB image, got shape {m.shape}")
    if m.shape != (height, width):
        raise ImageError(
            f"the damage mask is {m.shape[1]}x{m.shape[0]} but the photo is {width}x{height}; "
            "paint the mask at the photo's size"
        )
    return _above_half(m)


def _above_half(a: np.ndarray) -> np.ndarray:
    if a.dtype == bool:
        return a.copy()
    if a.dtype == np.uint8:
        return a > 127
    if a.dtype == np.uint16:
        return a > 32767
    return np.asarray(a, np.float32) > 0.5


def load_damage_mask(path: str | Path, width: int, height: int) -> np.ndarray:
    """Read a mask image (white = damaged; transparent = undamaged) for a width x height photo,
    with the photo loader's EXIF orientation. ImageError for a missing, unreadable or
    mis-sized file."""
    from gpen_desktop.core.imageio import load_photo

    try:
        mask = load_photo(path)
    except ImageError as exc:
        raise ImageError(f"damage mask: {exc}") from None
    pixels = mask.pixels
    if mask.alpha is not None:
        pixels = np.dstack([pixels, mask.alpha])
    return as_damage_mask(pixels, width, height)


def fill_strokes(pixels: np.ndarray, mask: np.ndarray, method: str = "telea") -> np.ndarray:
    """The image with the damaged pixels filled by ``cv2.inpaint`` (Telea or Navier-Stokes).

    ``pixels``: HxWx3 uint8 or uint16 (16-bit is filled channel by channel); ``mask``: HxW bool.
    Only pixels where ``mask`` is True change; the work is limited to the strokes' bounding box
    (plus the inpainting radius), so big photos with small scratches stay fast.
    """
    import cv2

    check_inpaint_options(method, INPAINT_MODES[0])
    img = np.asarray(pixels)
    m = np.asarray(mask, dtype=bool)
    out = img.copy()
    if not m.any():
        return out
    ys, xs = np.nonzero(m)
    pad = 2 * INPAINT_RADIUS + 2
    y0, y1 = max(0, ys.min() - pad), min(img.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(img.shape[1], xs.max() + pad + 1)
    roi = np.ascontiguousarray(img[y0:y1, x0:x1])
    roi_mask = m[y0:y1, x0:x1].astype(np.uint8) * 255
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    if roi.dtype == np.uint8:
        filled = cv2.inpaint(roi, roi_mask, INPAINT_RADIUS, flag)
    else:
        filled = np.dstack(
            [
                cv2.inpaint(np.ascontiguousarray(roi[:, :, c]), roi_mask, INPAINT_RADIUS, flag)
                for c in range(roi.shape[2])
            ]
        )
    sel = roi_mask > 0
    out[y0:y1, x0:x1][sel] = filled[sel]
    return out


def warp_mask(mask: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The damage mask (HxW bool) in the aligned crop: warped with the crop's 2x3 photo->crop
    ``matrix`` (bilinear, as the crop itself), size x size bool (coverage >= 0.5)."""
    from gpen_desktop.core.faces.align import warp_crop

    m = np.asarray(mask, dtype=np.float32)
    return warp_crop(m, matrix, size, border="constant") >= STROKE_THRESHOLD


def whiten_strokes(crop: np.ndarray, crop_mask: np.ndarray) -> np.ndarray:
    """The crop with the stroke pixels painted white (255, 255, 255), the input
    GPEN-Inpainting was trained on. ``crop``: SxSx3 uint8; ``crop_mask``: SxS bool."""
    out = np.array(crop, dtype=np.uint8, copy=True)
    out[np.asarray(crop_mask, dtype=bool)] = 255
    return out


def touches(mask: np.ndarray, matrix: np.ndarray, size: int) -> bool:
    """True when any damaged pixel lies inside the face's aligned crop (cheap: the crop's
    bounding box in the photo is checked first)."""
    from gpen_desktop.core.faces.align import invert_affine

    inv = invert_affine(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    pts = corners @ inv[:, :2].T + inv[:, 2]
    h, w = mask.shape
    x0, y0 = max(0, math.floor(pts[:, 0].min())), max(0, math.floor(pts[:, 1].min()))
    x1, y1 = min(w, math.ceil(pts[:, 0].max()) + 1), min(h, math.ceil(pts[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0 or not mask[y0:y1, x0:x1].any():
        return False
    return bool(warp_mask(mask, matrix, size).any())
