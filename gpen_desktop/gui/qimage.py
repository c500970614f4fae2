"""QImage / NumPy conversions (any thread for QImage; QPixmap only on the GUI thread)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

from gpen_desktop.core.types import Photo, to_uint8

THUMB_SIZE = 160


def qimage_from_rgb(pixels: np.ndarray) -> QImage:
    """A deep-copied RGB888 QImage of an HxWx3 uint8 (or uint16, scaled) RGB array."""
    pixels = to_uint8(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    pixels = np.ascontiguousarray(pixels[:, :, :3])
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def rgb_from_qimage(image: QImage) -> np.ndarray:
    """The HxWx3 uint8 RGB pixels of a QImage (a copy)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def qimage_to_photo(image: QImage) -> Photo:
    """A pasted QImage as a Photo (RGB uint8)."""
    return Photo(pixels=rgb_from_qimage(image), format="PNG")


def pixmap_from_rgb(pixels: np.ndarray) -> QPixmap:
    """QPixmap of an HxWx3 uint8 RGB array (GUI thread only)."""
    return QPixmap.fromImage(qimage_from_rgb(pixels))


def display_images(photo: Photo) -> tuple[QImage, QImage]:
    """The display copy (8-bit RGB) of a photo and its thumbnail (≤ 160 px)."""
    image = qimage_from_rgb(photo.rgb8())
    thumb = image.scaled(
        THUMB_SIZE,
        THUMB_SIZE,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    return image, thumb
