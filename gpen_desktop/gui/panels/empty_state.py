"""What the centre shows with no photo open, and the 'no model yet' card."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.gui.icons import icon


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
