"""Painting shared by the canvas and the compare views: the wipe divider, tags and notes.

All coordinates are viewport pixels; these draw on top of a view's scene in ``paintEvent``.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

HANDLE_RADIUS = 14  # px on screen
GRAB_DISTANCE = 10  # px on screen either side of the divider line


def paint_divider(painter: QPainter, x: float, top: float, bottom: float, centre_y: float) -> None:
    """The wipe divider in viewport pixels: a line from ``top`` to ``bottom`` at ``x`` with a
    round grab handle at ``centre_y`` and 'Before' / 'After' tags either side."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    shadow = QPen(QColor(0, 0, 0, 110), 4)
    painter.setPen(shadow)
    painter.drawLine(QPointF(x, top), QPointF(x, bottom))
    painter.setPen(QPen(QColor(255, 255, 255, 235), 2))
    painter.drawLine(QPointF(x, top), QPointF(x, bottom))
    r = HANDLE_RADIUS
    painter.setPen(QPen(QColor(0, 0, 0, 120), 1.5))
    painter.setBrush(QColor(255, 255, 255, 240))
    painter.drawEllipse(QPointF(x, centre_y), r, r)
    # two small arrows in the handle
    painter.setBrush(QColor(60, 60, 60))
    painter.setPen(Qt.PenStyle.NoPen)
    for sign in (-1, 1):
        path = QPainterPath()
        tip = x + sign * (r - 4)
        path.moveTo(tip, centre_y)
        path.lineTo(tip - sign * 6, centre_y - 5)
        path.lineTo(tip - sign * 6, centre_y + 5)
        path.closeSubpath()
        painter.drawPath(path)
    paint_tag(painter, "Before", x - 10, top + 10, right_aligned=True)
    paint_tag(painter, "After", x + 10, top + 10)
    painter.restore()


def paint_tag(
    painter: QPainter, text: str, x: float, y: float, right_aligned: bool = False
) -> None:
    """A small white-on-dark label with its top-left (or top-right) corner at (x, y)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    w = metrics.horizontalAdvance(text) + 14
    h = metrics.height() + 6
    box = QRectF(x - w if right_aligned else x, y, w, h)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 150))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def paint_note(painter: QPainter, text: str, width: float, top: float = 14) -> None:
    """A centred white-on-dark note across a view ``width`` pixels wide (a status line)."""
    painter.save()
    font = QFont(painter.font())
    font.setPointSizeF(font.pointSizeF() * 1.15)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    w = metrics.horizontalAdvance(text) + 24
    box = QRectF((width - w) / 2, top, w, metrics.height() + 12)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 160))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawRoundedRect(box, 6, 6)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()
