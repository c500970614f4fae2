"""At fit zoom on a group photo the labels stay off the faces: the number badge sits outside
its box (above the top-left corner) at a size that shrinks with the face on screen, and the
landmark dots show only on the selected or hovered face. Checked on the item geometry in
viewport pixels (no hit-testing)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtWidgets import QGraphicsSceneHoverEvent

from gpen_desktop.core.types import Face, Photo
from gpen_desktop.gui.canvas import CanvasView
from gpen_desktop.gui.canvas_items import BadgeItem, HandleItem
from gpen_desktop.gui.qimage import display_images
from gpen_desktop.gui.state import PhotoDoc

ROWS, COLS, SIDE = 3, 10, 90  # a 30-face class photo: faces of 90 px in 200 px cells


def group_faces() -> list[Face]:
    faces = []
    for r in range(ROWS):
        for c in range(COLS):
            x0, y0 = 60 + 200 * c, 80 + 300 * r
            lm = (
                (x0 + 30, y0 + 38),
                (x0 + 60, y0 + 38),
                (x0 + 45, y0 + 55),
                (x0 + 33, y0 + 72),
                (x0 + 57, y0 + 72),
            )
            faces.append(Face(box=(x0, y0, x0 + SIDE, y0 + SIDE), landmarks=lm))
    return faces


@pytest.fixture
def canvas(qtbot):
    rng = np.random.default_rng(0)
    photo = Photo(rng.integers(0, 255, (900, 2000, 3), dtype=np.uint8))
    doc = PhotoDoc(name="group.png")
    doc.set_loaded(photo, *display_images(photo))
    doc.set_detected(group_faces())
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_document(doc)
    view.fit()
    yield view, doc
    view.set_document(None)


def on_screen(view, item, rect: QRectF | None = None) -> QRectF:
    """An item's bounding rect (or ``rect`` in its coordinates) in viewport pixels (items
    that ignore the zoom included)."""
    rect = item.boundingRect() if rect is None else rect
    return item.deviceTransform(view.viewportTransform()).mapRect(rect)


def box_on_screen(view, face_item) -> QRectF:
    return view.mapFromScene(face_item.box).boundingRect().toRectF()


def test_badges_sit_outside_their_boxes_and_stay_small_at_fit_zoom(canvas):
    view, doc = canvas
    items = view.face_items
    assert len(items) == ROWS * COLS
    face_px = SIDE * view.zoom
    assert face_px < 50  # fit zoom makes these faces small on screen
    boxes = [box_on_screen(view, item) for item in items]
    for item, box in zip(items, boxes, strict=True):
        badge = next(c for c in item.childItems() if isinstance(c, BadgeItem))
        rect = on_screen(view, badge)
        assert not rect.intersects(box), (item.number, rect, box)
        assert rect.bottom() <= box.top() and abs(rect.left() - box.left()) < 1.5
        assert rect.height() <= max(BadgeItem.MIN_HEIGHT, 0.3 * face_px) + 0.5
        assert not any(rect.intersects(other) for other in boxes)  # nor any other face
    # the selected face's resize handles shrink too (they would hide a small face)
    doc.select(0)
    handles = [c for c in items[0].childItems() if isinstance(c, HandleItem)]
    assert len(handles) == 8 and all(h.isVisible() for h in handles)
    for handle in handles:
        side = on_screen(view, handle, handle.rect()).width()  # without the pen
        assert side <= max(HandleItem.MIN_SIDE, face_px / 5) + 0.5
    # zoomed in, the badge grows back to its full size (and still stays off the box)
    view.set_zoom(1.0)
    item = items[0]
    badge = next(c for c in item.childItems() if isinstance(c, BadgeItem))
    rect = on_screen(view, badge)
    assert rect.height() == pytest.approx(BadgeItem.MAX_HEIGHT)
    assert not rect.intersects(box_on_screen(view, item))
    assert all(on_screen(view, h, h.rect()).width() == HandleItem.MAX_SIDE for h in handles)


def test_landmarks_only_on_the_selected_or_hovered_face(canvas):
    view, doc = canvas
    items = view.face_items

    def shown(item):
        dots = [c for c in item.childItems() if c.toolTip()]  # the 5 landmark dots
        assert len(dots) == 5
        return [d.isVisible() for d in dots]

    doc.select(4)
    assert shown(items[4]) == [True] * 5 and items[4].landmarks_shown()
    hidden = [i for i, item in enumerate(items) if not any(shown(item))]
    assert hidden == [i for i in range(len(items)) if i != 4]

    hover = QGraphicsSceneHoverEvent(QEvent.Type.GraphicsSceneHoverEnter)
    items[7].hoverEnterEvent(hover)
    assert all(shown(items[7])) and all(shown(items[4]))
    items[7].hoverLeaveEvent(QGraphicsSceneHoverEvent(QEvent.Type.GraphicsSceneHoverLeave))
    assert not any(shown(items[7]))

    doc.select(7)  # selection moves the dots along
    assert all(shown(items[7])) and not any(shown(items[4]))
    # after an edit (excluding face 3 selects it) only the selected face still shows them
    doc.set_included(2, False)
    assert doc.selected == 2
    visible = [i for i, item in enumerate(view.face_items) if any(shown(item))]
    assert visible == [2]


def test_face_index_at_finds_the_face_under_a_viewport_point(canvas):
    """What the right-click menu acts on: the face whose box, landmark dot or badge is under
    the point, -1 for the photo around the faces."""
    view, doc = canvas
    items = view.face_items
    for i in (0, 13, len(items) - 1):
        centre = view.mapFromScene(items[i].box.center())
        assert view.face_index_at(centre) == i
    doc.select(5)  # its landmark dots are shown: a dot is a child of the face item
    dot = next(c for c in items[5].childItems() if c.toolTip() and c.isVisible())
    assert view.face_index_at(view.mapFromScene(dot.scenePos())) == 5
    badge = next(c for c in items[7].childItems() if isinstance(c, BadgeItem))
    label = on_screen(view, badge).center().toPoint()
    assert view.face_index_at(label) == 7
    between = (
        items[0].box.bottomRight() + (items[11].box.topLeft() - items[0].box.bottomRight()) / 2
    )
    assert view.face_index_at(view.mapFromScene(between)) == -1  # the photo between faces
