"""The status bar: what runs now (a restore's photo, faces done, time), zoom and the model.

:class:`RunStatus` follows the :class:`~gpen_desktop.gui.restore_run.RestoreController` and the
worker; :class:`GapMonitor` measures how long the GUI thread was blocked during a run (logged,
and printed with ``$GPEN_DESKTOP_TIMING``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QToolButton

if TYPE_CHECKING:
    from gpen_desktop.gui.main_window import MainWindow

log = logging.getLogger(__name__)


class GapMonitor(QObject):
    """Measures the longest gap between ticks of a fast GUI-thread timer while started: how
    long the event loop was blocked (``longest``, seconds, including one interval)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 10) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.longest = 0.0
        self.ticks = 0

    def start(self) -> None:
        self.longest = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._tick()
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now
        self.ticks += 1


class RunStatus(QObject):
    """Builds the window's status bar (``window.activity``, ``progress``, ``elapsed``,
    ``cancel_button``, ``zoom_label``, ``model_label``) and keeps it current."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = w = window
        #: device id -> (where it runs, the precision "auto" gives there), from the scan
        self.runs_on: dict[str, tuple[str, str]] = {}
        sb = w.statusBar()
        w.activity = QLabel("Ready")
        w.progress = QProgressBar()
        w.progress.setFixedWidth(220)
        w.progress.setTextVisible(True)
        w.progress.hide()
        w.elapsed = QLabel()
        w.elapsed.hide()
        w.cancel_button = QToolButton()
        w.cancel_button.setDefaultAction(w.act_cancel)
        w.cancel_button.setAutoRaise(True)
        w.cancel_button.hide()
        w.zoom_label = QLabel()
        w.model_label = QLabel()
        sb.addWidget(w.activity, 1)
        sb.addWidget(w.progress)
        sb.addWidget(w.elapsed)
        sb.addWidget(w.cancel_button)
        sb.addPermanentWidget(w.zoom_label)
        sb.addPermanentWidget(w.model_label)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self.update)
        self.stalls = GapMonitor(self)
        c = w.controller
        c.runStarted.connect(self.run_started)
        c.runChanged.connect(lambda _r: self.update())
        c.runFinished.connect(self.run_finished)
        w.worker.jobStarted.connect(lambda _j: self.update())
        w.worker.jobFinished.connect(lambda _j: self.update())

    def model_label(self) -> None:
        """One wording, before and after a restore: "Model: GPEN-BFR-512 · CPU, 2 threads ·
        bfloat16" (the model file's name, where it runs, the precision it runs in)."""
        w = self.window
        options = w.run_options()
        if options.model_path:
            name = Path(options.model_path).stem
        else:
            name = w.options_panel.model_label()  # "no model" / "looking for models…"
        where, auto = self.runs_on.get(options.device, ("", ""))
        where = where or (options.device.upper() if options.device != "auto" else "Auto")
        precision = auto if options.precision == "auto" and auto else options.precision
        if precision == "auto":
            precision = "precision chosen at the first restore"
        w.model_label.setText(f"Model: {name}  ·  {where}  ·  {precision}")

    def run_started(self, _run) -> None:
        self._tick.start()
        self.stalls.start()
        self.update()

    def run_finished(self, run) -> None:
        w = self.window
        self._tick.stop()
        self.stalls.stop()
        self.update()
        elapsed = run.elapsed
        gap_ms = self.stalls.longest * 1000
        log.info("restore run: %.2f s, longest GUI-thread gap %.0f ms", elapsed, gap_ms)
        if os.environ.get("GPEN_DESKTOP_TIMING"):
            print(
                f"gpen-desktop: restore run {elapsed:.2f} s, longest GUI-thread gap "
                f"{gap_ms:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
        if run.cancelled:
            w.show_message(f"Cancelled after {elapsed:.1f} s.", "info")
        elif run.failed == 0 and run.done:
            what = f"{run.done} photos" if run.count > 1 else run.docs[0].name
            w.activity.setText(f"Restored {what} in {elapsed:.1f} s")

    def update(self) -> None:
        w = self.window
        run = w.controller.run
        if run is None:
            w.progress.hide()
            w.elapsed.hide()
            w.cancel_button.hide()
            busy = [j for j in w.worker.jobs if j.started is not None]
            if busy:
                w.activity.setText(busy[0].label + "…")
            elif w.activity.text().endswith("…") and w.activity.text() != "Cancelling…":
                w.activity.setText("Ready")
            return
        job = run.job
        w.progress.show()
        w.elapsed.show()
        w.cancel_button.show()
        prefix = f"Photo {run.index + 1}/{run.count} · " if run.count > 1 else ""
        if job is not None and job.total:
            w.progress.setRange(0, job.total)
            w.progress.setValue(job.done)
            # the job's own words say what it counts (faces, or background tiles)
            words = job.message or f"{job.done} of {job.total}"
            w.progress.setFormat(f"{prefix}{words[:1].upper()}{words[1:]}")
        else:
            w.progress.setRange(0, 0)
            w.progress.setFormat(prefix.rstrip(" ·"))
        secs = int(run.elapsed)
        w.elapsed.setText(f"{secs // 60}:{secs % 60:02d}")
        if run.cancelled:
            w.activity.setText("Cancelling…")
        elif job is not None and job.started is not None:
            w.activity.setText(f"{run.name}: {job.message or 'restoring'}")
        else:
            w.activity.setText(f"{run.name}: waiting for the worker…")
