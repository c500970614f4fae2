"""Never lose work: questions before closing, Save writes what is shown (recomposited from the
kept crops, no network), sessions, Detect Faces Again, shortcuts wherever focus is.

Restores use a tiny random-weight checkpoint; the questions are answered by the ``questions``
fixture (tests/gui/conftest.py), which records them.
"""

from __future__ import annotations

import numpy as np
from gui_helpers import open_photo, run, two_faces
from PySide6.QtCore import Qt

from gpen_desktop.core.imageio import load_photo
from gpen_desktop.core.pipeline import composite, pasted_crop
from gpen_desktop.gui.qimage import rgb_from_qimage


def up_to_date(window, doc):
    return doc.composite_key == doc.composite_key_for(window.run_options())


def test_quit_and_close_with_unsaved_work_ask_and_cancel_keeps_everything(
    window, aloop, until, photo, tmp_path, questions
):
    doc = open_photo(window, aloop, until, photo)
    assert not doc.unsaved
    window.close()  # nothing to lose: no question (then the window is shown again)
    assert questions.asked == [] and not window.isVisible()


def test_unsaved_result_asks_on_quit_close_and_close_all(
    window, aloop, until, photo, tmp_path, questions
):
    doc = open_photo(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    assert doc.unsaved
    questions.answers["unsaved"] = "cancel"
    assert not run(aloop, window.quit())
    assert questions.asked == [("unsaved", ["astronaut.png"])]
    assert window.isVisible() and window.worker.is_alive()
    assert window.session.docs == [doc] and doc.has_result
    assert not run(aloop, window.close_photo())
    assert not run(aloop, window.close_all())
    assert window.session.docs == [doc] and doc.has_result and len(questions.asked) == 3
    # a hand edit after saving is unsaved work again
    run(aloop, window.save(path=tmp_path / "out.png"))
    assert not doc.unsaved
    doc.set_face_blend(0, 0.5)
    assert doc.unsaved
    run(aloop, window.save())  # to the same file
    questions.asked.clear()
    assert run(aloop, window.close_photo()) and questions.asked == []
    assert window.session.docs == []


def test_a_running_restore_asks_before_quitting_stops_it(window, aloop, until, photo, questions):
    doc = open_photo(window, aloop, until, photo)
    window.options_panel.batch.setValue(1)
    doc.edit_faces(tuple(doc.faces[0] for _ in range(60)), "many faces")
    task = window.spawn(window.restore_current())
    run(aloop, until(lambda: window.controller.run is not None, 30, "the run"))
    questions.answers["stop_restore"] = False
    window.close()  # asks on the event loop; the run goes on meanwhile
    run(aloop, until(lambda: questions.asked, 10, "the question"))
    run(aloop, until(lambda: window._quitting.done(), 10, "the answer"))
    assert window.isVisible() and window.controller.running
    questions.answers["stop_restore"] = True
    # stops the run; the hand edits are discarded (the fixture's answer)
    assert run(aloop, window.quit())
    assert [q for q, _ in questions.asked] == [
        "stop_restore",
        "stop_restore",
        "unsaved",
    ]
    assert not window.isVisible()
    run(aloop, until(task.done, 30, "the cancelled run"))


def test_save_after_blend_and_exclusion_writes_the_new_composite_without_the_network(
    window, aloop, until, photo, tmp_path, network_runs
):
    doc = two_faces(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    assert network_runs and sum(network_runs) == 2
    network_runs.clear()
    first = load_photo(run(aloop, window.save(path=tmp_path / "a.png"))).pixels

    window.options_panel.blend.setValue(40)  # live: the canvas follows without a restore
    run(aloop, until(lambda: up_to_date(window, doc), 30, "the recomposite"))
    shown = rgb_from_qimage(window.canvas._wipe._pixmap.toImage())
    saved = load_photo(run(aloop, window.save(path=tmp_path / "b.png"))).pixels
    expected = composite(doc.network_result, doc.composite_faces(), window.run_options())
    assert np.array_equal(saved, expected.image.pixels) and not np.array_equal(saved, first)
    assert np.array_equal(shown, saved)  # the live preview is what Save writes

    # the per-face "After" is exactly what is pasted
    fr = doc.face_result(0)
    after = rgb_from_qimage(window.face_panel.compare.after._pixmap.toImage())
    assert np.array_equal(after, pasted_crop(doc.result, fr))

    doc.set_included(1, False)  # Save right away: it waits for the new composite
    excluded = load_photo(run(aloop, window.save(path=tmp_path / "c.png"))).pixels
    faces = doc.composite_faces()
    assert [f.include for f in faces] == [True, False]
    again = composite(doc.network_result, faces, window.run_options()).image.pixels
    assert np.array_equal(excluded, again) and not np.array_equal(excluded, saved)
    assert network_runs == []  # none of it ran the network
    assert not doc.result_is_stale


def test_save_on_a_photo_that_needs_restoring_asks(
    window, aloop, until, photo, tmp_path, questions, network_runs
):
    doc = two_faces(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    network_runs.clear()
    moved = doc.faces[1].with_(box=tuple(v + 6 for v in doc.faces[1].box))
    doc.replace_face(1, moved, "Move face 2")
    assert doc.result_is_stale and "needs restore" in doc.status_text()
    questions.answers["stale_save"] = "cancel"
    assert run(aloop, window.save(path=tmp_path / "x.png")) is None
    assert not (tmp_path / "x.png").exists()
    questions.answers["stale_save"] = "restore"
    written = run(aloop, window.save(path=tmp_path / "x.png"), 120)
    assert written.exists() and network_runs == [1]  # only the moved face ran again
    assert not doc.result_is_stale and not doc.unsaved
    assert [q for q, _ in questions.asked] == ["stale_save", "stale_save"]


def test_a_session_round_trips_and_a_corrupt_sidecar_gets_its_message(
    window, aloop, until, photo, tmp_path, questions
):
    doc = two_faces(window, aloop, until, photo)
    doc.set_face_blend(1, 0.6)
    doc.set_included(0, False)
    window.options_panel.blend.setValue(80)
    faces = doc.faces
    sidecar = run(aloop, window.save_session())
    assert sidecar == photo.with_name("astronaut.png.gpen.json") and not doc.unsaved
    run(aloop, window.restore_current(), 120)
    before = run(aloop, window.save(path=tmp_path / "before.png")).read_bytes()
    assert run(aloop, window.close_all()) and questions.asked == []

    window.options_panel.blend.setValue(100)
    again = open_photo(window, aloop, until, photo)
    assert questions.asked == [("open_session", "astronaut.png")]
    assert again.faces == faces and window.options_panel.blend.value() == 80
    assert again.undo_stack.count() == 0 and not again.unsaved
    run(aloop, window.restore_current(), 120)
    after = run(aloop, window.save(path=tmp_path / "after.png")).read_bytes()
    assert after == before
    assert run(aloop, window.close_all())

    sidecar.write_text('{"format": "gpen-desktop-session", "version": 1, "faces": [')
    broken = open_photo(window, aloop, until, photo)
    assert "Couldn't read the session of astronaut.png" in window.banner.text
    assert broken.detected and broken.faces  # detected as if there were no session


def test_detect_faces_again_keeps_hand_drawn_faces(window, aloop, until, photo, questions):
    doc = open_photo(window, aloop, until, photo)
    detected = doc.faces
    index = run(aloop, window.add_face((330.0, 300.0, 450.0, 430.0)), 60)
    drawn = doc.faces[index]
    assert drawn.manual
    run(aloop, window.detect_again(), 60)  # only a drawn face: kept, nothing to ask
    assert questions.asked == [] and doc.faces == (*detected, drawn)
    doc.replace_face(0, detected[0].with_(box=tuple(v + 5 for v in detected[0].box)), "Move")
    moved = doc.faces
    # the move would be dropped: asked (regression: it was dropped silently); No keeps it
    questions.answers["detect_again"] = False
    run(aloop, window.detect_again(), 60)
    assert questions.names() == ["detect_again"] and doc.faces == moved
    words = questions.calls[-1][1][1]
    assert words == "1 face edit (Move) was made"
    questions.answers["detect_again"] = True
    run(aloop, window.detect_again(), 60)
    assert doc.faces == (*detected, drawn)  # the detector's faces afresh, the drawn one kept
    window.act_undo.trigger()
    assert doc.faces[0] != detected[0]  # one undo step


def test_shortcuts_work_with_focus_in_the_photo_list(window, aloop, until, photo, qtbot):
    doc = open_photo(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    window.activateWindow()
    window.photo_strip.setFocus()
    qtbot.waitUntil(window.photo_strip.hasFocus, timeout=2000)
    doc.select(0)
    qtbot.keyClick(window.photo_strip, Qt.Key.Key_X)
    assert doc.faces[0].include is False
    qtbot.keyPress(window.photo_strip, Qt.Key.Key_Backslash)
    assert window.canvas.flipped  # held: the other side, wherever the focus is
    qtbot.keyRelease(window.photo_strip, Qt.Key.Key_Backslash)
    assert not window.canvas.flipped
    qtbot.keyClick(window.photo_strip, Qt.Key.Key_E)
    assert window.canvas.mode == "edit"


def test_f1_lists_every_shortcut(window):
    from gpen_desktop.gui.actions import shortcut_rows

    rows = dict(shortcut_rows(window.actions_by_name))
    for name, action in window.actions_by_name.items():
        for key in action.shortcuts():
            text = key.toString(key.SequenceFormat.NativeText)
            if not text:  # a standard key this platform has no binding for
                continue
            assert any(text in keys.split(", ") for keys in rows), (name, text)


def test_banners_belong_to_a_photo_and_float_over_it(window, aloop, until, photo, tmp_path):
    import shutil

    other = tmp_path / "other.png"
    shutil.copy(photo, other)
    first = open_photo(window, aloop, until, photo)
    second = open_photo(window, aloop, until, other)
    window.session.set_current(first)
    canvas_rect = window.stack.geometry()
    window.show_message("About this photo", "warning", doc=first)
    assert window.banner.isVisible() and window.stack.geometry() == canvas_rect
    window.session.set_current(second)
    assert not window.banner.isVisible()
    window.show_message("For every photo", "warning")
    window.session.set_current(first)
    assert window.banner.isVisible() and window.banner.text == "For every photo"


def test_right_click_on_a_face_and_on_the_photo(window, aloop, until, photo):
    from PySide6.QtCore import QPoint

    doc = open_photo(window, aloop, until, photo)
    window._face_menu(0, QPoint(10, 10))  # the face's menu: restore it, exclude, delete, reset
    menu = window._context_menu
    texts = [a.text() for a in menu.actions()]
    assert "Exclude" in texts and "Reset Landmarks" in texts and doc.selected == 0
    menu.close()
    window._face_menu(-1, QPoint(10, 10))  # the photo's: add a face here, detect again
    assert window.act_add_face in menu.actions() and window.act_detect_again in menu.actions()
    menu.close()
