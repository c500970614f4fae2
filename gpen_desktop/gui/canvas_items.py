"""The canvas's scene items: editable face boxes (handles, landmarks, number badge) and the wipe
layer. Scene coordinates are photo pixels; a finished drag emits ``FaceItem.committed``.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsRectItem,
)

from gpen_desktop.core.types import Face

MIN_BOX = 6.0  # photo pixels

#: Colours of the 5 landmarks: left eye, right eye, nose, left and right mouth corner.
LANDMARK_COLOURS = ("#ff5252", "#ffb300", "#69f0ae", "#40c4ff", "#e040fb")
LANDMARK_NAMES = ("left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner")
BOX_COLOUR = QColor("#4fc3f7")
SELECTED_COLOUR = QColor("#ffd54f")
EXCLUDED_COLOUR = QColor("#9e9e9e")

# Handle roles: which box edges a handle moves (left, top, right, bottom).
_HANDLES = {
    "tl": (1, 1, 0, 0),
    "t": (0, 1, 0, 0),
    "tr": (0, 1, 1, 0),
    "r": (0, 0, 1, 0),
    "br": (0, 0, 1, 1),
    "b": (0, 0, 0, 1),
    "bl": (1, 0, 0, 1),
    "l": (1, 0, 0, 0),
}
_HANDLE_CURSORS = {
    "tl": Qt.CursorShape.SizeFDiagCursor,
    "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor,
    "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor,
    "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor,
    "r": Qt.CursorShape.SizeHorCursor,
}


class _DragPart(QGraphicsRectItem):
    """A constant-size part of a FaceItem that the left mouse button drags (handle, landmark).
    Subclasses say what a drag does (``_drag``) and how the undo step reads (``_done_text``)."""

    _face: FaceItem

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._face.begin_drag()
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        self._drag(event.scenePos())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._face.end_drag(self._done_text())

    def _drag(self, pos: QPointF) -> None:
        raise NotImplementedError

    def _done_text(self) -> str:
        raise NotImplementedError


class HandleItem(_DragPart):
    """A resize handle: constant size on screen (9 px, down to 5 px on faces under ~45 px on
    screen so the eight of them don't hide the face), drives its FaceItem."""

    MIN_SIDE, MAX_SIDE = 5.0, 9.0

    def __init__(self, role: str, face: FaceItem) -> None:
        super().__init__(-4.5, -4.5, 9, 9, face)
        self.role = role
        self._face = face
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setCursor(QCursor(_HANDLE_CURSORS[role]))
        self.setPen(QPen(QColor(0, 0, 0, 200), 1))
        self.setBrush(QBrush(SELECTED_COLOUR))
        self.setZValue(2)

    def set_face_size(self, on_screen: float) -> None:
        """Size the handle for a face ``on_screen`` px across."""
        side = max(self.MIN_SIDE, min(self.MAX_SIDE, on_screen / 5))
        if self.rect().width() != side:
            self.setRect(-side / 2, -side / 2, side, side)

    def _drag(self, pos: QPointF) -> None:
        self._face.drag_handle(self.role, pos)

    def _done_text(self) -> str:
        return f"Resize face {self._face.number}"


class LandmarkItem(_DragPart):
    """One of the 5 landmarks: a dot of constant screen size, draggable."""

    def __init__(self, index: int, face: FaceItem) -> None:
        super().__init__(-5, -5, 10, 10, face)
        self.index = index
        self._face = face
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setCursor(QCursor(Qt.CursorShape.CrossCursor))
        self.setToolTip(LANDMARK_NAMES[index])
        self.setZValue(3)
        self._colour = QColor(LANDMARK_COLOURS[index])

    def _radius(self) -> float:
        """3.5 px on screen, smaller on faces drawn under ~60 px so the dots don't hide them."""
        views = self.scene().views() if self.scene() is not None else []
        zoom = views[0].transform().m11() if views else 1.0
        on_screen = max(self._face.box.width(), self._face.box.height()) * zoom
        return max(1.5, min(3.5, on_screen / 16.0))

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self._radius()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0, 190), 1.0 if r < 3 else 1.5))
        painter.setBrush(self._colour)
        painter.drawEllipse(QPointF(0, 0), r, r)

    def _drag(self, pos: QPointF) -> None:
        self._face.drag_landmark(self.index, pos)

    def _done_text(self) -> str:
        return f"Move {LANDMARK_NAMES[self.index]} of face {self._face.number}"


class BadgeItem(QGraphicsItem):
    """The face number, outside the box just above its top-left corner (constant screen
    size, smaller over small faces so it never grows over the face it labels)."""

    #: screen px between the badge and the box's top edge (clear of the box outline)
    GAP = 3.0
    #: badge height on screen: this fraction of the face's on-screen side, within these bounds
    HEIGHT_FRACTION = 0.3
    MIN_HEIGHT, MAX_HEIGHT = 11.0, 18.0

    def __init__(self, face: FaceItem) -> None:
        super().__init__(face)
        self._face = face
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1)
        self._font = QFont()
        self._font.setBold(True)
        self._rect = QRectF()
        self.relayout()

    def _text(self) -> str:
        return str(self._face.number)

    def relayout(self) -> None:
        """Size the badge for the face's on-screen size (call when it or the zoom changed)."""
        on_screen = max(self._face.box.width(), self._face.box.height()) * self._face.view_scale
        h = max(self.MIN_HEIGHT, min(self.MAX_HEIGHT, on_screen * self.HEIGHT_FRACTION))
        self._font.setPixelSize(max(8, round(h * 0.68)))
        text_w = QFontMetricsF(self._font).horizontalAdvance(self._text())
        rect = QRectF(0, -(h + self.GAP), max(h, text_w + h * 0.55), h)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(self._rect)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        rect = self._rect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._face.colour())
        painter.drawRoundedRect(rect, 3, 3)
        painter.setPen(QColor(20, 20, 20))
        painter.setFont(self._font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._text())


class FaceItem(QGraphicsObject):
    """A face: its box (movable, resizable with handles), number and 5 landmarks.

    The landmark dots show only on the selected face and the one under the mouse, so on a
    group photo at fit zoom they don't cover every face; ``view_scale`` (the canvas's zoom,
    :meth:`set_view_scale`) sizes the number badge.

    The item stays at scene position (0, 0); ``box`` and the landmark points are in scene
    (photo pixel) coordinates. ``committed(index, face, text)`` fires once per finished drag.
    """

    committed = Signal(int, object, str)

    def __init__(self, index: int, face: Face, bounds: QRectF, number: int | None = None) -> None:
        super().__init__()
        self.index = index
        self.number = index + 1 if number is None else number
        self.face = face
        self._bounds = bounds
        self.view_scale = 1.0
        self._hovered = False
        self.box = QRectF(QPointF(face.box[0], face.box[1]), QPointF(face.box[2], face.box[3]))
        pts = face.landmarks_array()
        self.points = None if pts is None else [QPointF(float(x), float(y)) for x, y in pts]
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(10 + index)
        self._badge = BadgeItem(self)
        self._handles = {role: HandleItem(role, self) for role in _HANDLES}
        self._landmarks = [LandmarkItem(i, self) for i in range(5)] if self.points else []
        self._drag_start: tuple[QRectF, list[QPointF] | None] | None = None
        self._move_from: QPointF | None = None
        self._layout_children()

    def set_face(self, face: Face, number: int | None = None) -> None:
        """Show ``face`` (after an edit, undo or redo) without rebuilding the item."""
        if number is not None and number != self.number:
            self.number = number
            self._badge.relayout()
        if face == self.face and self._drag_start is None:
            return
        self.prepareGeometryChange()
        self.face = face
        self.box = QRectF(QPointF(face.box[0], face.box[1]), QPointF(face.box[2], face.box[3]))
        pts = face.landmarks_array()
        self.points = None if pts is None else [QPointF(float(x), float(y)) for x, y in pts]
        if self.points and not self._landmarks:
            self._landmarks = [LandmarkItem(i, self) for i in range(5)]
        elif not self.points and self._landmarks:
            for dot in self._landmarks:
                dot.setParentItem(None)
                if dot.scene() is not None:
                    dot.scene().removeItem(dot)
            self._landmarks = []
        self._drag_start = None
        self._move_from = None
        self._layout_children()
        self.update()

    def parts(self) -> list[QGraphicsItem]:
        """Handles and landmark dots first (drawn on top), then the badge, then the box."""
        return [*self._handles.values(), *self._landmarks, self._badge, self]

    def set_view_scale(self, scale: float) -> None:
        """The canvas zoom changed (view px per photo px)."""
        if scale != self.view_scale:
            self.view_scale = float(scale)
            self._layout_children()

    def landmarks_shown(self) -> bool:
        """Whether the landmark dots are drawn: on the selected face, the hovered one, and
        while the face is dragged."""
        return bool(self.points) and (
            self.isSelected() or self._hovered or self._drag_start is not None
        )

    def _show_landmarks(self) -> None:
        shown = self.landmarks_shown()
        for dot in self._landmarks:
            dot.setVisible(shown)

    # ------------------------------------------------------------------ look
    def colour(self) -> QColor:
        if self.isSelected():
            return SELECTED_COLOUR
        return BOX_COLOUR if self.face.include else EXCLUDED_COLOUR

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.box.adjusted(-2, -2, 2, 2)

    def shape(self):
        from PySide6.QtGui import QPainterPath

        path = QPainterPath()
        path.addRect(self.box)
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colour = self.colour()
        under = QPen(QColor(0, 0, 0, 140), 3.5)
        under.setCosmetic(True)
        pen = QPen(colour, 2 if self.isSelected() else 1.5)
        pen.setCosmetic(True)
        if not self.face.include:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(under)
        painter.drawRect(self.box)
        painter.setPen(pen)
        painter.drawRect(self.box)
        if not self.face.include:
            shade = QColor(0, 0, 0, 70)
            painter.fillRect(self.box, shade)

    def itemChange(self, change, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            for handle in self._handles.values():
                handle.setVisible(bool(value))
            self.setZValue((100 if value else 10) + self.index)
            self._show_landmarks()
            self._badge.update()
            self.update()
        return super().itemChange(change, value)

    def _layout_children(self) -> None:
        b = self.box
        xs = {"l": b.left(), "c": b.center().x(), "r": b.right()}
        ys = {"t": b.top(), "c": b.center().y(), "b": b.bottom()}
        spots = {
            "tl": (xs["l"], ys["t"]),
            "t": (xs["c"], ys["t"]),
            "tr": (xs["r"], ys["t"]),
            "r": (xs["r"], ys["c"]),
            "br": (xs["r"], ys["b"]),
            "b": (xs["c"], ys["b"]),
            "bl": (xs["l"], ys["b"]),
            "l": (xs["l"], ys["c"]),
        }
        on_screen = max(b.width(), b.height()) * self.view_scale
        for role, handle in self._handles.items():
            handle.setPos(*spots[role])
            handle.set_face_size(on_screen)
            handle.setVisible(self.isSelected())
        self._badge.setPos(b.topLeft())
        self._badge.relayout()
        for dot, p in zip(self._landmarks, self.points or [], strict=False):
            dot.setPos(p)
        self._show_landmarks()

    # ------------------------------------------------------------------ dragging
    def begin_drag(self) -> None:
        if not self.isSelected():
            self.scene().clearSelection()
            self.setSelected(True)
        pts = None if self.points is None else [QPointF(p) for p in self.points]
        self._drag_start = (QRectF(self.box), pts)

    def _clamp_point(self, p: QPointF) -> QPointF:
        b = self._bounds
        return QPointF(min(max(p.x(), b.left()), b.right()), min(max(p.y(), b.top()), b.bottom()))

    def drag_handle(self, role: str, scene_pos: QPointF) -> None:
        if self._drag_start is None:
            return
        p = self._clamp_point(scene_pos)
        left, top, right, bottom = _HANDLES[role]
        box = QRectF(self._drag_start[0])
        if left:
            box.setLeft(min(p.x(), box.right() - MIN_BOX))
        if right:
            box.setRight(max(p.x(), box.left() + MIN_BOX))
        if top:
            box.setTop(min(p.y(), box.bottom() - MIN_BOX))
        if bottom:
            box.setBottom(max(p.y(), box.top() + MIN_BOX))
        self.prepareGeometryChange()
        self.box = box
        self._layout_children()

    def drag_landmark(self, index: int, scene_pos: QPointF) -> None:
        if self._drag_start is None or self.points is None:
            return
        self.points[index] = self._clamp_point(scene_pos)
        self._landmarks[index].setPos(self.points[index])

    def move_by(self, dx: float, dy: float) -> None:
        """Translate the box and landmarks from the drag start, kept inside the photo."""
        if self._drag_start is None:
            return
        box0, pts0 = self._drag_start
        b = self._bounds
        dx = min(max(dx, b.left() - box0.left()), b.right() - box0.right())
        dy = min(max(dy, b.top() - box0.top()), b.bottom() - box0.bottom())
        self.prepareGeometryChange()
        self.box = box0.translated(dx, dy)
        if pts0 is not None:
            self.points = [p + QPointF(dx, dy) for p in pts0]
        self._layout_children()

    def end_drag(self, text: str) -> None:
        start, self._drag_start = self._drag_start, None
        if start is None:
            return
        if start[0] == self.box and start[1] == self.points:
            return
        self.committed.emit(self.index, self.to_face(), text)

    def to_face(self) -> Face:
        b = self.box.normalized()
        box = (
            round(b.left(), 2),
            round(b.top(), 2),
            round(b.right(), 2),
            round(b.bottom(), 2),
        )
        pts = None
        if self.points is not None:
            pts = tuple((round(p.x(), 2), round(p.y(), 2)) for p in self.points)
        return self.face.with_(box=box, landmarks=pts)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self.begin_drag()
        self._move_from = event.scenePos()
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._move_from is None:
            return
        d = event.scenePos() - self._move_from
        self.move_by(d.x(), d.y())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._move_from = None
        self.end_drag(f"Move face {self.number}")

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self.setCursor(QCursor(Qt.CursorShape.SizeAllCursor))
        self._hovered = True
        self._show_landmarks()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = False
        self._show_landmarks()


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
