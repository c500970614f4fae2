"""The damage brush's tool bar: paint or erase, brush size, Find Damage and its sensitivity,
clear, and what fills the marks.

Shown under the main tool bar while the brush is the canvas's tool. The size is the brush's
diameter in photo pixels (the slider follows ``[`` and ``]``); the line at the end says which
inpainting the next restore uses on faces and on the rest of the photo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar, QWidget

from gpen_desktop.gui.damage import MAX_BRUSH, MIN_BRUSH
from gpen_desktop.gui.panels.options_panel import LABELS


def fill_text(options: Any) -> tuple[str, str]:
    """(line, tool tip) saying what fills the damage marks with ``options``
    (``core.pipeline.RestoreOptions``): GPEN inpainting on faces when its checkpoint is
    chosen, OpenCV's filler everywhere else."""
    rest = LABELS["inpaint_method"].get(options.inpaint_method, options.inpaint_method)
    if options.inpaint_model:
        then = ", then restored" if options.inpaint_mode == "inpaint+restore" else ""
        name = Path(options.inpaint_model).stem
        return (
            f"Faces: {name}{then} · rest: {rest}",
            f"Marks on faces are filled by the GPEN inpainting model {options.inpaint_model}; "
            f"marks elsewhere by {rest}. Restore (Ctrl+R) fills them.",
        )
    return (
        f"Faces and rest: {rest}",
        f"No GPEN-Inpainting checkpoint in the weights folder, so {rest} fills the marks on "
        "faces too (the Model manager downloads GPEN-Inpainting-1024). Restore (Ctrl+R) "
        "fills them.",
    )


class BrushBar(QToolBar):
    """``sizeChanged(int)`` when the person sets the size here; ``sensitivityChanged(int)``
    (0-100) when they move Find Damage's sensitivity."""

    sizeChanged = Signal(int)
    sensitivityChanged = Signal(int)

    def __init__(
        self,
        paint: QAction,
        erase: QAction,
        clear: QAction,
        find: QAction | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Damage brush", parent)
        self.setObjectName("toolbar-brush")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        erase.setIconText("Eraser")  # the brush's own text ("Brush") is the main bar's too
        self.addAction(paint)
        self.addAction(erase)
        self.addSeparator()
        self.addWidget(QLabel(" Size "))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(MIN_BRUSH, MAX_BRUSH)
        self.slider.setFixedWidth(160)
        self.slider.setToolTip("Brush diameter in photo pixels ([ smaller, ] larger)")
        self.addWidget(self.slider)
        self.spin = QSpinBox()
        self.spin.setRange(MIN_BRUSH, MAX_BRUSH)
        self.spin.setSuffix(" px")
        self.spin.setToolTip(self.slider.toolTip())
        self.addWidget(self.spin)
        self.addSeparator()
        if find is not None:
            find.setIconText("Find Damage")
            self.addAction(find)
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(0, 100)
        self.sensitivity.setFixedWidth(110)
        self.sensitivity.setToolTip(
            "Find Damage's sensitivity: to the right it marks fainter and shorter scratches "
            "(and more by mistake), to the left only clear damage"
        )
        self.sensitivity_label = QLabel()
        self.sensitivity_label.setToolTip(self.sensitivity.toolTip())
        self.addWidget(QLabel(" Sensitivity "))
        self.addWidget(self.sensitivity)
        self.addWidget(self.sensitivity_label)
        self.sensitivity.valueChanged.connect(self._on_sensitivity)
        self.addSeparator()
        clear.setIconText("Clear")
        self.addAction(clear)
        self.addSeparator()
        self.fill_label = QLabel()
        self.fill_label.setContentsMargins(6, 0, 6, 0)
        self.addWidget(self.fill_label)
        self._setting = False
        self.slider.valueChanged.connect(self._on_value)
        self.spin.valueChanged.connect(self._on_value)

    def set_size(self, size: int) -> None:
        """Show ``size`` (from the canvas) without echoing it back."""
        self._setting = True
        try:
            self.slider.setValue(size)
            self.spin.setValue(size)
        finally:
            self._setting = False

    def set_sensitivity(self, value: int) -> None:
        """Show ``value`` (0-100) without echoing it back."""
        self.sensitivity.blockSignals(True)
        try:
            self.sensitivity.setValue(int(value))
        finally:
            self.sensitivity.blockSignals(False)
        self.sensitivity_label.setText(f"{self.sensitivity.value()} % ")

    def _on_sensitivity(self, value: int) -> None:
        self.sensitivity_label.setText(f"{value} % ")
        self.sensitivityChanged.emit(value)

    def set_fill_text(self, text: str, tip: str = "") -> None:
        self.fill_label.setText(text)
        self.fill_label.setToolTip(tip)

    def _on_value(self, value: int) -> None:
        if self._setting:
            return
        self.set_size(value)
        self.sizeChanged.emit(value)
