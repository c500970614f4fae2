"""The Settings dock at the default window size: every group box fits its width (nothing is
clipped at the right edge; the dock has no horizontal scroll bar), whatever the length of
the model, device and choice names."""

from __future__ import annotations

from gui_helpers import close_now, run
from PySide6.QtWidgets import QComboBox, QGroupBox

from gpen_desktop.gui.main_window import MainWindow
from gpen_desktop.gui.panels.options_panel import NarrowCombo

LONG_DEVICE = "CUDA 0: NVIDIA GeForce RTX 4090 Laptop GPU with Max-Q Design (16 GB)"


def test_settings_group_boxes_fit_the_dock_at_the_default_size(qtbot, aloop, until, weights):
    window = MainWindow(weights_dir=str(weights))  # no saved geometry: the default size
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        run(aloop, until(lambda: window.options_panel._scanned, 60, "the model scan"))
        panel = window.options_panel
        panel.set_devices([("auto", "Auto (CPU (2 threads))"), ("cuda:0", LONG_DEVICE)])
        window.options_dock.raise_()
        qtbot.wait(50)
        assert window.size().toTuple() == (1400, 900)
        dock = window.options_dock
        width = dock.widget().viewport().width()  # the scroll area's visible width
        assert 0 < width <= dock.width()
        margins = panel.layout().contentsMargins()
        room = width - margins.left() - margins.right()
        boxes = panel.findChildren(QGroupBox)
        assert [b.title() for b in boxes] == [
            "Model",
            "Restore",
            "Old photos",
            "Export",
            "Appearance",
        ]
        for box in boxes:
            assert box.sizeHint().width() <= room, (box.title(), box.sizeHint(), room)
            assert box.geometry().right() < width  # laid out inside the visible part
        assert panel.minimumSizeHint().width() <= width
        # long entries do not widen their combo box; its open list is wide enough for them
        combos = panel.findChildren(QComboBox)
        assert combos and all(isinstance(c, NarrowCombo) for c in combos)
        device = panel.device
        assert device.sizeHint().width() < device.fontMetrics().horizontalAdvance(LONG_DEVICE)
        device.showPopup()
        view = device.view()
        assert view.minimumWidth() >= view.sizeHintForColumn(0)
        device.hidePopup()
    finally:
        close_now(window)
        window.deleteLater()


def test_the_wheel_scrolls_the_panel_instead_of_changing_a_control(window, qtbot):
    """Regression: scrolling over the Settings panel switched "On faces" to "Inpaint only"."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window.options_dock.show()
    window.options_dock.raise_()
    window.resize(1280, 600)  # short enough for the panel to scroll
    panel = window.options_panel
    scroll = window.options_dock.widget()
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0, timeout=3000)
    combo = panel.inpaint_mode
    before = combo.currentIndex()
    bar = scroll.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    start = bar.value()

    def wheel(widget, dy):
        event = QWheelEvent(
            QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 0),
            QPoint(0, dy), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(widget, event)

    wheel(combo, -120)
    assert combo.currentIndex() == before and bar.value() > start  # the panel scrolled
    wheel(panel.blend, -120)
    assert panel.blend.value() == 100
    combo.setFocus()  # once the person is on the control, the wheel is theirs
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    wheel(combo, -120)
    assert combo.currentIndex() != before


def test_the_panel_shows_exactly_the_tables_panel_options(qtbot):
    """The option table is the one list: the Settings panel's fields are its ``panel``
    options, each labelled with the table's words."""
    from gpen_desktop.core.options import OPTIONS
    from gpen_desktop.gui.panels.options_panel import OptionsPanel

    panel = OptionsPanel()
    qtbot.addWidget(panel)
    table = {o.name for o in OPTIONS if o.panel}
    assert set(panel.values()) == table == set(panel.fields())
    from PySide6.QtWidgets import QFormLayout

    for o in OPTIONS:
        if not o.panel:
            continue
        widget = panel.fields()[o.name]
        if o.name != "inpaint_model":  # a label saying which model the scan found
            assert widget.toolTip() == o.tooltip, o.name
        form = widget.parentWidget().layout()
        if isinstance(form, QFormLayout) and form.labelForField(widget) is not None:
            assert form.labelForField(widget).text() == o.label, o.name
