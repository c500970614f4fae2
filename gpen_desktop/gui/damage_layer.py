"""The canvas layer that shows a photo's damage marks as a translucent colour over it.

The layer keeps a premultiplied ARGB image at the photo's size and repaints only the
rectangle a stroke (or an undo) changed, so painting on a 12 MP scan stays smooth; the image
is made on the first mark and dropped when the photo has none.
"""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from gpen_desktop.gui.damage import DamageMarks, Rect

#: The marks' colour: a warm red at 55 % opacity, premultiplied (0xAARRGGBB).
_ALPHA = 140
_RGB = (255, 48, 64)
MARK_ARGB = (_ALPHA << 24) | sum(
    round(c * _ALPHA / 255) << s for c, s in zip(_RGB, (16, 8, 0), strict=True)
)


class DamageLayer(QGraphicsItem):
    """Shows one :class:`DamageMarks` (scene units = photo pixels, at the origin)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.marks: DamageMarks | None = None
        self._image: QImage | None = None
        self._bounds = QRectF()
        self.smooth = True

    def set_marks(self, marks: DamageMarks | None) -> None:
        if self.marks is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # already gone
                self.marks.changed.disconnect(self.refresh)
        self.marks = marks
        if marks is not None:
            marks.changed.connect(self.refresh)
        self.refresh(None)

    def image(self) -> QImage | None:
        """The overlay image (None when nothing is marked)."""
        return self._image

    def refresh(self, rect: Rect | None = None) -> None:
        """Copy the marks in ``rect`` (None: all) into the overlay image and repaint there."""
        marks = self.marks
        bounds = QRectF(0, 0, marks.width, marks.height) if marks else QRectF()
        if bounds != self._bounds:  # only a new photo size moves the item's geometry
            self.prepareGeometryChange()
            self._bounds = bounds
        if marks is None or marks.is_empty():
            self._image = None
            self.update()
            return
        w, h = marks.width, marks.height
        if self._image is None or (self._image.width(), self._image.height()) != (w, h):
            self._image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
            rect = None
        x0, y0, x1, y1 = rect if rect is not None else (0, 0, w, h)
        stride = self._image.bytesPerLine() // 4
        pixels = np.frombuffer(self._image.bits(), np.uint32).reshape(h, stride)
        view = marks.array[y0:y1, x0:x1]
        pixels[y0:y1, x0:x1] = np.where(view != 0, np.uint32(MARK_ARGB), np.uint32(0))
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(self._bounds)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        exposed = option.exposedRect.intersected(self._bounds).toAlignedRect()
        if exposed.isEmpty():
            return
        painter.drawImage(exposed, self._image, exposed)
