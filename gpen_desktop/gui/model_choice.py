"""Choosing the model: the weights-folder scan, the model manager and checkpoint files.

:class:`ModelChooser` fills the options panel from a scan in the I/O pool (models, devices,
usable detectors and masks), opens the model manager and checks a checkpoint picked from disk
before selecting it. With no model at all it points to the manager.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt

from gpen_desktop.core.catalog import CHECKPOINT_EXTENSIONS
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.jobs import identify_model, scan_models
from gpen_desktop.gui.panels.options_panel import is_inpainter, model_text

if TYPE_CHECKING:
    from gpen_desktop.gui.main_window import MainWindow


class ModelChooser(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.scan_task: asyncio.Task | None = None
        self.weights_dir_seen = ""
        self.failed = False  # the last scan failed (it is tried again)
        self.failures = 0

    #: a failed scan is tried again this many times, this many seconds apart
    RETRIES, RETRY_S = 3, 2.0

    def rescan(self) -> None:
        if self.scan_task is not None and not self.scan_task.done():
            return
        self.failures = 0
        self.scan_task = self.window.spawn(self.scan())

    async def wait_for_scan(self, timeout_s: float = 120.0) -> None:
        """Wait for a running scan (never forever: a restore is not blocked by a dead scan);
        after a failed one, try once more first."""
        if self.failed and (self.scan_task is None or self.scan_task.done()):
            self.scan_task = self.window.spawn(self.scan())
        if self.scan_task is not None and not self.scan_task.done():
            self.window.activity.setText("Looking for models…")
            done, _pending = await asyncio.wait({self.scan_task}, timeout=timeout_s)
            if not done:
                self.window.notifier.notify(
                    "warning", "Looking for models takes long; using what was found so far."
                )

    async def scan(self) -> None:
        w = self.window
        panel = w.options_panel
        folders = (w.weights_dir,) if w.weights_dir else ()
        panel.model_info.setText("Looking for models…")
        try:
            result = await w.worker.run_io(scan_models, folders)
        except Exception as exc:  # noqa: BLE001 - the window must still become usable
            self.failed = True
            self.failures += 1
            panel.set_models([], "")
            w.notifier.error(exc, "Couldn't look for models")
            if self.failures <= self.RETRIES and not w.worker.closed:
                await asyncio.sleep(self.RETRY_S * self.failures)
                if not w.worker.closed:
                    self.scan_task = w.spawn(self.scan())
            return
        self.failed = False
        self.weights_dir_seen = result.weights_dir
        panel.set_devices(result.devices)
        w.status.runs_on = {key: (where, prec) for key, where, prec in result.runs_on}
        panel.set_available(result.detectors, result.parsing, result.weights_dir)
        panel.set_models(result.models, result.weights_dir)
        w.on_models_scanned()
        w.status.model_label()
        w.update_central()
        bad = [m for m in result.models if getattr(m, "kind", "") == "invalid"]
        if bad:
            names = ", ".join(Path(m.path).name for m in bad[:3])
            w.show_message(
                f"Some files in the weights folder are not usable models: {names}", "warning"
            )

    def open_manager(self) -> None:
        from gpen_desktop.gui.dialogs.model_manager import ModelManagerDialog

        w = self.window
        kwargs = {"weights_dir": w.weights_dir} if w.weights_dir else {}
        dialog = ModelManagerDialog(w, **kwargs)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.modelsChanged.connect(self.rescan)
        dialog.finished.connect(lambda _r: self.rescan())
        dialog.open()

    def choose_checkpoint(self) -> None:
        self.window.spawn(self.choose_checkpoint_async())

    async def choose_checkpoint_async(self) -> None:
        w = self.window
        start = cfg.CHECKPOINT_DIR.read(w.settings) or self.weights_dir_seen or str(Path.home())
        path = await w.questions.open_file(
            "Choose a GPEN Checkpoint",
            start,
            f"Model files ({' '.join('*' + e for e in CHECKPOINT_EXTENSIONS)});;All files (*)",
        )
        if path:
            await self.use_checkpoint(path)

    async def use_checkpoint(self, path: str) -> None:
        """Check a checkpoint from disk on the worker and select it."""
        w = self.window
        cfg.CHECKPOINT_DIR.write(w.settings, str(Path(path).parent))
        match = await w.worker.run_io(identify_model, path)
        if getattr(match, "kind", "") != "restorer" or is_inpainter(match):
            why = match.error or f"it is a {match.kind} model, not a GPEN face restorer"
            if is_inpainter(match):
                why = (
                    "it is GPEN's inpainting model: put it in the weights folder and it fills "
                    "faces under damage strokes"
                )
            w.show_message(f"Can't use {Path(path).name}: {why}", "error")
            return
        label = model_text(match)
        w.options_panel.add_custom_model(str(path), label)
        w.status.model_label()
        w.update_central()
        w.show_message(f"Using {label}", "info")

    def show_no_model(self) -> None:
        self.window.show_message(
            "No face restoration model yet. Get one with the model manager or choose a "
            "checkpoint file.",
            "warning",
            actions=[
                ("Get Models…", self.open_manager),
                ("Choose File…", self.choose_checkpoint),
            ],
        )
