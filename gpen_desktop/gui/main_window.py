"""The main window: photo strip, canvas with compare modes, faces and options panels.

The window shows; others act. Actions and menus come from :mod:`gpen_desktop.gui.actions`,
opening from :mod:`~gpen_desktop.gui.opening`, restores and live recompositing from the
:class:`~gpen_desktop.gui.restore_run.RestoreController`, files from the
:class:`~gpen_desktop.gui.exporter.Exporter`. Long operations are coroutines on the qasync
loop (:meth:`MainWindow.spawn`) and report every failure through one path
(:meth:`MainWindow.report_error`). Closing never loses work without asking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QLineEdit,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop import __version__
from gpen_desktop.core.errors import Cancelled, GpenError
from gpen_desktop.core.types import Face, Photo
from gpen_desktop.gui import actions
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.canvas import CanvasView
from gpen_desktop.gui.compare import SideBySideView
from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.damage import brush_step
from gpen_desktop.gui.exporter import Exporter
from gpen_desktop.gui.jobs import LandmarksRequest, compute_crops, compute_quality
from gpen_desktop.gui.model_choice import ModelChooser
from gpen_desktop.gui.notify import Notifier
from gpen_desktop.gui.opening import PhotoOpener
from gpen_desktop.gui.panels import EmptyState, FacePanel, MessageBanner, OptionsPanel, PhotoStrip
from gpen_desktop.gui.panels.brush_bar import BrushBar, fill_text
from gpen_desktop.gui.photo_options import PhotoOptions
from gpen_desktop.gui.qimage import qimage_to_photo
from gpen_desktop.gui.questions import Questions
from gpen_desktop.gui.recovery import RecoveryKeeper
from gpen_desktop.gui.restore_run import RestoreController
from gpen_desktop.gui.run_status import RunStatus
from gpen_desktop.gui.settings import app_settings
from gpen_desktop.gui.state import DocBinding, PhotoDoc, PhotoList, PhotoStatus
from gpen_desktop.gui.worker import InferenceWorker

log = logging.getLogger(__name__)

PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")  # open dialog


class _OverlayArea(QWidget):
    """The centre: ``content`` filling it and ``overlay`` (the banner) floating over its top
    edge, so a message never pushes the photo around."""

    def __init__(self, content: QWidget, overlay: QWidget) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(content)
        self._overlay = overlay
        overlay.setParent(self)
        overlay.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self._overlay and event.type() in (
            QEvent.Type.Show,
            QEvent.Type.LayoutRequest,
        ):
            QTimer.singleShot(0, self._place)
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place()

    def _place(self) -> None:
        margin = 8
        width = max(100, self.width() - 2 * margin)
        height = self._overlay.heightForWidth(width)
        if height <= 0:
            height = self._overlay.sizeHint().height()
        self._overlay.setGeometry(margin, 6, width, height)
        self._overlay.raise_()


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
        self.session = PhotoList(self)
        self.worker = worker or InferenceWorker(self)
        self.weights_dir = weights_dir
        self._tasks: set[asyncio.Task] = set()
        self._closing = False
        self._close_confirmed = False
        self._quitting: asyncio.Task | None = None
        self._no_model_shown = False
        self._banner_owner: PhotoDoc | None = None
        self._context_menu = None  # the one right-click menu, refilled each time
        self.first_shown_at: float | None = None
        self.setAcceptDrops(True)
        QApplication.instance().installEventFilter(self)  # Backslash: hold to compare
        #: every question the window asks, awaited (never a nested event loop)
        self.questions = Questions(lambda: None if self._closing else self)
        #: the one path for messages and errors (tracebacks to the log, plain words shown)
        self.notifier = Notifier(self._show_banner, self)
        self._shortcuts_dialog = None

        #: what the controllers share instead of the window
        self.ctx = AppContext(
            photos=self.session,
            worker=self.worker,
            notifier=self.notifier,
            questions=self.questions,
            settings=self.settings,
            spawn=self.spawn,
            run_options=self.run_options,
        )
        self.opener = PhotoOpener(
            self.ctx, self.apply_session_options, self.refresh_crops_soon, parent=self
        )
        self.models = ModelChooser(
            self.ctx,
            None,  # the panel: set once the docks are built
            weights_dir,
            self._on_models_scanned,
            self._on_model_chosen,
            lambda: self,
            self,
        )
        self.controller = RestoreController(
            self.worker, self.session, self.opener.ensure_ready, self.spawn, self
        )
        self.exporter = Exporter(
            self.ctx, self.controller, lambda: self.options_panel.export_settings(), self
        )
        #: recovery copies of unsaved work, offered at the next start after a crash
        self.recovery = RecoveryKeeper(
            self.ctx,
            self.opener,
            self._recovered_options,
            self._refresh_recovered,
            busy=lambda: self.canvas._stroke is not None,
            parent=self,
        )
        self._build_central()
        self._build_docks()
        self.models.panel = self.options_panel
        self.actions_by_name = actions.build_actions(self)
        actions.build_menus(
            self, self.actions_by_name, [self.photos_dock, self.faces_dock, self.options_dock]
        )
        actions.build_toolbar(self, self.actions_by_name)
        self.opener.recent_menu = self.recent_menu
        self.addToolBarBreak()
        self.brush_bar = BrushBar(
            self.act_damage_brush,
            self.act_damage_eraser,
            self.act_clear_damage,
            self.act_find_damage,
        )
        self.addToolBar(self.brush_bar)
        self.status = RunStatus(
            self.statusBar(),
            self.ctx,
            self.controller,
            self.act_cancel,
            lambda: self.options_panel.model_label(),
            self,
        )
        # the status bar's parts, by the names the window has always used
        self.activity, self.progress = self.status.activity, self.status.progress
        self.elapsed, self.cancel_button = self.status.elapsed, self.status.cancel_button
        self.zoom_label, self.model_label = self.status.zoom_label, self.status.model_label
        self._connect()
        self._load_settings()
        self.canvas.set_brush(size=cfg.BRUSH_SIZE.read(self.settings))
        self.brush_bar.set_sensitivity(max(0, min(100, cfg.DAMAGE_SENSITIVITY.read(self.settings))))
        self._sync_brush()
        self._update_actions()
        self.update_central()

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
        central = _OverlayArea(self.stack, self.banner)
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

    def _connect(self) -> None:
        s = self.session
        s.currentChanged.connect(self._on_current_changed)
        s.photoAdded.connect(self._on_photo_added)
        s.photoRemoved.connect(self._on_photo_removed)
        self.canvas.faceEdited.connect(self._on_face_edited)
        self.canvas.faceDrawn.connect(lambda box: self.spawn(self.add_face(box)))
        self.canvas.selectionChanged.connect(self._on_canvas_selection)
        self.canvas.zoomChanged.connect(
            lambda z: self.zoom_label.setText(f"{z * self.canvas._dpr() * 100:.0f} %")
        )
        self.canvas.toolChanged.connect(lambda _t: self._sync_brush())
        self.canvas.brushChanged.connect(lambda _size, _erase: self._sync_brush())
        self.brush_bar.sizeChanged.connect(lambda size: self.canvas.set_brush(size=size))
        self.canvas.modeChanged.connect(self._on_mode_changed)
        self.canvas.faceMenuRequested.connect(self._face_menu)
        self.options_panel.optionsChanged.connect(self._on_options_changed)
        self.options_panel.themeChanged.connect(self.set_theme)
        self.options_panel.useForAllRequested.connect(self.use_options_for_all)
        self.options_panel.makeDefaultRequested.connect(self.make_options_default)
        # the per-face model list: the restorers of each weights scan
        self.options_panel.modelsScanned.connect(self.face_panel.set_models)
        for source in (self.options_panel, self.empty_state):
            source.manageModelsRequested.connect(self.open_model_manager)
            source.chooseCheckpointRequested.connect(self.choose_checkpoint)
        self.empty_state.openRequested.connect(lambda: self.spawn(self.open_dialog()))
        self.empty_state.openFolderRequested.connect(lambda: self.spawn(self.open_folder_dialog()))
        self.worker.busyChanged.connect(lambda _b: self._update_actions())
        c = self.controller
        c.runStarted.connect(lambda _r: self._update_actions())
        c.runFinished.connect(lambda _r: self._update_actions())
        c.faceRestored.connect(self._on_face_restored)
        c.restored.connect(self._on_restored)
        c.message.connect(lambda text, level: self.notifier.notify(level, text))
        self._crop_timer = QTimer(self)
        self._crop_timer.setSingleShot(True)
        self._crop_timer.setInterval(80)
        self._crop_timer.timeout.connect(lambda: self.spawn(self._refresh_crops()))
        self._binding = DocBinding(
            lambda d: [
                (d.statusChanged, self._update_actions),
                (d.facesChanged, self._on_faces_changed),
                (d.selectionChanged, self._update_actions),
                (d.resultChanged, self._on_result_changed),
            ]
        )

    # ================================================================== async plumbing
    def spawn(self, coro: Coroutine) -> asyncio.Task:
        """Run a coroutine on the qasync loop; its failure is reported, never raised. Once
        the window is closing, new work is not started."""
        if self._closing:
            coro.close()
            done = asyncio.get_event_loop().create_future()
            done.cancel()
            return done
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
            if self._closing:  # work cut short by closing: nothing to tell anyone
                log.debug("task ended while closing: %r", exc)
                return
            self.report_error(exc)

    def report_error(self, exc: BaseException, context: str = "") -> None:
        """Errors go to the one error path (:class:`~gpen_desktop.gui.notify.Notifier`)."""
        self.notifier.error(exc, context)

    def show_message(
        self, text: str, level: str = "info", actions=None, timeout_ms=None, doc=None
    ) -> None:
        """A message through the notifier (:meth:`Notifier.notify`)."""
        self.notifier.notify(level, text, actions, doc, timeout_ms)

    def _show_banner(self, text: str, level: str, actions, timeout_ms, doc) -> None:
        """How the notifier shows a line: the banner over the photo (``doc``: the photo it is
        about, hidden when another one becomes current) and the status bar."""
        if self._closing:
            return
        if level == "info" and timeout_ms is None and not actions:
            timeout_ms = 6000
        self._banner_owner = doc
        if doc is None or doc is self.session.current:
            self.banner.show_message(text, level, actions, timeout_ms)
        self.activity.setText(text.splitlines()[0])

    # ================================================================== opening photos
    async def open_dialog(self) -> None:
        start = cfg.OPEN_DIR.read(self.settings) or str(Path.home())
        exts = " ".join(f"*{e}" for e in PHOTO_EXTENSIONS)
        paths = await self.questions.open_files(
            "Open Photos", start, f"Photos ({exts});;All files (*)"
        )
        if paths:
            await self.open_paths_async(paths)

    async def open_folder_dialog(self) -> None:
        folder = await self.ask_folder("Open Folder")
        if folder:
            await self.open_paths_async([folder])

    async def ask_folder(self, title: str, where: cfg.Setting = cfg.OPEN_DIR) -> str:
        start = where.read(self.settings) or str(Path.home())
        return await self.questions.folder(title, start)

    def open_paths(self, paths: Iterable[str | Path]) -> asyncio.Task:
        return self.spawn(self.open_paths_async(list(paths)))

    async def open_paths_async(self, paths: list[str | Path]) -> list[PhotoDoc]:
        return await self.opener.open_paths(paths)

    def open_photo(self, photo: Photo, name: str | None = None) -> PhotoDoc:
        return self.opener.open_photo(photo, name)

    async def ensure_ready(self, doc: PhotoDoc) -> bool:
        return await self.opener.ensure_ready(doc)

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

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        """Backslash held anywhere in the window (but a text field) shows the other side."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and (
            event.key() == Qt.Key.Key_Backslash
            and isinstance(watched, QWidget)
            and watched.window() is self
            and not isinstance(watched, QLineEdit | QAbstractSpinBox)
        ):
            if not event.isAutoRepeat():
                self.canvas.set_flipped(kind == QEvent.Type.KeyPress)
            return True
        if kind == QEvent.Type.WindowDeactivate and watched is self:
            self.canvas.set_flipped(False)  # released in another window
        return False

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

    # ================================================================== each photo's options
    def apply_session_options(self, doc: PhotoDoc, saved: Any) -> None:
        self.photo_options.from_session(doc, saved, self.models.weights_dir_seen)

    def run_options(self, doc: PhotoDoc | None = None) -> Any:
        """The options a restore of ``doc`` (default: the current photo) uses
        (:meth:`PhotoOptions.run_options`)."""
        return self.photo_options.run_options(doc)

    @property
    def defaults(self) -> Any:
        return self.photo_options.defaults

    def use_options_for_all(self) -> None:
        self.photo_options.use_for_all()

    def make_options_default(self) -> None:
        self.photo_options.make_default(self.settings)

    def _on_models_scanned(self, result: Any) -> None:
        self.status.runs_on = {key: (where, prec) for key, where, prec in result.runs_on}
        self.photo_options.models_scanned()
        self.status.show_model()
        self.update_central()

    def _on_model_chosen(self) -> None:
        self.status.show_model()
        self.update_central()

    def _on_photo_added(self, _doc: PhotoDoc) -> None:
        self.update_central()

    def _on_doc_options_changed(self, doc: PhotoDoc) -> None:
        if doc not in self.session.docs:
            return
        self.controller.schedule_composite(doc, self.run_options(doc))
        if doc is self.session.current and not self.photo_options.showing:
            self._refresh_after_options()

    # ================================================================== documents & faces
    def _on_current_changed(self, doc: PhotoDoc | None) -> None:
        self._binding.bind(doc)
        self.canvas.set_document(doc)
        self.face_panel.set_document(doc)
        self._on_result_changed()
        if self._banner_owner is not None and self._banner_owner is not doc:
            self.banner.hide()  # a message about another photo
            self._banner_owner = None
        self.photo_options.show(doc)
        if doc is not None and not doc.has_result and self.canvas.mode != "edit":
            self.set_mode("edit")  # nothing to compare yet: the faces, editable
        if doc is not None:
            self._crop_timer.start()
            self.setWindowTitle(f"{doc.name} — GPEN Desktop")
            self.controller.schedule_composite(doc, self.run_options(doc))
        else:
            self.setWindowTitle("GPEN Desktop")
        self._update_actions()
        self.update_central()

    def _on_photo_removed(self, doc: PhotoDoc) -> None:
        if self._banner_owner is doc:
            self.banner.hide()
            self._banner_owner = None
        self.update_central()

    def _on_faces_changed(self) -> None:
        self._crop_timer.start()
        doc = self.session.current
        if doc is not None:
            self.controller.schedule_composite(doc, self.run_options(doc))

    def _on_result_changed(self) -> None:
        doc = self.session.current
        image = doc.result_image if doc is not None else None
        self.side_view.set_image(image, self.canvas._bounds)
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
                LandmarksRequest(doc.photo, tuple(box), self.run_options(doc))
            )
        except GpenError as exc:
            log.info("landmarks failed: %s", exc)
            face = Face(box=tuple(box), landmarks=None)
        if doc not in self.session.docs:
            return -1
        index = doc.add_face(face.with_(manual=True))
        if face.landmarks is None:
            self.show_message(
                "No landmarks found in that box; they will be estimated when restoring.", "info"
            )
        return index

    async def detect_again(self) -> None:
        """Detect faces again with the chosen detector, keeping the faces drawn by hand; asks
        first when hand edits would be replaced (an undoable step either way)."""
        doc = self.session.current
        if doc is None or not doc.is_loaded:
            return
        edits = doc.hand_edits()
        if edits:
            shown = ", ".join(edits[:3]) + (f" and {len(edits) - 3} more" if len(edits) > 3 else "")
            n = len(edits)
            what = (
                f"{n} face edit{'s' if n != 1 else ''} ({shown}) {'were' if n != 1 else 'was'} made"
            )
            if not await self.questions.detect_again(doc.name, what):
                return
        await self.opener.detect(doc, keep_manual=True)

    def toggle_add_tool(self, checked: bool) -> None:
        self.canvas.set_tool("add" if checked else "select")
        if checked:
            self.activity.setText("Drag a box around the face to add (Esc cancels)")

    # ------------------------------------------------------------------ damage brush
    def toggle_brush(self, erase: bool, checked: bool) -> None:
        """Paint (``erase`` False) or erase damage marks; unchecking goes back to selecting."""
        if checked:
            self.canvas.set_brush(erase=erase)
            self.canvas.set_tool("brush")
            what = "Erase marks" if erase else "Paint over scratches and tears"
            self.activity.setText(f"{what} ([ ] size, right-drag erases, Esc done)")
        elif self.canvas.tool == "brush" and self.canvas.brush_erase == erase:
            self.canvas.set_tool("select")
        self._sync_brush()

    def _sync_brush(self) -> None:
        tool, erase = self.canvas.tool, self.canvas.brush_erase
        self.act_add_face.setChecked(tool == "add")
        self.act_damage_brush.setChecked(tool == "brush" and not erase)
        self.act_damage_eraser.setChecked(tool == "brush" and erase)
        self.brush_bar.set_size(self.canvas.brush_size)
        self.brush_bar.setVisible(tool == "brush")
        if tool == "brush":
            self.brush_bar.set_fill_text(*fill_text(self.run_options()))

    def bracket(self, delta: int) -> None:
        """``[`` / ``]``: the brush size while the brush is the tool, else the previous / next
        face."""
        if self.canvas.tool == "brush":
            self.canvas.set_brush(size=brush_step(self.canvas.brush_size, delta))
        else:
            self.step_face(delta)

    @property
    def damage_sensitivity(self) -> float:
        """Find Damage's sensitivity (0-1), from the brush bar's slider."""
        return self.brush_bar.sensitivity.value() / 100.0

    async def find_damage(self) -> int:
        """Edit ▸ Find Damage: the damage detector runs on the worker thread (the photo's
        faces protected) and what it finds is added to the photo's damage marks as one undo
        step, shown with the brush so the person can edit the marks. Returns how many pixels
        were newly marked."""
        from gpen_desktop.gui.jobs import FindDamageRequest

        doc = self.session.current
        if doc is None or not doc.is_loaded:
            return 0
        self.activity.setText("Finding damage…")
        request = FindDamageRequest(doc.photo, tuple(doc.faces), self.damage_sensitivity)
        found = await self.worker.run(request)
        if doc not in self.session.docs or doc.damage.width != found.mask.shape[1]:
            return 0
        added = doc.damage.propose(found.mask, doc.undo_stack)
        if not added:
            what = (
                "No scratches, dust or creases found"
                if not found.pixels
                else "Find Damage found nothing beyond the marks already there"
            )
            self.show_message(
                f"{what}. Raise the sensitivity in the brush bar to look for fainter damage.",
                "info",
                doc=doc,
            )
            return 0
        if self.canvas.mode != "edit":
            self.set_mode("edit")
        if self.canvas.tool != "brush":
            self.toggle_brush(False, True)
        n, k = found.scratches, found.specks
        self.show_message(
            f"Marked {n} scratch{'es' if n != 1 else ''} and {k} speck{'s' if k != 1 else ''} "
            f"({found.share * 100:.2f} % of the photo). Check the marks: erase what is not "
            "damage (right-drag), Ctrl+Z takes them all back.",
            "info",
            doc=doc,
        )
        return added

    def clear_damage(self) -> None:
        doc = self.session.current
        if doc is not None and doc.is_loaded and not doc.damage.clear(doc.undo_stack):
            self.show_message("This photo has no damage marks.", "info")

    def delete_selected_face(self) -> None:
        doc = self.session.current
        if doc is not None and doc.selected >= 0:
            doc.remove_face(doc.selected)

    def toggle_selected_face(self) -> None:
        doc = self.session.current
        if doc is not None and doc.selected >= 0:
            doc.set_included(doc.selected, not doc.faces[doc.selected].include)

    def step_face(self, delta: int) -> None:
        doc = self.session.current
        if doc is not None and doc.faces:
            doc.select((doc.selected + delta) % len(doc.faces))

    def _face_menu(self, index: int, global_pos) -> None:
        """The right-click menu of face ``index`` (-1: the photo, away from faces)."""
        from PySide6.QtWidgets import QMenu

        doc = self.session.current
        if doc is None or not doc.is_loaded:
            return
        menu = self._context_menu
        if menu is None:
            menu = self._context_menu = QMenu(self)
        menu.clear()
        if index >= 0:
            doc.select(index)
            face = doc.faces[index]
            menu.addAction(self.act_restore_face)
            menu.addAction("Exclude" if face.include else "Include", self.toggle_selected_face)
            menu.addAction(self.act_delete_face)
            reset = menu.addAction("Reset Landmarks", self.reset_selected_landmarks)
            reset.setEnabled(face.landmarks is not None)
        else:
            menu.addAction(self.act_add_face)
            menu.addAction(self.act_detect_again)
        menu.popup(global_pos)

    def reset_selected_landmarks(self) -> None:
        """Predict the selected face's landmarks afresh inside its box (undoable)."""
        doc = self.session.current
        if doc is not None and doc.selected >= 0:
            index = doc.selected
            self.spawn(self._predict_landmarks(doc, index, doc.faces[index]))

    async def _predict_landmarks(self, doc: PhotoDoc, index: int, face: Face) -> None:
        found = await self.worker.run(LandmarksRequest(doc.photo, face.box, self.run_options(doc)))
        if doc in self.session.docs and index < len(doc.faces) and doc.faces[index] == face:
            doc.replace_face(index, face.with_(landmarks=found.landmarks), "Reset landmarks")

    def refresh_crops_soon(self) -> None:
        self._crop_timer.start()

    async def _refresh_crops(self) -> None:
        doc = self.session.current
        if doc is None or not doc.is_loaded or not doc.faces:
            return
        faces = [f for f in doc.faces if FacePanel.crop_key(f) not in self.face_panel._crops]
        if not faces:
            return
        images = await self.worker.run_io(compute_crops, doc.photo, faces)
        qualities = await self.worker.run_io(compute_quality, doc.photo, faces)
        for face, image, quality in zip(faces, images, qualities, strict=True):
            self.face_panel.set_crop(FacePanel.crop_key(face), QPixmap.fromImage(image))
            self.face_panel.set_quality(FacePanel.crop_key(face), quality)
        if doc is self.session.current:
            self.face_panel.refresh()

    # ================================================================== closing photos
    async def close_photo(self, doc: PhotoDoc | None = None) -> bool:
        """Close ``doc`` (default: the current photo), asking first about unsaved work."""
        doc = doc or self.session.current
        if doc is None:
            return True
        return await self.close_docs([doc])

    async def close_all(self) -> bool:
        return await self.close_docs(list(self.session.docs))

    async def close_docs(self, docs: list[PhotoDoc]) -> bool:
        """Close ``docs`` after Save / Discard / Cancel when some hold unsaved work; False
        when the person cancelled (nothing closed)."""
        if not await self.settle_unsaved(docs):
            return False
        for doc in docs:
            self.session.remove(doc)
        return True

    async def settle_unsaved(self, docs: list[PhotoDoc]) -> bool:
        """Ask about ``docs`` with unsaved work; True when they may go (saved or discarded)."""
        unsaved = [d for d in docs if d.unsaved]
        if not unsaved:
            return True
        answer = await self.questions.unsaved([d.name for d in unsaved])
        if answer == "cancel":
            return False
        if answer == "discard":
            return True
        for doc in unsaved:
            if await self.save_work(doc) is None:
                return False
        return True

    async def save_work(self, doc: PhotoDoc) -> Path | None:
        """Save one photo's unsaved work (it becomes current): a result as a photo; hand edits
        without a result, and damage marks in any case, in a session beside the photo (so
        the marks are there to paint on next time). None: cancelled or failed."""
        self.session.set_current(doc)
        saved = await self.exporter.save(doc=doc) if doc.has_result else None
        if doc.has_result and saved is None:
            return None
        if not doc.has_result or (not doc.damage.is_empty() and doc.path is not None):
            session = await self.save_session(doc)
            if session is None:
                return None
            saved = saved or session
        return saved

    # ================================================================== sessions
    async def save_session(self, doc: PhotoDoc | None = None) -> Path | None:
        """Write the photo's session sidecar (faces as edited, options, model, exports)."""
        from gpen_desktop.gui.jobs import save_session_job

        doc = doc or self.session.current
        if doc is None or doc.path is None or not doc.is_loaded:
            self.show_message("Sessions are saved beside a photo file; save the image first.")
            return None
        try:
            path = await self.worker.run_io(
                save_session_job,
                doc.path,
                doc.faces,
                self.run_options(doc),
                doc.exports,
                doc.damage.mask(),
            )
        except GpenError as exc:
            self.show_message(f"Couldn't save the session: {exc}", "error")
            return None
        doc.undo_stack.setClean()
        if not doc.has_result:
            doc.mark_saved()
        self.show_message(f"Saved the session {path.name}", "info")
        return path

    # ================================================================== crash recovery
    async def offer_recovery(self) -> str:
        """At start-up: offer the unsaved work a session that did not end properly left
        (Recover / Discard / Later); "" when there was none."""
        return await self.recovery.offer()

    def _recovered_options(self, doc: PhotoDoc, saved: Any) -> None:
        """A recovered photo's options: its copy's (a model file that is gone: the default)."""
        self.photo_options.from_session(
            doc, saved, self.models.weights_dir_seen, self.photo_options.defaults.model_path
        )

    def _refresh_recovered(self, doc: PhotoDoc) -> None:
        self.controller.schedule_composite(doc, self.run_options(doc))
        if doc is self.session.current:
            self.refresh_crops_soon()
            self._update_actions()

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
        QTimer.singleShot(0, self.canvas.fit if self.canvas._fit else self.canvas.keep_in_view)
        if mode != "edit" and self.canvas.tool in ("add", "brush"):
            self.canvas.set_tool("select")  # faces and marks are edited over the original
        self._update_actions()

    # ================================================================== models
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.first_shown_at is None:
            self.first_shown_at = time.perf_counter()
            QTimer.singleShot(0, self.rescan_models)

    def rescan_models(self) -> None:
        self.models.rescan()

    def open_model_manager(self) -> None:
        self.models.open_manager()

    def choose_checkpoint(self) -> None:
        self.models.choose_checkpoint()

    async def use_checkpoint(self, path: str) -> None:
        await self.models.use_checkpoint(path)

    def _on_options_changed(self) -> None:
        """The panel changed: by a person (the current photo's options change), or by showing
        a photo's options (nothing to write back)."""
        self.photo_options.take_panel()
        self._refresh_after_options()

    def _refresh_after_options(self) -> None:
        self.status.show_model()
        self._sync_brush()
        self.update_central()
        self._update_actions()
        doc = self.session.current
        if doc is not None:
            self.controller.schedule_composite(doc, self.run_options(doc))
            doc.statusChanged.emit()  # "needs restore" may have changed

    # ================================================================== restoring
    @property
    def running(self) -> bool:
        return self.controller.running

    async def restore_docs(
        self, docs: list[PhotoDoc], only_face: int | None = None, reuse_kept: bool = False
    ) -> None:
        scan = self.models.scan_task
        if scan is not None and not scan.done():
            self.activity.setText("Looking for models…")
        await self.models.wait_for_scan()
        if (
            any(not self.run_options(d).model_path for d in docs)
            or not docs
            and not (self.run_options().model_path)
        ):
            self.models.show_no_model()
            return
        if docs:
            # each photo with its own options (read when its turn comes)
            await self.controller.restore(docs, self.run_options, only_face, reuse_kept)

    async def restore_current(self) -> None:
        doc = self.session.current
        if doc is not None:
            await self.restore_docs([doc])

    async def restore_selected_face(self) -> None:
        doc = self.session.current
        if doc is None or doc.selected < 0:
            self.show_message("Select a face first (click its box).", "info")
            return
        await self.restore_docs([doc], only_face=doc.selected)

    async def restore_all(self) -> None:
        docs = [d for d in self.session.docs if d.status is not PhotoStatus.UNREADABLE]
        await self.restore_docs(docs)

    def cancel(self) -> None:
        if self.canvas.tool in ("add", "brush"):
            self.canvas.set_tool("select")
            return
        if self.controller.cancel():
            self.activity.setText("Cancelling…")

    def _on_restored(self, doc: PhotoDoc, outcome) -> None:
        result = outcome.result
        if result.fallback_note:
            self.show_message(result.fallback_note, "warning", doc=doc)
        self.status.show_model()
        self.controller.schedule_composite(doc, self.run_options(doc))
        if doc is self.session.current and self.canvas.mode == "edit":
            self.canvas.set_flipped(False)
            self.set_mode("wipe")

    def _on_face_restored(self, doc: PhotoDoc, index: int, aligned, restored) -> None:
        """Show each face as soon as the network has it, before the photo is pasted."""
        if doc is self.session.current and index == doc.selected:
            self.face_panel.show_preview(aligned, restored)

    # ================================================================== export
    async def save(self, ask: bool = False, path: str | Path | None = None) -> Path | None:
        return await self.exporter.save(ask=ask, path=path)

    async def export_faces(self, folder: str | Path | None = None) -> list[Path]:
        return await self.exporter.export_faces(folder)

    async def export_pair(self, path: str | Path | None = None) -> Path | None:
        return await self.exporter.export_pair(path)

    async def export_all(self, folder: str | Path | None = None) -> list[Path]:
        return await self.exporter.export_all(folder)

    # ================================================================== state of the chrome
    def _update_actions(self, *_args) -> None:
        doc = self.session.current
        loaded = doc is not None and doc.is_loaded
        has_face = loaded and doc.selected >= 0
        running = self.controller.running
        has_result = doc is not None and doc.has_result
        self.act_restore.setEnabled(loaded and not running)
        self.act_restore_face.setEnabled(has_face and not running)
        self.act_restore_all.setEnabled(bool(self.session.docs) and not running)
        self.act_cancel.setEnabled(running)
        for act in (self.act_add_face, self.act_detect_again, self.act_save_session):
            act.setEnabled(loaded)
        self.act_delete_face.setEnabled(has_face)
        for act in (self.act_damage_brush, self.act_damage_eraser):
            act.setEnabled(loaded)
        self.act_clear_damage.setEnabled(loaded and not doc.damage.is_empty())
        self.act_find_damage.setEnabled(loaded)
        self.act_toggle_face.setEnabled(has_face)
        for act in (self.act_save, self.act_save_as, self.act_export_faces, self.act_export_pair):
            act.setEnabled(has_result)
        self.act_export_all.setEnabled(any(d.has_result for d in self.session.docs))
        self.act_close.setEnabled(doc is not None)
        self.act_close_all.setEnabled(bool(self.session.docs))
        for act in (
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_fit,
            self.act_actual,
            self.act_mode_edit,
            self.act_mode_wipe,
            self.act_mode_side,
        ):
            act.setEnabled(loaded)

    def update_central(self) -> None:
        has_docs = bool(self.session.docs)
        self.stack.setCurrentIndex(1 if has_docs else 0)
        missing = self.options_panel._scanned and not self.options_panel.has_model()
        self.empty_state.set_model_missing(missing, self.models.weights_dir_seen)
        # with photos open, the same pointer to the model manager sits in the banner
        if has_docs and missing and not self._no_model_shown:
            self._no_model_shown = True
            self.models.show_no_model()
        elif not missing:
            self._no_model_shown = False
            if self.banner.text.startswith("No face restoration model"):
                self.banner.hide()

    # ================================================================== help
    def show_shortcuts(self) -> None:
        """The F1 list: a non-modal window that scrolls and fits the screen."""
        from gpen_desktop.gui.panels.shortcuts import ShortcutsDialog

        if self._shortcuts_dialog is None:
            rows = actions.shortcut_rows(self.actions_by_name)
            self._shortcuts_dialog = ShortcutsDialog(rows, self)
        self._shortcuts_dialog.show_near(self)

    def set_theme(self, mode: str) -> None:
        """Apply and remember a theme: "system", "light" or "dark"."""
        from PySide6.QtWidgets import QApplication

        from gpen_desktop.gui import theme

        theme.apply_theme(QApplication.instance(), mode)
        cfg.THEME.write(self.settings, mode)

    async def show_about(self) -> None:
        await self.questions.tell(
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
        self.photo_options = PhotoOptions(
            self.session, self.options_panel, self.weights_dir, self.show_message, self
        )
        self.photo_options.changed.connect(self._on_doc_options_changed)
        self.opener.rebuild_recent_menu()
        self.status.show_model()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue(cfg.GEOMETRY.key, self.saveGeometry())
        s.setValue(cfg.WINDOW_STATE.key, self.saveState())
        self.options_panel.save_settings(s)
        # the panel shows the current photo's options; what new photos start from is kept
        self.photo_options.save_defaults(s)
        cfg.BRUSH_SIZE.write(s, self.canvas.brush_size)
        cfg.DAMAGE_SENSITIVITY.write(s, self.brush_bar.sensitivity.value())
        s.sync()

    def _must_ask_before_closing(self) -> bool:
        return self.controller.running or any(d.unsaved for d in self.session.docs)

    async def quit(self) -> bool:
        """Close the window after asking about a running restore and unsaved work (Save /
        Discard / Cancel); True when it closed. The questions are awaited on the event loop
        (``closeEvent`` only starts this), so other work goes on while they are open."""
        if self._closing:
            return True
        pending = self._quitting
        if pending is not None and not pending.done() and pending is not asyncio.current_task():
            return await asyncio.shield(pending)  # one Quit at a time
        if self.controller.running:
            if not await self.questions.stop_restore():
                return False
            self.controller.cancel()
        if not await self.settle_unsaved(list(self.session.docs)):
            return False
        self._close_confirmed = True
        self.close()
        return True

    def _start_quit(self) -> None:
        if self._quitting is None or self._quitting.done():
            self._quitting = self.spawn(self.quit())

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._closing and not self._close_confirmed and self._must_ask_before_closing():
            event.ignore()
            self._start_quit()
            return
        if not self._closing:
            self._closing = True
            self.notifier.closed = True  # late task failures go to the log only
            self._crop_timer.stop()
            self.save_settings()
            self.hide()  # close at once; a running batch may take a moment to stop
            for task in list(self._tasks):
                task.cancel()
            self.worker.shutdown()
            self.recovery.close()  # every photo was saved or discarded: no copy stays
            QApplication.instance().removeEventFilter(self)
        super().closeEvent(event)
        self.closed.emit()
