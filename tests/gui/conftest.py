"""GUI test fixtures: isolated settings, a qasync loop, and a guard against leftover threads.

Every GUI test runs offscreen (tests/conftest.py sets QT_QPA_PLATFORM). The autouse
``no_leftover_threads`` fixture fails a test that leaves a QThread, an InferenceWorker or a
Python thread running after it finished.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import threading
import time
import weakref
from collections.abc import Callable

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication, QEvent, QThread  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """QSettings go to a throw-away INI file, never the user's real settings; recovery
    copies to a throw-away folder, never the user's data folder."""
    monkeypatch.setenv("GPEN_DESKTOP_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("GPEN_DESKTOP_RECOVERY_DIR", str(tmp_path / "recovery"))


def _running(thread: QThread) -> bool:
    try:
        return bool(thread.isRunning())
    except RuntimeError:  # the C++ object is gone: it is not running
        return False


@pytest.fixture(autouse=True)
def no_leftover_threads(qapp, monkeypatch):
    """Fail the test when a QThread, worker, task pool or Python thread it started is still
    running, after stopping every one of them (so the next test starts clean)."""
    from gpen_desktop.gui.worker import live_pools, live_workers

    started: weakref.WeakSet[QThread] = weakref.WeakSet()
    original_start = QThread.start

    def start(self, *args, **kwargs):
        started.add(self)
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    before = set(threading.enumerate())
    yield
    # Widgets the test dropped are destroyed here, on the GUI thread: left to the cyclic
    # garbage collector they could be freed later from a worker thread.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()

    def leftovers() -> list[str]:
        out = [
            f"QThread {t.objectName() or type(t).__name__}" for t in list(started) if _running(t)
        ]
        out += [f"InferenceWorker {id(w):x}" for w in live_workers()]
        out += [f"TaskPool {id(p):x}" for p in live_pools()]
        out += [
            f"thread {t.name}"
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
        ]
        return out

    deadline = time.monotonic() + 3.0
    left = leftovers()
    while left and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.02)
        left = leftovers()
    if left:  # stop them all so the next test starts clean, then fail this one
        for worker in live_workers():
            worker.shutdown(timeout_ms=5000)
        for pool in live_pools():
            pool.shutdown(wait=False)
            for t in pool.threads():
                t.join(5.0)
        for t in list(started):
            if _running(t):
                t.requestInterruption()
                t.quit()
                t.wait(5000)
        for t in threading.enumerate():
            if t not in before and t.is_alive() and t is not threading.current_thread():
                t.join(5.0)
        pytest.fail(f"test left threads running: {', '.join(left)}")


@pytest.fixture
def weights(tmp_path, tiny_checkpoint):
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(tiny_checkpoint, folder / "tiny-64.pth")
    return folder


@pytest.fixture
def photo(tmp_path, astronaut_png):
    """A private copy of the astronaut photo (tests may try to overwrite it)."""
    path = tmp_path / "astronaut.png"
    shutil.copy(astronaut_png, path)
    return path


@pytest.fixture
def window(qtbot, aloop, until, weights):
    from gui_helpers import make_window

    w = make_window(qtbot, aloop, until, weights)
    yield w
    w._close_confirmed = True  # a test's unsaved work goes without a question
    w.close()
    w.deleteLater()


@pytest.fixture(autouse=True)
def questions(monkeypatch):
    """Every question of :class:`~gpen_desktop.gui.questions.Questions` answered without a
    dialog (still awaited, as the real ones are): Discard unsaved work, stop a running
    restore, save a stale result as it is, use a saved session, detect again, refuse to
    replace files, cancel file dialogs. ``questions.asked`` lists (question, first argument)
    in order; set ``questions.answers[name]`` to answer otherwise (a list: one answer per
    call, in order)."""
    from gpen_desktop.gui.questions import Questions

    class Answers:
        def __init__(self) -> None:
            self.asked: list[tuple[str, object]] = []
            self.calls: list[tuple[str, tuple, dict]] = []  # every argument
            self.answers: dict[str, object] = dict(self.DEFAULTS)

        DEFAULTS: dict[str, object] = {
            "unsaved": "discard",
            "stale_save": "save",
            "stop_restore": True,
            "open_session": True,
            "detect_again": True,
            "recover": "later",
            "overwrite": False,
            "replace_many": "cancel",
            "copy_or_link": "cancel",
            "tell": None,
            "open_files": [],
            "open_file": "",
            "save_file": "",
            "folder": "",
        }

        def names(self) -> list[str]:
            return [name for name, _arg in self.asked]

        def hook(self, name: str):
            async def answer(_self, *args, **kwargs):
                self.asked.append((name, args[0] if args else None))
                self.calls.append((name, args, kwargs))
                await asyncio.sleep(0)  # a real dialog returns on a later loop turn
                value = self.answers[name]
                if isinstance(value, list) and name != "open_files":
                    return value.pop(0)
                return value

            return answer

    answers = Answers()
    for name in answers.answers:
        assert hasattr(Questions, name), name
        monkeypatch.setattr(Questions, name, answers.hook(name))
    return answers


@pytest.fixture
def network_runs(monkeypatch):
    """Counts crops through the network (on whatever thread): one entry per call."""
    from gpen_desktop.core.inference import Enhancer

    calls: list[int] = []
    real = Enhancer.restore_crops

    def counting(self, crops, *args, **kwargs):
        calls.append(len(crops))
        return real(self, crops, *args, **kwargs)

    monkeypatch.setattr(Enhancer, "restore_crops", counting)
    return calls


@pytest.fixture
def aloop(qapp):
    """A qasync event loop; drive a test coroutine with ``aloop.run_until_complete(...)``."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        await asyncio.sleep(0.01)


@pytest.fixture
def until():
    """``await until(condition, timeout, what)``: wait, with both loops running, until true."""
    return _until
