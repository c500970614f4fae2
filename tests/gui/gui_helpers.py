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
