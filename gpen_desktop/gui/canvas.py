"""The photo canvas: zoom and pan, editable face boxes and landmarks, wipe compare.

Scene coordinates are photo pixels (the original photo's pixmap sits at the origin, scale 1),
so a :class:`~gpen_desktop.core.types.Face` maps onto the scene without conversion.

Edits are not applied to the document here: a finished drag emits ``faceEdited(index, face,
text)`` and a drawn box ``faceDrawn(box)``; the window turns them into undoable commands and
the document's ``facesChanged`` comes back to :meth:`CanvasView.sync_faces`.

Modes: ``edit`` (faces over the original), ``wipe`` (restored photo right of a draggable
divider), ``side`` (the original here, the restored photo in a mirrored view beside it).
Holding Backslash shows the other side in every mode (After over Before, Before over After);
the canvas always says which one it shows.

Tools: ``select`` (click and drag faces, drag the photo to pan), ``add`` (drag a box around a
face the detector missed) and ``brush`` (paint damage marks over scratches and tears with the
left button, erase them with the right button or with :attr:`CanvasView.brush_erase`; each
stroke is one undo step on the photo's stack, see :mod:`gpen_desktop.gui.damage`).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from gpen_desktop.gui.canvas_items import (
    MIN_BOX,
    SELECTED_COLOUR,
    FaceItem,
    WipeLayer,
)
from gpen_desktop.gui.damage import MAX_BRUSH, MIN_BRUSH, Stroke
from gpen_desktop.gui.damage_layer import DamageLayer
from gpen_desktop.gui.overlay import (
    GRAB_DISTANCE,
    HANDLE_RADIUS,
    paint_divider,
    paint_note,
    paint_tag,
)
from gpen_desktop.gui.state import DocBinding, PhotoDoc

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


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
    faceMenuRequested = Signal(int, object)  # face index (-1: the photo), global QPoint
    brushChanged = Signal(int, bool)  # brush size (photo px), erasing

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
        self._syncing = False
        self._face_items: list[FaceItem] = []
        self._bounds = QRectF()
        self._before = self.scene().addPixmap(QPixmap())
        self._before.setZValue(0)
        self._split = 0.5
        self._damage = DamageLayer()
        self._damage.setZValue(0.5)  # over the original, under the restored photo
        self.scene().addItem(self._damage)
        self.brush_size = 24
        self.brush_erase = False
        self._stroke: Stroke | None = None
        self._brush_at: QPointF | None = None  # viewport point of the brush outline
        self._wipe = WipeLayer()
        self._wipe.setZValue(1)
        self.scene().addItem(self._wipe)
        self.scene().selectionChanged.connect(self._on_scene_selection)
        self.horizontalScrollBar().valueChanged.connect(self._emit_view_changed)
        self.verticalScrollBar().valueChanged.connect(self._emit_view_changed)
        self._message = ""

    # ------------------------------------------------------------------ document binding
    def set_document(self, doc: PhotoDoc | None) -> None:
        self.cancel_drawing()
        self._binding.bind(doc)
        self.doc = doc
        self._damage.set_marks(doc.damage if doc is not None else None)
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
                for i, (item, face) in enumerate(zip(self._face_items, faces, strict=True)):
                    item.set_face(face, self.doc.number(i))
            else:
                for item in self._face_items:
                    self.scene().removeItem(item)
                    item.deleteLater()
                self._face_items = []
                for i, face in enumerate(faces):
                    item = FaceItem(i, face, self._bounds, self.doc.number(i))
                    item.set_view_scale(self.zoom)
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
        """Show the other side while Backslash is held: the result in edit and side-by-side
        mode, the whole original in wipe mode."""
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
        else:
            # flipped in edit or side mode: the restored photo covers the original entirely
            self._wipe.setVisible(has_after and self.flipped)
            self._wipe.set_split(0.0)
        faces = self.mode == "edit"
        self._damage.setVisible(faces)
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
        if tool not in ("select", "add", "brush"):
            raise ValueError(tool)
        if tool != self.tool:
            self.cancel_drawing()
            self.tool = tool
            if tool in ("add", "brush"):
                self.set_mode("edit")
                if self.flipped:
                    self.set_flipped(False)  # paint and draw over the original
            self._tool_cursor()
            if tool != "brush":
                self._brush_at = None
            self.viewport().update()
            self.toolChanged.emit(tool)

    def _tool_cursor(self) -> None:
        drawing = self.tool in ("add", "brush")
        shape = Qt.CursorShape.CrossCursor if drawing else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(QCursor(shape))

    def set_brush(self, size: int | None = None, erase: bool | None = None) -> None:
        """Brush diameter in photo pixels (clamped) and whether it erases."""
        if size is not None:
            self.brush_size = int(min(MAX_BRUSH, max(MIN_BRUSH, round(size))))
        if erase is not None:
            self.brush_erase = bool(erase)
        self.viewport().update()
        self.brushChanged.emit(self.brush_size, self.brush_erase)

    def cancel_drawing(self) -> None:
        if self._band is not None:
            self.scene().removeItem(self._band)
            self._band = None
        self._band_from = None
        if self._stroke is not None:
            stroke, self._stroke = self._stroke, None
            stroke.cancel()

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
        self._damage.smooth = quality == Qt.TransformationMode.SmoothTransformation
        self._wipe.smooth = quality == Qt.TransformationMode.SmoothTransformation
        for item in self._face_items:
            item.set_view_scale(self.zoom)
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
        """Move the picture by (dx, dy) viewport pixels (a photo that fits stays centred)."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(round(h.value() - dx))
        v.setValue(round(v.value() - dy))
        self.keep_in_view()

    def _fits(self) -> bool:
        view = self.mapToScene(self.viewport().rect()).boundingRect()
        b = self._bounds
        return b.width() <= view.width() + 1 and b.height() <= view.height() + 1

    def keep_in_view(self) -> None:
        """Centre the photo when it fits the view (it cannot be dragged off-screen)."""
        if not self._bounds.isEmpty() and self._fits():
            self.centerOn(self._bounds.center())

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
        side = self.shown_side()
        if side and x is None:  # (the wipe divider carries its own Before | After tags)
            paint_tag(painter, side, 10, 10)
        text = self._message
        if not text and self.mode in ("wipe", "side") and self.doc and not self.has_result():
            text = "Not restored yet: press Restore (Ctrl+R)"
        if text:
            paint_note(painter, text, self.viewport().width())
        if self.tool == "brush" and self._brush_at is not None and self.mode == "edit":
            self._paint_brush_outline(painter, self._brush_at)
        painter.end()

    def _paint_brush_outline(self, painter: QPainter, at: QPointF) -> None:
        """The brush's footprint at the pointer: a light ring inside a dark one (visible on
        any photo), dashed while erasing."""
        r = max(2.0, self.brush_size * self.zoom / 2.0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        style = Qt.PenStyle.DashLine if self.brush_erase else Qt.PenStyle.SolidLine
        rings = ((QColor(0, 0, 0, 170), r + 1, 3.0), (QColor(255, 255, 255, 230), r, 1.2))
        for colour, radius, width in rings:
            painter.setPen(QPen(colour, width, style))
            painter.drawEllipse(at, radius, radius)

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._start_pan(pos)
            return
        if button == Qt.MouseButton.RightButton and self._start_stroke(pos, erase=True):
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
            if self._start_stroke(pos, erase=self.brush_erase):
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
            if self.face_index_at(pos) < 0:
                self.scene().clearSelection()
                self._start_pan(pos)
                return
        super().mousePressEvent(event)

    def _start_stroke(self, pos: QPointF, erase: bool) -> bool:
        """Begin a damage stroke at viewport ``pos`` when the brush is the tool."""
        doc = self.doc
        if self.tool != "brush" or self.mode != "edit" or doc is None or self._bounds.isEmpty():
            return False
        if self._stroke is not None:
            return True
        self._stroke = doc.damage.begin(erase, self.brush_size)
        if self._stroke is None:
            return False
        self._stroke_point(pos)
        return True

    def _stroke_point(self, pos: QPointF) -> None:
        p = self.viewportTransform().inverted()[0].map(QPointF(pos))  # sub-pixel scene point
        self._stroke.add(p.x(), p.y())

    def _finish_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is not None and self.doc is not None:
            stroke.finish(self.doc.undo_stack)

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
        if self.tool == "brush":
            self._brush_at = QPointF(pos)
            if self._stroke is not None:
                self._stroke_point(pos)
            self.viewport().update()
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
        if self._stroke is not None:
            self._finish_stroke()
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
    def event(self, event) -> bool:  # noqa: A003 - Qt's name
        # With the focus here, backslash (hold to peek) and space (pan) are the canvas's own
        # keys; elsewhere in the window the backslash action toggles before/after.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in (
            Qt.Key.Key_Backslash,
            Qt.Key.Key_Space,
        ):
            event.accept()
            return True
        return super().event(event)

    def face_index_at(self, pos) -> int:
        """The face under viewport point ``pos`` (its box, or a shown handle, landmark dot or
        number badge), or -1. The topmost face wins (the selected one is drawn on top).

        It walks the canvas's own face items instead of asking the scene (``itemAt``): the
        scene hands a QGraphicsObject back as a plain QGraphicsItem pointer, for which PySide
        may make a second wrapper, and collecting such wrappers has crashed the process."""
        point = QPointF(pos)
        view = self.viewportTransform()
        for item in sorted(self._face_items, key=lambda i: i.zValue(), reverse=True):
            if not item.isVisible():
                continue
            for part in item.parts():
                if part.isVisible() and part.deviceTransform(view).map(part.shape()).contains(
                    point
                ):
                    return item.index
        return -1

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        if self.mode != "edit" or self._bounds.isEmpty() or self.tool == "brush":
            return  # the brush's right button erases
        where = QPoint(event.globalPos())  # a copy: the event's own point dies with it
        self.faceMenuRequested.emit(self.face_index_at(event.pos()), where)

    def shown_side(self) -> str:
        """What the canvas shows, as its tag reads: "Before", "After", "" (nothing, or the
        wipe's divider with both)."""
        if self.doc is None or self._bounds.isEmpty():
            return ""
        if self.mode == "wipe" and self._wipe.isVisible():
            return ""
        return "After" if self._wipe.isVisible() else "Before"

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Backslash:
            if not event.isAutoRepeat():
                self.set_flipped(True)  # hold to see the other side
            return
        if key == Qt.Key.Key_Space:
            self._space = True
            if not event.isAutoRepeat():
                self.viewport().setCursor(QCursor(Qt.CursorShape.OpenHandCursor))
            return
        if key == Qt.Key.Key_Escape and self._stroke is not None:
            self.cancel_drawing()  # the stroke so far is taken back; the brush stays
            return
        if key == Qt.Key.Key_Escape and (self._band is not None or self.tool in ("add", "brush")):
            self.cancel_drawing()
            self.set_tool("select")
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            self.set_flipped(False)
            return
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._space = False
        self.set_flipped(False)  # a release that goes elsewhere never leaves it flipped
        super().focusOutEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self._brush_at is not None:
            self._brush_at = None
            self.viewport().update()
        super().leaveEvent(event)
