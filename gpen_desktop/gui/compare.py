"""Before/after comparison: the wipe layer, the side-by-side mirror view and per-face crops.

The wipe lives in the canvas's own scene (so it shares zoom and pan with the face editor): the
restored photo is a :class:`~gpen_desktop.gui.canvas_items.WipeLayer` above the original,
clipped to the right of the divider.
:class:`SideBySideView` shows the restored photo next to the canvas and follows its zoom and
pan; wheel and drag on it drive the canvas, which stays the single source of the view state.
:class:`FaceCompare` shows one face's aligned input and restored crop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QImage,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.gui.overlay import paint_tag

if TYPE_CHECKING:
    from gpen_desktop.gui.canvas import CanvasView


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
