"""Synthetic test photos made from the real faces that PyPI packages ship.

Sources: scikit-image's ``astronaut`` (Eileen Collins) and matplotlib's ``grace_hopper.jpg``;
the background is scikit-image's ``gravel``/``grass``/``brick`` textures. Each face is pasted
with its surroundings (hair, neck, clothes) so a detector sees a head, not a cut-out.

Ground truth is the face box dlib's HOG reports on the full-size source (measured once, kept
here as constants), scaled with the paste.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: (image loader name, face box x0, y0, x1, y1 in the source)
ASTRONAUT_BOX = (179.0, 83.0, 266.0, 170.0)
HOPPER_BOX = (161.0, 137.0, 376.0, 352.0)


def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def grace_hopper() -> np.ndarray:
    import matplotlib.cbook as cbook
    from skimage import io

    return np.ascontiguousarray(io.imread(cbook.get_sample_data("grace_hopper.jpg", False)))


def texture(width: int, height: int, kind: str = "gravel") -> np.ndarray:
    """An RGB background of the given size tiled from a scikit-image texture."""
    from skimage import data

    tile = getattr(data, kind)()
    if tile.ndim == 2:
        tile = np.stack([tile] * 3, axis=-1)
    reps = (height // tile.shape[0] + 1, width // tile.shape[1] + 1, 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width, :3])


@dataclass(frozen=True)
class Source:
    image: np.ndarray
    box: tuple[float, float, float, float]


def sources() -> list[Source]:
    """Four head shots: each source and its mirror image."""
    out = []
    for img, box in ((astronaut(), ASTRONAUT_BOX), (grace_hopper(), HOPPER_BOX)):
        out.append(Source(img, box))
        w = img.shape[1]
        x0, y0, x1, y1 = box
        out.append(Source(np.ascontiguousarray(img[:, ::-1]), (w - 1 - x1, y0, w - 1 - x0, y1)))
    return out


def head(src: Source, face_px: float, margin: float = 0.6) -> tuple[np.ndarray, tuple]:
    """The head around ``src``'s face, resized so the face box is ``face_px`` wide; returns the
    crop and the face box inside it."""
    x0, y0, x1, y1 = src.box
    side = x1 - x0
    h, w = src.image.shape[:2]
    cx0, cy0 = max(0, int(x0 - margin * side)), max(0, int(y0 - margin * side))
    cx1, cy1 = min(w, int(x1 + margin * side)), min(h, int(y1 + margin * side))
    crop = src.image[cy0:cy1, cx0:cx1]
    s = face_px / side
    size = (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    box = ((x0 - cx0) * s, (y0 - cy0) * s, (x1 - cx0) * s, (y1 - cy0) * s)
    return small, box


def group_photo(
    sizes: list[float], columns: int = 6, background: str = "gravel", gap: float = 1.0
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Faces of the given box sizes (px) in rows on a texture; returns (image, true boxes)."""
    srcs = sources()
    heads = [head(srcs[i % len(srcs)], s) for i, s in enumerate(sizes)]
    cell = int(max(max(h.shape[:2]) for h, _ in heads) * (1 + gap)) + 4
    rows = (len(heads) + columns - 1) // columns
    img = texture(cell * min(columns, len(heads)), cell * rows, background)
    boxes = []
    for i, (h, (bx0, by0, bx1, by1)) in enumerate(heads):
        r, c = divmod(i, columns)
        ox = c * cell + (cell - h.shape[1]) // 2
        oy = r * cell + (cell - h.shape[0]) // 2
        img[oy : oy + h.shape[0], ox : ox + h.shape[1]] = h
        boxes.append((ox + bx0, oy + by0, ox + bx1, oy + by1))
    return img, boxes


def frame_filling(
    size: int = 512, fill: float = 0.9
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Grace Hopper's face filling a ``size``-px square: the face box is ``fill`` times the
    side, centred (above 1 the frame cuts the face off); returns (image, true box, clipped)."""
    src = sources()[2]
    crop, box = head(src, size * fill, margin=0.6)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = round(cx - size / 2), round(cy - size / 2)
    pad = size
    big = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    img = big[y0 + pad : y0 + pad + size, x0 + pad : x0 + pad + size]
    b = (
        max(0.0, box[0] - x0),
        max(0.0, box[1] - y0),
        min(size - 1.0, box[2] - x0),
        min(size - 1.0, box[3] - y0),
    )
    return np.ascontiguousarray(img), b


def rotated(angle: float, face_px: float = 90.0) -> np.ndarray:
    """The astronaut's head (face ``face_px`` wide) rotated by ``angle`` degrees on gravel."""
    h, _ = head(sources()[0], face_px, margin=1.0)
    canvas = texture(h.shape[1] + 40, h.shape[0] + 40)
    canvas[20 : 20 + h.shape[0], 20 : 20 + h.shape[1]] = h
    ch, cw = canvas.shape[:2]
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
    return np.ascontiguousarray(cv2.warpAffine(canvas, m, (cw, ch), borderMode=cv2.BORDER_REFLECT))


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(found_boxes, true_boxes, min_iou: float = 0.3) -> tuple[int, int]:
    """(true positives, false positives) with greedy one-to-one IoU matching."""
    left = list(true_boxes)
    tp = fp = 0
    for b in found_boxes:
        best = max(left, key=lambda t: iou(b, t), default=None)
        if best is not None and iou(b, best) >= min_iou:
            left.remove(best)
            tp += 1
        else:
            fp += 1
    return tp, fp
