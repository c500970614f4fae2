"""What the window's controllers share, instead of the window itself.

:class:`AppContext` holds the open photos, the worker, the one message path (notifier), the
one question path (questions), the settings store, how to start a task and how to read a
photo's options. Controllers (:mod:`~gpen_desktop.gui.exporter`,
:mod:`~gpen_desktop.gui.opening`, :mod:`~gpen_desktop.gui.model_choice`,
:mod:`~gpen_desktop.gui.restore_run`) take one and can be built and tested without a
window; the window makes it and shows what they do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from gpen_desktop.gui.notify import Notifier
from gpen_desktop.gui.questions import Questions
from gpen_desktop.gui.state import PhotoDoc, PhotoList
from gpen_desktop.gui.worker import InferenceWorker


@dataclass
class AppContext:
    """``photos``: the open photos (and which is current); ``run_options(doc)``: the options a
    restore of ``doc`` uses (None: the current photo's); ``spawn(coro)``: run a coroutine on
    the event loop, its failure reported through ``notifier``."""

    photos: PhotoList
    worker: InferenceWorker
    notifier: Notifier
    questions: Questions
    settings: QSettings
    spawn: Callable[[Coroutine], asyncio.Task]
    run_options: Callable[[PhotoDoc | None], Any]

    def say(self, text: str, level: str = "info", **kwargs: Any) -> None:
        """A message through the one path (:meth:`Notifier.notify`)."""
        self.notifier.notify(level, text, **kwargs)
