"""The mouse wheel scrolls a panel; it changes a combo box, spin box or slider only once that
control has the focus (clicked or tabbed to). Without this, scrolling down the Settings panel
changes whatever control passes under the pointer."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


class _WheelGuard(QObject):
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, GUARDED):
            return False
        if watched.hasFocus():
            return False  # the person is working with this control: the wheel is theirs
        area = watched.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            QApplication.sendEvent(area.verticalScrollBar(), event)
        return True


_GUARD = _WheelGuard()


def guard_wheel(panel: QWidget) -> None:
    """Make every combo box, spin box and slider in ``panel`` take the wheel only with focus
    (the focus comes from a click or Tab, never from the wheel)."""
    for widget in panel.findChildren(QWidget):
        if isinstance(widget, GUARDED) and not isinstance(widget, QAbstractScrollArea):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            widget.installEventFilter(_GUARD)
