"""Helpers shared by the window tests (imported by name: tests/gui is on sys.path)."""

from __future__ import annotations

import asyncio

from gpen_desktop.gui.main_window import MainWindow


def run(loop, coro, timeout: float = 60.0):
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def make_window(qtbot, aloop, until, weights_dir) -> MainWindow:
    window = MainWindow(weights_dir=str(weights_dir))
    qtbot.addWidget(window)
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    run(aloop, until(lambda: window.options_panel._scanned, 60, "the model scan"))
    return window


def open_photo(window, aloop, until, path):
    docs = run(aloop, window.open_paths_async([path]))
    assert docs, "nothing opened"
    doc = docs[0]
    run(aloop, until(lambda: doc.detected, 60, "face detection"))
    return doc


def two_faces(window, aloop, until, photo, select: int = 0):
    """The astronaut's face and a copy of its box and landmarks 160 px lower right."""
    doc = open_photo(window, aloop, until, photo)
    face = doc.faces[0]
    x0, y0, x1, y1 = face.box
    other = face.with_(
        box=(x0 + 160, y0 + 160, x1 + 160, y1 + 160),
        landmarks=tuple((x + 160, y + 160) for x, y in face.landmarks),
    )
    doc.edit_faces((face, other), "two", select=select)
    return doc


def close_now(window) -> None:
    """Close ``window`` at the end of a test, dropping unsaved work without a question."""
    window._close_confirmed = True
    window.close()
