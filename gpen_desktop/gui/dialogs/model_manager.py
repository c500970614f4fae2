"""The model manager: which GPEN checkpoints are in the weights folder, and getting the rest.

Lists every official checkpoint (:data:`gpen_desktop.core.catalog.KNOWN_MODELS`) with its size,
purpose and whether the weights folder holds it (the folder is scanned by content, so renamed
files still count), plus other valid GPEN checkpoints and unusable files with their reason.
Downloads (resumable, cancellable, verified by content) and folder scans run as background
tasks in the dialog's :class:`~gpen_desktop.gui.worker.TaskPool` (the mechanism every
background job of the GUI uses), so the dialog stays responsive; they stop when it closes.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDesktopServices, QFont, QIcon, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.core import downloads
from gpen_desktop.core.catalog import CHECKPOINT_EXTENSIONS, KNOWN_MODELS, KnownModel
from gpen_desktop.core.errors import GpenError
from gpen_desktop.core.models import FoundModel, default_weights_dir
from gpen_desktop.gui.icons import icon
from gpen_desktop.gui.questions import open_then
from gpen_desktop.gui.worker import BackgroundTask, TaskPool

log = logging.getLogger(__name__)

PURPOSES = {
    "bfr": "Face restoration (BFR)",
    "colorization": "Colorization",
    "inpainting": "Inpainting",
    "seg2face": "Face from a parsing map (Seg2face)",
    "detector": "Face detection (optional)",
    "parsing": "Face parsing mask (optional)",
    "superres": "Background super-resolution (optional)",
}

# Every started task until it has finished, whatever happens to its dialog.
_LIVE: set[BackgroundTask] = set()

COL_NAME, COL_PURPOSE, COL_SIZE, COL_STATUS, COL_ACTION = range(5)


def _mb(n: float) -> str:
    if n < 100_000:
        return f"{n / 1e3:.1f} KB" if n >= 1000 else f"{int(n)} bytes"
    return f"{n / 1e6:,.0f} MB" if n >= 1e7 else f"{n / 1e6:.1f} MB"


def _purpose(task: str) -> str:
    return PURPOSES.get(task, task)


def _size_text(px: int, scale: int, n_bytes: float) -> str:
    """The Size column: "512 px · 284 MB" for a restorer, "×2 · 67 MB" for an upscaler."""
    head = f"{px} px · " if px else f"×{scale} · " if scale else ""
    return head + _mb(n_bytes)


class _DownloadProgress:
    """Throttles a download's progress reports to one every ``interval`` seconds."""

    def __init__(self, task: BackgroundTask, interval: float) -> None:
        self._task, self._interval, self._last = task, interval, 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval or done == total or done == 0:
            self._last = now
            self._task.report(done, total)


def _download_task(
    model: KnownModel, url: str, dest: Path, timeout: float, interval: float
) -> BackgroundTask:
    def fetch(task: BackgroundTask) -> Path:
        return downloads.download(
            url,
            dest,
            expected_model=model,
            progress=_DownloadProgress(task, interval),
            cancel=task.stop.is_set,
            timeout=timeout,
        )

    return BackgroundTask(fetch, f"download-{model.name}")


@dataclass
class _Row:
    model: KnownModel
    item: QTreeWidgetItem
    button: QPushButton
    bar: QProgressBar
    status: QLabel
    error: str | None = None


class ModelManagerDialog(QDialog):
    """Lists, downloads and adds GPEN checkpoints in the weights folder.

    ``weights_dir`` defaults to :func:`default_weights_dir`. ``models`` replaces the list of
    official models and ``url_override`` maps a model name to another URL (tests point both at
    a local server). ``modelsChanged`` is emitted after a model was downloaded or added.
    """

    modelsChanged = Signal()  # noqa: N815 - Qt signal naming
    scanFinished = Signal()  # noqa: N815

    #: Seconds between progress-bar updates during a download.
    PROGRESS_INTERVAL = 0.1

    def __init__(
        self,
        parent: QWidget | None = None,
        weights_dir: str | Path | None = None,
        *,
        models: Sequence[KnownModel] | None = None,
        url_override: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setWindowIcon(icon("models"))
        self.setObjectName("ModelManagerDialog")
        self.resize(960, 540)
        self._weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
        overrides = dict(url_override or {})
        self._models = [
            replace(m, url=overrides[m.name]) if m.name in overrides else m
            for m in (models if models is not None else KNOWN_MODELS)
        ]
        self._timeout = timeout
        self._found: list[FoundModel] = []
        self._pool = TaskPool(4, "gpen-models")
        self._tasks: set[BackgroundTask] = set()
        self._downloads: dict[str, BackgroundTask] = {}
        self._scan_task: BackgroundTask | None = None
        self._rescan = False
        self._rows: dict[str, _Row] = {}
        self._closed = False
        self._build()
        self.refresh()

    # ----------------------------------------------------------------------------- layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self._folder_label = QLabel()
        self._folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._folder_label.setWordWrap(True)
        top.addWidget(self._folder_label, 1)
        self.open_folder_button = QPushButton(icon("open-folder"), "Open weights folder")
        self.open_folder_button.clicked.connect(self.open_weights_folder)
        top.addWidget(self.open_folder_button)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        layout.addLayout(top)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(5)
        self.tree.setHeaderLabels(["Model", "Purpose", "Size", "Status", ""])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_PURPOSE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_SIZE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_ACTION, QHeaderView.ResizeMode.Fixed)
        self.tree.setColumnWidth(COL_NAME, 210)
        self.tree.setColumnWidth(COL_PURPOSE, 230)
        self.tree.setColumnWidth(COL_SIZE, 120)
        self.tree.setColumnWidth(COL_ACTION, 116)
        layout.addWidget(self.tree, 1)

        bold = QFont(self.font())
        bold.setBold(True)
        self._official = self._group("Official GPEN models", bold)
        self._others = self._group("Other checkpoints in this folder", bold)
        self._invalid = self._group("Files that cannot be used", bold)
        for model in self._models:
            self._rows[model.name] = self._make_row(model)
        self._official.setExpanded(True)
        self._others.setHidden(True)
        self._invalid.setHidden(True)

        self.message_label = QLabel()
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()
        layout.addWidget(self.message_label)

        bottom = QHBoxLayout()
        self.add_button = QPushButton(icon("open"), "Add checkpoint…")
        self.add_button.setToolTip("Copy or link a checkpoint file you already have")
        self.add_button.clicked.connect(lambda: self.add_checkpoint())
        bottom.addWidget(self.add_button)
        bottom.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)
        bottom.addWidget(self.close_button)
        layout.addLayout(bottom)
        self._update_folder_label()

    def _group(self, title: str, font: QFont) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [title])
        item.setFirstColumnSpanned(True)
        item.setFont(COL_NAME, font)
        item.setSizeHint(COL_NAME, QSize(0, 28))  # uniform row height: fits the row buttons
        item.setExpanded(True)
        return item

    def _make_row(self, model: KnownModel) -> _Row:
        item = QTreeWidgetItem(self._official)
        item.setText(COL_NAME, model.name)
        item.setText(COL_PURPOSE, _purpose(model.task))
        item.setText(COL_SIZE, _size_text(model.size, model.scale, model.approx_bytes))
        tip = f"{model.note}\n{model.url}" if model.url else model.note
        for col in (COL_NAME, COL_PURPOSE, COL_SIZE):
            item.setToolTip(col, tip)

        status_box = QWidget()
        status_layout = QHBoxLayout(status_box)
        status_layout.setContentsMargins(4, 0, 4, 0)
        status = QLabel()
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        bar.hide()
        status_layout.addWidget(status, 1)
        status_layout.addWidget(bar, 1)
        self.tree.setItemWidget(item, COL_STATUS, status_box)

        # Item widgets are re-shown by the view on layout, so hide/show happens inside a box.
        action_box = QWidget()
        action_layout = QHBoxLayout(action_box)
        action_layout.setContentsMargins(2, 1, 2, 1)
        button = QPushButton("Download")
        button.setObjectName(f"download-{model.name}")
        button.clicked.connect(lambda _=False, name=model.name: self._on_action(name))
        action_layout.addWidget(button)
        self.tree.setItemWidget(item, COL_ACTION, action_box)
        item.setSizeHint(COL_NAME, QSize(0, max(button.sizeHint().height() + 4, 28)))
        return _Row(model, item, button, bar, status)

    def _update_folder_label(self) -> None:
        self._folder_label.setText(f"Weights folder: <b>{html.escape(str(self._weights_dir))}</b>")

    # ----------------------------------------------------------------------------- public API
    @property
    def weights_dir(self) -> Path:
        return self._weights_dir

    def models(self) -> list[KnownModel]:
        """The official models listed (with any URL overrides applied)."""
        return list(self._models)

    def found(self) -> list[FoundModel]:
        """What the last scan of the weights folder found."""
        return list(self._found)

    def is_busy(self) -> bool:
        """Whether a scan, download or add is still running."""
        return bool(self._tasks)

    def is_downloading(self, name: str | None = None) -> bool:
        return name in self._downloads if name else bool(self._downloads)

    def message(self) -> str:
        """The message shown under the list (empty when none)."""
        return "" if self.message_label.isHidden() else self.message_label.text()

    def row_status(self, name: str) -> str:
        """Status text of an official model's row (for tests and accessibility)."""
        row = self._rows[name]
        return row.status.text() if row.bar.isHidden() else row.bar.text()

    def progress_bar(self, name: str) -> QProgressBar:
        return self._rows[name].bar

    def download_button(self, name: str) -> QPushButton:
        return self._rows[name].button

    def present(self, name: str) -> list[Path]:
        """Files in the weights folder identified as the official model ``name``."""
        row = self._rows.get(name)
        if row is None:
            return []
        return [f.path for f in self._found if self._matches(row.model, f)]

    @Slot()
    def refresh(self) -> None:
        """Rescan the weights folder on a worker thread (``scanFinished`` when done)."""
        if self._closed:
            return
        if self._scan_task is not None:
            self._rescan = True
            return
        from gpen_desktop.core.models import scan_weights

        folder = self._weights_dir
        task = BackgroundTask(lambda _t: scan_weights([folder]), "scan")
        task.succeeded.connect(self._on_scan_done)
        task.failed.connect(self._on_scan_failed)
        self._scan_task = task
        self.refresh_button.setEnabled(False)
        for row in self._rows.values():
            if row.model.name not in self._downloads and not row.error:
                row.status.setText("Looking…")
        self._start(task)

    def start_download(self, name: str) -> None:
        """Download the official model ``name`` into the weights folder (resumes a .part)."""
        row = self._rows[name]
        if name in self._downloads or self._closed:
            return
        model = row.model
        if not model.url:
            self._show_message(f"{name} has no download address; add the file you have.", True)
            return
        dest = self._weights_dir / model.filename
        task = _download_task(model, model.url, dest, self._timeout, self.PROGRESS_INTERVAL)
        task.progressed.connect(lambda d, t, n=name: self._on_progress(n, d, t))
        task.succeeded.connect(lambda path, n=name: self._on_download_done(n, path))
        task.failed.connect(lambda msg, n=name: self._on_download_failed(n, msg))
        task.cancelled.connect(lambda msg, n=name: self._on_download_cancelled(n, msg))
        self._downloads[name] = task
        row.error = None
        row.bar.setRange(0, 1000)
        row.bar.setValue(0)
        row.bar.setFormat("Connecting…")
        row.bar.show()
        row.status.hide()
        row.button.setText("Cancel")
        row.button.setIcon(icon("cancel"))
        row.button.show()
        self._show_message("")
        self._start(task)

    def cancel_download(self, name: str) -> None:
        task = self._downloads.get(name)
        if task is not None:
            task.cancel()
            self._rows[name].button.setEnabled(False)

    def add_checkpoint(self, path: str | Path | None = None) -> None:
        """Validate a checkpoint the user has and, after confirmation, copy or link it in.

        Without ``path`` a file dialog asks for one. Validation and copying run off the GUI
        thread; the outcome is shown under the list.
        """
        if path is None:
            self._choose_file(lambda chosen: chosen and self.add_checkpoint(chosen))
            return
        source = Path(path)
        from gpen_desktop.core.models import identify

        task = BackgroundTask(lambda _t: identify(source), "inspect")
        task.succeeded.connect(lambda found: self._on_inspected(source, found))
        task.failed.connect(lambda msg: self._show_message(f"Not added: {msg}", True))
        self.add_button.setEnabled(False)
        self._show_message(f"Checking {source.name}…")
        self._start(task)

    @Slot()
    def open_weights_folder(self) -> None:
        try:
            self._weights_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._show_message(f"Cannot create {self._weights_dir}: {exc.strerror}", True)
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._weights_dir)))

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Cancel downloads and stop every background task (waits up to ``wait_s`` seconds).

        A task that does not finish in time keeps its pool thread until it ends.
        """
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        deadline = time.monotonic() + wait_s
        stuck = False
        for task in list(self._tasks):
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if task.wait(remaining_ms):
                _LIVE.discard(task)
            else:  # stays in _LIVE until its ``done`` arrives
                stuck = True
                log.warning("%s still running after the dialog closed", task.label)
            for signal in (task.succeeded, task.failed, task.cancelled, task.progressed):
                with contextlib.suppress(RuntimeError, TypeError):
                    signal.disconnect()
        self._tasks.clear()
        self._downloads.clear()
        self._scan_task = None
        self._pool.shutdown(wait=not stuck)

    # ----------------------------------------------------------------------------- Qt overrides
    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)

    # ----------------------------------------------------------------------------- internals
    def _start(self, task: BackgroundTask) -> None:
        self._tasks.add(task)
        _LIVE.add(task)
        task.done.connect(lambda t=task: _LIVE.discard(t))
        task.done.connect(lambda t=task: self._on_task_finished(t))
        self._pool.start(task)

    def _on_task_finished(self, task: BackgroundTask) -> None:
        self._tasks.discard(task)
        task.deleteLater()

    def _show_message(self, text: str, error: bool = False) -> None:
        if self._closed:
            return
        if not text:
            self.message_label.clear()
            self.message_label.hide()
            return
        palette = self.message_label.palette()
        role = QPalette.ColorRole.BrightText if error else QPalette.ColorRole.WindowText
        palette.setColor(QPalette.ColorRole.WindowText, self.palette().color(role))
        self.message_label.setPalette(palette)
        self.message_label.setProperty("error", error)
        self.message_label.setText(text)
        self.message_label.show()
        (log.warning if error else log.info)("Model manager: %s", text)

    @staticmethod
    def _matches(model: KnownModel, found: FoundModel) -> bool:
        if found.kind == "invalid":
            return False
        if found.known is not None:
            return found.known.name == model.name
        info = found.info
        if info is None or found.kind != "restorer" or not model.is_restorer:
            return False
        same = (info.in_size, info.channel_multiplier) == (model.size, model.channel_multiplier)
        return (
            same
            and abs(info.narrow - model.narrow) < 1e-9
            and found.path.name.lower() == model.filename.lower()
        )

    def _on_scan_done(self, found: list[FoundModel]) -> None:
        if self._closed:
            return
        self._scan_task = None
        self.refresh_button.setEnabled(True)
        self._found = list(found)
        self._populate()
        self.scanFinished.emit()
        if self._rescan:
            self._rescan = False
            self.refresh()

    def _on_scan_failed(self, message: str) -> None:
        if self._closed:
            return
        self._scan_task = None
        self.refresh_button.setEnabled(True)
        self._show_message(f"Could not scan the weights folder: {message}", True)
        self.scanFinished.emit()

    def _populate(self) -> None:
        for name in self._rows:
            self._update_row(name)
        claimed = {p for name in self._rows for p in self.present(name)}
        for group in (self._others, self._invalid):
            group.takeChildren()
        for found in self._found:
            if found.path in claimed:
                continue
            if found.kind == "invalid":
                item = QTreeWidgetItem(self._invalid)
                item.setText(COL_NAME, found.path.name)
                item.setText(COL_PURPOSE, "—")
                item.setText(COL_SIZE, _mb(self._file_size(found.path)))
                item.setText(COL_STATUS, found.error or "unreadable")
                item.setToolTip(COL_STATUS, found.error or "")
                item.setForeground(COL_STATUS, self.palette().color(QPalette.ColorRole.BrightText))
                continue
            item = QTreeWidgetItem(self._others)
            item.setText(COL_NAME, found.path.name)
            item.setToolTip(COL_NAME, str(found.path))
            info = found.info
            if found.kind == "discriminator":
                item.setText(COL_PURPOSE, "Discriminator (training only)")
                item.setText(COL_STATUS, "Valid, but not used for restoration")
            elif found.known is not None and info is None:
                item.setText(COL_PURPOSE, _purpose(found.known.task))
                item.setText(COL_STATUS, f"Valid: {found.known.name}")
            elif found.kind == "superres":
                item.setText(COL_PURPOSE, _purpose("superres"))
                item.setText(COL_STATUS, f"Valid: {info.arch} ×{info.scale} upscaler")
                item.setToolTip(COL_STATUS, info.summary())
            else:
                task = found.known.task if found.known else getattr(info, "task", "bfr")
                item.setText(COL_PURPOSE, _purpose(task))
                item.setText(COL_STATUS, f"Valid: {getattr(info, 'name', 'GPEN checkpoint')}")
                if info is not None:
                    item.setToolTip(COL_STATUS, info.summary())
            px = getattr(info, "in_size", 0) or 0
            scale = getattr(info, "scale", 0) if found.kind == "superres" else 0
            item.setText(COL_SIZE, _size_text(px, scale, self._file_size(found.path)))
        self._others.setHidden(self._others.childCount() == 0)
        self._invalid.setHidden(self._invalid.childCount() == 0)

    @staticmethod
    def _file_size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return 0

    def _update_row(self, name: str) -> None:
        row = self._rows[name]
        model = row.model
        if name in self._downloads:
            return
        row.bar.hide()
        row.status.show()
        row.button.setEnabled(True)
        row.button.setIcon(QIcon())
        files = self.present(name)
        partial = downloads.partial_bytes(self._weights_dir / model.filename)
        if files:
            names = ", ".join(p.name for p in files)
            text = "✔ Installed" + ("" if names == model.filename else f" as {names}")
            row.status.setText(text)
            row.status.setToolTip("\n".join(str(p) for p in files))
            row.button.hide()
            row.error = None
        else:
            row.button.show()
            row.button.setText("Resume" if partial else "Download")
            row.button.setEnabled(bool(model.url))
            if row.error:
                width = max(120, self.tree.columnWidth(COL_STATUS) - 12)
                short = row.status.fontMetrics().elidedText(
                    f"✖ {row.error}", Qt.TextElideMode.ElideRight, width
                )
                row.status.setText(short)
                row.status.setToolTip(row.error)
            elif partial:
                row.status.setText(f"Paused at {_mb(partial)} of ~{_mb(model.approx_bytes)}")
                row.status.setToolTip("Download resumes where it stopped")
            else:
                row.status.setText("Not installed")
                row.status.setToolTip(model.url)
        self._color_status(row, error=bool(row.error) and not files)

    def _color_status(self, row: _Row, error: bool) -> None:
        palette = row.status.palette()
        role = QPalette.ColorRole.BrightText if error else QPalette.ColorRole.WindowText
        palette.setColor(QPalette.ColorRole.WindowText, self.palette().color(role))
        row.status.setPalette(palette)

    def _on_action(self, name: str) -> None:
        if name in self._downloads:
            self.cancel_download(name)
        else:
            self.start_download(name)

    def _on_progress(self, name: str, done: int, total: int | None) -> None:
        row = self._rows.get(name)
        if self._closed or row is None or name not in self._downloads:
            return
        # Only touch the widgets when what they show changes.
        if total:
            if row.bar.maximum() != 1000:
                row.bar.setRange(0, 1000)
            value = int(done * 1000 / total)
            text = f"{done * 100 / total:.0f}% · {_mb(done)} of {_mb(total)}"
        else:
            if row.bar.maximum() != 0:
                row.bar.setRange(0, 0)
            value, text = row.bar.value(), _mb(done)
        if value != row.bar.value():
            row.bar.setValue(value)
        if text != row.bar.format():
            row.bar.setFormat(text)

    def _finish_download(self, name: str) -> _Row:
        self._downloads.pop(name, None)
        row = self._rows[name]
        row.button.setEnabled(True)
        return row

    def _on_download_done(self, name: str, path: Path) -> None:
        if self._closed:
            return
        row = self._finish_download(name)
        row.bar.setValue(row.bar.maximum())
        self._show_message(f"{name} downloaded and verified: {path}")
        self.modelsChanged.emit()
        self.refresh()

    def _on_download_failed(self, name: str, message: str) -> None:
        if self._closed:
            return
        row = self._finish_download(name)
        row.error = message
        self._update_row(name)
        self._show_message(f"{name}: {message}", True)

    def _on_download_cancelled(self, name: str, message: str) -> None:
        if self._closed:
            return
        self._finish_download(name)
        self._update_row(name)
        self._show_message(f"{name}: {message}")

    # adding a file the user has ----------------------------------------------------------
    def _on_inspected(self, source: Path, found: FoundModel) -> None:
        if self._closed:
            return
        self.add_button.setEnabled(True)
        if found.kind == "invalid":
            self._show_message(f"Not added: {found.error}", True)
            return
        if found.info is not None:
            what = found.info.summary()
        else:
            what = f"{found.known.name if found.known else found.kind} ({found.kind})"
        self._ask_add_mode(source, what, lambda mode: self._add_as(source, what, mode))

    def _add_as(self, source: Path, what: str, mode: str | None) -> None:
        if self._closed:
            return
        if mode is None:
            self._show_message("")
            return
        dest_dir = self._weights_dir
        task = BackgroundTask(lambda _t: _place_file(source, dest_dir, mode), "add")
        task.succeeded.connect(lambda dest: self._on_added(dest, what, mode))
        task.failed.connect(lambda msg: self._show_message(f"Not added: {msg}", True))
        self.add_button.setEnabled(False)
        self._start(task)

    def _choose_file(self, then: Callable[[str], object]) -> None:
        """A file dialog (opened, not exec'd: no nested event loop) for a model file; calls
        ``then(path)`` with the chosen path, "" when cancelled."""
        patterns = " ".join(f"*{e}" for e in CHECKPOINT_EXTENSIONS)
        dialog = QFileDialog(
            self, "Add a model file", str(Path.home()), f"Model files ({patterns});;All files (*)"
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        open_then(
            dialog,
            lambda result: then(
                dialog.selectedFiles()[0]
                if result == QDialog.DialogCode.Accepted and dialog.selectedFiles()
                else ""
            ),
        )

    def _ask_add_mode(
        self, source: Path, what: str, answer: Callable[[str | None], object]
    ) -> None:
        """Ask whether to copy or link ``source``; calls ``answer("copy" | "link" | None)``
        (None: cancelled) once the question is closed."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Add checkpoint")
        box.setText(f"{source.name} is a valid checkpoint:\n{what}")
        box.setInformativeText(
            f"Copy it into {self._weights_dir}, or link to it where it is "
            "(saves disk space; the original must stay in place)?"
        )
        copy = box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole)
        link = box.addButton("Link", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(copy)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(_result: int) -> None:
            clicked = box.clickedButton()
            answer("copy" if clicked is copy else "link" if clicked is link else None)

        open_then(box, finished)

    def _on_added(self, dest: Path, what: str, mode: str) -> None:
        if self._closed:
            return
        self.add_button.setEnabled(True)
        verb = "Copied" if mode == "copy" else "Linked"
        self._show_message(f"{verb} {dest.name} into the weights folder ({what.split(':')[0]}).")
        self.modelsChanged.emit()
        self.refresh()


def _unique_destination(folder: Path, name: str) -> Path:
    dest = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while dest.exists() or dest.is_symlink():
        dest = folder / f"{stem}-{n}{suffix}"
        n += 1
    return dest


def _place_file(source: Path, folder: Path, mode: str) -> Path:
    """Copy (atomically) or symlink ``source`` into ``folder``; returns the new path."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if source.resolve().parent == folder.resolve():
            raise GpenError(f"{source.name} is already in the weights folder")
        dest = _unique_destination(folder, source.name)
        if mode == "link":
            try:
                os.symlink(source.resolve(), dest)
            except OSError as exc:
                raise GpenError(
                    f"could not create a link ({exc.strerror or exc}); choose Copy instead"
                ) from None
            return dest
        tmp = dest.with_name(f".{dest.name}.adding")
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest
    except OSError as exc:
        raise GpenError(f"could not copy {source.name}: {exc.strerror or exc}") from None
