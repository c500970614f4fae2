"""Icon set, application icon and light/dark themes (offscreen)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSize, Qt  # noqa: E402
from PySide6.QtGui import QIcon, QImage, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gpen_desktop.gui import icons, theme  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_look(qapp):
    """Put the application's style, palette and theme state back after a test."""
    palette = QPalette(qapp.palette())
    style = qapp.style().name()
    state = dict(theme._state)
    hints = qapp.styleHints()
    yield qapp
    theme._state.update(state)
    theme._state["mode"] = state["mode"]
    if hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()
    if style:  # "" is the theme's own ReadableFusion proxy: apply_theme keeps it
        qapp.setStyle(style)
    qapp.setPalette(palette)


def _ink(image: QImage, min_alpha: int = 200) -> list[tuple[int, int, int]]:
    """Colours of the painted pixels (alpha above ``min_alpha``) of an icon image."""
    out = []
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() > min_alpha:
                out.append((c.red(), c.green(), c.blue()))
    return out


def test_every_icon_name_has_a_clean_svg():
    files = sorted(p.stem for p in (ROOT / "resources" / "icons").glob("*.svg"))
    assert files == sorted(icons.ICON_NAMES)
    for name in icons.ICON_NAMES:
        text = icons.icon_path(name).read_text()
        assert 'viewBox="0 0 24 24"' in text and "currentColor" in text
        # single colour: nothing but currentColor / none
        colours = set(re.findall(r'(?:stroke|fill)="([^"]+)"', text))
        assert colours <= {"currentColor", "none"}, (name, colours)


@pytest.mark.parametrize("name", icons.ICON_NAMES)
def test_icon_loads_and_paints(qapp, name):
    ic = icons.icon(name)
    assert isinstance(ic, QIcon) and not ic.isNull()
    for side in (16, 24, 48):
        pixmap = ic.pixmap(QSize(side, side))
        assert not pixmap.isNull() and pixmap.width() == side
        assert len(_ink(pixmap.toImage(), 64)) > side  # something was drawn


def test_icons_follow_the_palette(qapp, restore_look):
    theme.apply_theme(qapp, "light")
    light = set(_ink(icons.icon("save").pixmap(32, 32).toImage()))
    theme.apply_theme(qapp, "dark")
    dark = set(_ink(icons.icon("save").pixmap(32, 32).toImage()))
    text_light = qapp.palette().color(QPalette.ColorRole.WindowText)
    assert max(sum(c) for c in dark) > 600  # light strokes on dark windows
    assert min(sum(c) for c in light) < 150  # dark strokes on light windows
    assert text_light.lightness() > 200
    disabled = icons.icon("save").pixmap(QSize(32, 32), QIcon.Mode.Disabled)
    normal = icons.icon("save").pixmap(QSize(32, 32))
    assert disabled.toImage() != normal.toImage()


def test_theme_change_retints_existing_actions_and_buttons(qapp, restore_look):
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QPushButton, QToolBar

    theme.apply_theme(qapp, "light")
    bar = QToolBar()
    action = QAction(icons.icon("undo"), "Undo", bar)
    bar.addAction(action)
    button = QPushButton(icons.icon("models"), "Models")
    other = QPushButton(QIcon(), "plain")
    assert icons.icon_name(action.icon()) == "undo"
    before = set(_ink(action.icon().pixmap(24, 24).toImage()))
    theme.apply_theme(qapp, "dark")
    after = set(_ink(action.icon().pixmap(24, 24).toImage()))
    assert min(sum(c) for c in before) < 150 and max(sum(c) for c in after) > 600
    assert icons.icon_name(action.icon()) == "undo"
    assert max(sum(c) for c in _ink(button.icon().pixmap(24, 24).toImage())) > 600
    assert other.icon().isNull()
    assert icons.retint() == 0  # already in the current colours
    bar.deleteLater()
    button.deleteLater()
    other.deleteLater()


def test_high_dpi_pixmap(qapp):
    pixmap = icons.icon("zoom-in").pixmap(QSize(24, 24), 2.0)
    assert pixmap.devicePixelRatio() == 2.0 and pixmap.width() == 48


def test_missing_icon_is_blank_and_logged(qapp, caplog):
    with caplog.at_level(logging.WARNING, logger="gpen_desktop.gui.icons"):
        ic = icons.icon("no-such-icon")
    assert not ic.isNull()
    assert _ink(ic.pixmap(24, 24).toImage(), 0) == []
    assert "no-such-icon" in caplog.text


def test_app_icon(qapp):
    ic = icons.app_icon()
    assert not ic.isNull()
    for side in (16, 256):
        image = ic.pixmap(side, side).toImage()
        assert image.width() == side and len(_ink(image)) > side * side // 3
    png = QImage(str(ROOT / "resources" / "gpen-desktop.png"))
    assert png.width() == 256 and png.height() == 256


def test_app_icon_missing_resources(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("GPEN_DESKTOP_RESOURCES", str(tmp_path))
    assert not icons.app_icon().isNull()


def test_desktop_file_template():
    text = (ROOT / "resources" / "gpen-desktop.desktop").read_text()
    assert text.startswith("[Desktop Entry]")
    for key in ("Type=Application", "Name=GPEN Desktop", "Exec=", "Icon=gpen-desktop"):
        assert key in text


def test_themes_apply_both_palettes(qapp, restore_look):
    assert theme.apply_theme(qapp, "light") == "light"
    assert isinstance(qapp.style(), theme.ReadableFusion)
    assert qapp.style().baseStyle().name().lower() == "fusion"
    light = qapp.palette()
    assert light.color(QPalette.ColorRole.Window).lightness() > 200
    assert not theme.is_dark(qapp)
    assert theme.apply_theme(qapp, "dark") == "dark"
    dark = qapp.palette()
    assert dark.color(QPalette.ColorRole.Window).lightness() < 60
    assert dark.color(QPalette.ColorRole.Text).lightness() > 200
    assert theme.is_dark(qapp) and theme.current_mode() == "dark"
    disabled = dark.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert disabled != dark.color(QPalette.ColorRole.Text)
    for role in (QPalette.ColorRole.Highlight, QPalette.ColorRole.Base):
        assert light.color(role) != dark.color(role)


def test_system_mode_follows_the_scheme(qapp, restore_look):
    result = theme.apply_theme(qapp, "system")
    assert result == ("dark" if theme.system_is_dark(qapp) else "light")
    assert theme.current_mode() == "system"
    # the change handler re-applies the palette only in system mode
    theme._state["mode"] = "light"
    qapp.setPalette(theme.build_palette(True))
    theme._on_scheme_changed(Qt.ColorScheme.Light)
    assert theme.is_dark(qapp)  # explicit mode: untouched
    theme._state["mode"] = "system"
    theme._on_scheme_changed(Qt.ColorScheme.Light)
    assert theme.is_dark(qapp) == theme.system_is_dark(qapp)


def test_unknown_mode_falls_back(qapp, restore_look, caplog):
    with caplog.at_level(logging.WARNING, logger="gpen_desktop.gui.theme"):
        theme.apply_theme(qapp, "purple")
    assert theme.current_mode() == "system" and "purple" in caplog.text


def test_configure_high_dpi_after_app_is_refused(qapp):
    assert QApplication.instance() is not None
    assert theme.configure_high_dpi() is False


def test_configure_high_dpi_before_app():
    import subprocess
    import sys

    code = (
        "from PySide6.QtGui import QGuiApplication\n"
        "from gpen_desktop.gui.theme import configure_high_dpi\n"
        "assert configure_high_dpi()\n"
        "from PySide6.QtCore import Qt\n"
        "p = QGuiApplication.highDpiScaleFactorRoundingPolicy()\n"
        "assert p == Qt.HighDpiScaleFactorRoundingPolicy.PassThrough, p\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def _indicator_lightness(widget) -> list[int]:
    """Lightness of every pixel of an unchecked, text-less check box (only its frame and
    fill are drawn)."""
    widget.resize(40, 40)
    widget.show()
    image = widget.grab().toImage()
    return sorted(
        {image.pixelColor(x, y).lightness() for y in range(image.height()) for x in range(40)}
    )


@pytest.mark.parametrize("where", ["checkbox", "list item"])
def test_dark_theme_check_box_frames_show(qapp, qtbot, restore_look, where):
    """Fusion draws the frame from the window colour, 40 % darker: black on a dark window.
    The theme's style lifts it to DARK_INDICATOR_OUTLINE (check boxes in the options panel,
    the face list's check marks, radio buttons); the light theme is drawn as Fusion does."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QCheckBox, QListWidget, QListWidgetItem

    def make():
        if where == "checkbox":
            return QCheckBox("")
        view = QListWidget()
        item = QListWidgetItem("")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        view.addItem(item)
        return view

    theme.apply_theme(qapp, "dark")
    background = qapp.palette().color(QPalette.ColorRole.Window).lightness()
    widget = make()
    qtbot.addWidget(widget)
    seen = _indicator_lightness(widget)
    # the frame stands out from the dark window and base by far (plain Fusion: by ~2)
    assert max(seen) - background >= 80, seen
    theme.apply_theme(qapp, "light")
    widget = make()
    qtbot.addWidget(widget)
    seen = _indicator_lightness(widget)
    assert min(seen) < qapp.palette().color(QPalette.ColorRole.Window).lightness() - 40
