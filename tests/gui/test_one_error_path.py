"""One error path: worker failures, failed tasks, uncaught exceptions and a failed model scan
all reach the person as one line in plain words (never an exception's class name), with the
traceback in the log; a failed scan is tried again and never blocks a restore."""

from __future__ import annotations

import asyncio
import logging

from gui_helpers import close_now, open_photo, run
from PySide6.QtWidgets import QApplication

from gpen_desktop.core.errors import GpenError
from gpen_desktop.gui import jobs, model_choice
from gpen_desktop.gui.notify import Notifier, plain_words


def test_plain_words_never_name_an_exception_class():
    for exc in (
        RuntimeError("Cannot enter into task <Task pending>"),
        KeyError("x"),
        ValueError(""),
        TypeError("NoneType has no attribute"),
        ZeroDivisionError("division by zero"),
    ):
        words = plain_words(exc)
        assert type(exc).__name__ not in words and "Task" not in words and "\n" not in words
    assert plain_words(GpenError("checkpoint not found: a.pth")) == "checkpoint not found: a.pth"
    assert "out of memory" in plain_words(RuntimeError("CUDA out of memory. Tried to …"))
    assert "permission" in plain_words(PermissionError(13, "Permission denied", "/x.png"))


def test_the_notifier_logs_the_traceback_and_shows_words(qapp, caplog):
    shown = []
    notifier = Notifier(lambda text, level, *_: shown.append((level, text)))
    try:
        raise RuntimeError("internal detail")
    except RuntimeError as exc:
        with caplog.at_level(logging.ERROR):
            notifier.error(exc, "Couldn't save")
    assert shown == [
        ("error", "Couldn't save: something went wrong inside GPEN Desktop; the details are in "
         "its log file")
    ]  # fmt: skip
    assert "internal detail" in caplog.text and "Traceback" in caplog.text
    notifier.closed = True
    notifier.notify("info", "late")  # after the window closed: logged, not shown
    assert len(shown) == 1


def test_a_failed_model_scan_is_retried_and_restore_still_works(
    qtbot, aloop, until, weights, photo, monkeypatch
):
    from gui_helpers import make_window

    real = jobs.scan_models
    calls = []

    def flaky(folders=()):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("operator torchvision::nms does not exist")
        return real(folders)

    monkeypatch.setattr(model_choice, "scan_models", flaky)
    monkeypatch.setattr(model_choice.ModelChooser, "RETRY_S", 0.05)
    window = make_window(qtbot, aloop, until, weights)
    try:
        run(aloop, until(lambda: window.options_panel.has_model(), 30, "the second scan"))
        assert len(calls) == 2
        errors = [t for level, t in window.notifier.history if level == "error"]
        assert errors and errors[0].startswith("Couldn't look for models: something went wrong")
        assert all("RuntimeError" not in t and "torchvision" not in t for t in errors)
        doc = open_photo(window, aloop, until, photo)
        run(aloop, window.restore_current(), 120)
        assert doc.has_result
    finally:
        close_now(window)


def test_a_failing_task_is_reported_in_words_and_the_window_goes_on(window, aloop, until, photo):
    async def broken():
        await asyncio.sleep(0)
        raise KeyError("internal")

    task = window.spawn(broken())
    run(aloop, until(task.done, 5, "the task"))
    QApplication.processEvents()
    assert window.banner.level == "error"
    assert "KeyError" not in window.banner.text and "internal" not in window.banner.text
    doc = open_photo(window, aloop, until, photo)  # still usable
    assert doc.detected


def test_nothing_starts_or_complains_after_the_window_closed(window, aloop, until, photo):
    """Regression (found by the randomized test): a crop refresh scheduled just before the
    window closed ran on a shut-down worker and reported an error."""
    doc = open_photo(window, aloop, until, photo)
    doc.edit_faces((*doc.faces, doc.faces[0]), "again")  # schedules a crop refresh
    errors_before = [t for level, t in window.notifier.history if level == "error"]
    window._close_confirmed = True
    window.close()
    late = window.spawn(window._refresh_crops())
    run(aloop, asyncio.sleep(0.3))
    assert late.cancelled() and not window._crop_timer.isActive()
    assert [t for level, t in window.notifier.history if level == "error"] == errors_before
