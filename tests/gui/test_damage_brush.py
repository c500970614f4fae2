"""The damage brush: marks painted and erased with the mouse, one undo step a stroke, shown as
a translucent overlay, sent with the restore (OpenCV fills the background, pixels away from
marks and faces stay bit-identical), kept in the session sidecar, saved on quit."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from gui_helpers import close_now, open_photo, run
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QUndoStack

from gpen_desktop.core.imageio import load_photo
from gpen_desktop.gui.damage import DamageMarks, brush_step
from gpen_desktop.gui.damage_layer import MARK_ARGB
from gpen_desktop.gui.state import crop_bounds


def marks(width=120, height=80) -> DamageMarks:
    m = DamageMarks()
    m.set_size(width, height)
    return m


def test_a_stroke_paints_round_dabs_along_its_path_and_is_one_undo_step():
    m, stack = marks(), QUndoStack()
    stroke = m.begin(erase=False, size=9)
    for x in range(20, 81, 5):
        stroke.add(x + 0.5, 40.5)
    assert stroke.finish(stack) and stack.count() == 1 and stack.undoText() == "Mark damage"
    a = m.array
    assert a[40, 20:81].all()  # the whole path
    assert a[36:45, 50].all() and not a[34, 50] and not a[46, 50]  # 9 px across
    assert a[40, 16] and not a[40, 14]  # a round end past the first point
    assert not a[:30].any() and not a[52:].any()
    painted = a.copy()
    stack.undo()
    assert m.is_empty() and m.mask() is None
    stack.redo()
    assert np.array_equal(m.array, painted)
    assert m.mask().dtype == bool and m.bounds() == (16, 36, 85, 45)  # 9 px dabs at 20..80


def test_erasing_and_clearing_are_undoable_and_a_no_op_stroke_is_no_step():
    m, stack = marks(), QUndoStack()
    s = m.begin(False, 20)
    s.add(60, 40)
    s.finish(stack)
    full = m.array.copy()
    e = m.begin(erase=True, size=6)
    e.add(60, 40)
    assert e.finish(stack) and stack.undoText() == "Erase damage marks"
    assert not m.array[40, 60] and m.array[40, 52]
    nothing = m.begin(True, 6)
    nothing.add(5, 5)  # erasing where nothing is marked
    assert not nothing.finish(stack) and stack.count() == 2
    assert m.clear(stack) and m.is_empty() and stack.undoText() == "Clear damage marks"
    assert not m.clear(stack)  # nothing left: no step
    stack.undo()
    stack.undo()
    assert np.array_equal(m.array, full)


def test_escape_takes_the_stroke_back_and_diff_bounds_follow_the_marks():
    m, stack = marks(), QUndoStack()
    s = m.begin(False, 4)
    s.add(10, 10)
    s.finish(stack)
    sent = m.mask()
    assert m.diff_bounds(sent) is None
    s = m.begin(False, 4)
    s.add(100, 70)
    assert m.diff_bounds(sent) == (98, 68, 102, 72)
    s.cancel()
    assert np.array_equal(m.array.astype(bool), sent) and m.diff_bounds(sent) is None
    assert m.diff_bounds(None) == m.bounds()


def test_brush_steps_and_limits():
    assert brush_step(24, 1) > 24 > brush_step(24, -1)
    assert brush_step(1, -1) == 1 and brush_step(2, 1) == 3
    assert brush_step(600, 1) == 600


# --------------------------------------------------------------------------- in the window


def drag(qtbot, canvas, points, button=Qt.MouseButton.LeftButton):
    """Press at the first scene point, move through the others, release at the last."""
    vp = canvas.viewport()
    pos = [canvas.mapFromScene(QPointF(*p)) for p in points]
    qtbot.mousePress(vp, button, pos=pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, button, pos=pos[-1])


def test_the_brush_paints_erases_and_undoes_in_the_window(window, qtbot, aloop, until, photo):
    doc = open_photo(window, aloop, until, photo)
    canvas = window.canvas
    assert not window.brush_bar.isVisible() and not window.act_clear_damage.isEnabled()
    window.act_damage_brush.trigger()
    assert canvas.tool == "brush" and window.brush_bar.isVisible()
    assert window.act_damage_brush.isChecked() and not window.act_damage_eraser.isChecked()
    assert "OpenCV Telea" in window.brush_bar.fill_label.text()
    canvas.set_zoom(1.0)
    canvas.centerOn(QPointF(60, 470))
    window.brush_bar.spin.setValue(10)
    assert canvas.brush_size == 10
    window.act_next_face.trigger()  # ]: a larger brush while the brush is the tool
    assert canvas.brush_size == brush_step(10, 1) == 12 and window.brush_bar.slider.value() == 12
    window.act_prev_face.trigger()
    assert canvas.brush_size == 10
    drag(qtbot, canvas, [(20, 470), (60, 470), (100, 470)])
    a = doc.damage.array
    assert a[470, 20:100].all() and not a[480].any() and not a[:460].any()
    assert doc.unsaved and window.act_clear_damage.isEnabled()
    assert doc.undo_stack.undoText() == "Mark damage"
    # the overlay shows the marks in translucent red, over the original only
    image = canvas._damage.image()
    pixels = np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), -1)
    assert pixels[470, 60] == MARK_ARGB and pixels[400, 60] == 0
    assert canvas._damage.isVisible()
    window.set_mode("wipe")  # compare: no marks over it, and the brush is put away
    assert not canvas._damage.isVisible() and canvas.tool == "select"
    assert not window.brush_bar.isVisible() and not window.act_damage_brush.isChecked()
    window.set_mode("edit")
    window.act_damage_brush.trigger()
    assert canvas.tool == "brush" and canvas._damage.isVisible()
    window.act_damage_brush.trigger()  # B again: back to selecting (the bar hides)
    assert canvas.tool == "select" and not window.brush_bar.isVisible()
    window.act_damage_eraser.trigger()  # Shift+B
    assert canvas.tool == "brush" and canvas.brush_erase
    drag(qtbot, canvas, [(60, 470)])
    assert not a[470, 58:62].any() and a[470, 30] and a[470, 90]
    drag(qtbot, canvas, [(40, 440), (40, 446)], Qt.MouseButton.RightButton)  # erases: no change
    assert doc.undo_stack.count() == 2
    window.act_damage_brush.trigger()
    drag(qtbot, canvas, [(200, 440)], Qt.MouseButton.RightButton)  # right button erases
    assert doc.undo_stack.count() == 2
    window.act_undo.trigger()
    assert doc.damage.array[470, 20:100].all()
    window.act_undo.trigger()
    assert doc.damage.is_empty() and not window.act_clear_damage.isEnabled()
    assert canvas._damage.image() is None  # nothing marked: no overlay image
    window.act_redo.trigger()
    window.act_clear_damage.trigger()
    assert doc.damage.is_empty() and doc.undo_stack.undoText() == "Clear damage marks"


def test_escape_while_painting_takes_the_stroke_back(window, qtbot, aloop, until, photo):
    doc = open_photo(window, aloop, until, photo)
    canvas = window.canvas
    window.act_damage_brush.trigger()
    vp = canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(30, 30)))
    qtbot.mouseMove(vp, canvas.mapFromScene(QPointF(80, 30)))
    assert not doc.damage.is_empty()
    qtbot.keyClick(vp, Qt.Key.Key_Escape)
    assert doc.damage.is_empty() and canvas.tool == "brush"
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(80, 30)))
    assert doc.undo_stack.count() == 0
    qtbot.keyClick(vp, Qt.Key.Key_Escape)  # and Esc again puts the brush away
    assert canvas.tool == "select"


def paint(doc, points, size):
    stroke = doc.damage.begin(False, size)
    for p in points:
        stroke.add(*p)
    stroke.finish(doc.undo_stack)


def test_restore_fills_the_marks_and_keeps_every_other_pixel(window, aloop, until, photo):
    doc = open_photo(window, aloop, until, photo)
    original = load_photo(photo).rgb8()
    # a scratch across the bottom-left background, far from the face
    paint(doc, [(20, 470), (120, 480)], 8)
    mask = doc.damage.mask()
    run(aloop, window.restore_current(), 120)
    result = doc.network_result
    assert result.inpainting["background"] == "OpenCV Telea"
    assert result.inpainting["faces_inpainted"] == 0
    out = result.image.rgb8()
    expected = cv2.inpaint(original, mask.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    assert np.array_equal(out[mask], expected[mask])  # the marks are filled by OpenCV
    assert not np.array_equal(out[mask], original[mask])
    away = np.ones(mask.shape, bool)
    away[mask] = False
    cx0, cy0, cx1, cy1 = crop_bounds(doc.face_result(0))  # where the face is pasted
    away[max(0, int(cy0)) : int(cy1) + 2, max(0, int(cx0)) : int(cx1) + 2] = False
    assert away.sum() > 0.5 * away.size
    assert np.array_equal(out[away], original[away])
    x0, y0, x1, y1 = doc.faces[0].box
    assert not doc.result_is_stale and "needs restore" not in doc.status_text()
    # a new mark far from the face: the result needs a restore, the face's crop does not
    paint(doc, [(480, 480)], 6)
    assert doc.result_is_stale and doc.damage_changed()
    assert "damage marks were painted or erased" in doc.status_text()
    assert doc.faces_needing_restore() == [] and doc.needs_restore()
    fx, fy = (x0 + x1) / 2, (y0 + y1) / 2
    paint(doc, [(fx, fy)], 6)  # a mark on the face: its kept crop is out of date too
    assert doc.faces_needing_restore() == [0]
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert not doc.result_is_stale


def test_marks_are_saved_with_the_session_and_come_back(
    window, qtbot, aloop, until, photo, questions
):
    doc = open_photo(window, aloop, until, photo)
    paint(doc, [(30, 40), (90, 60)], 10)
    painted = doc.damage.mask()
    sidecar = run(aloop, window.save_session())
    data = json.loads(sidecar.read_text())
    assert data["damage_mask"] == "astronaut.png.damage.png"
    png = photo.with_name("astronaut.png.damage.png")
    stored = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    assert stored.dtype == np.uint8 and stored.shape == painted.shape
    assert np.array_equal(stored == 255, painted) and set(np.unique(stored)) == {0, 255}
    assert not doc.unsaved
    assert run(aloop, window.close_photo())
    again = open_photo(window, aloop, until, photo)
    assert ("open_session", "astronaut.png") in questions.asked
    assert np.array_equal(again.damage.mask(), painted) and again.undo_stack.count() == 0
    assert not again.unsaved
    # cleared and saved again: the sidecar says no mask and the app's own file is gone
    window.clear_damage()
    assert again.unsaved
    run(aloop, window.save_session())
    assert json.loads(sidecar.read_text())["damage_mask"] is None and not png.exists()


def test_a_broken_session_mask_is_a_warning_and_the_faces_still_open(window, aloop, until, photo):
    doc = open_photo(window, aloop, until, photo)
    paint(doc, [(30, 40)], 10)
    run(aloop, window.save_session())
    assert run(aloop, window.close_photo())
    photo.with_name("astronaut.png.damage.png").write_bytes(b"not a png")
    again = open_photo(window, aloop, until, photo)
    assert again.faces and again.damage.is_empty()
    assert "damage mask" in window.banner.text


def test_quit_with_marks_saves_them_in_the_session(
    window, aloop, until, photo, questions, qapp, request
):
    quits = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    request.addfinalizer(lambda: qapp.setQuitOnLastWindowClosed(quits))
    doc = open_photo(window, aloop, until, photo)
    paint(doc, [(30, 40)], 10)
    assert doc.unsaved
    questions.answers["unsaved"] = "save"
    window.close()
    run(aloop, until(lambda: not window.isVisible(), 60, "the window to close"))
    assert photo.with_name("astronaut.png.damage.png").is_file()


@pytest.mark.parametrize("size", [4, 40])
def test_the_brush_outline_follows_the_pointer(window, qtbot, aloop, until, photo, size):
    from PySide6.QtCore import QEvent

    open_photo(window, aloop, until, photo)
    canvas = window.canvas
    window.act_damage_brush.trigger()
    canvas.set_brush(size=size)
    qtbot.wait(50)  # the brush bar's row has settled the canvas's size
    vp = canvas.viewport()
    qtbot.mouseMove(vp, QPoint(150, 160))
    qtbot.mouseMove(vp, QPoint(200, 200))
    assert canvas._brush_at == QPointF(200, 200)

    def grab() -> np.ndarray:
        image = canvas.grab().toImage().convertToFormat(image_format())
        return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4).copy()

    with_ring = grab()
    canvas.leaveEvent(QEvent(QEvent.Type.Leave))
    assert canvas._brush_at is None
    without = grab()
    ys, xs = np.nonzero((with_ring != without).any(axis=2))
    dist = np.hypot(xs - 200, ys - 200)
    r = max(2.0, size * canvas.zoom / 2)
    assert len(dist) and abs(np.median(dist) - r) < 2.5 and dist.max() < r + 4


def image_format():
    from PySide6.QtGui import QImage

    return QImage.Format.Format_RGBA8888


def test_the_filling_options_matter_only_where_damage_is_marked(qapp):
    import dataclasses

    from gpen_desktop.core.pipeline import RestoreOptions
    from gpen_desktop.gui.state import PhotoDoc

    doc = PhotoDoc(name="x")
    doc.damage.set_size(50, 40)
    doc.result_options = RestoreOptions()
    other = dataclasses.replace(RestoreOptions(), inpaint_method="ns", inpaint_model="/w/i.pth")
    assert not doc.options_changed(other)  # nothing marked: a new inpainting model is no matter
    paint(doc, [(10, 10)], 4)
    assert doc.options_changed(other)
    assert doc.options_changed(dataclasses.replace(RestoreOptions(), inpaint_mode="inpaint"))


def test_marks_on_a_face_go_through_the_gpen_inpainting_model_when_present(
    qtbot, aloop, until, photo, tmp_path, tiny_checkpoint
):
    import shutil

    from gui_helpers import make_window

    from gpen_desktop.core.gpen import random_checkpoint

    folder = tmp_path / "old-weights"
    folder.mkdir()
    shutil.copy(tiny_checkpoint, folder / "tiny-64.pth")
    random_checkpoint(folder / "tiny-inpainting-64.pth", 64, seed=5)
    window = make_window(qtbot, aloop, until, folder)
    try:
        doc = open_photo(window, aloop, until, photo)
        window.act_damage_brush.trigger()
        text = window.brush_bar.fill_label.text()
        assert text == "Faces: tiny-inpainting-64, then restored · rest: OpenCV Telea"
        x0, y0, x1, y1 = doc.faces[0].box
        cy = (y0 + y1) / 2
        drag(qtbot, window.canvas, [(x0 + 5, cy), ((x0 + x1) / 2, cy), (x1 - 5, cy)])
        drag(qtbot, window.canvas, [(30, 480), (90, 490)])
        run(aloop, window.restore_current(), 120)
        info = doc.network_result.inpainting
        from gpen_desktop.core.models import inspect_model_file

        inpainter = inspect_model_file(folder / "tiny-inpainting-64.pth").name
        assert info["faces_inpainted"] == 1 and info["faces"] == inpainter  # not OpenCV
        assert info["background"] == "OpenCV Telea"
        assert not doc.result_is_stale
    finally:
        close_now(window)
        window.deleteLater()


def test_an_undo_step_keeps_only_its_rectangle_as_packed_bits():
    m, stack = marks(4000, 3000), QUndoStack()
    s = m.begin(False, 12)
    s.add(100, 100)
    s.add(3900, 2900)  # corner to corner across a 12 MP photo
    s.finish(stack)
    command = stack.command(0)
    x0, y0, x1, y1 = command.rect
    assert command._before.nbytes <= (x1 - x0) * (y1 - y0) // 8 + 1
    assert np.array_equal(command.after, m.array[y0:y1, x0:x1])
    stack.undo()
    assert m.is_empty()
