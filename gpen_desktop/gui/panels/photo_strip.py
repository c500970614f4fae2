"""The open photos with thumbnails and a status dot; selecting one makes it current."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from gpen_desktop.gui.state import PhotoDoc, PhotoList, PhotoStatus

STATUS_COLOURS = {
    PhotoStatus.LOADING: "#9e9e9e",
    PhotoStatus.UNREADABLE: "#e53935",
    PhotoStatus.READY: "#9e9e9e",
    PhotoStatus.QUEUED: "#fbc02d",
    PhotoStatus.RUNNING: "#1e88e5",
    PhotoStatus.RESTORED: "#43a047",
    PhotoStatus.FAILED: "#e53935",
}


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

    def __init__(self, session: PhotoList, parent: QWidget | None = None) -> None:
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
        short = doc.status_line()
        short = short if len(short) < 60 else short[:57] + "…"
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
