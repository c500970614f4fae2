"""The one progress display of the ``gpen`` commands, on stderr, through tqdm.

tqdm (bar, count, rate and ETA on one redrawn line) is the library: it is already installed
with the app (facexlib depends on it), it is one small pure-Python package, and it imports only
when a bar is shown on a terminal, so ``gpen --help`` stays light.

- stderr is a terminal: a tqdm bar, redrawn in place;
- stderr is not a terminal (a log file, a pipe, a CI job): plain lines, one per update, at
  most one every ``every`` seconds (the last one always), or none for displays that only make
  sense live (``plain=False``: tiles of one photo, the detector's passes);
- disabled (``--json``, a worker of a sharded run): nothing at all, and never on stdout.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from gpen_desktop.commands._output import printable, say


class Progress:
    """Progress of ``total`` steps of ``unit`` (0 = unknown), told with absolute positions:
    ``update(done, message)``; ``initial``: where it starts (None: at the first update, for a
    resumed run). Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        total: int = 0,
        desc: str = "",
        unit: str = "it",
        enabled: bool = True,
        plain: bool = True,
        every: float = 0.0,
        leave: bool = True,
        initial: int | None = 0,
        stream: Any = None,
    ) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.stream = stream if stream is not None else sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.mode = "off" if not enabled else "bar" if tty else "lines" if plain else "off"
        self.every, self.leave = every, leave
        self.t0 = time.perf_counter()
        self._last_line = -1e9
        self._bar: Any = None
        #: (position, time) rates count from; None: the first update's (a resumed run)
        self._first = None if initial is None else (int(initial), self.t0)
        self.done = int(initial or 0)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_bar(self) -> Any:
        if self._bar is None:
            import shutil

            from tqdm import tqdm

            # a terminal that reports a 0 x 0 size (some ptys) would make tqdm draw nothing
            cols, rows = shutil.get_terminal_size()
            try:
                sized = os.get_terminal_size(self.stream.fileno()).columns > 0
            except (AttributeError, OSError, ValueError):
                sized = False
            width = {"dynamic_ncols": True} if sized else {"ncols": cols}
            self._bar = tqdm(
                nrows=rows,
                **width,
                initial=self.done,
                total=self.total or None,
                desc=self.desc or None,
                unit=self.unit,
                file=self.stream,
                leave=self.leave,
            )
        return self._bar

    def update(self, done: int, message: str = "", total: int | None = None) -> None:
        """Move to ``done`` of ``total`` (the constructor's when None); ``message`` names what
        is being worked on (a file, a step)."""
        if total is not None and total != self.total:
            self.total = int(total)
            if self._bar is not None:
                self._bar.total = self.total or None
        if self._first is None:  # a resumed run starts past 0: rates count from there
            self._first = (int(done), time.perf_counter())
            self.done = int(done)
        if self.mode == "bar":
            bar = self._open_bar()
            if message:
                bar.set_postfix_str(printable(message)[:50], refresh=False)
            bar.update(max(0, int(done) - self.done))
        self.done = int(done)
        if self.mode != "lines":
            return
        now = time.perf_counter()
        final = self.total and self.done >= self.total
        if now - self._last_line >= self.every or final:
            self._last_line = now
            say(self.line(message), file=self.stream, flush=True)

    def line(self, message: str = "") -> str:
        """The plain-line form: ``photos 3/20  0:12  0.25 photo/s  ETA 1:08  message``."""
        elapsed = time.perf_counter() - self.t0
        parts = [f"{self.done}/{self.total}" if self.total else str(self.done), _clock(elapsed)]
        first, t_first = self._first or (0, self.t0)
        since = time.perf_counter() - t_first
        if self.done > first and since > 0:
            rate = (self.done - first) / since
            parts.append(f"{rate:.3g} {self.unit}/s")
            if self.total and self.done < self.total:
                parts.append(f"ETA {_clock((self.total - self.done) / rate)}")
        head = f"{self.desc} " if self.desc else ""
        return head + "  ".join(parts) + (f"  {message}" if message else "")

    def write(self, text: str) -> None:
        """A line of text on stderr that does not break the bar."""
        if self._bar is not None:
            self._bar.write(printable(text), file=self.stream)
        else:
            say(text, file=self.stream)

    def print(self, text: str) -> None:
        """A line on stdout (a result), with the bar cleared around it on a terminal."""
        if self._bar is not None:
            self._bar.clear()
            say(text, flush=True)
            self._bar.refresh()
        else:
            say(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def callback(progress: Progress, prefix: str = "") -> Any:
    """A core ``progress(done, total, message)`` callback that moves ``progress`` (only the
    calls whose message starts with ``prefix``)."""

    def report(done: int, total: int, message: str) -> None:
        if message.startswith(prefix):
            progress.update(done, message, total=total)

    return report


def _clock(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``."""
    s = int(max(seconds, 0))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
