"""No question re-enters the event loop: the real dialogs are opened (``open()``) and awaited
while other tasks go on; and static checks keep it so.

The regression: a photo with a saved session opened while the model scan was still running
asked "Use the Session?" with ``QMessageBox.exec()``; the nested loop stepped the scan task
from inside the opening task ("Cannot enter into task …"), the model list never filled and
every restore waited forever.
"""

from __future__ import annotations

import re
from pathlib import Path

from gui_helpers import close_now, run
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

import gpen_desktop.gui as gui_package
from gpen_desktop.gui.main_window import MainWindow

GUI = Path(gui_package.__file__).parent


def _click_when_shown(qtbot, label: str):
    """Click the button ``label`` of the next message box shown (a real one)."""
    seen: list[str] = []

    def box():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible():
                return w
        return None

    def click():
        b = box()
        if b is None:
            return False
        seen.append(b.text())
        button = next(x for x in b.buttons() if x.text() == label)
        button.click()
        return True

    return seen, box, click


def test_a_session_question_while_the_model_scan_runs(
    qtbot, aloop, until, weights, photo, monkeypatch
):
    monkeypatch.undo()  # the real questions, not the fixture's answers
    from gpen_desktop.core.session import make_session, save_session
    from gpen_desktop.core.types import Face

    face = Face(box=(180.0, 60.0, 300.0, 200.0), landmarks=None, manual=True)
    save_session(make_session(photo, [face]))
    window = MainWindow(weights_dir=str(weights))
    qtbot.addWidget(window)
    window.show()  # the scan starts on the next turn, as at start-up
    try:
        seen, box, click = _click_when_shown(qtbot, "Use the Session")
        task = window.open_paths([photo])  # as `gpen-desktop photo.png` does at start-up
        run(aloop, until(lambda: box() is not None, 30, "the session question"))
        # while the question is open, the scan finishes on its own (no nested loop)
        run(aloop, until(lambda: window.options_panel._scanned, 60, "the model scan"))
        assert click()
        run(aloop, until(task.done, 60, "the opening"))
        doc = window.session.current
        assert [f.box for f in doc.faces] == [face.box] and doc.faces[0].manual
        assert "Use the session" not in window.banner.text
        assert window.banner.level != "error" or not window.banner.isVisible(), window.banner.text
        run(aloop, window.restore_current(), 120)
        assert doc.has_result, (window.banner.text, doc.status_text(), window.run_options(doc))
        run(aloop, until(lambda: all(t.done() for t in window._tasks), 60, "idle"))
    finally:
        close_now(window)


def test_quit_with_unsaved_work_asks_with_a_real_dialog_and_keeps_the_loop_running(
    qtbot, aloop, until, window, photo, monkeypatch
):
    monkeypatch.undo()
    from gui_helpers import open_photo

    doc = open_photo(window, aloop, until, photo)
    doc.set_included(0, False)  # unsaved hand edit
    seen, box, click = _click_when_shown(qtbot, "Cancel")
    window.close()
    run(aloop, until(lambda: box() is not None, 30, "the unsaved-work question"))
    ticks = []
    aloop.call_soon(lambda: ticks.append(1))
    run(aloop, until(lambda: ticks, 5, "another task to run while the question is open"))
    assert click()
    run(aloop, until(lambda: window._quitting.done(), 10, "the answer"))
    assert window.isVisible() and window.session.docs == [doc] and doc.unsaved
    assert "not saved" in seen[0]


def test_file_dialogs_are_opened_not_executed(qtbot, aloop, until, window, monkeypatch, tmp_path):
    monkeypatch.undo()
    task = window.spawn(window.open_dialog())

    def dialog():
        return next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QFileDialog) and w.isVisible()
            ),
            None,
        )

    run(aloop, until(lambda: dialog() is not None, 30, "the file dialog"))
    assert not task.done()
    dialog().reject()
    run(aloop, until(task.done, 10, "the cancelled dialog"))
    assert task.exception() is None and window.session.docs == []


# --------------------------------------------------------------------------- static checks
NESTED = re.compile(
    r"\.exec_?\(|QMessageBox\.(question|warning|information|critical|about)\(|QFileDialog\.get"
)


def test_no_nested_event_loops_in_the_gui():
    found = []
    for path in sorted(GUI.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if NESTED.search(code) and "``" not in line:
                found.append(f"{path.relative_to(GUI)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
