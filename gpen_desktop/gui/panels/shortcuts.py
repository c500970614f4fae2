"""The F1 list of keyboard shortcuts: a non-modal window that filters and scrolls.

It is made from the actions table (:func:`gpen_desktop.gui.actions.shortcut_rows`), so no
shortcut goes unlisted, and sizes itself to the screen it opens on (it fits 1280×720).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ShortcutsDialog(QDialog):
    """``rows``: (keys, what they do) pairs, in the order shown."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.setModal(False)
        self.rows = list(rows)
        layout = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (a key or a word)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        layout.addWidget(self.filter)
        self.table = QTableWidget(len(self.rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for i, (keys, does) in enumerate(self.rows):
            key_item = QTableWidgetItem(html.unescape(keys))
            font = key_item.font()
            font.setBold(True)
            key_item.setFont(font)
            self.table.setItem(i, 0, key_item)
            self.table.setItem(i, 1, QTableWidgetItem(html.unescape(does)))
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i, (keys, does) in enumerate(self.rows):
            hit = not needle or needle in keys.lower() or needle in does.lower()
            self.table.setRowHidden(i, not hit)

    def visible_rows(self) -> int:
        return sum(not self.table.isRowHidden(i) for i in range(self.table.rowCount()))

    def show_near(self, window: QWidget) -> None:
        """Show (or raise) beside ``window``, no taller or wider than its screen allows."""
        screen = (window.screen() if window is not None else None) or self.screen()
        area = screen.availableGeometry()
        self.table.resizeRowsToContents()
        rows_height = sum(self.table.rowHeight(i) for i in range(self.table.rowCount()))
        wanted_h = rows_height + 140
        width = min(560, int(area.width() * 0.9))
        height = min(wanted_h, int(area.height() * 0.85))
        self.resize(width, height)
        if window is not None:
            centre = window.frameGeometry().center()
            x = min(max(area.left(), centre.x() - width // 2), area.right() - width)
            y = min(max(area.top(), centre.y() - height // 2), area.bottom() - height)
            self.move(x, y)
        self.filter.clear()
        self.show()
        self.raise_()
        self.activateWindow()
