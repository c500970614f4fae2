"""The window's side panels and small widgets: photo strip, faces, options, banner, empty state.

Panels bind to the document model (:mod:`gpen_desktop.gui.state`) and call its undoable edit
methods directly; they never run heavy work.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.compare import FaceCompare
from gpen_desktop.gui.export import FORMATS, ExportSettings
from gpen_desktop.gui.icons import icon  # noqa: F401 - re-exported for the window
from gpen_desktop.gui.state import DocBinding, PhotoDoc, PhotoStatus, Session

log = logging.getLogger(__name__)


STATUS_COLOURS = {
    PhotoStatus.LOADING: "#9e9e9e",
    PhotoStatus.UNREADABLE: "#e53935",
    PhotoStatus.READY: "#9e9e9e",
    PhotoStatus.QUEUED: "#fbc02d",
    PhotoStatus.RUNNING: "#1e88e5",
    PhotoStatus.RESTORED: "#43a047",
    PhotoStatus.FAILED: "#e53935",
}


def human_size(n: int | None) -> str:
    if not n:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return (
                f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}".replace(".0 ", " ")
            )
        n /= 1000
    return ""


# --------------------------------------------------------------------------- banner


class MessageBanner(QFrame):
    """An inline message strip above the canvas: icon, one line of text, actions, close.

    ``show_message(text, level, actions, timeout_ms)``; level is info, warning or error.
    """

    _STYLES = {
        "info": ("#e7f1fd", "#0b3d75", "#1e5aa8"),
        "warning": ("#fff4dc", "#5c3d00", "#b7791f"),
        "error": ("#fde8e8", "#7a1010", "#c53030"),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._actions = QHBoxLayout()
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        layout.addLayout(self._actions)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.level = "info"
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    def show_message(
        self,
        text: str,
        level: str = "error",
        actions: list[tuple[str, Any]] | None = None,
        timeout_ms: int | None = None,
    ) -> None:
        self.level = level
        bg, fg, border = self._STYLES.get(level, self._STYLES["info"])
        self.setStyleSheet(
            f"#MessageBanner {{ background: {bg}; border: 1px solid {border}; border-radius: 6px; }}"
            f"#MessageBanner QLabel {{ color: {fg}; }}"
        )
        pix = {
            "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
            "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
        }[level if level in self._STYLES else "info"]
        self._icon.setPixmap(self.style().standardIcon(pix).pixmap(18, 18))
        self._text.setText(text)
        while self._actions.count():
            w = self._actions.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for label, callback in actions or []:
            button = QPushButton(label)
            button.clicked.connect(callback)
            self._actions.addWidget(button)
        self._timer.stop()
        if timeout_ms:
            self._timer.start(timeout_ms)
        self.show()


# --------------------------------------------------------------------------- empty state


class EmptyState(QWidget):
    """What the centre shows with no photo open (and a model card when no model exists)."""

    openRequested = Signal()
    openFolderRequested = Signal()
    manageModelsRequested = Signal()
    chooseCheckpointRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        box = QVBoxLayout()
        box.setSpacing(10)
        title = QLabel("Restore faces in your photos")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel("Open photos or a folder, drop them here, or paste an image (Ctrl+V).")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch()
        self.open_button = QPushButton(icon("open"), "Open Photos…")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self.openRequested)
        self.folder_button = QPushButton(icon("open-folder"), "Open Folder…")
        self.folder_button.clicked.connect(self.openFolderRequested)
        for b in (self.open_button, self.folder_button):
            b.setMinimumHeight(34)
            b.setIconSize(QSize(18, 18))
            buttons.addWidget(b)
        buttons.addStretch()
        box.addWidget(title)
        box.addWidget(hint)
        box.addSpacing(6)
        box.addLayout(buttons)
        outer.addLayout(box)
        outer.addSpacing(24)
        self.model_card = ModelCard()
        self.model_card.manageModelsRequested.connect(self.manageModelsRequested)
        self.model_card.chooseCheckpointRequested.connect(self.chooseCheckpointRequested)
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(self.model_card)
        row.addStretch()
        outer.addLayout(row)
        outer.addStretch(3)
        self.model_card.hide()

    def set_model_missing(self, missing: bool, weights_dir: str = "") -> None:
        self.model_card.set_weights_dir(weights_dir)
        self.model_card.setVisible(missing)


class ModelCard(QFrame):
    """'No model yet' card with a way forward (the model manager, or a file on disk)."""

    manageModelsRequested = Signal()
    chooseCheckpointRequested = Signal()

    def __init__(self, parent: QWidget | None = None, compact: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("ModelCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#ModelCard { border: 1px solid palette(mid); border-radius: 8px;"
            " background: palette(alternate-base); }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        title = QLabel("<b>No face restoration model yet</b>")
        self._body = QLabel()
        self._body.setWordWrap(True)
        self._body.setTextFormat(Qt.TextFormat.RichText)
        buttons = QHBoxLayout() if not compact else QVBoxLayout()
        get = QPushButton(icon("models"), "Get Models…")
        get.clicked.connect(self.manageModelsRequested)
        choose = QPushButton("Use a Checkpoint File…")
        choose.clicked.connect(self.chooseCheckpointRequested)
        buttons.addWidget(get)
        buttons.addWidget(choose)
        if not compact:
            buttons.addStretch()
        layout.addWidget(title)
        layout.addWidget(self._body)
        layout.addLayout(buttons)
        if not compact:
            self.setMinimumWidth(480)
            self.setMaximumWidth(600)
        self.set_weights_dir("")

    def set_weights_dir(self, weights_dir: str) -> None:
        where = f" in <code>{weights_dir}</code>" if weights_dir else ""
        self._body.setText(
            f"GPEN needs a model file (for example GPEN-BFR-512.pth){where}. "
            "The model manager downloads the official ones; you can also pick a "
            "checkpoint you already have."
        )


# --------------------------------------------------------------------------- photo strip


def _thumb_icon(doc: PhotoDoc, size: int = 72) -> QIcon:
    """The photo's thumbnail with a status dot, sharp on high-DPI screens."""
    dpr = QGuiApplication.instance().devicePixelRatio() if QGuiApplication.instance() else 1.0
    pixmap = QPixmap(round(size * dpr), round(size * dpr))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    if doc.thumbnail is not None and not doc.thumbnail.isNull():
        thumb = doc.thumbnail.scaled(
            round(size * dpr),
            round(size * dpr),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        w, h = thumb.width() / dpr, thumb.height() / dpr
        painter.drawImage(QRectF((size - w) / 2, (size - h) / 2, w, h), thumb)
    else:
        painter.setPen(QColor(128, 128, 128))
        painter.setBrush(QColor(128, 128, 128, 40))
        painter.drawRoundedRect(2, 2, size - 4, size - 4, 6, 6)
        mark = "!" if doc.status is PhotoStatus.UNREADABLE else "…"
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, mark)
    painter.setPen(QColor(255, 255, 255))
    painter.setBrush(QColor(STATUS_COLOURS[doc.status]))
    painter.drawEllipse(size - 16, size - 16, 12, 12)
    painter.end()
    return QIcon(pixmap)


class PhotoStrip(QListWidget):
    """The open photos with thumbnails and status; selecting one makes it current."""

    closeRequested = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setIconSize(QSize(64, 64))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._items: dict[PhotoDoc, QListWidgetItem] = {}
        session.photoAdded.connect(self._add)
        session.photoRemoved.connect(self._remove)
        session.currentChanged.connect(self._on_current)
        self.currentItemChanged.connect(self._on_item_changed)

    def item_for(self, doc: PhotoDoc) -> QListWidgetItem | None:
        return self._items.get(doc)

    def _add(self, doc: PhotoDoc) -> None:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, doc)
        self._items[doc] = item
        self.addItem(item)
        self._refresh(doc)
        doc.statusChanged.connect(lambda d=doc: self._refresh(d))
        doc.loaded.connect(lambda d=doc: self._refresh(d))

    def _remove(self, doc: PhotoDoc) -> None:
        item = self._items.pop(doc, None)
        if item is not None:
            self.takeItem(self.row(item))

    def _refresh(self, doc: PhotoDoc) -> None:
        item = self._items.get(doc)
        if item is None:
            return
        status = doc.status_text()
        short = status if len(status) < 60 else status[:57] + "…"
        item.setText(f"{doc.name}\n{short}")
        item.setToolTip(f"{doc.path or doc.name}\n{status}")
        item.setIcon(_thumb_icon(doc))

    def _on_current(self, doc: PhotoDoc | None) -> None:
        item = self._items.get(doc) if doc is not None else None
        if item is not None and self.currentItem() is not item:
            self.setCurrentItem(item)

    def _on_item_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.session.set_current(item.data(Qt.ItemDataRole.UserRole))


# --------------------------------------------------------------------------- faces


class FacePanel(QWidget):
    """The current photo's faces: aligned crops, include boxes, per-face blend, before/after.

    Crops come from the window (computed in the I/O pool) through :meth:`set_crop`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: PhotoDoc | None = None
        self._binding = DocBinding(
            lambda d: [
                (d.facesChanged, self.refresh),
                (d.selectionChanged, self._on_selection),
                (d.resultChanged, self._refresh_detail),
            ]
        )
        self._crops: dict[Any, QPixmap] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.list = QListWidget()
        self.list.setIconSize(QSize(56, 56))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(120)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemChanged.connect(self._on_item_changed)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.setEnabled(False)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)

        self.detail = QGroupBox("Selected face")
        form = QVBoxLayout(self.detail)
        self.compare = FaceCompare()
        form.addWidget(self.compare)
        self.include = QCheckBox("Restore this face")
        self.include.toggled.connect(self._on_include)
        form.addWidget(self.include)
        row = QHBoxLayout()
        self.own_blend = QCheckBox("Own blend")
        self.own_blend.setToolTip("Override the photo-wide blend (fidelity) for this face")
        self.own_blend.toggled.connect(self._on_own_blend)
        self.blend = QSlider(Qt.Orientation.Horizontal)
        self.blend.setRange(0, 100)
        self.blend.valueChanged.connect(self._on_blend)
        self.blend_label = QLabel("100 %")
        self.blend_label.setMinimumWidth(44)
        row.addWidget(self.own_blend)
        row.addWidget(self.blend, 1)
        row.addWidget(self.blend_label)
        form.addLayout(row)
        layout.addWidget(self.detail)
        self._updating = False
        self.refresh()

    def set_document(self, doc: PhotoDoc | None) -> None:
        self._binding.bind(doc)
        self.doc = doc
        self.refresh()

    def set_crop(self, key: Any, pixmap: QPixmap) -> None:
        self._crops[key] = pixmap
        if len(self._crops) > 512:
            self._crops.pop(next(iter(self._crops)))

    @staticmethod
    def crop_key(face) -> Any:
        return (face.box, face.landmarks)

    def refresh(self) -> None:
        self._updating = True
        try:
            self.list.clear()
            faces = self.doc.faces if self.doc else ()
            for i, face in enumerate(faces):
                item = QListWidgetItem(f"Face {i + 1}  ·  {face.size:.0f} px")
                extra = []
                if face.blend is not None:
                    extra.append(f"blend {face.blend * 100:.0f} %")
                if face.landmarks is None:
                    extra.append("landmarks predicted at restore")
                if extra:
                    item.setText(item.text() + "\n" + ", ".join(extra))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if face.include else Qt.CheckState.Unchecked
                )
                crop = self._crops.get(self.crop_key(face))
                if crop is not None:
                    item.setIcon(QIcon(crop))
                self.list.addItem(item)
            if self.doc is not None and self.doc.selected >= 0:
                self.list.setCurrentRow(self.doc.selected)
            if self.doc is None:
                self.empty.setText("Open a photo to see its faces here.")
            elif not self.doc.detected:
                self.empty.setText("Looking for faces…")
            else:
                self.empty.setText(
                    "No faces found. Draw a box with <b>Add Face</b> (N) around a face the "
                    "detector missed."
                )
            self.empty.setVisible(not faces)
            self.list.setVisible(bool(faces))
            self.detail.setVisible(bool(faces))
        finally:
            self._updating = False
        self._refresh_detail()

    def _refresh_detail(self) -> None:
        doc = self.doc
        index = doc.selected if doc else -1
        self.detail.setEnabled(index >= 0)
        self._updating = True
        try:
            if index < 0:
                self.detail.setTitle("Selected face")
                self.include.setChecked(False)
                self.own_blend.setChecked(False)
                self.compare.set_crops(None, None)
                return
            face = doc.faces[index]
            self.detail.setTitle(f"Face {index + 1}")
            self.include.setChecked(face.include)
            self.own_blend.setChecked(face.blend is not None)
            self.blend.setEnabled(face.blend is not None)
            value = round(100 * (face.blend if face.blend is not None else 1.0))
            self.blend.setValue(value)
            self.blend_label.setText(f"{value} %")
            before = self._crops.get(self.crop_key(face))
            after = None
            fr = doc.face_result(index)
            if fr is not None:
                from gpen_desktop.gui.compare import pixmap_from_rgb

                before = pixmap_from_rgb(fr.aligned_input)
                after = pixmap_from_rgb(fr.restored)
            self.compare.set_crops(before, after)
        finally:
            self._updating = False

    def show_preview(self, aligned: Any, restored: Any) -> None:
        """Before/after of the selected face while its photo is still being restored."""
        from gpen_desktop.gui.compare import pixmap_from_rgb

        self.compare.set_crops(pixmap_from_rgb(aligned), pixmap_from_rgb(restored))

    def _on_selection(self, index: int) -> None:
        self._updating = True
        try:
            self.list.setCurrentRow(index)
        finally:
            self._updating = False
        self._refresh_detail()

    def _on_row(self, row: int) -> None:
        if not self._updating and self.doc is not None:
            self.doc.select(row)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._updating or self.doc is None:
            return
        row = self.list.row(item)
        include = item.checkState() == Qt.CheckState.Checked
        if 0 <= row < len(self.doc.faces) and self.doc.faces[row].include != include:
            QTimer.singleShot(0, lambda: self.doc and self.doc.set_included(row, include))

    def _on_include(self, checked: bool) -> None:
        if self._updating or self.doc is None or self.doc.selected < 0:
            return
        self.doc.set_included(self.doc.selected, checked)

    def _on_own_blend(self, checked: bool) -> None:
        if self._updating or self.doc is None or self.doc.selected < 0:
            return
        self.blend.setEnabled(checked)
        self.doc.set_face_blend(self.doc.selected, self.blend.value() / 100 if checked else None)

    def _on_blend(self, value: int) -> None:
        self.blend_label.setText(f"{value} %")
        if self._updating or self.doc is None or self.doc.selected < 0:
            return
        if self.own_blend.isChecked():
            self.doc.set_face_blend(self.doc.selected, value / 100)


# --------------------------------------------------------------------------- options

#: Words for core's choice keys (the lists themselves come from core through gui.settings).
LABELS = {
    "detector": {
        "auto": "Auto",
        "retinaface": "RetinaFace (needs its weights)",
        "dlib": "dlib HOG (fast, offline)",
        "dlib-cnn": "dlib CNN (slower, finds more)",
    },
    "mask": {"feather": "Soft square (fast)", "parsing": "Face parsing (needs ParseNet)"},
    "precision": {
        "auto": "Fast (auto)",
        "float32": "Exact (float32)",
        "bfloat16": "bfloat16",
        "float16": "float16 (GPUs)",
    },
}
CHOOSE_FILE = "__choose__"


def _fill(combo: QComboBox, keys: tuple, labels: dict[Any, str]) -> None:
    for key in keys:
        combo.addItem(labels.get(key, str(key)), key)


class OptionsPanel(QWidget):
    """Model, device, detector and restore options, plus export settings.

    ``optionsChanged`` fires on any change; :meth:`options` returns core's frozen
    ``RestoreOptions``, :meth:`export_settings` an :class:`ExportSettings`.
    """

    optionsChanged = Signal()
    chooseCheckpointRequested = Signal()
    manageModelsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._custom: list[str] = []
        self._scanned = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        model_box = QGroupBox("Model")
        mform = QVBoxLayout(model_box)
        self.model = QComboBox()
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.setMinimumContentsLength(16)
        self.model.activated.connect(self._on_model_activated)
        self.model.currentIndexChanged.connect(self._changed)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        manage = QToolButton()
        manage.setIcon(icon("models"))
        manage.setToolTip("Model manager…")
        manage.clicked.connect(self.manageModelsRequested)
        row.addWidget(manage)
        mform.addLayout(row)
        self.model_info = QLabel("Looking for models…")
        self.model_info.setWordWrap(True)
        self.model_info.setEnabled(False)
        mform.addWidget(self.model_info)
        self.model_card = ModelCard(compact=True)
        self.model_card.manageModelsRequested.connect(self.manageModelsRequested)
        self.model_card.chooseCheckpointRequested.connect(self.chooseCheckpointRequested)
        self.model_card.hide()
        mform.addWidget(self.model_card)
        layout.addWidget(model_box)

        run_box = QGroupBox("Restore")
        form = QFormLayout(run_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.device = QComboBox()
        self.device.addItem("Auto", "auto")
        self.device.currentIndexChanged.connect(self._changed)
        form.addRow("Device", self.device)
        self.precision = QComboBox()
        _fill(self.precision, cfg.PRECISIONS, LABELS["precision"])
        self.precision.setToolTip(
            "Fast: bfloat16 on CPUs with AMX or AVX512-BF16 and float16 on NVIDIA GPUs, several "
            "times faster; faces differ from Exact by at most 2 of 255 levels.\n"
            "Exact: float32 everywhere, the reference GPEN output."
        )
        self.precision.currentIndexChanged.connect(self._changed)
        form.addRow("Precision", self.precision)
        self.detector = QComboBox()
        _fill(self.detector, cfg.DETECTORS, LABELS["detector"])
        self.detector.currentIndexChanged.connect(self._changed)
        form.addRow("Detector", self.detector)
        blend_row = QHBoxLayout()
        self.blend = QSlider(Qt.Orientation.Horizontal)
        self.blend.setRange(0, 100)
        self.blend.setValue(100)
        self.blend.setToolTip(
            "How much of the restored face to use: 100 % restored, lower keeps more of the original"
        )
        self.blend_label = QLabel("100 %")
        self.blend_label.setMinimumWidth(44)
        self.blend.valueChanged.connect(lambda v: self.blend_label.setText(f"{v} %"))
        self.blend.valueChanged.connect(self._changed)
        blend_row.addWidget(self.blend, 1)
        blend_row.addWidget(self.blend_label)
        form.addRow("Blend", blend_row)
        self.mask = QComboBox()
        _fill(self.mask, cfg.MASK_TYPES, LABELS["mask"])
        self.mask.currentIndexChanged.connect(self._changed)
        form.addRow("Mask", self.mask)
        self.color_match = QCheckBox("Match colours to the original")
        self.color_match.toggled.connect(self._changed)
        form.addRow("", self.color_match)
        self.upscale = QComboBox()
        _fill(self.upscale, cfg.UPSCALES, {n: f"{n}×" for n in cfg.UPSCALES})
        self.upscale.setToolTip("Scale the whole output photo")
        self.upscale.currentIndexChanged.connect(self._changed)
        form.addRow("Output scale", self.upscale)
        self.batch = QSpinBox()
        self.batch.setRange(1, 32)
        self.batch.setValue(4)
        self.batch.setToolTip("Faces per network batch (lower uses less memory)")
        self.batch.valueChanged.connect(self._changed)
        form.addRow("Batch size", self.batch)
        layout.addWidget(run_box)

        export_box = QGroupBox("Export")
        eform = QFormLayout(export_box)
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        eform.addRow("Format", self.format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        self.quality.setSuffix(" %")
        self.quality.setToolTip("JPEG and WebP quality")
        eform.addRow("Quality", self.quality)
        self.keep_metadata = QCheckBox("Keep EXIF and colour profile")
        self.keep_metadata.setChecked(True)
        eform.addRow("", self.keep_metadata)
        self.suffix = QLineEdit("_restored")
        self.suffix.setToolTip("Added to file names by Export All")
        eform.addRow("Suffix", self.suffix)
        self.format.currentTextChanged.connect(
            lambda f: self.quality.setEnabled(f in ("JPEG", "WebP"))
        )
        self.quality.setEnabled(False)
        layout.addWidget(export_box)
        layout.addStretch()

    # ------------------------------------------------------------------ models and devices
    def set_models(self, found: list[Any], weights_dir: str) -> None:
        """Fill the model list from ``core.models.scan_weights`` results."""
        self._scanned = True
        previous = self.model_path()
        self._loading = True
        try:
            self.model.clear()
            usable = 0
            for fm in found:
                kind = getattr(fm, "kind", "restorer" if fm.info is not None else "invalid")
                if kind == "restorer" and fm.info is not None:
                    self.model.addItem(self._model_text(fm), str(fm.path))
                    self.model.setItemData(
                        self.model.count() - 1,
                        f"{fm.info.summary()}\n{fm.path}",
                        Qt.ItemDataRole.ToolTipRole,
                    )
                    usable += 1
                elif kind == "invalid":
                    self.model.addItem(f"{Path(fm.path).name} (not usable)", "")
                    idx = self.model.count() - 1
                    self.model.setItemData(idx, fm.error or "", Qt.ItemDataRole.ToolTipRole)
                    self.model.model().item(idx).setEnabled(False)
            for path in self._custom:
                if self.model.findData(path) < 0 and Path(path).is_file():
                    self.model.addItem(f"{Path(path).name} (chosen file)", path)
                    usable += 1
            self.model.insertSeparator(self.model.count())
            self.model.addItem("Choose a checkpoint file…", CHOOSE_FILE)
            index = self.model.findData(previous) if previous else -1
            if index < 0:
                index = next((i for i in range(self.model.count()) if self._is_model_index(i)), -1)
            self.model.setCurrentIndex(max(index, 0) if index >= 0 else -1)
        finally:
            self._loading = False
        self.model_card.set_weights_dir(weights_dir)
        self.model_card.setVisible(usable == 0)
        self.model.setVisible(True)
        self._update_model_info()
        self.optionsChanged.emit()

    @staticmethod
    def _model_text(fm: Any) -> str:
        info = fm.info
        size = human_size(getattr(info, "file_size", 0) or _file_size(fm.path))
        name = info.name or Path(fm.path).stem
        if getattr(fm, "known", None) is None and name == Path(fm.path).stem:
            name = f"{name} (GPEN {info.in_size} px)"
        return f"{name}  ·  {size}" if size else name

    def _is_model_index(self, index: int) -> bool:
        data = self.model.itemData(index)
        return bool(data) and data != CHOOSE_FILE

    def add_custom_model(self, path: str, label: str | None = None) -> None:
        """Add (and select) a checkpoint chosen from disk."""
        if path not in self._custom:
            self._custom.append(path)
        index = self.model.findData(path)
        if index < 0:
            insert_at = max(0, self.model.count() - 2)
            self.model.insertItem(insert_at, label or f"{Path(path).name} (chosen file)", path)
            index = insert_at
        self.model.setCurrentIndex(index)
        self.model_card.hide()
        self._update_model_info()

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        current = self.device.currentData()
        self._loading = True
        try:
            self.device.clear()
            for key, label in devices:
                self.device.addItem(label, key)
            index = self.device.findData(current)
            self.device.setCurrentIndex(max(0, index))
        finally:
            self._loading = False

    def set_available(self, detectors: tuple[str, ...], parsing: bool, weights_dir: str) -> None:
        """Grey out detectors and masks whose weights are missing (with the reason)."""
        where = weights_dir or "the weights folder"
        for combo, usable, why in (
            (
                self.detector,
                {"auto", *detectors},
                f"needs RetinaFace-R50.pth (model manager) in {where}",
            ),
            (
                self.mask,
                {"feather", *(("parsing",) if parsing else ())},
                f"needs ParseNet-latest.pth (model manager) in {where}",
            ),
        ):
            for i in range(combo.count()):
                ok = combo.itemData(i) in usable
                combo.model().item(i).setEnabled(ok)
                combo.setItemData(i, None if ok else why, Qt.ItemDataRole.ToolTipRole)
            if combo.currentData() not in usable:
                combo.setCurrentIndex(0)

    def model_path(self) -> str:
        data = self.model.currentData()
        return str(data) if data and data != CHOOSE_FILE else ""

    def model_label(self) -> str:
        if not self.model_path():
            return "no model" if self._scanned else "looking for models…"
        return self.model.currentText().split("  ·  ")[0]

    def has_model(self) -> bool:
        return bool(self.model_path())

    def _on_model_activated(self, index: int) -> None:
        if self.model.itemData(index) == CHOOSE_FILE:
            fallback = next((i for i in range(self.model.count()) if self._is_model_index(i)), -1)
            self.model.setCurrentIndex(fallback)
            self.chooseCheckpointRequested.emit()

    def _update_model_info(self) -> None:
        if self.model_path():
            tip = self.model.itemData(self.model.currentIndex(), Qt.ItemDataRole.ToolTipRole)
            self.model_info.setText(str(tip).splitlines()[0] if tip else self.model_path())
            self.model_info.setVisible(True)
        else:
            self.model_info.setVisible(not self._scanned)

    def _changed(self, *_args) -> None:
        if self._loading:
            return
        self._update_model_info()
        self.optionsChanged.emit()

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        """The restore options shown, as RestoreOptions field -> value."""
        return {
            "model_path": self.model_path(),
            "device": self.device.currentData() or "auto",
            "dtype": self.precision.currentData() or "auto",
            "detector": self.detector.currentData() or "auto",
            "blend": self.blend.value() / 100.0,
            "mask": self.mask.currentData() or "feather",
            "color_match": self.color_match.isChecked(),
            "upscale": int(self.upscale.currentData() or 1),
            "batch_size": self.batch.value(),
        }

    def options(self, **overrides: Any) -> Any:
        """The shown options as ``core.pipeline.RestoreOptions`` (``overrides`` replace fields)."""
        return cfg.restore_options(self.values(), **overrides)

    def export_settings(self) -> ExportSettings:
        return ExportSettings(
            format=self.format.currentText(),
            quality=self.quality.value(),
            keep_metadata=self.keep_metadata.isChecked(),
            suffix=self.suffix.text(),
        )

    def save_settings(self, s) -> None:
        cfg.write_options(s, self.values())
        cfg.CUSTOM_MODELS.write(s, self._custom)
        e = self.export_settings()
        cfg.EXPORT_FORMAT.write(s, e.format)
        cfg.EXPORT_QUALITY.write(s, e.quality)
        cfg.EXPORT_METADATA.write(s, e.keep_metadata)
        cfg.EXPORT_SUFFIX.write(s, e.suffix)

    def load_settings(self, s) -> None:
        v = cfg.read_options(s)
        self._loading = True
        try:
            self._custom = list(cfg.CUSTOM_MODELS.read(s))
            model = v["model_path"]
            if model:
                # selectable once the scan lists it; remember it meanwhile
                self.model.addItem(Path(model).name, model)
                self.model.setCurrentIndex(self.model.count() - 1)
            device = v["device"]
            if self.device.findData(device) < 0:
                self.device.addItem(device, device)
            self.device.setCurrentIndex(self.device.findData(device))
            _select(self.precision, v["dtype"])
            _select(self.detector, v["detector"])
            self.blend.setValue(round(100 * min(1.0, max(0.0, v["blend"]))))
            _select(self.mask, v["mask"])
            self.color_match.setChecked(v["color_match"])
            _select(self.upscale, v["upscale"])
            self.batch.setValue(v["batch_size"])
            self.format.setCurrentText(cfg.EXPORT_FORMAT.read(s))
            self.quality.setValue(cfg.EXPORT_QUALITY.read(s))
            self.keep_metadata.setChecked(cfg.EXPORT_METADATA.read(s))
            self.suffix.setText(cfg.EXPORT_SUFFIX.read(s))
        finally:
            self._loading = False


def _select(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


def _file_size(path: Any) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
