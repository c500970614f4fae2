"""The identity check per face: after a restore the face panel says, in plain words, whether
the restored face still looks like the person (dlib's descriptor distance between the aligned
input and the restored crop, against dlib's 0.6 same-person limit), computed off the GUI
thread in the worker's I/O pool."""

from __future__ import annotations

import threading

import pytest
from gui_helpers import open_photo, run, two_faces

from gpen_desktop.core import metrics
from gpen_desktop.gui import theme
from gpen_desktop.gui.jobs import IdentityCheck
from gpen_desktop.gui.panels.face_panel import identity_text


def test_identity_words_follow_distance_and_threshold():
    assert metrics.IDENTITY_THRESHOLD == 0.6
    same, warn = identity_text(IdentityCheck(0.312, 0.6))
    assert same == "Looks like the same person (distance 0.31)" and not warn
    text, warn = identity_text(IdentityCheck(0.72, 0.6))
    assert warn and text == (
        "May no longer look like this person (distance 0.72, same-person limit 0.60) — "
        "try a lower blend or another model"
    )
    text, warn = identity_text(IdentityCheck(None, 0.6, "dlib found no face in the crop"))
    assert text == "Couldn't check the likeness: dlib found no face in the crop" and not warn
    assert "\n" not in text


def test_face_panel_shows_the_identity_check_of_a_restored_face(
    window, aloop, until, photo, monkeypatch
):
    if not metrics.identity_status()[0]:
        pytest.skip(metrics.identity_status()[1])
    threads: list[str] = []
    real = metrics.identity_distance

    def recording(a, b, aligned=True):
        threads.append(threading.current_thread().name)
        return real(a, b, aligned)

    monkeypatch.setattr(metrics, "identity_distance", recording)
    doc = open_photo(window, aloop, until, photo)
    panel = window.face_panel
    assert not panel.identity.isVisible()  # nothing to say before a restore
    run(aloop, window.restore_current(), 120)
    run(aloop, until(lambda: doc.identity(0) is not None, 60, "the identity check"))
    assert threads and threading.main_thread().name not in threads

    fr = doc.face_result(0)
    distance = real(fr.aligned_input, doc.shown_crop(0), aligned=True)  # as pasted
    check = doc.identity(0)
    assert check.distance == pytest.approx(distance)
    assert check.threshold == metrics.IDENTITY_THRESHOLD
    text = panel.identity.text()
    assert panel.identity.isVisible() and f"distance {distance:.2f}" in text
    if distance > metrics.IDENTITY_THRESHOLD:  # the random model's face: a warning
        assert text.startswith("May no longer look like this person")
        assert "same-person limit 0.60" in text and "try a lower blend" in text
    else:
        assert text.startswith("Looks like the same person")
    assert "0.60" in panel.identity.toolTip()


def test_identity_warning_is_recoloured_when_the_theme_changes(qapp, qtbot):
    from PySide6.QtGui import QPalette

    from gpen_desktop.gui.panels.face_panel import FacePanel

    palette = QPalette(qapp.palette())
    panel = FacePanel()
    qtbot.addWidget(panel)
    try:
        theme.apply_theme(qapp, "light")
        panel._show_identity(True, IdentityCheck(0.9, 0.6))
        assert "#9c5a00" in panel.identity.styleSheet()
        theme.apply_theme(qapp, "dark")
        qapp.processEvents()  # the palette change reaches widgets as a posted event
        assert "#f0b429" in panel.identity.styleSheet()
        panel._show_identity(True, IdentityCheck(0.2, 0.6))  # no warning: the palette's text
        assert panel.identity.styleSheet() == ""
    finally:
        theme.apply_theme(qapp, "system")
        qapp.setPalette(palette)


def test_face_panel_says_when_identity_cannot_be_computed(window, aloop, until, photo, monkeypatch):
    monkeypatch.setattr(metrics, "identity_status", lambda: (True, ""))
    monkeypatch.setattr(metrics, "identity_distance", lambda a, b, aligned=True: None)
    doc = open_photo(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    run(aloop, until(lambda: doc.identity(0) is not None, 60, "the identity check"))
    text = window.face_panel.identity.text()
    assert text == "Couldn't check the likeness: dlib found no face in the crop"


def test_identity_check_says_why_when_dlib_is_unavailable(monkeypatch):
    from types import SimpleNamespace

    from gpen_desktop.gui.jobs import identity_check

    why = "identity distance skipped: No module named 'dlib'"
    monkeypatch.setattr(metrics, "identity_status", lambda: (False, why))
    check = identity_check(SimpleNamespace(index=2, aligned_input=None, restored=None))
    assert check.distance is None and check.same_person is None
    text, warn = identity_text(check)
    assert text == "Couldn't check the likeness: No module named 'dlib'" and not warn


def test_faces_are_checked_one_by_one_the_selected_first(window, aloop, until, photo, monkeypatch):
    from gpen_desktop.gui import restore_run

    order: list[int] = []

    def recording(fr, pasted=None):
        order.append(fr.index)
        return IdentityCheck(0.25 + 0.5 * fr.index, metrics.IDENTITY_THRESHOLD)

    monkeypatch.setattr(restore_run, "identity_check", recording)
    doc = two_faces(window, aloop, until, photo, select=1)
    run(aloop, window.restore_current(), 120)
    run(aloop, until(lambda: doc.identity(0) is not None, 60, "both identity checks"))
    assert order == [1, 0]  # the face in view first, then the rest, one call each
    assert window.face_panel.identity.text().startswith("May no longer look like this person")
    doc.select(0)
    assert window.face_panel.identity.text() == "Looks like the same person (distance 0.25)"


def test_the_identity_check_follows_the_blend(window, aloop, until, photo, monkeypatch):
    """Regression: at blend 0 (After equals Before) the warning still said the face "may no
    longer look like this person — try a lower blend". The check is of the pasted crop."""
    from gpen_desktop.gui import restore_run

    seen: list[float] = []

    def by_difference(fr, pasted=None):
        import numpy as np

        crop = fr.restored if pasted is None else pasted
        diff = float(np.abs(crop.astype(float) - fr.aligned_input.astype(float)).mean())
        seen.append(diff)
        return IdentityCheck(0.9 if diff > 1.0 else 0.1, metrics.IDENTITY_THRESHOLD)

    monkeypatch.setattr(restore_run, "identity_check", by_difference)
    doc = open_photo(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    run(aloop, until(lambda: doc.identity(0) is not None, 60, "the identity check"))
    assert window.face_panel.identity.text().startswith("May no longer look like this person")
    doc.set_face_blend(0, 0.0)  # the advice followed: the original face is pasted
    fresh = lambda: doc.composite_key == doc.composite_key_for(window.run_options(doc))  # noqa: E731
    run(aloop, until(fresh, 30, "the recomposite"))
    run(aloop, until(lambda: doc.identity(0) is not None, 60, "the check of the new crop"))
    assert window.face_panel.identity.text().startswith("Looks like the same person")
    assert seen[-1] <= 1.0
