"""The message banner: one line with an icon, actions and a close button, per photo."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QWidget,
)


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
            f"#MessageBanner QLabel, #MessageBanner QToolButton {{ color: {fg}; }}"
            f"#MessageBanner QPushButton {{ color: {fg}; background: transparent;"
            f" border: 1px solid {border}; border-radius: 4px; padding: 2px 8px; }}"
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
