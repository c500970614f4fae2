"""Look and feel: Fusion style with tuned light and dark palettes, following the system scheme.

Call :func:`configure_high_dpi` before the ``QApplication`` exists, then :func:`apply_theme`
once it does. In ``"system"`` mode the palette follows ``QStyleHints.colorScheme`` (Qt 6.5+)
and is re-applied when the system switches between light and dark.
"""

from __future__ import annotations

import logging
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory, QToolTip

log = logging.getLogger(__name__)

ThemeMode = Literal["system", "light", "dark"]
MODES: tuple[str, ...] = ("system", "light", "dark")

_R = QPalette.ColorRole
_G = QPalette.ColorGroup

# role: (light, dark)
_COLORS: dict[QPalette.ColorRole, tuple[str, str]] = {
    _R.Window: ("#f4f5f7", "#1e2023"),
    _R.WindowText: ("#1d2126", "#e4e6ea"),
    _R.Base: ("#ffffff", "#16171a"),
    _R.AlternateBase: ("#f0f2f5", "#222428"),
    _R.ToolTipBase: ("#ffffff", "#2c2f34"),
    _R.ToolTipText: ("#1d2126", "#e4e6ea"),
    _R.PlaceholderText: ("#868e96", "#7d8590"),
    _R.Text: ("#1d2126", "#e4e6ea"),
    _R.Button: ("#eceef1", "#2a2d32"),
    _R.ButtonText: ("#1d2126", "#e4e6ea"),
    _R.BrightText: ("#d6336c", "#ff8787"),
    _R.Light: ("#ffffff", "#3b3f45"),
    _R.Midlight: ("#e3e6ea", "#32353a"),
    _R.Mid: ("#c4c9d0", "#26282c"),
    _R.Dark: ("#9aa1ab", "#111214"),
    _R.Shadow: ("#6b727c", "#000000"),
    _R.Highlight: ("#3b5bdb", "#5c7cfa"),
    _R.HighlightedText: ("#ffffff", "#ffffff"),
    _R.Link: ("#1c64d8", "#74a7ff"),
    _R.LinkVisited: ("#7048e8", "#b197fc"),
}
_DISABLED: dict[QPalette.ColorRole, tuple[str, str]] = {
    _R.WindowText: ("#9aa1ab", "#6a717b"),
    _R.Text: ("#9aa1ab", "#6a717b"),
    _R.ButtonText: ("#9aa1ab", "#6a717b"),
    _R.Highlight: ("#c4c9d0", "#3b3f45"),
    _R.HighlightedText: ("#f4f5f7", "#9aa1ab"),
    _R.Base: ("#f4f5f7", "#1b1c1f"),
    _R.Button: ("#e9ebee", "#25272b"),
}

#: The outline of check boxes and radio buttons on a dark palette (Fusion draws it from the
#: window colour, 40 % darker: on a dark window that is black on black).
DARK_INDICATOR_OUTLINE = "#8b929c"

# The state of the one application theme (there is one QApplication per process).
_state: dict[str, object] = {"mode": None, "connected": False, "style": None}


class ReadableFusion(QProxyStyle):
    """Fusion with check box and radio button frames that show on a dark palette (in the face
    list, the options panel and every dialog); light palettes are drawn as Fusion does."""

    _INDICATORS = (
        QStyle.PrimitiveElement.PE_IndicatorCheckBox,
        QStyle.PrimitiveElement.PE_IndicatorRadioButton,
    )

    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: N802
        palette = option.palette
        dark = palette.color(_R.Window).lightness() < palette.color(_R.WindowText).lightness()
        if element in self._INDICATORS and dark:
            option = type(option)(option)  # a copy: the caller's option stays as it was
            lifted = QPalette(palette)
            # Fusion's outline is window.darker(140): a window this light gives the outline
            lifted.setColor(_R.Window, QColor(DARK_INDICATOR_OUTLINE).lighter(140))
            option.palette = lifted
        super().drawPrimitive(element, option, painter, widget)


def configure_high_dpi() -> bool:
    """Set fractional high-DPI scaling (rounding policy PassThrough); call before QApplication.

    Returns False (and logs) when an application object already exists, because Qt ignores
    the policy then.
    """
    if QGuiApplication.instance() is not None:
        log.info("configure_high_dpi() called after the QApplication was created; ignored")
        return False
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    return True


def build_palette(dark: bool) -> QPalette:
    """The tuned Fusion palette for a light (``dark=False``) or dark scheme."""
    index = 1 if dark else 0
    palette = QPalette()
    for role, colors in _COLORS.items():
        palette.setColor(_G.All, role, QColor(colors[index]))
    for role, colors in _DISABLED.items():
        palette.setColor(_G.Disabled, role, QColor(colors[index]))
    accent = getattr(_R, "Accent", None)  # Qt 6.6+
    if accent is not None:
        palette.setColor(_G.All, accent, QColor(_COLORS[_R.Highlight][index]))
    return palette


def system_is_dark(app: QGuiApplication | None = None) -> bool:
    """Whether the platform reports a dark colour scheme (False when unknown)."""
    app = app or QGuiApplication.instance()
    if app is None:
        return False
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:  # Qt < 6.5
        return False
    return scheme() == Qt.ColorScheme.Dark


def current_mode() -> str | None:
    """The mode last given to :func:`apply_theme` (None before the first call)."""
    mode = _state["mode"]
    return str(mode) if mode is not None else None


def is_dark(app: QGuiApplication | None = None) -> bool:
    """Whether the application palette in use is a dark one (window darker than its text)."""
    app = app or QGuiApplication.instance()
    if app is None:
        return False
    palette = app.palette()
    return palette.color(_R.Window).lightness() < palette.color(_R.WindowText).lightness()


def _apply_palette(app: QApplication, dark: bool) -> None:
    palette = build_palette(dark)
    app.setPalette(palette)
    QToolTip.setPalette(palette)
    from gpen_desktop.gui import icons  # late: icons are recoloured for the new palette

    icons.retint(palette)


def _on_scheme_changed(*_args: object) -> None:
    app = QApplication.instance()
    if app is None or _state["mode"] != "system":
        return
    dark = system_is_dark(app)
    log.info(
        "System colour scheme changed; switching to the %s palette", "dark" if dark else "light"
    )
    _apply_palette(app, dark)


def apply_theme(app: QApplication, mode: str = "system") -> str:
    """Apply the Fusion style and the palette for ``mode`` ("system", "light" or "dark").

    In "system" mode the palette follows the platform scheme now and on later changes.
    Returns the scheme actually applied: "light" or "dark". Unknown modes fall back to
    "system" with a warning.
    """
    if mode not in MODES:
        log.warning("Unknown theme mode %r; following the system", mode)
        mode = "system"
    if not isinstance(app.style(), ReadableFusion):
        style = ReadableFusion()
        _state["style"] = style  # the application owns it; keep the wrapper alive too
        app.setStyle(style)
    _state["mode"] = mode
    hints = app.styleHints()
    if mode == "system":
        if hasattr(hints, "unsetColorScheme"):  # Qt 6.8+: drop any earlier explicit request
            hints.unsetColorScheme()
        dark = system_is_dark(app)
    else:
        dark = mode == "dark"
        if hasattr(hints, "setColorScheme"):  # Qt 6.8+: native title bars follow the choice
            hints.setColorScheme(Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    if not _state["connected"] and hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(_on_scheme_changed)
        _state["connected"] = True
    _apply_palette(app, dark)
    return "dark" if dark else "light"
