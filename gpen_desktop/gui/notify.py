"""The one way messages and errors reach the person: :class:`Notifier`.

Everything that goes wrong — a worker job, a task on the event loop, an uncaught exception in
a slot or a thread, a failed scan — ends in :meth:`Notifier.error`: the traceback goes to the
log file in the user's data folder, the window shows one line in plain words (never an
exception's class name or raw text), and the app stays usable. Plain messages go through
:meth:`Notifier.notify` (level "info", "warning" or "error").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from gpen_desktop.core.errors import Cancelled, GpenError

log = logging.getLogger(__name__)

LEVELS = ("info", "warning", "error")


def plain_words(exc: BaseException) -> str:
    """One line a person can act on for ``exc``: a GpenError's own message, out of memory and
    file problems in words, anything else as an internal error pointing at the log."""
    if isinstance(exc, GpenError):
        text = str(exc).strip().splitlines()
        return text[0] if text else "the operation failed"
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "out of memory: try a smaller batch size, a smaller model or the CPU device"
    if isinstance(exc, PermissionError):
        return f"no permission to use {exc.filename or 'a file'}"
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or 'a file'} was not found"
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"a file could not be read or written: {exc.strerror.lower()}{where}"
    return "something went wrong inside GPEN Desktop; the details are in its log file"


class Notifier(QObject):
    """``show(text, level, actions, doc)`` puts a line in the window (the banner); every
    notification is also emitted as ``notified(level, text)`` (tests and the status bar)."""

    notified = Signal(str, str)  # level, text

    def __init__(
        self, show: Callable[..., None] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._show = show
        self.closed = False  # the window is gone: log only
        self.history: list[tuple[str, str]] = []  # the last messages, newest last

    def notify(
        self, level: str, text: str, actions: Any = None, doc: Any = None, timeout_ms=None
    ) -> None:
        """Show ``text`` (one line is best) at ``level``; ``actions``: (label, callable)
        buttons; ``doc``: the photo it is about (hidden when another one becomes current)."""
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}")
        self.history = [*self.history[-49:], (level, text)]
        log.log(logging.WARNING if level != "info" else logging.INFO, "%s: %s", level, text)
        if self.closed or self._show is None:
            return
        try:
            self._show(text, level, actions, timeout_ms, doc)
        except RuntimeError:  # the window's widgets are already deleted (closing)
            self.closed = True
            return
        self.notified.emit(level, text)

    def error(self, exc: BaseException, context: str = "", doc: Any = None) -> None:
        """Report ``exc``: the traceback to the log (unless it is a GpenError, whose message
        says it all), one line in plain words to the window. Cancellations are silent."""
        if isinstance(exc, Cancelled):
            return
        if not isinstance(exc, GpenError):
            log.error(
                "error%s", f" ({context})" if context else "",
                exc_info=(type(exc), exc, exc.__traceback__),
            )  # fmt: skip
        words = plain_words(exc)
        text = f"{context}: {words}" if context else words[:1].upper() + words[1:]
        self.notify("error", text, doc=doc)
