"""Paste restored faces back into the photo: soft masks, blending, colour, upscaling.

Facts from the reference (GPEN ``face_enhancement.py``): the paste mask is a square of ones on
a 512x512 canvas, inset 26 px, blurred twice with a 101x101 Gaussian of sigma 4 and resized to
the crop; or a face-parsing mask with the same border zeroed and the same blur. Masks are
warped into the photo with the inverse alignment; where faces overlap the larger mask value
wins; faces whose box is under 100 px get a light 3x3 smoothing of the restored crop.

Departures from the reference, each chosen so that untouched pixels stay untouched:

- the blend factor mixes in photo space (``photo + mask*alpha*(restored - photo)``), not by
  blending the restored crop with a re-sampled original crop: ``blend=0`` returns the photo
  bit for bit, and no double-resampled (softened) original is pasted;
- pixels whose composite weight is 0 are copied, not recomputed, so at ``upscale=1`` every pixel
  outside all warped masks is bit-identical to the input (uint8 and uint16);
- optionally (``match_grain``) the restored face gets grain measured around it in the photo
  (:mod:`gpen_desktop.core.faces.grain`) before it is blended in;
- when a crop is shrunk by more than 1.5x on its way into the photo it is low-passed first
  (Gaussian, sigma = (shrink - 1) / 2, as scikit-image's anti-aliasing); a bare bilinear warp
  point-samples the restored detail and aliases.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.errors import FaceError
from gpen_desktop.core.faces.align import (
    compose_affine,
    invert_affine,
    matrix_scale,
    warp_crop,
)

log = logging.getLogger(__name__)

#: Parsing weight files (GPEN's, then facexlib's) with facexlib's ParseNet layout.
PARSENET_FILES = ("ParseNet-latest.pth", "parsing_parsenet.pth")

MASK_CANVAS = 512
MASK_INSET = 26
MASK_BLUR_KSIZE = 101
MASK_BLUR_SIGMA = 4.0
#: Faces whose box (shorter side, photo px) is under this get the 3x3 smoothing.
SMALL_FACE_PX = 100.0
#: Box side / crop side (in photo pixels) of a typical detection, used to estimate a face's size
#: from its matrix when the caller gives none (RetinaFace boxes ~0.5, dlib boxes ~0.42).
FACE_BOX_FRACTION = 0.45

# CelebAMask-HQ classes ParseNet predicts; the reference pastes 1-13 (skin ... hair) and 15-17
# (ear ring, necklace, neck) and leaves background (0), hat (14) and cloth (18) alone.
_PARSE_KEEP = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0], dtype=np.float32)
_SMOOTH = (np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0).astype(np.float32)


def _blur_border(mask512: np.ndarray) -> np.ndarray:
    """Zero a MASK_INSET border and blur twice (the reference's post-processing)."""
    import cv2

    m = mask512.astype(np.float32, copy=True)
    t = MASK_INSET
    m[:t, :] = 0
    m[-t:, :] = 0
    m[:, :t] = 0
    m[:, -t:] = 0
    k = (MASK_BLUR_KSIZE, MASK_BLUR_KSIZE)
    m = cv2.GaussianBlur(m, k, MASK_BLUR_SIGMA)
    return cv2.GaussianBlur(m, k, MASK_BLUR_SIGMA)


@functools.lru_cache(maxsize=8)
def _reference_mask(size: int) -> np.ndarray:
    import cv2

    canvas = np.zeros((MASK_CANVAS, MASK_CANVAS), np.float32)
    # the reference draws cv2.rectangle((26, 26), (486, 486)) filled: rows/cols 26..486
    canvas[MASK_INSET : MASK_CANVAS - MASK_INSET + 1, MASK_INSET : MASK_CANVAS - MASK_INSET + 1] = 1
    k = (MASK_BLUR_KSIZE, MASK_BLUR_KSIZE)
    canvas = cv2.GaussianBlur(canvas, k, MASK_BLUR_SIGMA)
    canvas = cv2.GaussianBlur(canvas, k, MASK_BLUR_SIGMA)
    if size != MASK_CANVAS:
        canvas = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_LINEAR)
    canvas = np.clip(canvas, 0.0, 1.0).astype(np.float32)
    canvas.setflags(write=False)
    return canvas


def reference_mask(size: int) -> np.ndarray:
    """The reference paste mask for an ``size``x``size`` crop: float32 in [0, 1], 1 in the
    middle, falling to ~0 over the outer ~10 % (cached; the array is read-only)."""
    if int(size) < 8:
        raise ValueError(f"mask size must be >= 8, got {size}")
    return _reference_mask(int(size))


def find_parsenet_weights(weights_dir: str | Path | None = None) -> Path | None:
    """The first ParseNet weight file in the weights folder, or None."""
    from gpen_desktop.core.faces.detect import resolve_weights_dir

    folder = resolve_weights_dir(weights_dir)
    for name in PARSENET_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def parsing_available(weights_dir: str | Path | None = None) -> bool:
    """True when ParseNet weights are in the weights folder (so ``parsing_mask`` works)."""
    return find_parsenet_weights(weights_dir) is not None


def _parsenet(path: Path, device: str):
    from gpen_desktop.core.faces import detect

    def build():
        from facexlib.parsing.parsenet import ParseNet

        model = ParseNet(in_size=512, out_size=512, parsing_ch=19)
        detect.load_weights(model, path, "ParseNet", "ParseNet(512, 512, 19)").to(device)
        log.info("loaded ParseNet from %s on %s", path, device)
        return model

    key = ("parsenet", str(path), device)
    return detect._cached(key, build), detect._call_lock(key)


def parsing_mask(crop: np.ndarray, weights_dir: str | Path | None = None) -> np.ndarray:
    """A face-parsing paste mask for an aligned crop (HxWx3 RGB uint8, square).

    Runs facexlib's ParseNet (GPEN's ``ParseNet-latest.pth`` or facexlib's
    ``parsing_parsenet.pth`` from the weights folder; never downloads) at 512 px, keeps the face
    classes, zeroes the 26 px border, blurs like :func:`reference_mask` and resizes back.
    Returns float32 HxW in [0, 1]. Raises FaceError when no weights are found.
    """
    from gpen_desktop.core.faces.detect import as_rgb8, resolve_weights_dir, torch_device

    path = find_parsenet_weights(weights_dir)
    if path is None:
        raise FaceError(
            "face-parsing weights not found: put ParseNet-latest.pth (from GPEN) or facexlib's "
            f"parsing_parsenet.pth into {resolve_weights_dir(weights_dir)}"
        )
    import cv2
    import torch

    rgb = as_rgb8(crop)
    h, w = rgb.shape[:2]
    device = torch_device()
    model, lock = _parsenet(path, device)
    x = cv2.resize(rgb, (MASK_CANVAS, MASK_CANVAS), interpolation=cv2.INTER_LINEAR)
    t = torch.from_numpy(x.astype(np.float32) / 255.0 * 2.0 - 1.0).permute(2, 0, 1)[None]
    with lock, torch.no_grad():
        logits, _ = model(t.to(device))
    labels = logits.argmax(dim=1)[0].cpu().numpy()
    mask = _blur_border(_PARSE_KEEP[labels])
    if (h, w) != mask.shape:
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def match_color(restored: np.ndarray, original: np.ndarray, maxval: float) -> np.ndarray:
    """Give ``restored`` the low-frequency colour of ``original`` (both HxWx3 float32 RGB in
    [0, maxval], same shape): in CIE Lab, ``restored + blur(original) - blur(restored)`` with a
    Gaussian of sigma = 5 % of the side. Returns float32 in [0, maxval]."""
    import cv2

    sigma = max(2.0, 0.05 * restored.shape[0])
    lab_r = cv2.cvtColor(np.clip(restored / maxval, 0, 1).astype(np.float32), cv2.COLOR_RGB2Lab)
    lab_o = cv2.cvtColor(np.clip(original / maxval, 0, 1).astype(np.float32), cv2.COLOR_RGB2Lab)
    low_r = cv2.GaussianBlur(lab_r, (0, 0), sigma)
    low_o = cv2.GaussianBlur(lab_o, (0, 0), sigma)
    lab = lab_r + (low_o - low_r)
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return (np.clip(rgb, 0, 1) * maxval).astype(np.float32)


def _to_photo_range(crop: np.ndarray, dtype: np.dtype) -> np.ndarray:
    c = np.asarray(crop)
    if c.ndim != 3 or c.shape[2] != 3 or c.shape[0] != c.shape[1]:
        raise FaceError(f"restored crops must be SxSx3, got {c.shape}")
    f = c.astype(np.float32)
    if c.dtype == np.uint8 and dtype == np.uint16:
        f *= 257.0
    elif c.dtype == np.uint16 and dtype == np.uint8:
        f /= 257.0
    elif c.dtype not in (np.uint8, np.uint16):
        raise FaceError(f"restored crops must be uint8 or uint16, got {c.dtype}")
    return f


def paste_faces(
    image: np.ndarray,
    restored_crops: Sequence[np.ndarray],
    matrices: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None] | None = None,
    blends: Sequence[float | None] | None = None,
    upscale: int = 1,
    color_match: bool = False,
    *,
    face_sizes: Sequence[float | None] | None = None,
    antialias: bool = True,
    match_grain: bool = False,
    grain_keep_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Composite restored faces over a photo.

    ``image``: HxWx3 RGB uint8 or uint16. ``restored_crops[k]``: RxRx3 uint8 (or uint16) crop of
    face k; ``matrices[k]``: its 2x3 photo->crop matrix *for that crop size R* (see
    ``align.resize_crop_matrix`` if the network changed the size). ``masks[k]``: float32 crop
    mask in [0, 1] of any square size, or None for :func:`reference_mask`. ``blends[k]``: alpha
    in [0, 1] (None = 1). ``upscale``: integer u >= 1; the photo is enlarged u times with
    Lanczos and faces are pasted at that resolution. ``color_match``: match each restored face's
    low-frequency colour to the original's. ``face_sizes[k]``: the face box's shorter side in
    photo px (decides the small-face smoothing; estimated from the matrix when missing).
    ``antialias``: low-pass crops that shrink more than 1.5x on the way in (False = the
    reference's bare bilinear warp). ``match_grain``: add grain to each restored face that
    matches the photo's around it (:mod:`gpen_desktop.core.faces.grain`: measured in a ring
    just outside the face's crop, on flat areas of the enlarged photo, seeded by the face's
    place); ``grain_keep_out``: HxW bool (any size, resized to the output) of pixels the
    measurement must not read (damage fills, transparent areas).

    Returns ``(out, weight)``: ``out`` is (u*H)x(u*W)x3 of ``image``'s dtype; ``weight`` is
    (u*H)x(u*W) float32, the per-pixel weight of the restored faces (mask x blend; 0 where the
    photo is untouched). At u=1, ``out == image`` exactly wherever ``weight == 0``.
    """
    import cv2

    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise FaceError(f"expected an HxWx3 RGB photo, got shape {img.shape}")
    if img.dtype not in (np.uint8, np.uint16):
        raise FaceError(f"photos must be uint8 or uint16, got {img.dtype}")
    n = len(restored_crops)
    if len(matrices) != n:
        raise FaceError(f"{n} restored crops but {len(matrices)} matrices")
    masks = list(masks) if masks is not None else [None] * n
    blends = list(blends) if blends is not None else [None] * n
    sizes = list(face_sizes) if face_sizes is not None else [None] * n
    if not (len(masks) == len(blends) == len(sizes) == n):
        raise FaceError("masks, blends and face_sizes must have one entry per restored crop")
    u = int(upscale)
    if u < 1 or u != upscale:
        raise FaceError(f"upscale must be a whole number >= 1, got {upscale}")
    maxval = 65535.0 if img.dtype == np.uint16 else 255.0

    h, w = img.shape[:2]
    base = cv2.resize(img, (w * u, h * u), interpolation=cv2.INTER_LANCZOS4) if u > 1 else img
    ho, wo = base.shape[:2]
    # output pixel -> photo pixel (cv2.resize's pixel-centre convention)
    out_to_photo = np.array([[1.0 / u, 0.0, 0.5 / u - 0.5], [0.0, 1.0 / u, 0.5 / u - 0.5]])

    full_mask = np.zeros((ho, wo), np.float32)
    owner = np.full((ho, wo), -1, np.int32)
    pieces: list[tuple[int, tuple[slice, slice], np.ndarray, float]] = []
    grains: dict[int, tuple[np.ndarray | None, Any]] = {}  # piece -> (grain over its roi, plan)
    measure_out = None
    if match_grain:
        measure_out = np.zeros((ho, wo), bool)
        if grain_keep_out is not None:
            keep = np.asarray(grain_keep_out, np.uint8)
            measure_out = cv2.resize(keep, (wo, ho), interpolation=cv2.INTER_NEAREST) > 0
        whole = _whole_photo_grain(base, measure_out, maxval)
    for k in range(n):
        rf = _to_photo_range(restored_crops[k], img.dtype)
        size = rf.shape[0]
        matrix = np.asarray(matrices[k], dtype=np.float64).reshape(2, 3)
        scale = matrix_scale(matrix)  # crop px per photo px
        face_size = sizes[k]
        if face_size is None:
            face_size = FACE_BOX_FRACTION * size / max(scale, 1e-9)
        if face_size < SMALL_FACE_PX:
            rf = cv2.filter2D(rf, -1, _SMOOTH)
        if color_match:
            orig = warp_crop(img.astype(np.float32), matrix, size, border="reflect")
            rf = match_color(rf, orig, maxval)
        mask = masks[k]
        mask = reference_mask(size) if mask is None else np.asarray(mask, dtype=np.float32)
        if mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
            raise FaceError(f"masks must be square 2-D arrays, got {mask.shape}")
        if mask.shape[0] != size:
            mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_LINEAR)
        alpha = 1.0 if blends[k] is None else float(np.clip(blends[k], 0.0, 1.0))

        m_out = compose_affine(matrix, out_to_photo)  # output px -> crop px
        shrink = matrix_scale(m_out)  # crop px per output px
        if (
            antialias and shrink > 1.5
        ):  # anti-alias: a bare bilinear warp would point-sample the detail
            sigma = 0.5 * (shrink - 1.0)
            rf = cv2.GaussianBlur(rf, (0, 0), sigma)
        inv = invert_affine(m_out)  # crop px -> output px
        corners = np.array([[-1, -1], [size, -1], [-1, size], [size, size]], np.float64)
        pts = corners @ inv[:, :2].T + inv[:, 2]
        x0 = max(0, int(math.floor(pts[:, 0].min())) - 1)
        y0 = max(0, int(math.floor(pts[:, 1].min())) - 1)
        x1 = min(wo, int(math.ceil(pts[:, 0].max())) + 2)
        y1 = min(ho, int(math.ceil(pts[:, 1].max())) + 2)
        if x1 <= x0 or y1 <= y0:
            continue
        to_roi = inv.copy()
        to_roi[0, 2] -= x0
        to_roi[1, 2] -= y0
        dsize = (x1 - x0, y1 - y0)
        warped = cv2.warpAffine(
            rf, to_roi, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        wmask = cv2.warpAffine(
            mask,
            to_roi,
            dsize,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        roi = (slice(y0, y1), slice(x0, x1))
        if measure_out is not None:
            grains[len(pieces)] = _face_grain(
                base, measure_out, warped, wmask, (x0, y0, x1, y1), inv, size, m_out, maxval, whole
            )
        fm = full_mask[roi]
        win = wmask > fm
        fm[win] = wmask[win]
        owner[roi][win] = k
        pieces.append((k, roi, warped, alpha))

    out = base.copy()
    weight = np.zeros((ho, wo), np.float32)
    for i, (k, roi, warped, alpha) in enumerate(pieces):
        m = full_mask[roi] * np.float32(alpha)
        sel = (owner[roi] == k) & (m > 0)
        if not sel.any():
            continue
        wk = m[sel][:, None]
        b = base[roi][sel].astype(np.float32)
        grain = grains.get(i)
        if grain is not None and grain[0] is not None:  # the face with its grain
            face = warped[sel] + grain[1].gain(wk) * grain[0][sel]
            v = b + wk * (face - b)
        else:
            v = b + wk * (warped[sel] - b)
        out[roi][sel] = np.clip(np.rint(v), 0, maxval).astype(img.dtype)
        weight[roi][sel] = wk[:, 0]
    return out, weight


def _face_grain(
    base: np.ndarray,
    keep_out: np.ndarray,
    warped: np.ndarray,
    wmask: np.ndarray,
    box: tuple[int, int, int, int],
    inv: np.ndarray,
    size: int,
    m_out: np.ndarray,
    maxval: float,
    whole: Callable[[], Any],
) -> tuple[np.ndarray | None, Any]:
    """The grain layer for one face (over its crop's ``box`` in the output; None when no flat
    area is found) and its :class:`~gpen_desktop.core.faces.grain.GrainMatch`.

    The ring: the crop's box grown by a quarter of its side (at least 24 px), less the crop's
    footprint and ``keep_out``, measured on ``base`` (the photo at output size); when it has
    too little flat area (a face that fills the photo), ``whole()``, the whole photo's grain.
    The face's own noise is measured where its mask is at least 0.9."""
    import cv2

    from gpen_desktop.core.faces import grain as fg

    ho, wo = base.shape[:2]
    x0, y0, x1, y1 = box
    grow = max(24, round(0.25 * max(x1 - x0, y1 - y0)))
    rx0, ry0 = max(0, x0 - grow), max(0, y0 - grow)
    rx1, ry1 = min(wo, x1 + grow), min(ho, y1 + grow)
    to_ring = inv.copy()
    to_ring[0, 2] -= rx0
    to_ring[1, 2] -= ry0
    footprint = cv2.warpAffine(
        np.ones((size, size), np.uint8),
        to_ring,
        (rx1 - rx0, ry1 - ry0),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    footprint = cv2.dilate(footprint, np.ones((5, 5), np.uint8))
    region = (footprint == 0) & ~keep_out[ry0:ry1, rx0:rx1]
    ring = fg.measure_grain(base[ry0:ry1, rx0:rx1], region, maxval)
    if ring is None:
        ring = whole()
    if ring is None:
        log.info("grain: no flat area around the face at %s; no grain added", box)
        return None, None
    plan = fg.plan_grain(ring, warped, wmask >= 0.9, maxval)
    rng = fg.grain_rng("face grain", np.round(m_out, 6).tolist())
    layer = fg.synthesize((y1 - y0, x1 - x0), plan.sizes, plan.parts, rng)
    log.debug("grain around the face at %s: %s", box, ring.describe(maxval))
    return layer, plan


def _whole_photo_grain(base: np.ndarray, keep_out: np.ndarray, maxval: float) -> Callable[[], Any]:
    """A function that measures the grain of all of ``base`` (less ``keep_out``) on its first
    call and returns that measurement (or None) on every call."""
    from gpen_desktop.core.faces import grain as fg

    @functools.cache
    def measure() -> Any:
        return fg.measure_grain(base, ~keep_out, maxval)

    return measure
