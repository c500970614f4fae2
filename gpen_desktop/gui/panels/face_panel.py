"""The current photo's faces: aligned crops, include boxes, per-face blend, before/after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.gui import theme
from gpen_desktop.gui.compare import FaceCompare
from gpen_desktop.gui.panels.options_panel import NarrowCombo, is_restorer, model_text
from gpen_desktop.gui.panels.wheel import guard_wheel
from gpen_desktop.gui.qimage import pixmap_from_rgb
from gpen_desktop.gui.state import DocBinding, PhotoDoc, PhotoStatus

IDENTITY_HELP = (
    "How alike the face is before and after restoring, as dlib's face recognition sees it: "
    "the distance between the 128-number descriptors of the original crop and the "
    "network's restored crop (before blending). Below {threshold:.2f}, dlib's usual limit, "
    "the two are taken to be the same person; a lower blend mixes more of the original back in."
)


PHOTO_CHOICE = "Photo's choice"
MODEL_HELP = (
    "The restoration model for this face alone. Photo's choice: the model chosen in "
    "Settings for the whole photo."
)


QUALITY_HELP = (
    "How much this face needs restoring, 0-1: sharpness for the face's size, noise, and JPEG "
    "blocks (or enlarged pixels), each 0-1 with 1 = no defect; the score is their product. "
    "From {sharp:.1f} up it reads sharp already. Settings ▸ Leave sharp faces as they are "
    "skips faces above a threshold."
)


def quality_words(quality: Any, threshold: float = 0.0) -> str:
    """Plain words for a face's ``core.faces.quality.FaceQuality`` under the photo's
    sharp-face threshold (0 = off): "Sharp already — left as it is", "Sharp already",
    "Blurry", …"""
    if quality is None:
        return ""
    if threshold and quality.score > threshold:
        return "Sharp already — left as it is"
    words = quality.words()
    return words[:1].upper() + words[1:]


def identity_text(check: Any) -> tuple[str, bool]:
    """Plain words for a ``gui.jobs.IdentityCheck`` and whether they are a warning."""
    if check.distance is None:
        return f"Couldn't check the likeness: {check.note}", False
    if check.same_person:
        return f"Looks like the same person (distance {check.distance:.2f})", False
    return (
        f"May no longer look like this person (distance {check.distance:.2f}, "
        f"same-person limit {check.threshold:.2f}) — try a lower blend or another model",
        True,
    )


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
                (d.statusChanged, self._on_status),
                (d.identityChanged, self._refresh_detail),
                (d.optionsChanged, self.refresh),
            ]
        )
        self._crops: dict[Any, QPixmap] = {}
        self._quality: dict[Any, Any] = {}  # crop key -> FaceQuality (or None)
        self._models: list[tuple[str, str, str]] = []  # (path, label, tooltip) of restorers
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
        self.quality = QLabel()
        self.quality.setObjectName("FaceQuality")
        self.quality.setWordWrap(True)
        self.quality.hide()
        form.addWidget(self.quality)
        self.identity = QLabel()
        self.identity.setObjectName("IdentityCheck")
        self.identity.setWordWrap(True)
        self.identity.hide()
        form.addWidget(self.identity)
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
        model_row = QHBoxLayout()
        model_label = QLabel("Model")
        self.model = NarrowCombo(10)
        self.model.setToolTip(MODEL_HELP)
        model_label.setBuddy(self.model)
        self.model.currentIndexChanged.connect(self._on_model)
        model_row.addWidget(model_label)
        model_row.addWidget(self.model, 1)
        form.addLayout(model_row)
        layout.addWidget(self.detail)
        guard_wheel(self)
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

    def set_quality(self, key: Any, quality: Any) -> None:
        """The quality (``core.faces.quality.FaceQuality`` or None) of the face ``key``."""
        self._quality[key] = quality
        if len(self._quality) > 512:
            self._quality.pop(next(iter(self._quality)))

    def quality_of(self, face: Any) -> Any:
        return self._quality.get(self.crop_key(face))

    def _threshold(self) -> float:
        return float(getattr(self.doc.options, "skip_sharp", 0.0) or 0.0) if self.doc else 0.0

    def set_models(self, found: list[Any]) -> None:
        """The restorers of a weights scan (``core.models.FoundModel``), offered per face."""
        models = [
            (str(fm.path), model_text(fm), f"{fm.info.summary()}\n{fm.path}")
            for fm in found
            if is_restorer(fm)
        ]
        labels = [label for _p, label, _t in models]
        # two files that read alike (two custom models of one size) show their file names
        self._models = [
            (path, label if labels.count(label) == 1 else f"{label} ({Path(path).name})", tip)
            for path, label, tip in models
        ]
        self._refresh_detail()

    def _show_model(self, model: str | None) -> None:
        """Fill the Model list for a face whose own model is ``model`` and select it; a file
        not in the weights folder (e.g. from a session) is listed by name."""
        combo = self.model
        combo.clear()
        combo.addItem(PHOTO_CHOICE, "")
        combo.setItemData(0, MODEL_HELP, Qt.ItemDataRole.ToolTipRole)
        for path, label, tip in self._models:
            combo.addItem(label, path)
            combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        if model and combo.findData(model) < 0:
            combo.addItem(f"{Path(model).name} (not in weights)", model)
            combo.setItemData(combo.count() - 1, model, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(max(0, combo.findData(model)) if model else 0)

    @staticmethod
    def crop_key(face) -> Any:
        return (face.box, face.landmarks)

    def refresh(self) -> None:
        self._updating = True
        try:
            self.list.clear()
            faces = self.doc.faces if self.doc else ()
            for i, face in enumerate(faces):
                item = QListWidgetItem(f"Face {self.doc.number(i)}  ·  {face.size:.0f} px")
                extra = []
                if face.blend is not None:
                    extra.append(f"blend {face.blend * 100:.0f} %")
                if face.model:
                    extra.append(f"model {Path(face.model).stem}")
                if face.landmarks is None:
                    extra.append("landmarks predicted at restore")
                quality = self.quality_of(face)
                if quality is not None:
                    words = quality_words(quality, self._threshold())
                    extra.insert(0, f"{words} ({quality.score:.2f})")
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
            elif self.doc.status is PhotoStatus.UNREADABLE:
                self.empty.setText(f"Couldn't open this photo: {self.doc.message}")
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
                self._show_model(None)
                self.compare.set_crops(None, None)
                self._show_identity(False, None)
                self._show_quality(None)
                return
            face = doc.faces[index]
            self.detail.setTitle(f"Face {doc.number(index)}")
            self.include.setChecked(face.include)
            self.own_blend.setChecked(face.blend is not None)
            self.blend.setEnabled(face.blend is not None)
            value = round(100 * (face.blend if face.blend is not None else 1.0))
            self.blend.setValue(value)
            self.blend_label.setText(f"{value} %")
            self._show_model(face.model)
            before = self._crops.get(self.crop_key(face))
            after = None
            fr = doc.face_result(index)
            if fr is not None:
                # "After" is what the output shows of the face: blend, mask, colour and grey
                shown = doc.shown_crop(index)
                before = pixmap_from_rgb(fr.aligned_input)
                after = pixmap_from_rgb(shown if shown is not None else fr.restored)
            self.compare.set_crops(before, after)
            self._show_identity(fr is not None, doc.identity(index))
            self._show_quality(self.quality_of(face))
        finally:
            self._updating = False

    def _show_quality(self, quality: Any) -> None:
        """The face's quality in words, its score and parts, under before/after."""
        from gpen_desktop.core.faces.quality import SHARP

        self.quality.setVisible(quality is not None)
        if quality is None:
            self.quality.clear()
            return
        words = quality_words(quality, self._threshold())
        self.quality.setText(f"{words} (quality {quality.score:.2f})\n{quality.parts_text()}")
        self.quality.setToolTip(QUALITY_HELP.format(sharp=SHARP))

    def _show_identity(self, restored: bool, check: Any) -> None:
        """The likeness line under before/after: nothing before a restore, "Checking…" until
        the check arrives."""
        self.identity.setVisible(restored)
        if not restored:
            self.identity.clear()
            return
        if check is None:
            text, warn = "Checking the likeness…", False
        else:
            text, warn = identity_text(check)
            self.identity.setToolTip(IDENTITY_HELP.format(threshold=check.threshold))
        self.identity.setText(text)
        self.identity.setProperty("warning", warn)
        self._colour_identity()

    def _colour_identity(self) -> None:
        """Warnings in amber, readable on the light and the dark palette."""
        if not self.identity.property("warning"):
            self.identity.setStyleSheet("")
            return
        colour = "#f0b429" if theme.is_dark() else "#9c5a00"
        self.identity.setStyleSheet(f"QLabel {{ color: {colour}; font-weight: 600; }}")

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.PaletteChange:  # the theme switched
            self._colour_identity()
        super().changeEvent(event)

    def show_preview(self, aligned: Any, restored: Any) -> None:
        """Before/after of the selected face while its photo is still being restored (the
        network's crop, before it is pasted)."""
        self.compare.set_crops(pixmap_from_rgb(aligned), pixmap_from_rgb(restored))

    def _on_status(self) -> None:
        if self.doc is not None and not self.doc.faces:
            self.refresh()

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

    def _on_model(self, index: int) -> None:
        if self._updating or self.doc is None or self.doc.selected < 0 or index < 0:
            return
        doc, face = self.doc, self.doc.selected
        path = str(self.model.itemData(index) or "") or None
        # on the next turn: the edit refills this combo, which is still in its signal
        QTimer.singleShot(
            0,
            lambda: doc is self.doc and face < len(doc.faces) and doc.set_face_model(face, path),
        )

    def _on_blend(self, value: int) -> None:
        self.blend_label.setText(f"{value} %")
        if self._updating or self.doc is None or self.doc.selected < 0:
            return
        if self.own_blend.isChecked():
            self.doc.set_face_blend(self.doc.selected, value / 100)
