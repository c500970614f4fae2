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
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.restore_run import RestoreController

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
    """Fills ``status_bar`` (its widgets: ``activity``, ``progress``, ``elapsed``,
    ``cancel_button``, ``zoom_label``, ``model_label``) and keeps it current from the restore
    ``controller`` and the ``ctx``'s worker; ``cancel`` is the Cancel action its button shows;
    ``no_model()`` says why there is no model ("no model", "looking for models…")."""

    def __init__(
        self,
        status_bar: QStatusBar,
        ctx: AppContext,
        controller: RestoreController,
        cancel: QAction,
        no_model: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.controller = controller
        self.no_model = no_model
        #: device id -> (where it runs, the precision "auto" gives there), from the scan
        self.runs_on: dict[str, tuple[str, str]] = {}
        self.activity = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.elapsed = QLabel()
        self.elapsed.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(cancel)
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.hide()
        self.zoom_label = QLabel()
        self.model_label = QLabel()
        status_bar.addWidget(self.activity, 1)
        status_bar.addWidget(self.progress)
        status_bar.addWidget(self.elapsed)
        status_bar.addWidget(self.cancel_button)
        status_bar.addPermanentWidget(self.zoom_label)
        status_bar.addPermanentWidget(self.model_label)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self.update)
        self.stalls = GapMonitor(self)
        controller.runStarted.connect(self.run_started)
        controller.runChanged.connect(lambda _r: self.update())
        controller.runFinished.connect(self.run_finished)
        ctx.worker.jobStarted.connect(lambda _j: self.update())
        ctx.worker.jobFinished.connect(lambda _j: self.update())

    def show_model(self) -> None:
        """One wording, before and after a restore: "Model: GPEN-BFR-512 · CPU, 2 threads ·
        bfloat16" (the model file's name, where it runs, the precision it runs in)."""
        options = self.ctx.run_options(None)
        name = Path(options.model_path).stem if options.model_path else self.no_model()
        where, auto = self.runs_on.get(options.device, ("", ""))
        where = where or (options.device.upper() if options.device != "auto" else "Auto")
        precision = auto if options.precision == "auto" and auto else options.precision
        if precision == "auto":
            precision = "precision chosen at the first restore"
        self.model_label.setText(f"Model: {name}  ·  {where}  ·  {precision}")

    def run_started(self, _run) -> None:
        self._tick.start()
        self.stalls.start()
        self.update()

    def run_finished(self, run) -> None:
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
            self.ctx.say(f"Cancelled after {elapsed:.1f} s.", "info")
        elif run.failed == 0 and run.done:
            what = f"{run.done} photos" if run.count > 1 else run.docs[0].name
            self.activity.setText(f"Restored {what} in {elapsed:.1f} s")

    def update(self) -> None:
        run = self.controller.run
        if run is None:
            self.progress.hide()
            self.elapsed.hide()
            self.cancel_button.hide()
            busy = [j for j in self.ctx.worker.jobs if j.started is not None]
            if busy:
                self.activity.setText(busy[0].label + "…")
            elif self.activity.text().endswith("…") and self.activity.text() != "Cancelling…":
                self.activity.setText("Ready")
            return
        job = run.job
        self.progress.show()
        self.elapsed.show()
        self.cancel_button.show()
        prefix = f"Photo {run.index + 1}/{run.count} · " if run.count > 1 else ""
        if job is not None and job.total:
            self.progress.setRange(0, job.total)
            self.progress.setValue(job.done)
            # the job's own words say what it counts (faces, or background tiles)
            words = job.message or f"{job.done} of {job.total}"
            self.progress.setFormat(f"{prefix}{words[:1].upper()}{words[1:]}")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(prefix.rstrip(" ·"))
        secs = int(run.elapsed)
        self.elapsed.setText(f"{secs // 60}:{secs % 60:02d}")
        if run.cancelled:
            self.activity.setText("Cancelling…")
        elif job is not None and job.started is not None:
            self.activity.setText(f"{run.name}: {job.message or 'restoring'}")
        else:
            self.activity.setText(f"{run.name}: waiting for the worker…")
