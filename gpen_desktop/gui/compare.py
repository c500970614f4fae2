"""Before/after comparison: the wipe layer, the side-by-side mirror view and per-face crops.

The wipe lives in the canvas's own scene (so it shares zoom and pan with the face editor): the
restored photo is a :class:`WipeLayer` above the original, clipped to the right of the divider.
:class:`SideBySideView` shows the restored photo next to the canvas and follows its zoom and
pan; wheel and drag on it drive the canvas, which stays the single source of the view state.
:class:`FaceCompare` shows one face's aligned input and restored crop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.gui.worker import qimage_from_rgb

if TYPE_CHECKING:
    from gpen_desktop.gui.canvas import CanvasView

HANDLE_RADIUS = 14  # px on screen
GRAB_DISTANCE = 10  # px on screen either side of the divider line


class WipeLayer(QGraphicsItem):
    """The restored photo drawn over the original, visible right of ``split`` (0..1 of the
    width). The pixmap may be larger than the original (output upscale): it is drawn scaled
    into ``target`` (the original's rectangle in scene coordinates)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self._target = QRectF()
        self.split = 0.5
        self.smooth = True

    def set_pixmap(self, pixmap: QPixmap, target: QRectF) -> None:
        self.prepareGeometryChange()
        self._pixmap, self._target = pixmap, QRectF(target)
        self.update()

    def set_split(self, split: float) -> None:
        split = min(1.0, max(0.0, float(split)))
        if split != self.split:
            self.split = split
            self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(self._target)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._pixmap.isNull():
            return
        x = self._target.left() + self.split * self._target.width()
        clip = QRectF(QPointF(x, self._target.top()), self._target.bottomRight())
        painter.save()
        painter.setClipRect(clip)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        painter.drawPixmap(self._target, self._pixmap, QRectF(self._pixmap.rect()))
        painter.restore()


def paint_divider(painter: QPainter, x: float, top: float, bottom: float, centre_y: float) -> None:
    """The wipe divider in viewport pixels: a line from ``top`` to ``bottom`` at ``x`` with a
    round grab handle at ``centre_y`` and 'Before' / 'After' tags either side."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    shadow = QPen(QColor(0, 0, 0, 110), 4)
    painter.setPen(shadow)
    painter.drawLine(QPointF(x, top), QPointF(x, bottom))
    painter.setPen(QPen(QColor(255, 255, 255, 235), 2))
    painter.drawLine(QPointF(x, top), QPointF(x, bottom))
    r = HANDLE_RADIUS
    painter.setPen(QPen(QColor(0, 0, 0, 120), 1.5))
    painter.setBrush(QColor(255, 255, 255, 240))
    painter.drawEllipse(QPointF(x, centre_y), r, r)
    # two small arrows in the handle
    painter.setBrush(QColor(60, 60, 60))
    painter.setPen(Qt.PenStyle.NoPen)
    for sign in (-1, 1):
        path = QPainterPath()
        tip = x + sign * (r - 4)
        path.moveTo(tip, centre_y)
        path.lineTo(tip - sign * 6, centre_y - 5)
        path.lineTo(tip - sign * 6, centre_y + 5)
        path.closeSubpath()
        painter.drawPath(path)
    paint_tag(painter, "Before", x - 10, top + 10, right_aligned=True)
    paint_tag(painter, "After", x + 10, top + 10)
    painter.restore()


def paint_tag(
    painter: QPainter, text: str, x: float, y: float, right_aligned: bool = False
) -> None:
    """A small white-on-dark label with its top-left (or top-right) corner at (x, y)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    w = metrics.horizontalAdvance(text) + 14
    h = metrics.height() + 6
    box = QRectF(x - w if right_aligned else x, y, w, h)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 150))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


class SideBySideView(QGraphicsView):
    """The restored photo, mirroring a :class:`CanvasView`'s zoom and centre."""

    def __init__(self, canvas: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._canvas = canvas
        self.setScene(QGraphicsScene(self))
        self._item = self.scene().addPixmap(QPixmap())
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setBackgroundBrush(canvas.backgroundBrush())
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self._pan_from: QPointF | None = None
        self._placeholder = "Not restored yet"
        canvas.viewChanged.connect(self.sync)

    def set_image(self, image: QImage | None, target: QRectF) -> None:
        """Show ``image`` (None: a placeholder) scaled into ``target`` (the original's rect)."""
        pixmap = QPixmap.fromImage(image) if image is not None else QPixmap()
        self._item.setPixmap(pixmap)
        if not pixmap.isNull() and pixmap.width():
            self._item.setScale(target.width() / pixmap.width())
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().setSceneRect(target)
        self.sync()

    def sync(self) -> None:
        canvas = self._canvas
        self.setBackgroundBrush(canvas.backgroundBrush())
        self.setTransform(canvas.transform())
        centre = canvas.mapToScene(canvas.viewport().rect().center())
        self.centerOn(centre)
        self.viewport().update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.sync()

    def wheelEvent(self, event) -> None:  # noqa: N802
        scene_pos = self.mapToScene(event.position().toPoint())
        self._canvas.zoom_by_wheel(event.angleDelta().y(), scene_pos=scene_pos)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._pan_from = event.position()
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._canvas.pan_by(delta.x(), delta.y())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._pan_from = None
        self.viewport().unsetCursor()

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        painter = QPainter(self.viewport())
        paint_tag(
            painter, "After" if not self._item.pixmap().isNull() else self._placeholder, 10, 10
        )
        painter.end()


def pixmap_from_rgb(pixels: np.ndarray) -> QPixmap:
    """QPixmap of an HxWx3 uint8 RGB array (GUI thread only)."""
    return QPixmap.fromImage(qimage_from_rgb(pixels))


class _CropLabel(QLabel):
    """A square crop that scales with the widget, keeping its aspect ratio."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self._pixmap = QPixmap()
        self._title = title
        self.setMinimumSize(96, 96)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap if pixmap is not None else QPixmap()
        self.update()

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        side = min(self.width(), self.height())
        box = QRectF((self.width() - side) / 2, 0, side, side)
        if self._pixmap.isNull():
            painter.setPen(QPen(self.palette().mid().color(), 1, Qt.PenStyle.DashLine))
            painter.setBrush(QBrush())
            painter.drawRect(box.adjusted(0.5, 0.5, -0.5, -0.5))
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "—")
        else:
            painter.drawPixmap(box, self._pixmap, QRectF(self._pixmap.rect()))
        painter.end()


class FaceCompare(QWidget):
    """Before / after of one face: the aligned input crop and the restored crop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.before = _CropLabel("Before")
        self.after = _CropLabel("After")
        for label, title in ((self.before, "Before"), (self.after, "After")):
            col = QVBoxLayout()
            caption = QLabel(title)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setEnabled(False)
            col.addWidget(label)
            col.addWidget(caption)
            layout.addLayout(col)

    def set_crops(self, before: QPixmap | None, after: QPixmap | None) -> None:
        self.before.set_pixmap(before)
        self.after.set_pixmap(after)
