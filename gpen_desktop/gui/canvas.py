"""The photo canvas: zoom and pan, editable face boxes and landmarks, wipe compare.

Scene coordinates are photo pixels (the original photo's pixmap sits at the origin, scale 1),
so a :class:`~gpen_desktop.core.types.Face` maps onto the scene without conversion.

Edits are not applied to the document here: a finished drag emits ``faceEdited(index, face,
text)`` and a drawn box ``faceDrawn(box)``; the window turns them into undoable commands and
the document's ``facesChanged`` comes back to :meth:`CanvasView.sync_faces`.

Modes: ``edit`` (faces over the original), ``wipe`` (restored photo right of a draggable
divider), ``side`` (the original here, the restored photo in a mirrored view beside it).
Backslash shows the other image: tap to toggle, hold to peek.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QFont,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from gpen_desktop.core.types import Face
from gpen_desktop.gui.compare import (
    GRAB_DISTANCE,
    HANDLE_RADIUS,
    WipeLayer,
    paint_divider,
    paint_tag,
)
from gpen_desktop.gui.state import DocBinding, PhotoDoc

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
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


class _Handle(_DragPart):
    """A resize handle: constant size on screen, drives its FaceItem."""

    def __init__(self, role: str, face: FaceItem) -> None:
        super().__init__(-4.5, -4.5, 9, 9, face)
        self.role = role
        self._face = face
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setCursor(QCursor(_HANDLE_CURSORS[role]))
        self.setPen(QPen(QColor(0, 0, 0, 200), 1))
        self.setBrush(QBrush(SELECTED_COLOUR))
        self.setZValue(2)

    def _drag(self, pos: QPointF) -> None:
        self._face.drag_handle(self.role, pos)

    def _done_text(self) -> str:
        return f"Resize face {self._face.index + 1}"


class _Landmark(_DragPart):
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
        return f"Move {LANDMARK_NAMES[self.index]} of face {self._face.index + 1}"


class _Badge(QGraphicsItem):
    """The face number above the box's top-left corner (constant screen size)."""

    def __init__(self, face: FaceItem) -> None:
        super().__init__(face)
        self._face = face
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1)
        self._font = QFont()
        self._font.setBold(True)
        self._font.setPixelSize(12)

    def _text(self) -> str:
        return str(self._face.index + 1)

    def boundingRect(self) -> QRectF:  # noqa: N802
        w = 10 + 8 * len(self._text())
        return QRectF(-1, -19, w, 18)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        rect = self.boundingRect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._face.colour())
        painter.drawRoundedRect(rect, 3, 3)
        painter.setPen(QColor(20, 20, 20))
        painter.setFont(self._font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._text())


class FaceItem(QGraphicsObject):
    """A face: its box (movable, resizable with handles), number and 5 landmarks.

    The item stays at scene position (0, 0); ``box`` and the landmark points are in scene
    (photo pixel) coordinates. ``committed(index, face, text)`` fires once per finished drag.
    """

    committed = Signal(int, object, str)

    def __init__(self, index: int, face: Face, bounds: QRectF) -> None:
        super().__init__()
        self.index = index
        self.face = face
        self._bounds = bounds
        self.box = QRectF(QPointF(face.box[0], face.box[1]), QPointF(face.box[2], face.box[3]))
        pts = face.landmarks_array()
        self.points = None if pts is None else [QPointF(float(x), float(y)) for x, y in pts]
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(10 + index)
        self._badge = _Badge(self)
        self._handles = {role: _Handle(role, self) for role in _HANDLES}
        self._landmarks = [_Landmark(i, self) for i in range(5)] if self.points else []
        self._drag_start: tuple[QRectF, list[QPointF] | None] | None = None
        self._move_from: QPointF | None = None
        self._layout_children()

    def set_face(self, face: Face) -> None:
        """Show ``face`` (after an edit, undo or redo) without rebuilding the item."""
        if face == self.face and self._drag_start is None:
            return
        self.prepareGeometryChange()
        self.face = face
        self.box = QRectF(QPointF(face.box[0], face.box[1]), QPointF(face.box[2], face.box[3]))
        pts = face.landmarks_array()
        self.points = None if pts is None else [QPointF(float(x), float(y)) for x, y in pts]
        if self.points and not self._landmarks:
            self._landmarks = [_Landmark(i, self) for i in range(5)]
        elif not self.points and self._landmarks:
            for dot in self._landmarks:
                dot.setParentItem(None)
                if dot.scene() is not None:
                    dot.scene().removeItem(dot)
            self._landmarks = []
        self._drag_start = None
        self._move_from = None
        self._layout_children()
        self._badge.update()
        self.update()

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
        for role, handle in self._handles.items():
            handle.setPos(*spots[role])
            handle.setVisible(self.isSelected())
        self._badge.setPos(b.topLeft())
        for dot, p in zip(self._landmarks, self.points or [], strict=False):
            dot.setPos(p)

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
        self.end_drag(f"Move face {self.index + 1}")

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self.setCursor(QCursor(Qt.CursorShape.SizeAllCursor))


class CanvasView(QGraphicsView):
    """The photo with its faces; see the module docstring for modes and signals.

    Signals: ``faceEdited(index, Face, text)``, ``faceDrawn(box)`` (x0, y0, x1, y1 in photo
    pixels), ``selectionChanged(index)`` (-1: none), ``zoomChanged(scale)``, ``viewChanged()``
    (zoom or pan moved; the side-by-side view follows it), ``toolChanged(str)``,
    ``flippedChanged(bool)``.
    """

    faceEdited = Signal(int, object, str)
    faceDrawn = Signal(object)
    selectionChanged = Signal(int)
    zoomChanged = Signal(float)
    viewChanged = Signal()
    toolChanged = Signal(str)
    flippedChanged = Signal(bool)
    modeChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        # panning is by dragging (and the wheel zooms): scroll bars would only add clutter
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(40, 40, 43))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # drops go to the main window
        self.doc: PhotoDoc | None = None
        self._binding = DocBinding(
            lambda d: [
                (d.facesChanged, self.sync_faces),
                (d.selectionChanged, self._on_doc_selection),
                (d.resultChanged, self._reload_result),
                (d.statusChanged, self._update_message),
                (d.loaded, self._on_loaded),
            ]
        )
        self.mode = "edit"
        self.tool = "select"
        self.flipped = False
        self._fit = True
        self._pan_from: QPointF | None = None
        self._space = False
        self._band: QGraphicsRectItem | None = None
        self._band_from: QPointF | None = None
        self._dragging_divider = False
        self._flip_pressed_at = 0.0
        self._syncing = False
        self._face_items: list[FaceItem] = []
        self._bounds = QRectF()
        self._before = self.scene().addPixmap(QPixmap())
        self._before.setZValue(0)
        self._split = 0.5
        self._wipe = WipeLayer()
        self._wipe.setZValue(1)
        self.scene().addItem(self._wipe)
        self.scene().selectionChanged.connect(self._on_scene_selection)
        self.horizontalScrollBar().valueChanged.connect(self._emit_view_changed)
        self.verticalScrollBar().valueChanged.connect(self._emit_view_changed)
        self._message = ""

    # ------------------------------------------------------------------ document binding
    def set_document(self, doc: PhotoDoc | None) -> None:
        self._binding.bind(doc)
        self.doc = doc
        self.cancel_drawing()
        self._reload_images()
        self.sync_faces()
        self._fit = True
        self.fit()

    def _on_loaded(self) -> None:
        self._reload_images()
        self._fit = True
        self.fit()

    def _reload_images(self) -> None:
        """The document's photo changed (or another document): show it and its result."""
        doc = self.doc
        image = doc.image if doc is not None else None
        pixmap = QPixmap.fromImage(image) if image is not None else QPixmap()
        self._before.setPixmap(pixmap)
        self._bounds = QRectF(pixmap.rect()) if not pixmap.isNull() else QRectF()
        self.scene().setSceneRect(self._scene_rect())
        self._reload_result()

    def _reload_result(self) -> None:
        doc = self.doc
        after = doc.result_image if doc is not None else None
        self._wipe.set_pixmap(
            QPixmap.fromImage(after) if after is not None else QPixmap(), self._bounds
        )
        self._update_visibility()
        self._update_message()

    def _update_message(self) -> None:
        """While a photo is loading (or can't be), say so in the middle of the canvas."""
        doc = self.doc
        self._message = doc.status_text() if doc is not None and doc.image is None else ""
        self.viewport().update()

    def _scene_rect(self) -> QRectF:
        if self._bounds.isEmpty():
            return QRectF(0, 0, 1, 1)
        # generous margins so the photo can be panned a little past its edges
        m = max(self._bounds.width(), self._bounds.height()) * 0.25
        return self._bounds.adjusted(-m, -m, m, m)

    def sync_faces(self) -> None:
        """Mirror ``doc.faces``: items are updated in place, rebuilt when the count changes."""
        faces = self.doc.faces if self.doc is not None and not self._bounds.isEmpty() else ()
        self._syncing = True
        try:
            if len(faces) == len(self._face_items):
                for item, face in zip(self._face_items, faces, strict=True):
                    item.set_face(face)
            else:
                for item in self._face_items:
                    self.scene().removeItem(item)
                    item.deleteLater()
                self._face_items = []
                for i, face in enumerate(faces):
                    item = FaceItem(i, face, self._bounds)
                    item.committed.connect(self.faceEdited)
                    self.scene().addItem(item)
                    self._face_items.append(item)
            selected = self.doc.selected if self.doc is not None else -1
            for item in self._face_items:
                item.setSelected(item.index == selected)
        finally:
            self._syncing = False
        self._update_visibility()

    @property
    def face_items(self) -> list[FaceItem]:
        return list(self._face_items)

    def _on_doc_selection(self, index: int) -> None:
        self._syncing = True
        try:
            for item in self._face_items:
                item.setSelected(item.index == index)
        finally:
            self._syncing = False

    def _on_scene_selection(self) -> None:
        if self._syncing:
            return
        selected = [i.index for i in self._face_items if i.isSelected()]
        self.selectionChanged.emit(selected[0] if selected else -1)

    # ------------------------------------------------------------------ modes
    def set_mode(self, mode: str) -> None:
        if mode not in ("edit", "wipe", "side"):
            raise ValueError(mode)
        if mode != self.mode:
            self.mode = mode
            self.cancel_drawing()
            self._update_visibility()
            self.modeChanged.emit(mode)

    def set_flipped(self, flipped: bool) -> None:
        """Show the other image: the result in edit mode, the original in wipe mode."""
        if flipped != self.flipped:
            self.flipped = flipped
            self._update_visibility()
            self.flippedChanged.emit(flipped)

    def set_split(self, split: float) -> None:
        """Where the wipe divider sits: 0 (all restored) .. 1 (all original)."""
        self._split = min(1.0, max(0.0, float(split)))
        if self.mode == "wipe":
            self._wipe.set_split(self._split)
        self.viewport().update()

    @property
    def split(self) -> float:
        return self._split

    def has_result(self) -> bool:
        return self.doc is not None and self.doc.result_image is not None

    def _update_visibility(self) -> None:
        has_after = self.has_result()
        if self.mode == "wipe":
            self._wipe.setVisible(has_after and not self.flipped)
            self._wipe.set_split(self._split)
        elif self.mode == "edit":
            # flipped in edit mode: the restored photo covers the original entirely
            self._wipe.setVisible(has_after and self.flipped)
            self._wipe.set_split(0.0)
        else:
            self._wipe.setVisible(False)
        faces = self.mode == "edit"
        # Qt deselects hidden items: keep the document's selection out of it
        self._syncing = True
        try:
            for item in self._face_items:
                item.setVisible(faces)
        finally:
            self._syncing = False
        if faces and self.doc is not None:
            self._on_doc_selection(self.doc.selected)
        self._wipe.update()
        self.viewport().update()

    def set_tool(self, tool: str) -> None:
        if tool not in ("select", "add"):
            raise ValueError(tool)
        if tool != self.tool:
            self.cancel_drawing()
            self.tool = tool
            if tool == "add":
                self.set_mode("edit")
            self.viewport().setCursor(
                QCursor(Qt.CursorShape.CrossCursor if tool == "add" else Qt.CursorShape.ArrowCursor)
            )
            self.toolChanged.emit(tool)

    def cancel_drawing(self) -> None:
        if self._band is not None:
            self.scene().removeItem(self._band)
            self._band = None
        self._band_from = None

    # ------------------------------------------------------------------ zoom & pan
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    def _dpr(self) -> float:
        return float(self.devicePixelRatioF()) or 1.0

    def set_zoom(self, scale: float, anchor: QPointF | None = None) -> None:
        """Set the scale (view px per photo px), keeping scene point under ``anchor`` (viewport
        coordinates; default: the centre) in place."""
        scale = min(MAX_ZOOM, max(MIN_ZOOM, float(scale)))
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        scene_anchor = self.mapToScene(anchor.toPoint())
        self.resetTransform()
        self.scale(scale, scale)
        # put scene_anchor back under the anchor
        now = self.mapFromScene(scene_anchor)
        delta = QPointF(now) - anchor
        self.pan_by(-delta.x(), -delta.y())
        quality = (
            Qt.TransformationMode.SmoothTransformation
            if scale * self._dpr() < 4.0  # pixels show as squares from 400 % on
            else Qt.TransformationMode.FastTransformation
        )
        self._before.setTransformationMode(quality)
        self._wipe.smooth = quality == Qt.TransformationMode.SmoothTransformation
        self.zoomChanged.emit(self.zoom)
        self._emit_view_changed()

    def zoom_by_wheel(self, delta: int, anchor: QPointF | None = None, scene_pos=None) -> None:
        if not delta:
            return
        self._fit = False
        if scene_pos is not None and anchor is None:
            anchor = QPointF(self.mapFromScene(scene_pos))
        self.set_zoom(self.zoom * (1.0015 ** float(delta)), anchor)

    def zoom_in(self) -> None:
        self._fit = False
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self._fit = False
        self.set_zoom(self.zoom / 1.25)

    def actual_size(self) -> None:
        """100 %: one photo pixel per physical screen pixel."""
        self._fit = False
        self.set_zoom(1.0 / self._dpr())

    def fit(self) -> None:
        self._fit = True
        if self._bounds.isEmpty():
            return
        view = self.viewport().rect().adjusted(12, 12, -12, -12)
        if view.width() <= 0 or view.height() <= 0:
            return
        scale = min(view.width() / self._bounds.width(), view.height() / self._bounds.height())
        self.resetTransform()
        self.scale(scale, scale)
        self.centerOn(self._bounds.center())
        self.set_zoom(self.zoom)
        self._fit = True

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the picture by (dx, dy) viewport pixels."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(round(h.value() - dx))
        v.setValue(round(v.value() - dy))

    def _emit_view_changed(self, *_args) -> None:
        self.viewChanged.emit()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit:
            self.fit()
        self._emit_view_changed()

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.pan_by(event.angleDelta().y() / 2, 0)
            return
        self.zoom_by_wheel(event.angleDelta().y(), anchor=event.position())

    # ------------------------------------------------------------------ wipe divider
    def _divider_x(self) -> float | None:
        if self.mode != "wipe" or not self._wipe.isVisible() or self._bounds.isEmpty():
            return None
        x = self._bounds.left() + self._wipe.split * self._bounds.width()
        return float(self.mapFromScene(QPointF(x, self._bounds.top())).x())

    def _set_split_from_view(self, x_view: float) -> None:
        scene_x = self.mapToScene(round(x_view), 0).x()
        self.set_split((scene_x - self._bounds.left()) / self._bounds.width())

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        painter = QPainter(self.viewport())
        x = self._divider_x()
        if x is not None:
            top_left = self.mapFromScene(self._bounds.topLeft())
            bottom_right = self.mapFromScene(self._bounds.bottomRight())
            top = max(0.0, float(top_left.y()))
            bottom = min(float(self.viewport().height()), float(bottom_right.y()))
            paint_divider(painter, x, top, bottom, (top + bottom) / 2)
        if self.mode == "side" and not self._bounds.isEmpty():
            paint_tag(painter, "Before", 10, 10)
        text = self._message
        if not text and self.mode in ("wipe", "side") and self.doc and not self.has_result():
            text = "Not restored yet: press Restore (Ctrl+R)"
        if text:
            font = QFont(painter.font())
            font.setPointSizeF(font.pointSizeF() * 1.15)
            painter.setFont(font)
            metrics = painter.fontMetrics()
            w = metrics.horizontalAdvance(text) + 24
            box = QRectF((self.viewport().width() - w) / 2, 14, w, metrics.height() + 12)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 160))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.drawRoundedRect(box, 6, 6)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._start_pan(pos)
            return
        if button == Qt.MouseButton.LeftButton:
            x = self._divider_x()
            if x is not None and (
                abs(pos.x() - x) <= GRAB_DISTANCE
                or (QPointF(x, pos.y()) - pos).manhattanLength() <= HANDLE_RADIUS
            ):
                self._dragging_divider = True
                self._set_split_from_view(pos.x())
                return
            if self.tool == "add" and self.mode == "edit" and not self._bounds.isEmpty():
                self._band_from = self._clamp(self.mapToScene(pos.toPoint()))
                self._band = QGraphicsRectItem(QRectF(self._band_from, self._band_from))
                pen = QPen(SELECTED_COLOUR, 1.5, Qt.PenStyle.DashLine)
                pen.setCosmetic(True)
                self._band.setPen(pen)
                self._band.setBrush(QColor(255, 213, 79, 40))
                self._band.setZValue(1000)
                self.scene().addItem(self._band)
                return
            item = self.itemAt(pos.toPoint())
            if item is None or not isinstance(item, FaceItem | _Handle | _Landmark | _Badge):
                self.scene().clearSelection()
                self._start_pan(pos)
                return
        super().mousePressEvent(event)

    def _start_pan(self, pos: QPointF) -> None:
        self._pan_from = QPointF(pos)
        self.viewport().setCursor(QCursor(Qt.CursorShape.ClosedHandCursor))

    def _clamp(self, p: QPointF) -> QPointF:
        b = self._bounds
        return QPointF(min(max(p.x(), b.left()), b.right()), min(max(p.y(), b.top()), b.bottom()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = QPointF(pos)
            self._fit = False
            self.pan_by(delta.x(), delta.y())
            return
        if self._dragging_divider:
            self._set_split_from_view(pos.x())
            return
        if self._band is not None and self._band_from is not None:
            p = self._clamp(self.mapToScene(pos.toPoint()))
            self._band.setRect(QRectF(self._band_from, p).normalized())
            return
        x = self._divider_x()
        if x is not None and abs(pos.x() - x) <= GRAB_DISTANCE:
            self.viewport().setCursor(QCursor(Qt.CursorShape.SplitHCursor))
        elif self.tool == "add":
            self.viewport().setCursor(QCursor(Qt.CursorShape.CrossCursor))
        elif not event.buttons():
            self.viewport().unsetCursor()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        if self._dragging_divider:
            self._dragging_divider = False
            return
        if self._band is not None:
            rect = self._band.rect().normalized()
            self.cancel_drawing()
            self.set_tool("select")
            if rect.width() >= MIN_BOX and rect.height() >= MIN_BOX:
                box = (rect.left(), rect.top(), rect.right(), rect.bottom())
                self.faceDrawn.emit(tuple(round(v, 2) for v in box))
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Backslash:
            if not event.isAutoRepeat():
                self._flip_pressed_at = time.monotonic()
                self.set_flipped(not self.flipped)
            return
        if key == Qt.Key.Key_Space:
            self._space = True
            if not event.isAutoRepeat():
                self.viewport().setCursor(QCursor(Qt.CursorShape.OpenHandCursor))
            return
        if key == Qt.Key.Key_Escape and (self._band is not None or self.tool == "add"):
            self.cancel_drawing()
            self.set_tool("select")
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            # held for a while: it was a peek, go back; a quick tap keeps the toggle
            if time.monotonic() - self._flip_pressed_at > 0.35:
                self.set_flipped(not self.flipped)
            return
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._space = False
        super().focusOutEvent(event)
