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


def bare_context(tmp_path, options, shown: list, spawn=None):
    """An AppContext without a window (controllers' tests): a fresh photo list and worker,
    real Questions (tests patch them with the ``questions`` fixture), settings in
    ``tmp_path``, every photo restored with ``options``; what is said goes to ``shown`` as
    (level, text). The caller shuts the worker down."""
    from PySide6.QtCore import QSettings

    from gpen_desktop.gui.context import AppContext
    from gpen_desktop.gui.notify import Notifier
    from gpen_desktop.gui.questions import Questions
    from gpen_desktop.gui.state import PhotoList
    from gpen_desktop.gui.worker import InferenceWorker

    return AppContext(
        photos=PhotoList(),
        worker=InferenceWorker(),
        notifier=Notifier(lambda text, level, *_: shown.append((level, text))),
        questions=Questions(),
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
        spawn=spawn or asyncio.ensure_future,
        run_options=lambda doc=None: options,
    )
