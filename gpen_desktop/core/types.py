"""Plain data shared by every layer: photos and faces, and the callback types.

Coordinates are image pixels of the photo *after* EXIF orientation, x to the right, y down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

Point = tuple[float, float]

#: ``progress(done, total, message)``: ``done`` of ``total`` steps (photos, faces, tiles).
ProgressFn = Callable[[int, int, str], None]
#: ``progress(bytes_done, bytes_total_or_None)`` of a download.
ByteProgressFn = Callable[[int, "int | None"], None]
#: ``cancel()``: polled between steps; True stops the run (``Cancelled`` is raised).
CancelFn = Callable[[], bool]
#: ``progress(record)`` of a training run: one ``log.jsonl`` record (step, losses, steps/s).
TrainProgressFn = Callable[[dict], None]


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels unchanged; uint16 scaled to 8 bits with rounding (65535 -> 255)."""
    if pixels.dtype == np.uint8:
        return pixels
    return np.round(pixels.astype(np.float32) / 257.0).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    """HxW ITU-R BT.601 luma of an HxWx3 uint8/uint16 image, same dtype, rounded."""
    top = 65535 if rgb.dtype == np.uint16 else 255
    y = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(y), 0, top).astype(rgb.dtype)


@dataclass(frozen=True)
class Face:
    """One face in a photo.

    ``box`` is (x0, y0, x1, y1); ``landmarks`` are the 5 GPEN points in this order: left eye
    centre, right eye centre, nose tip, left mouth corner, right mouth corner (left/right as
    seen in the image), or ``None`` when only a box is known (they are predicted inside it).
    ``blend`` overrides the run's blend factor for this face; ``include`` False skips it.
    ``model``: a restoration model file for this face alone (None = the run's choice, see
    :mod:`gpen_desktop.core.face_models`). ``manual``: a person drew it (no detector vouched
    for it; Detect Faces Again keeps it).
    """

    box: tuple[float, float, float, float]
    landmarks: tuple[Point, Point, Point, Point, Point] | None = None
    score: float = 1.0
    blend: float | None = None
    include: bool = True
    model: str | None = None
    manual: bool = False

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> float:
        """The longer side of the box, in pixels."""
        return max(self.width, self.height)

    def landmarks_array(self) -> np.ndarray | None:
        """Landmarks as a (5, 2) float64 array, or None."""
        return None if self.landmarks is None else np.asarray(self.landmarks, dtype=np.float64)

    def with_(self, **changes) -> Face:
        return replace(self, **changes)

    def to_json(self) -> dict:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": None
            if self.landmarks is None
            else [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks],
        }


@dataclass
class Photo:
    """A decoded photo.

    ``pixels`` is HxWx3 RGB, uint8 or uint16 (16-bit sources keep their depth); ``alpha`` is
    HxW of the same dtype or None. ``is_gray`` is True when the source had a single channel
    (or three equal ones); ``pixels`` is still 3-channel then. ``exif``/``icc`` are the raw
    metadata blocks to copy to the output.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    is_gray: bool = False
    path: Path | None = None
    format: str = ""
    exif: bytes | None = None
    icc: bytes | None = None
    info: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    def rgb8(self) -> np.ndarray:
        """The pixels as HxWx3 uint8 RGB (16-bit scaled down with rounding)."""
        return to_uint8(self.pixels)
