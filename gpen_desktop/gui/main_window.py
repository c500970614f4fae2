"""The main window: photo strip, canvas with compare modes, faces and options panels.

Long operations are coroutines on the qasync loop (started with :meth:`MainWindow.spawn`); they
await jobs on the :class:`~gpen_desktop.gui.worker.InferenceWorker` and report every failure
through one path (:meth:`MainWindow.report_error`: a short line in the banner and status bar,
details in the log). Nothing heavy runs on the GUI thread, and nothing here imports torch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QObject, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QDesktopServices,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop import __version__
from gpen_desktop.core.errors import Cancelled, GpenError
from gpen_desktop.core.types import Face, Photo
from gpen_desktop.gui import export
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.canvas import CanvasView
from gpen_desktop.gui.compare import SideBySideView
from gpen_desktop.gui.panels import (
    EmptyState,
    FacePanel,
    MessageBanner,
    OptionsPanel,
    PhotoStrip,
    icon,
)
from gpen_desktop.gui.settings import app_settings
from gpen_desktop.gui.state import DocBinding, PhotoDoc, PhotoStatus, Session
from gpen_desktop.gui.worker import (
    DetectRequest,
    InferenceWorker,
    LandmarksRequest,
    RestoreRequest,
    describe_exception,
    identify_model,
    qimage_from_rgb,
    scan_models,
)

log = logging.getLogger(__name__)

PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")  # open dialog
MAX_RECENT = 10
CROP_SIZE = 112


# --------------------------------------------------------------------------- I/O pool functions


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to open (folders expand to the photos directly inside them, explicitly named
    files are kept whatever their type) and (path, reason) for what cannot be opened at all."""
    from gpen_desktop.core.imageio import iter_images

    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        try:
            found = iter_images([p])
        except GpenError as exc:
            problems.append((p, str(exc)))
            continue
        if not found and p.is_dir():
            problems.append((p, "no photos in this folder"))
        files.extend(found)
    return files, problems


def load_for_display(path: Path) -> tuple[Photo, QImage, QImage]:
    """Decode a photo (EXIF orientation applied) plus display and thumbnail images."""
    from gpen_desktop.core.imageio import load_photo

    photo = load_photo(path)
    return (photo, *display_images(photo))


def display_images(photo: Photo) -> tuple[QImage, QImage]:
    """The display copy (8-bit RGB) of a photo and its thumbnail (≤ 160 px)."""
    image = qimage_from_rgb(photo.rgb8())
    thumb = image.scaled(
        160, 160, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    return image, thumb


def compute_crops(photo: Photo, faces: list[Face], size: int = CROP_SIZE) -> list[QImage]:
    """Aligned crops (``size`` px, the GPEN template) of ``faces``; faces without landmarks
    get their box, squared."""
    from gpen_desktop.core.faces.align import align_face

    rgb = photo.rgb8()
    out = []
    for face in faces:
        pts = face.landmarks_array()
        if pts is not None:
            crop, _ = align_face(rgb, pts, size)
        else:
            x0, y0, x1, y1 = face.box
            side = max(x1 - x0, y1 - y0, 1)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            xs = np.clip(
                np.linspace(cx - side / 2, cx + side / 2, size).astype(int), 0, rgb.shape[1] - 1
            )
            ys = np.clip(
                np.linspace(cy - side / 2, cy + side / 2, size).astype(int), 0, rgb.shape[0] - 1
            )
            crop = rgb[ys][:, xs]
        out.append(qimage_from_rgb(crop))
    return out


def qimage_to_photo(image: QImage) -> Photo:
    """A pasted QImage as a Photo (RGB uint8)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    pixels = buf[:, : 3 * w].reshape(h, w, 3).copy()
    return Photo(pixels=pixels, format="PNG")


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


# --------------------------------------------------------------------------- the window


class MainWindow(QMainWindow):
    """GPEN Desktop's main window. ``worker`` defaults to a new :class:`InferenceWorker`
    (shut down when the window closes); ``settings`` to :func:`app_settings`."""

    closed = Signal()

    def __init__(
        self,
        settings: QSettings | None = None,
        worker: InferenceWorker | None = None,
        weights_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("GPEN Desktop")
        self.setObjectName("MainWindow")
        self.settings = settings or app_settings()
        self.session = Session(self)
        self.worker = worker or InferenceWorker(self)
        self.weights_dir = weights_dir
        self._tasks: set[asyncio.Task] = set()
        self._loads: dict[PhotoDoc, asyncio.Task] = {}
        self._detections: dict[PhotoDoc, asyncio.Task] = {}
        self._current_job = None
        self._run: dict[str, Any] | None = None
        self._scan_task: asyncio.Task | None = None
        self._weights_dir_seen = ""
        self._closing = False
        self._no_model_shown = False
        self.first_shown_at: float | None = None
        self.setAcceptDrops(True)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self._load_settings()
        self._update_actions()
        self._update_central()

    # ================================================================== building
    def _build_central(self) -> None:
        self.canvas = CanvasView()
        self.canvas.viewport().setAcceptDrops(False)
        self.side_view = SideBySideView(self.canvas)
        self.side_view.setAcceptDrops(False)
        self.side_view.viewport().setAcceptDrops(False)
        self.side_view.hide()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(self.side_view)
        self.splitter.setChildrenCollapsible(False)
        self.empty_state = EmptyState()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(self.splitter)
        self.banner = MessageBanner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        banner_box = QVBoxLayout()
        banner_box.setContentsMargins(8, 6, 8, 0)
        banner_box.addWidget(self.banner)
        layout.addLayout(banner_box)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.photo_strip = PhotoStrip(self.session)
        self.photos_dock = self._dock(
            "Photos", self.photo_strip, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.face_panel = FacePanel()
        self.faces_dock = self._dock(
            "Faces", self.face_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.options_panel = OptionsPanel()
        scroll = QScrollArea()
        scroll.setWidget(self.options_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.options_dock = self._dock("Settings", scroll, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.faces_dock, self.options_dock)
        self.faces_dock.raise_()
        self.resizeDocks([self.photos_dock], [210], Qt.Orientation.Horizontal)
        self.resizeDocks([self.faces_dock], [320], Qt.Orientation.Horizontal)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None, tip: str = ""):
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            if isinstance(shortcut, list | tuple):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip or shortcut is not None:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip or text.replace('…', '')}" + (f" ({keys})" if keys else ""))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        A = self._action
        self.act_open = A("&Open Photos…", self.open_dialog, QKeySequence.StandardKey.Open, "open")
        self.act_open_folder = A(
            "Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O", "open-folder"
        )
        self.act_paste = A("&Paste Image", self.paste, QKeySequence.StandardKey.Paste)
        self.act_save = A(
            "&Save",
            lambda: self.spawn(self.save()),
            QKeySequence.StandardKey.Save,
            "save",
            "Save the restored photo",
        )
        self.act_save_as = A(
            "Save &As…", lambda: self.spawn(self.save(ask=True)), "Ctrl+Shift+S", "save-as"
        )
        self.act_export_faces = A(
            "Export Face &Crops…", lambda: self.spawn(self.export_faces()), None, "export"
        )
        self.act_export_pair = A("Export &Before | After…", lambda: self.spawn(self.export_pair()))
        self.act_export_all = A(
            "&Export All…",
            lambda: self.spawn(self.export_all()),
            "Ctrl+E",
            "export",
            "Export every restored photo to a folder",
        )
        self.act_close = A("&Close Photo", self.close_current, QKeySequence.StandardKey.Close)
        self.act_quit = A("&Quit", self.close, QKeySequence.StandardKey.Quit)

        self.act_undo = self.session.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_undo.setIcon(icon("undo"))
        self.act_redo = self.session.undo_group.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Y")]
        )
        self.act_redo.setIcon(icon("redo"))
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_add_face = A(
            "&Add Face",
            self._toggle_add_tool,
            "N",
            "add-face",
            "Draw a box around a face the detector missed",
        )
        self.act_add_face.setCheckable(True)
        self.act_delete_face = A(
            "&Delete Face", self.delete_selected_face, ["Del", "Backspace"], "delete-face"
        )
        self.act_toggle_face = A("&Include/Exclude Face", self.toggle_selected_face, "X")
        self.act_next_face = A("Next Face", lambda: self._step_face(1), "]")
        self.act_prev_face = A("Previous Face", lambda: self._step_face(-1), "[")

        self.act_restore = A(
            "&Restore Photo",
            lambda: self.spawn(self.restore_current()),
            "Ctrl+R",
            "restore",
            "Restore the faces of this photo",
        )
        self.act_restore_face = A(
            "Restore Selected &Face",
            lambda: self.spawn(self.restore_selected_face()),
            "Ctrl+Shift+F",
            "restore-selected",
        )
        self.act_restore_all = A(
            "Restore &All Photos",
            lambda: self.spawn(self.restore_all()),
            "Ctrl+Shift+R",
            "restore-all",
        )
        self.act_cancel = A("&Cancel", self.cancel, "Esc", "cancel", "Stop the running restore")
        self.act_models = A("&Model Manager…", self.open_model_manager, None, "models")
        self.act_choose_ckpt = A("Use a Checkpoint &File…", self.choose_checkpoint)
        self.act_rescan = A("&Rescan Models", self.rescan_models)

        self.mode_group = QActionGroup(self)
        self.act_mode_edit = A("&Edit Faces", lambda: self.set_mode("edit"), "E")
        self.act_mode_wipe = A(
            "&Wipe Compare",
            lambda: self.set_mode("wipe"),
            "W",
            "compare",
            "Before/after with a draggable divider",
        )
        self.act_mode_side = A("&Side by Side", lambda: self.set_mode("side"), "S", "side-by-side")
        for act in (self.act_mode_edit, self.act_mode_wipe, self.act_mode_side):
            act.setCheckable(True)
            self.mode_group.addAction(act)
        self.act_mode_edit.setChecked(True)
        self.act_flip = A(
            "Show Other Image\t\\", lambda: self.canvas.set_flipped(not self.canvas.flipped)
        )
        self.act_flip.setCheckable(True)
        self.act_zoom_in = A(
            "Zoom &In", self.canvas.zoom_in, [QKeySequence.StandardKey.ZoomIn, "Ctrl+="], "zoom-in"
        )
        self.act_zoom_out = A(
            "Zoom &Out", self.canvas.zoom_out, QKeySequence.StandardKey.ZoomOut, "zoom-out"
        )
        self.act_fit = A("&Fit to Window", self.canvas.fit, "Ctrl+0", "zoom-fit")
        self.act_100 = A("&Actual Size (100 %)", self.canvas.actual_size, "Ctrl+1", "zoom-100")
        self.act_next_photo = A("&Next Photo", lambda: self.session.step(1), "PgDown")
        self.act_prev_photo = A("&Previous Photo", lambda: self.session.step(-1), "PgUp")
        self.act_shortcuts = A("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self.act_about = A("&About GPEN Desktop", self.show_about)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_open, self.act_open_folder])
        self.recent_menu = m.addMenu("Open &Recent")
        m.addAction(self.act_paste)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_export_faces, self.act_export_pair, self.act_export_all])
        m.addSeparator()
        m.addActions([self.act_close, self.act_quit])
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_add_face, self.act_delete_face, self.act_toggle_face])
        m.addActions([self.act_next_face, self.act_prev_face])
        m = bar.addMenu("&View")
        m.addActions([self.act_mode_edit, self.act_mode_wipe, self.act_mode_side, self.act_flip])
        m.addSeparator()
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_100])
        m.addSeparator()
        m.addActions([self.act_next_photo, self.act_prev_photo])
        m.addSeparator()
        for dock in (self.photos_dock, self.faces_dock, self.options_dock):
            m.addAction(dock.toggleViewAction())
        m = bar.addMenu("&Restore")
        m.addActions(
            [self.act_restore, self.act_restore_face, self.act_restore_all, self.act_cancel]
        )
        m.addSeparator()
        m.addActions([self.act_models, self.act_choose_ckpt, self.act_rescan])
        m = bar.addMenu("&Help")
        m.addActions([self.act_shortcuts, self.act_about])

        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar-main")
        tb.setMovable(False)
        tb.setIconSize(QSize(20, 20))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.act_open)
        tb.addAction(self.act_save)
        tb.addSeparator()
        for act in (self.act_restore, self.act_restore_all):
            tb.addAction(act)
        self.cancel_tool = tb.addAction(self.act_cancel)
        tb.addSeparator()
        for act in (self.act_add_face, self.act_delete_face, self.act_undo, self.act_redo):
            tb.addAction(act)
        tb.addSeparator()
        for act in (self.act_mode_edit, self.act_mode_wipe, self.act_mode_side):
            tb.addAction(act)
        tb.addSeparator()
        for act in (self.act_zoom_out, self.act_zoom_in, self.act_fit, self.act_100):
            tb.addAction(act)
        tb.addSeparator()
        tb.addAction(self.act_models)
        for act in tb.actions():
            button = tb.widgetForAction(act)
            if isinstance(button, QToolButton) and act in (
                self.act_zoom_in,
                self.act_zoom_out,
                self.act_fit,
                self.act_100,
                self.act_undo,
                self.act_redo,
                self.act_delete_face,
                self.act_open,
                self.act_save,
                self.act_models,
                self.act_cancel,
            ):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.act_restore.setIconText("Restore")
        self.act_restore_all.setIconText("Restore All")
        self.act_add_face.setIconText("Add Face")
        self.act_mode_edit.setIconText("Faces")
        self.act_mode_wipe.setIconText("Compare")
        self.act_mode_side.setIconText("Side by Side")

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.activity = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.elapsed = QLabel()
        self.elapsed.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(self.act_cancel)
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.hide()
        self.zoom_label = QLabel()
        self.model_label = QLabel()
        sb.addWidget(self.activity, 1)
        sb.addWidget(self.progress)
        sb.addWidget(self.elapsed)
        sb.addWidget(self.cancel_button)
        sb.addPermanentWidget(self.zoom_label)
        sb.addPermanentWidget(self.model_label)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._update_progress)
        self._stalls = GapMonitor(self)

    def _connect(self) -> None:
        s = self.session
        s.currentChanged.connect(self._on_current_changed)
        s.photoAdded.connect(lambda _d: self._update_central())
        s.photoRemoved.connect(lambda _d: self._update_central())
        self.canvas.faceEdited.connect(self._on_face_edited)
        self.canvas.faceDrawn.connect(lambda box: self.spawn(self.add_face(box)))
        self.canvas.selectionChanged.connect(self._on_canvas_selection)
        self.canvas.zoomChanged.connect(
            lambda z: self.zoom_label.setText(f"{z * self.canvas._dpr() * 100:.0f} %")
        )
        self.canvas.toolChanged.connect(lambda t: self.act_add_face.setChecked(t == "add"))
        self.canvas.flippedChanged.connect(self.act_flip.setChecked)
        self.canvas.modeChanged.connect(self._on_mode_changed)
        self.options_panel.optionsChanged.connect(self._on_options_changed)
        self.options_panel.manageModelsRequested.connect(self.open_model_manager)
        self.options_panel.chooseCheckpointRequested.connect(self.choose_checkpoint)
        self.empty_state.openRequested.connect(self.open_dialog)
        self.empty_state.openFolderRequested.connect(self.open_folder_dialog)
        self.empty_state.manageModelsRequested.connect(self.open_model_manager)
        self.empty_state.chooseCheckpointRequested.connect(self.choose_checkpoint)
        self.worker.busyChanged.connect(lambda _b: self._update_actions())
        self.worker.jobStarted.connect(self._on_job_started)
        self.worker.jobProgress.connect(lambda _j: self._update_progress())
        self.worker.faceRestored.connect(self._on_face_restored)
        self.worker.jobFinished.connect(self._on_job_finished)
        self._crop_timer = QTimer(self)
        self._crop_timer.setSingleShot(True)
        self._crop_timer.setInterval(80)
        self._crop_timer.timeout.connect(lambda: self.spawn(self._refresh_crops()))
        self._binding = DocBinding(
            lambda d: [
                (d.statusChanged, self._update_actions),
                (d.facesChanged, self._crop_timer.start),
                (d.selectionChanged, self._update_actions),
                (d.resultChanged, self._on_result_changed),
            ]
        )

    # ================================================================== async plumbing
    def spawn(self, coro: Coroutine) -> asyncio.Task:
        """Run a coroutine on the qasync loop; its failure is reported, never raised."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, Cancelled):
            self.report_error(exc)

    def report_error(self, exc: BaseException, context: str = "") -> None:
        """The one way errors reach the user: a short line (details in the log)."""
        if not isinstance(exc, GpenError):
            log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
        message = str(describe_exception(exc))
        message = message[:1].upper() + message[1:]
        if context:
            message = f"{context}: {message}"
        self.show_message(message, "error")

    def show_message(self, text: str, level: str = "info", actions=None, timeout_ms=None) -> None:
        if level == "info" and timeout_ms is None and not actions:
            timeout_ms = 6000
        self.banner.show_message(text, level, actions, timeout_ms)
        self.activity.setText(text.splitlines()[0])

    # ================================================================== opening photos
    def open_dialog(self) -> None:
        paths = self._ask_open_files()
        if paths:
            self.open_paths(paths)

    def open_folder_dialog(self) -> None:
        folder = self._ask_folder("Open Folder")
        if folder:
            self.open_paths([folder])

    def _ask_open_files(self) -> list[str]:
        start = cfg.OPEN_DIR.read(self.settings) or str(Path.home())
        exts = " ".join(f"*{e}" for e in PHOTO_EXTENSIONS)
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open Photos", start, f"Photos ({exts});;All files (*)"
        )
        return paths

    def _ask_folder(self, title: str, where: cfg.Setting = cfg.OPEN_DIR) -> str:
        start = where.read(self.settings) or str(Path.home())
        return QFileDialog.getExistingDirectory(self, title, start)

    def open_paths(self, paths: Iterable[str | Path]) -> asyncio.Task:
        return self.spawn(self.open_paths_async(list(paths)))

    async def open_paths_async(self, paths: list[str | Path]) -> list[PhotoDoc]:
        """Open files and folders; returns the new documents once all have loaded (or failed)."""
        files, problems = await self.worker.run_io(expand_paths, paths)
        new_docs: list[PhotoDoc] = []
        first: PhotoDoc | None = None
        for path in files:
            existing = self.session.find(path)
            if existing is not None:
                first = first or existing
                continue
            doc = self.session.add(PhotoDoc(path))
            new_docs.append(doc)
            first = first or doc
            self._loads[doc] = self.spawn(self._load(doc))
        if first is not None:
            self.session.set_current(first)
            cfg.OPEN_DIR.write(self.settings, str(Path(files[0]).parent))
        bad = {p for p, _why in problems}
        self._add_recent([Path(p) for p in paths if Path(p) not in bad])
        if new_docs:
            await asyncio.gather(
                *(self._loads[d] for d in new_docs if d in self._loads), return_exceptions=True
            )
        failed = [(d.path, d.message) for d in new_docs if d.status is PhotoStatus.UNREADABLE]
        failed += problems
        if failed:
            lines = [f"{Path(p).name}: {why}" for p, why in failed]
            head = "Couldn't open " + (lines[0] if len(lines) == 1 else f"{len(lines)} files")
            detail = "" if len(lines) == 1 else " — " + "; ".join(lines[:4])
            self.show_message(head + detail, "warning")
        return new_docs

    async def _load(self, doc: PhotoDoc) -> None:
        try:
            photo, image, thumb = await self.worker.run_io(load_for_display, doc.path)
        except Exception as exc:  # noqa: BLE001 - shown on the photo and in the banner
            reason = str(describe_exception(exc))
            doc.set_unreadable(reason)
            return
        finally:
            self._loads.pop(doc, None)
        doc.set_loaded(photo, image, thumb)
        self._detections[doc] = self.spawn(self._detect(doc))

    def open_photo(self, photo: Photo, name: str | None = None) -> PhotoDoc:
        """Open an in-memory photo (paste)."""
        doc = self.session.add(PhotoDoc(None, name))
        doc.set_loaded(photo, *display_images(photo))
        self.session.set_current(doc)
        self._detections[doc] = self.spawn(self._detect(doc))
        return doc

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self._open_mime(mime):
            self.show_message("The clipboard holds no image or photo files.", "info")

    def _open_mime(self, mime) -> bool:
        """Open local files (or else an image) from a clipboard or drop; False if none."""
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if files:
            self.open_paths(files)
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.open_photo(qimage_to_photo(image))
                return True
        return False

    async def _detect(self, doc: PhotoDoc) -> None:
        try:
            faces = await self.worker.run(DetectRequest(doc.photo, self.run_options()))
        except Cancelled:
            return
        except GpenError as exc:
            doc.set_detected([])
            self.show_message(f"Face detection failed for {doc.name}: {exc}", "error")
            return
        finally:
            self._detections.pop(doc, None)
        doc.set_detected(faces)
        if doc is self.session.current:
            self._crop_timer.start()
            if not faces:
                self.show_message(
                    f"No faces found in {doc.name}. Draw one with Add Face (N).", "info"
                )

    async def ensure_ready(self, doc: PhotoDoc) -> bool:
        """Wait until ``doc`` is loaded and detected; False when it can't be opened."""
        task = self._loads.get(doc)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if not doc.is_loaded:
            return False
        task = self._detections.get(doc)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if not doc.detected:
            await self._detect(doc)
        return True

    # ---------------------------------------------------------------- recent files
    def _recent(self) -> list[str]:
        return list(cfg.RECENT.read(self.settings))

    def _add_recent(self, paths: list[Path]) -> None:
        """Remember opened files and folders (newest first)."""
        new = [str(p.resolve()) for p in paths]
        items = list(dict.fromkeys(new[::-1] + self._recent()))
        cfg.RECENT.write(self.settings, items[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self._recent()
        for p in items:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _c=False, p=p: self.open_paths([p]))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self._clear_recent)
        self.recent_menu.setEnabled(bool(items))

    def _clear_recent(self) -> None:
        cfg.RECENT.write(self.settings, [])
        self._rebuild_recent_menu()

    # ---------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        mime = event.mimeData()
        if (mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())) or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        if self._open_mime(event.mimeData()):
            event.acceptProposedAction()

    # ================================================================== documents & faces
    def _on_current_changed(self, doc: PhotoDoc | None) -> None:
        self._binding.bind(doc)
        self.canvas.set_document(doc)
        self.face_panel.set_document(doc)
        self._on_result_changed()
        if doc is not None:
            self._crop_timer.start()
            self.setWindowTitle(f"{doc.name} — GPEN Desktop")
        else:
            self.setWindowTitle("GPEN Desktop")
        self._update_actions()
        self._update_central()

    def _on_result_changed(self) -> None:
        doc = self.session.current
        image = doc.result_image if doc is not None else None
        target = self.canvas._bounds
        self.side_view.set_image(image, target)
        self._update_actions()

    def _on_canvas_selection(self, index: int) -> None:
        doc = self.session.current
        if doc is not None:
            doc.select(index)

    def _on_face_edited(self, index: int, face: Face, text: str) -> None:
        doc = self.session.current
        if doc is not None and 0 <= index < len(doc.faces):
            # applied on the next turn: the item that sent it is still in its event handler
            QTimer.singleShot(0, lambda: doc.replace_face(index, face, text))

    async def add_face(self, box: tuple[float, float, float, float]) -> int:
        """Add a face in ``box`` (landmarks predicted on the worker); returns its index."""
        doc = self.session.current
        if doc is None or not doc.is_loaded:
            return -1
        try:
            face = await self.worker.run(
                LandmarksRequest(doc.photo, tuple(box), self.run_options())
            )
        except GpenError as exc:
            log.info("landmarks failed: %s", exc)
            face = Face(box=tuple(box), landmarks=None)
        if doc not in self.session.docs:
            return -1
        index = doc.add_face(face)
        if face.landmarks is None:
            self.show_message(
                "No landmarks found in that box; they will be estimated when restoring.", "info"
            )
        return index

    def _toggle_add_tool(self, checked: bool) -> None:
        self.canvas.set_tool("add" if checked else "select")
        if checked:
            self.activity.setText("Drag a box around the face to add (Esc cancels)")

    def delete_selected_face(self) -> None:
        doc = self.session.current
        if doc is not None and doc.selected >= 0:
            doc.remove_face(doc.selected)

    def toggle_selected_face(self) -> None:
        doc = self.session.current
        if doc is not None and doc.selected >= 0:
            doc.set_included(doc.selected, not doc.faces[doc.selected].include)

    def _step_face(self, delta: int) -> None:
        doc = self.session.current
        if doc is not None and doc.faces:
            doc.select((doc.selected + delta) % len(doc.faces))

    def close_current(self) -> None:
        doc = self.session.current
        if doc is not None:
            self.session.remove(doc)

    async def _refresh_crops(self) -> None:
        doc = self.session.current
        if doc is None or not doc.is_loaded or not doc.faces:
            return
        faces = [f for f in doc.faces if FacePanel.crop_key(f) not in self.face_panel._crops]
        if not faces:
            return
        images = await self.worker.run_io(compute_crops, doc.photo, faces)
        for face, image in zip(faces, images, strict=True):
            self.face_panel.set_crop(FacePanel.crop_key(face), QPixmap.fromImage(image))
        if doc is self.session.current:
            self.face_panel.refresh()

    # ================================================================== modes
    def set_mode(self, mode: str) -> None:
        self.canvas.set_mode(mode)

    def _on_mode_changed(self, mode: str) -> None:
        {"edit": self.act_mode_edit, "wipe": self.act_mode_wipe, "side": self.act_mode_side}[
            mode
        ].setChecked(True)
        self.side_view.setVisible(mode == "side")
        if mode == "side":
            total = max(2, self.splitter.width())
            self.splitter.setSizes([total // 2, total - total // 2])
            QTimer.singleShot(0, self.canvas.fit)
        elif self.canvas._fit:
            QTimer.singleShot(0, self.canvas.fit)
        if mode != "edit" and self.canvas.tool == "add":
            self.canvas.set_tool("select")
        self._update_actions()

    # ================================================================== models
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.first_shown_at is None:
            self.first_shown_at = time.perf_counter()
            QTimer.singleShot(0, self.rescan_models)

    def rescan_models(self) -> None:
        if self._scan_task is not None and not self._scan_task.done():
            return
        self._scan_task = self.spawn(self.scan_models())

    async def scan_models(self) -> None:
        folders = (self.weights_dir,) if self.weights_dir else ()
        self.options_panel.model_info.setText("Looking for models…")
        try:
            result = await self.worker.run_io(scan_models, folders)
        except Exception as exc:  # noqa: BLE001 - the window must still become usable
            self.options_panel.set_models([], "")
            self.report_error(exc, "Couldn't look for models")
            return
        self._weights_dir_seen = result.weights_dir
        self.options_panel.set_devices(result.devices)
        self.options_panel.set_available(result.detectors, result.parsing, result.weights_dir)
        self.options_panel.set_models(result.models, result.weights_dir)
        self._update_model_label()
        self._update_central()
        bad = [m for m in result.models if getattr(m, "kind", "") == "invalid"]
        if bad:
            names = ", ".join(Path(m.path).name for m in bad[:3])
            self.show_message(
                f"Some files in the weights folder are not usable models: {names}", "warning"
            )

    def open_model_manager(self) -> None:
        from gpen_desktop.gui.dialogs.model_manager import ModelManagerDialog

        kwargs = {"weights_dir": self.weights_dir} if self.weights_dir else {}
        dialog = ModelManagerDialog(self, **kwargs)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.modelsChanged.connect(self.rescan_models)
        dialog.finished.connect(lambda _r: self.rescan_models())
        dialog.open()

    def choose_checkpoint(self) -> None:
        path = self._ask_checkpoint()
        if path:
            self.spawn(self.use_checkpoint(path))

    def _ask_checkpoint(self) -> str:
        start = cfg.CHECKPOINT_DIR.read(self.settings) or self._weights_dir_seen or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a GPEN Checkpoint",
            start,
            "PyTorch checkpoints (*.pth *.pt *.ckpt *.bin *.tar);;All files (*)",
        )
        return path

    async def use_checkpoint(self, path: str) -> None:
        """Check a checkpoint from disk on the worker and select it."""
        cfg.CHECKPOINT_DIR.write(self.settings, str(Path(path).parent))
        match = await self.worker.run_io(identify_model, path)
        if getattr(match, "kind", "") != "restorer":
            why = match.error or f"it is a {match.kind} model, not a GPEN face restorer"
            self.show_message(f"Can't use {Path(path).name}: {why}", "error")
            return
        label = OptionsPanel._model_text(match)
        self.options_panel.add_custom_model(str(path), label)
        self._update_model_label()
        self._update_central()
        self.show_message(f"Using {label}", "info")

    def run_options(self) -> Any:
        """The options panel's ``RestoreOptions`` with this window's weights folder."""
        return self.options_panel.options(weights_dir=self.weights_dir)

    def _on_options_changed(self) -> None:
        self._update_model_label()
        self._update_central()
        self._update_actions()

    def _update_model_label(self) -> None:
        o = self.options_panel
        device = o.device.currentText() or "Auto"
        self.model_label.setText(f"Model: {o.model_label()}  ·  Device: {device}")

    def _show_no_model(self) -> None:
        self.show_message(
            "No face restoration model yet. Get one with the model manager or choose a checkpoint file.",
            "warning",
            actions=[
                ("Get Models…", self.open_model_manager),
                ("Choose File…", self.choose_checkpoint),
            ],
        )

    # ================================================================== restoring
    @property
    def running(self) -> bool:
        return self._run is not None

    async def restore_current(self) -> None:
        doc = self.session.current
        if doc is not None:
            await self._restore([doc])

    async def restore_selected_face(self) -> None:
        doc = self.session.current
        if doc is None or doc.selected < 0:
            self.show_message("Select a face first (click its box).", "info")
            return
        await self._restore([doc], only_face=doc.selected)

    async def restore_all(self) -> None:
        docs = [d for d in self.session.docs if d.status is not PhotoStatus.UNREADABLE]
        await self._restore(docs)

    def cancel(self) -> None:
        if self.canvas.tool == "add":
            self.canvas.set_tool("select")
            return
        if self._run is None:
            return
        self._run["cancelled"] = True
        if self._current_job is not None:
            self._current_job.cancel()
        self.activity.setText("Cancelling…")

    async def _restore(self, docs: list[PhotoDoc], only_face: int | None = None) -> None:
        if self._run is not None:
            self.show_message("A restore is already running.", "info")
            return
        if self._scan_task is not None and not self._scan_task.done():
            self.activity.setText("Looking for models…")
            await asyncio.gather(self._scan_task, return_exceptions=True)
        options = self.run_options()
        if not options.model_path:
            self._show_no_model()
            return
        if not docs:
            return
        self._run = {
            "started": time.monotonic(),
            "index": 0,
            "count": len(docs),
            "cancelled": False,
            "name": "",
        }
        for doc in docs:
            if doc.status is not PhotoStatus.RUNNING:
                doc.set_status(PhotoStatus.QUEUED)
        self._tick.start()
        self._stalls.start()
        self._update_actions()
        self._update_progress()
        done = failed = 0
        try:
            for n, doc in enumerate(docs):
                if self._run["cancelled"]:
                    break
                self._run.update(index=n, name=doc.name)
                outcome = await self._restore_one(doc, options, only_face)
                done += outcome == "done"
                failed += outcome == "failed"
        finally:
            cancelled = self._run["cancelled"]
            elapsed = time.monotonic() - self._run["started"]
            self._run = None
            self._current_job = None
            for doc in docs:
                if doc.status is PhotoStatus.QUEUED:
                    doc.set_status(PhotoStatus.RESTORED if doc.has_result else PhotoStatus.READY)
            self._tick.stop()
            self._stalls.stop()
            self._update_actions()
            self._update_progress()
        log.info(
            "restore run: %.2f s, longest GUI-thread gap %.0f ms",
            elapsed,
            self._stalls.longest * 1000,
        )
        if os.environ.get("GPEN_DESKTOP_TIMING"):
            print(
                f"gpen-desktop: restore run {elapsed:.2f} s, longest GUI-thread gap "
                f"{self._stalls.longest * 1000:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
        if cancelled:
            self.show_message(f"Cancelled after {elapsed:.1f} s.", "info")
        elif failed == 0 and done:
            what = f"{done} photos" if len(docs) > 1 else docs[0].name
            self.activity.setText(f"Restored {what} in {elapsed:.1f} s")

    @staticmethod
    def _faces_to_send(doc: PhotoDoc, only_face: int | None) -> tuple[tuple, dict]:
        """The faces a restore sends and the earlier crops it may paste again.

        Restoring one face of a photo that has a result keeps the faces restored before: they
        are sent too, with their earlier crops when their box and landmarks are unchanged (no
        network work), so the new result is the old one with this face redone."""
        faces = doc.faces
        if only_face is None:
            return faces, {}
        before = dict(doc.face_results())
        sent = tuple(
            f.with_(include=(i == only_face or (i in before and f.include)))
            for i, f in enumerate(faces)
        )
        reuse = {}
        for i, f in enumerate(faces):
            fr = before.get(i)
            if i == only_face or fr is None or not sent[i].include:
                continue
            same_box = tuple(fr.face.box) == tuple(f.box)
            same_points = f.landmarks is None or fr.face.landmarks == f.landmarks
            if same_box and same_points:
                reuse[i] = fr.restored
        return sent, reuse

    async def _restore_one(self, doc: PhotoDoc, options, only_face: int | None) -> str:
        if not await self.ensure_ready(doc):
            return "skipped"
        if self._run is None or self._run["cancelled"]:
            return "skipped"
        faces = doc.faces
        sent, reuse = self._faces_to_send(doc, only_face)
        if not any(f.include for f in sent):
            reason = "no faces to restore" if not faces else "every face is excluded"
            doc.set_status(PhotoStatus.FAILED, reason)
            self.show_message(
                f"{doc.name}: {reason}. Draw a face with Add Face (N) or include one (X).",
                "warning",
            )
            return "failed"
        doc.set_status(PhotoStatus.RUNNING)
        job = self.worker.submit(RestoreRequest(doc.photo, sent, options, doc.name, reuse))
        self._current_job = job
        try:
            outcome = await job.future
        except Cancelled:
            doc.set_status(PhotoStatus.RESTORED if doc.has_result else PhotoStatus.READY)
            if self._run is not None:
                self._run["cancelled"] = True
            return "cancelled"
        except GpenError as exc:
            doc.set_status(PhotoStatus.FAILED, str(exc))
            self.show_message(f"Couldn't restore {doc.name}: {exc}", "error")
            return "failed"
        finally:
            self._current_job = None
        if doc not in self.session.docs:
            return "skipped"
        doc.set_result(outcome.result, outcome.image, faces)
        note = getattr(outcome.result, "fallback_note", None)
        if note:
            self.show_message(note, "warning")
        device = (
            str(getattr(outcome.result, "device", "")).replace("cpu", "CPU").replace("cuda", "CUDA")
        )
        precision = getattr(outcome.result, "precision", "")
        if device and precision:
            device = f"{device} · {precision}"
        if device:
            self.model_label.setText(
                f"Model: {self.options_panel.model_label()}  ·  Device: {device}"
            )
        if doc is self.session.current and self.canvas.mode == "edit":
            self.canvas.set_flipped(False)
            self.set_mode("wipe")
        return "done"

    def _on_job_started(self, job) -> None:
        if isinstance(job.request, RestoreRequest) or self._run is None:
            self._update_progress()

    def _on_job_finished(self, job) -> None:
        self._update_progress()

    def _on_face_restored(self, job, index: int, aligned, restored) -> None:
        """Show each face as soon as the network has it, before the photo is pasted."""
        request = job.request
        doc = self.session.current
        if not isinstance(request, RestoreRequest) or doc is None or request.photo is not doc.photo:
            return
        if index == doc.selected:
            self.face_panel.show_preview(aligned, restored)

    def _update_progress(self) -> None:
        run = self._run
        job = self._current_job
        if run is None:
            self.progress.hide()
            self.elapsed.hide()
            self.cancel_button.hide()
            busy = [j for j in self.worker.jobs if j.started is not None]
            if busy:
                self.activity.setText(busy[0].label + "…")
            elif self.activity.text().endswith("…") and self.activity.text() != "Cancelling…":
                self.activity.setText("Ready")
            return
        self.progress.show()
        self.elapsed.show()
        self.cancel_button.show()
        prefix = f"Photo {run['index'] + 1}/{run['count']} · " if run["count"] > 1 else ""
        if job is not None and job.total:
            self.progress.setRange(0, job.total)
            self.progress.setValue(job.done)
            self.progress.setFormat(f"{prefix}{job.done}/{job.total} faces")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(prefix.rstrip(" ·"))
        secs = int(time.monotonic() - run["started"])
        self.elapsed.setText(f"{secs // 60}:{secs % 60:02d}")
        if not run["cancelled"]:
            if job is not None and job.started is not None:
                msg = job.message or "restoring"
                self.activity.setText(f"{run['name']}: {msg}")
            else:
                self.activity.setText(f"{run['name']}: waiting for the worker…")

    # ================================================================== export
    def _ask_save_path(self, suggested: Path) -> str:
        settings = self.options_panel.export_settings()
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save Restored Photo",
            str(suggested),
            export.file_filter(),
            export.filter_for(settings.format),
        )
        return path

    def _export_folder(self) -> Path:
        default = str(Path.home())
        doc = self.session.current
        if doc is not None and doc.path is not None:
            default = str(doc.path.parent)
        return Path(cfg.SAVE_DIR.read(self.settings) or default)

    def _need_result(self) -> PhotoDoc | None:
        doc = self.session.current
        if doc is None or not doc.has_result:
            self.show_message("Nothing to save yet: restore the photo first (Ctrl+R).", "info")
            return None
        return doc

    async def save(self, ask: bool = False, path: str | Path | None = None) -> Path | None:
        """Save the current restored photo. Never replaces a file (or the original) without
        asking. Returns the written path, or None."""
        doc = self._need_result()
        if doc is None:
            return None
        settings = self.options_panel.export_settings()
        if path is None and (ask or doc.saved_path is None):
            suggested = export.suggested_path(doc.path, doc.name, settings, self._export_folder())
            chosen = self._ask_save_path(suggested)
            if not chosen:
                return None
            path = export.with_extension(Path(chosen), settings)
            if not export.check_target(self, path, doc.path):
                return None
        elif path is None:
            path = doc.saved_path  # Save again to the same file: the user chose it before
        else:
            path = Path(path)
            if not export.check_target(self, path, doc.path):
                return None
        written = await self.worker.run_io(export.write_photo, doc.result.image, path, settings)
        doc.saved_path = written
        cfg.SAVE_DIR.write(self.settings, str(written.parent))
        self.show_message(f"Saved {written.name}", "info")
        return written

    async def export_faces(self, folder: str | Path | None = None) -> list[Path]:
        doc = self._need_result()
        if doc is None:
            return []
        if folder is None:
            folder = self._ask_folder("Export Face Crops To", cfg.SAVE_DIR)
            if not folder:
                return []
        folder = Path(folder)
        stem = doc.path.stem if doc.path else doc.name.replace(" ", "_")
        targets = export.face_targets(stem, doc.face_results(), folder)
        existing = [t for t in targets if t.exists()]
        skip = False
        if existing:
            answer = export.confirm_many(self, existing)
            if answer == "cancel":
                return []
            skip = answer == "skip"
        written = await self.worker.run_io(
            export.write_faces, stem, doc.face_results(), folder, skip
        )
        self.show_message(f"Exported {len(written)} file(s) to {folder}", "info")
        return written

    async def export_pair(self, path: str | Path | None = None) -> Path | None:
        doc = self._need_result()
        if doc is None:
            return None
        settings = self.options_panel.export_settings()
        if path is None:
            stem = doc.path.stem if doc.path else doc.name.replace(" ", "_")
            suggested = self._export_folder() / f"{stem}_before_after{settings.extension}"
            chosen = self._ask_save_path(suggested)
            if not chosen:
                return None
            path = export.with_extension(Path(chosen), settings)
        path = Path(path)
        if not export.check_target(self, path, doc.path):
            return None
        written = await self.worker.run_io(
            export.write_side_by_side, doc.photo, doc.result.image, path, settings
        )
        self.show_message(f"Saved {written.name}", "info")
        return written

    async def export_all(self, folder: str | Path | None = None) -> list[Path]:
        docs = [d for d in self.session.docs if d.has_result]
        if not docs:
            self.show_message("No restored photos to export yet.", "info")
            return []
        if folder is None:
            folder = self._ask_folder("Export All Restored Photos To", cfg.SAVE_DIR)
            if not folder:
                return []
        folder = Path(folder)
        settings = self.options_panel.export_settings()
        targets = [(d, export.suggested_path(d.path, d.name, settings, folder)) for d in docs]
        # never the originals; ask once about files that already exist
        originals = [t for d, t in targets if export.same_file(t, d.path)]
        if originals:
            self.show_message(
                "Export All would replace original photos; choose another folder or suffix.",
                "error",
            )
            return []
        existing = [t for _d, t in targets if t.exists()]
        if existing:
            answer = export.confirm_many(self, existing)
            if answer == "cancel":
                return []
            if answer == "skip":
                targets = [(d, t) for d, t in targets if t not in existing]
        written = []
        for doc, target in targets:
            try:
                written.append(
                    await self.worker.run_io(export.write_photo, doc.result.image, target, settings)
                )
            except GpenError as exc:
                self.show_message(f"Couldn't write {target.name}: {exc}", "error")
        cfg.SAVE_DIR.write(self.settings, str(folder))
        if written:
            self.show_message(
                f"Exported {len(written)} photo(s) to {folder}",
                "info",
                actions=[
                    (
                        "Show Folder",
                        lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))),
                    )
                ],
            )
        return written

    # ================================================================== state of the chrome
    def _update_actions(self, *_args) -> None:
        doc = self.session.current
        loaded = doc is not None and doc.is_loaded
        has_face = loaded and doc.selected >= 0
        running = self._run is not None
        has_result = doc is not None and doc.has_result
        self.act_restore.setEnabled(loaded and not running)
        self.act_restore_face.setEnabled(has_face and not running)
        self.act_restore_all.setEnabled(bool(self.session.docs) and not running)
        self.act_cancel.setEnabled(running)
        self.act_add_face.setEnabled(loaded)
        self.act_delete_face.setEnabled(has_face)
        self.act_toggle_face.setEnabled(has_face)
        for act in (self.act_save, self.act_save_as, self.act_export_faces, self.act_export_pair):
            act.setEnabled(has_result)
        self.act_export_all.setEnabled(any(d.has_result for d in self.session.docs))
        self.act_close.setEnabled(doc is not None)
        for act in (
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_fit,
            self.act_100,
            self.act_mode_edit,
            self.act_mode_wipe,
            self.act_mode_side,
        ):
            act.setEnabled(loaded)

    def _update_central(self) -> None:
        has_docs = bool(self.session.docs)
        self.stack.setCurrentIndex(1 if has_docs else 0)
        missing = self.options_panel._scanned and not self.options_panel.has_model()
        self.empty_state.set_model_missing(missing, self._weights_dir_seen)
        # with photos open, the same pointer to the model manager sits in the banner
        if has_docs and missing and not self._no_model_shown:
            self._no_model_shown = True
            self._show_no_model()
        elif not missing:
            self._no_model_shown = False
            if self.banner.text.startswith("No face restoration model"):
                self.banner.hide()

    # ================================================================== help
    def show_shortcuts(self) -> None:
        rows = [
            ("Ctrl+O / Ctrl+Shift+O", "Open photos / folder"),
            ("Ctrl+V", "Paste an image"),
            ("Ctrl+R", "Restore this photo"),
            ("Ctrl+Shift+F", "Restore the selected face"),
            ("Ctrl+Shift+R", "Restore all photos"),
            ("Esc", "Cancel"),
            ("N", "Add a face (drag a box)"),
            ("Del", "Delete the selected face"),
            ("X", "Include / exclude the selected face"),
            ("[ / ]", "Previous / next face"),
            ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"),
            ("E / W / S", "Faces / wipe / side by side"),
            ("\\", "Tap: toggle before/after; hold: peek"),
            ("Space + drag", "Pan"),
            ("Wheel, Ctrl+= / Ctrl+-", "Zoom"),
            ("Ctrl+0 / Ctrl+1", "Fit / 100 %"),
            ("PgUp / PgDown", "Previous / next photo"),
            ("Ctrl+S / Ctrl+Shift+S", "Save / save as"),
        ]
        html = (
            "<table cellpadding=3>"
            + "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
            + "</table>"
        )
        QMessageBox.information(self, "Keyboard Shortcuts", html)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About GPEN Desktop",
            f"<b>GPEN Desktop {__version__}</b><p>Face restoration with GPEN "
            "(GAN Prior Embedded Network, Yang et al., CVPR 2021).</p>",
        )

    # ================================================================== settings & closing
    def _load_settings(self) -> None:
        s = self.settings
        geometry = s.value(cfg.GEOMETRY.key)
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.restoreGeometry(QByteArray(geometry))
        else:
            self.resize(1400, 900)
        state = s.value(cfg.WINDOW_STATE.key)
        if isinstance(state, QByteArray | bytes) and state:
            self.restoreState(QByteArray(state))
        self.options_panel.load_settings(s)
        self._rebuild_recent_menu()
        self._update_model_label()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue(cfg.GEOMETRY.key, self.saveGeometry())
        s.setValue(cfg.WINDOW_STATE.key, self.saveState())
        self.options_panel.save_settings(s)
        s.sync()

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._closing:
            self._closing = True
            self.save_settings()
            self.hide()  # close at once; a running batch may take a moment to stop
            for task in list(self._tasks):
                task.cancel()
            self.worker.shutdown()
        super().closeEvent(event)
        self.closed.emit()
