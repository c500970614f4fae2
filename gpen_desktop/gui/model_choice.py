"""Choosing the model: the weights-folder scan, the model manager and checkpoint files.

:class:`ModelChooser` fills the options panel from a scan in the I/O pool (models, devices,
usable detectors and masks), opens the model manager and checks a checkpoint picked from disk
before selecting it. With no model at all it points to the manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from gpen_desktop.core.catalog import CHECKPOINT_EXTENSIONS
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.jobs import ScanResult, identify_model, scan_models
from gpen_desktop.gui.panels.options_panel import OptionsPanel, is_inpainter, model_text


class ModelChooser(QObject):
    """Scans ``weights_dir`` (None: the default folder) into the options ``panel``;
    ``scanned(result)`` is told after each successful scan and ``changed()`` after a model was
    chosen from disk; ``dialog_parent()`` is the window the model manager opens over."""

    def __init__(
        self,
        ctx: AppContext,
        panel: OptionsPanel,
        weights_dir: str | None,
        scanned: Callable[[ScanResult], Any],
        changed: Callable[[], Any],
        dialog_parent: Callable[[], QWidget | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.panel = panel
        self.weights_dir = weights_dir
        self.scanned = scanned
        self.changed = changed
        self.dialog_parent = dialog_parent
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
        self.scan_task = self.ctx.spawn(self.scan())

    async def wait_for_scan(self, timeout_s: float = 120.0) -> None:
        """Wait for a running scan (never forever: a restore is not blocked by a dead scan);
        after a failed one, try once more first."""
        if self.failed and (self.scan_task is None or self.scan_task.done()):
            self.scan_task = self.ctx.spawn(self.scan())
        if self.scan_task is not None and not self.scan_task.done():
            done, _pending = await asyncio.wait({self.scan_task}, timeout=timeout_s)
            if not done:
                self.ctx.notifier.notify(
                    "warning", "Looking for models takes long; using what was found so far."
                )

    async def scan(self) -> None:
        w = self.ctx
        panel = self.panel
        folders = (self.weights_dir,) if self.weights_dir else ()
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
        panel.set_available(result.detectors, result.parsing, result.weights_dir)
        panel.set_models(result.models, result.weights_dir)
        self.scanned(result)
        bad = [m for m in result.models if getattr(m, "kind", "") == "invalid"]
        if bad:
            names = ", ".join(Path(m.path).name for m in bad[:3])
            w.say(f"Some files in the weights folder are not usable models: {names}", "warning")

    def open_manager(self) -> None:
        from gpen_desktop.gui.dialogs.model_manager import ModelManagerDialog

        kwargs = {"weights_dir": self.weights_dir} if self.weights_dir else {}
        dialog = ModelManagerDialog(self.dialog_parent(), **kwargs)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.modelsChanged.connect(self.rescan)
        dialog.finished.connect(lambda _r: self.rescan())
        dialog.open()

    def choose_checkpoint(self) -> None:
        self.ctx.spawn(self.choose_checkpoint_async())

    async def choose_checkpoint_async(self) -> None:
        w = self.ctx
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
        w = self.ctx
        cfg.CHECKPOINT_DIR.write(w.settings, str(Path(path).parent))
        match = await w.worker.run_io(identify_model, path)
        if getattr(match, "kind", "") != "restorer" or is_inpainter(match):
            why = match.error or f"it is a {match.kind} model, not a GPEN face restorer"
            if is_inpainter(match):
                why = (
                    "it is GPEN's inpainting model: put it in the weights folder and it fills "
                    "faces under damage strokes"
                )
            w.say(f"Can't use {Path(path).name}: {why}", "error")
            return
        label = model_text(match)
        self.panel.add_custom_model(str(path), label)
        self.changed()
        w.say(f"Using {label}", "info")

    def show_no_model(self) -> None:
        self.ctx.say(
            "No face restoration model yet. Get one with the model manager or choose a "
            "checkpoint file.",
            "warning",
            actions=[
                ("Get Models…", self.open_manager),
                ("Choose File…", self.choose_checkpoint),
            ],
        )
