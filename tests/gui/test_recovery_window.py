"""Crash recovery in the window (in-process): copies are written after edits and removed by
Save, Discard and a clean quit; the start-up offer (Recover / Discard / Later) as a real
non-modal dialog; Recover brings back faces, marks, options and the composite without the
network; a changed photo is offered with a warning and its kept faces left out.

The subprocess tests that kill a real app are in test_recovery_crash.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from gui_helpers import close_now, make_window, open_photo, run
from PySide6.QtWidgets import QApplication

from gpen_desktop.core import recovery as core_recovery
from gpen_desktop.gui.dialogs.recovery import RecoveryDialog, describe, when
from gpen_desktop.gui.recovery import recovery_root, wait_written


def _copies(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != "owners")


def _written(window, aloop, until):
    keeper = window.recovery
    keeper.flush_now()
    run(aloop, wait_written(keeper))
    return _copies(keeper.root)


def _edit(window, aloop, until, doc):
    """Restore, then a mark and a blend (the composite kept up to date)."""
    run(aloop, window.restore_current(), 120)
    stroke = doc.damage.begin(False, 7)
    stroke.add(30.0, 40.0)
    stroke.add(80.0, 60.0)
    stroke.finish(doc.undo_stack)
    window.options_panel.blend.setValue(55)
    run(aloop, until(lambda: doc.composite_key == doc.composite_key_for(window.run_options(doc))))


def _crash(window) -> None:
    """As if the app died: its copies stay and its lock is free (then the window goes)."""
    keeper = window.recovery
    keeper._folders.clear()
    keeper._lock.unlock()
    keeper._lock = None
    close_now(window)


def test_the_dialog_lists_names_times_and_plain_warnings(qtbot):
    now = time.time()
    copies = [
        SimpleNamespace(name="a.jpg", photo="/p/a.jpg", saved_at=now, faces=3, has_result=True,
                        photo_state="same", note=""),
        SimpleNamespace(name="b.jpg", photo="/p/b.jpg", saved_at=now - 86400, faces=1,
                        has_result=False, photo_state="changed",
                        note="the photo b.jpg has changed since this copy was made: …"),
        SimpleNamespace(name="c.jpg", photo="/p/c.jpg", saved_at=now - 200, faces=0, has_result=False,
                        photo_state="gone", note="the photo is no longer at /p/c.jpg"),
    ]  # fmt: skip
    dialog = RecoveryDialog(copies)
    qtbot.addWidget(dialog)
    rows = dialog.rows()  # newest first
    assert rows[0] == f"a.jpg — {when(now)} · 3 faces, restored"
    assert rows[0].startswith("a.jpg — today ") and "⚠" not in rows[0]
    assert "⚠ The photo is no longer at /p/c.jpg: this copy is kept" in rows[1]
    assert rows[2].startswith("b.jpg — yesterday ")
    assert "\n⚠ The photo b.jpg has changed" in rows[2]
    assert not dialog.isModal() and dialog.recover_button.isEnabled()
    assert when(now - 40 * 86400, now).count(" ") == 3  # "3 Nov 2026 18:40"
    for button, answer in (
        (dialog.discard_button, "discard"),
        (dialog.recover_button, "recover"),
        (dialog.later_button, "later"),
    ):
        dialog.show()
        button.click()
        assert dialog.answer == answer and not dialog.isVisible()
    gone = RecoveryDialog([copies[2]])
    qtbot.addWidget(gone)
    assert not gone.recover_button.isEnabled()  # nothing there to open
    assert describe(copies[2]).startswith("c.jpg — ")


def test_the_offer_is_a_real_non_modal_window_that_answers(qtbot, aloop, until, monkeypatch):
    monkeypatch.undo()  # the real Questions
    from gpen_desktop.gui.questions import Questions

    copy = SimpleNamespace(name="a.jpg", photo="/p/a.jpg", saved_at=time.time(), faces=1,
                           has_result=False, photo_state="same", note="")  # fmt: skip
    for label, answer in (("Recover", "recover"), ("Discard", "discard"), ("Later", "later")):
        task = aloop.create_task(Questions().recover([copy]))

        def shown():
            return next(
                (w for w in QApplication.topLevelWidgets()
                 if isinstance(w, RecoveryDialog) and w.isVisible()), None,
            )  # fmt: skip

        run(aloop, until(lambda: shown() is not None, 10, "the offer"))
        dialog = shown()
        assert not dialog.isModal()
        next(b for b in (dialog.recover_button, dialog.discard_button, dialog.later_button)
             if b.text() == label).click()  # fmt: skip
        assert run(aloop, task) == answer


def test_a_copy_follows_unsaved_work_and_save_removes_it(window, aloop, until, photo, tmp_path):
    assert window.recovery.root == recovery_root() == tmp_path / "recovery"
    doc = open_photo(window, aloop, until, photo)
    assert _written(window, aloop, until) == []  # nothing unsaved: no copy
    _edit(window, aloop, until, doc)
    [copy] = _written(window, aloop, until)
    manifest = core_recovery.read_manifest(copy)
    assert manifest["photo"] == str(photo) and manifest["files"]["result"]
    assert manifest["files"]["damage"] and manifest["owner"] == window.recovery.owner
    run(aloop, window.save(path=tmp_path / "out.png"))
    assert not doc.unsaved
    assert _written(window, aloop, until) == []
    doc.set_face_blend(0, 0.2)  # unsaved again: a copy again
    assert len(_written(window, aloop, until)) == 1


def test_discard_and_a_clean_quit_leave_no_copy(qtbot, aloop, until, weights, photo, tmp_path):
    window = make_window(qtbot, aloop, until, weights)
    root = window.recovery.root
    try:
        doc = open_photo(window, aloop, until, photo)
        doc.set_face_blend(0, 0.4)
        assert len(_written(window, aloop, until)) == 1
        assert run(aloop, window.close_photo())  # the fixture answers "Discard"
        run(aloop, until(lambda: _copies(root) == [], 10, "the removal"))
        doc = open_photo(window, aloop, until, photo)
        doc.set_face_blend(0, 0.3)
        assert len(_written(window, aloop, until)) == 1
    finally:
        close_now(window)  # Quit, discarding
    assert _copies(root) == []
    assert not list((root / "owners").iterdir())  # the lock went too


def test_recover_brings_the_work_back_without_the_network(
    qtbot, aloop, until, weights, photo, questions, network_runs
):
    first = make_window(qtbot, aloop, until, weights)
    try:
        doc = open_photo(first, aloop, until, photo)
        _edit(first, aloop, until, doc)
        x0, y0, x1, y1 = doc.faces[0].box
        doc.add_face(doc.faces[0].with_(box=(x0 + 200, y0, x1 + 200, y1), manual=True))
        [copy] = _written(first, aloop, until)
        kept_file = core_recovery.read_manifest(copy)["files"]["result"]
        before = (
            doc.faces, doc.numbers, doc.damage.mask(), first.run_options(doc).blend,
            doc.result.image.pixels.copy(),
        )  # fmt: skip
    finally:
        _crash(first)
    network_runs.clear()
    second = make_window(qtbot, aloop, until, weights)
    try:
        questions.answers["recover"] = "later"
        assert run(aloop, second.offer_recovery()) == "later"
        assert second.session.docs == [] and _copies(second.recovery.root) == [copy]
        questions.answers["recover"] = "recover"
        assert run(aloop, second.offer_recovery()) == "recover"
        [offered] = [arg for name, arg in questions.asked if name == "recover"][-1:]
        assert [c.name for c in offered] == ["astronaut.png"]
        doc = second.session.current
        run(aloop, until(lambda: doc.composite_key == doc.composite_key_for(
            second.run_options(doc)), 30, "the composite"))  # fmt: skip
        assert doc.faces == before[0] and doc.numbers == before[1]
        assert np.array_equal(doc.damage.mask(), before[2])
        assert second.run_options(doc).blend == before[3] == 0.55
        assert np.array_equal(doc.result.image.pixels, before[4])
        assert network_runs == [] and doc.unsaved
        assert doc.faces[1].manual and doc.needs_restore()  # the added face still needs it
        assert "Recovered the unsaved work of astronaut.png" in second.banner.text
        # the copy is this app's now: written on, offered to no one else
        assert core_recovery.read_manifest(copy)["owner"] == second.recovery.owner
        assert run(aloop, second.recovery.orphans()) == []
        doc.set_face_blend(0, 0.25)  # its next copy names the kept restore, not writes it again
        assert _written(second, aloop, until) == [copy]
        assert core_recovery.read_manifest(copy)["files"]["result"] == kept_file
    finally:
        close_now(second)
    assert _copies(second.recovery.root) == []


def test_discard_at_the_offer_deletes_the_copies(qtbot, aloop, until, weights, photo, questions):
    first = make_window(qtbot, aloop, until, weights)
    doc = open_photo(first, aloop, until, photo)
    doc.set_face_blend(0, 0.5)
    [copy] = _written(first, aloop, until)
    _crash(first)
    second = make_window(qtbot, aloop, until, weights)
    try:
        questions.answers["recover"] = "discard"
        assert run(aloop, second.offer_recovery()) == "discard"
        assert not copy.exists() and second.session.docs == []
        assert run(aloop, second.offer_recovery()) == ""  # nothing left to offer
    finally:
        close_now(second)


def test_a_changed_photo_is_offered_with_a_warning_and_not_applied_blindly(
    qtbot, aloop, until, weights, photo, questions, network_runs
):
    first = make_window(qtbot, aloop, until, weights)
    doc = open_photo(first, aloop, until, photo)
    _edit(first, aloop, until, doc)
    faces = doc.faces
    _written(first, aloop, until)
    _crash(first)
    photo.write_bytes(photo.read_bytes() + b"\0")  # another file under the same name
    network_runs.clear()
    second = make_window(qtbot, aloop, until, weights)
    try:
        questions.answers["recover"] = "recover"
        run(aloop, second.offer_recovery())
        [offered] = [arg for name, arg in questions.asked if name == "recover"]
        assert offered[0].photo_state == "changed"
        assert "⚠ The photo astronaut.png has changed" in describe(offered[0])
        doc = second.session.current
        assert doc.faces == faces and not doc.has_result and doc.unsaved
        assert "restored faces were made from another version" in second.banner.text
        assert network_runs == []
    finally:
        close_now(second)


def test_a_copy_of_a_photo_that_is_gone_stays_for_later(
    qtbot, aloop, until, weights, photo, questions
):
    first = make_window(qtbot, aloop, until, weights)
    doc = open_photo(first, aloop, until, photo)
    doc.set_face_blend(0, 0.5)
    [copy] = _written(first, aloop, until)
    _crash(first)
    photo.unlink()
    second = make_window(qtbot, aloop, until, weights)
    try:
        questions.answers["recover"] = "recover"
        run(aloop, second.offer_recovery())
        assert second.session.docs == [] and copy.exists()
        assert "its recovery copy is kept" in second.banner.text
    finally:
        close_now(second)
    assert copy.exists()  # not this app's: a clean quit leaves it for the next start


def test_no_copy_is_written_during_a_brush_stroke(window, aloop, until, photo):
    doc = open_photo(window, aloop, until, photo)
    keeper = window.recovery
    keeper.delay_ms = 50
    canvas = window.canvas
    canvas.set_tool("brush")
    canvas._stroke = doc.damage.begin(False, 5)  # a stroke in progress
    canvas._stroke.add(10.0, 10.0)
    doc.set_face_blend(0, 0.5)
    run(aloop, until(lambda: not keeper._dirty or keeper._timer.isActive(), 5))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.4:
        QApplication.processEvents()
        time.sleep(0.02)
    assert keeper.writes == 0 and keeper._dirty  # waiting for the stroke to end
    canvas._finish_stroke()
    run(aloop, until(lambda: keeper.writes == 1, 10, "the copy after the stroke"))
