"""The application's icon set: single-colour SVG stroke icons recoloured for the current palette.

Every icon under ``resources/icons/<name>.svg`` is drawn on a 24×24 view box with
``stroke="currentColor"``. :func:`icon` substitutes the palette's text colour when the icon is
loaded (the disabled text colour for the Disabled mode, the highlighted text colour for the
Selected mode), writes the recoloured SVG to a private temporary folder and hands it to Qt's
own SVG icon engine, so icons are crisp at every size and device pixel ratio and painting never
calls back into Python. :func:`retint` (called by :func:`gpen_desktop.gui.theme.apply_theme`)
swaps the icons of existing actions and buttons when the palette changes between light and dark.

A missing or broken icon never raises: it yields a blank (transparent, non-null) icon and a
logged warning.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger(__name__)

#: Names the GUI may ask for; each has ``resources/icons/<name>.svg``.
ICON_NAMES: tuple[str, ...] = (
    "open",
    "open-folder",
    "save",
    "save-as",
    "export",
    "restore",
    "restore-selected",
    "restore-all",
    "cancel",
    "zoom-in",
    "zoom-out",
    "zoom-fit",
    "zoom-100",
    "compare",
    "side-by-side",
    "add-face",
    "delete-face",
    "brush",
    "eraser",
    "undo",
    "redo",
    "models",
    "settings",
)

#: Logical sizes rendered for every icon; the toolbar sizes also at 2× for high-DPI screens.
SIZES: tuple[int, ...] = (16, 20, 24, 32, 48, 64)
HIDPI_SIZES: tuple[int, ...] = (16, 20, 24, 32)
_PLACEHOLDER = "currentColor"

# QIcon.cacheKey() -> icon name, for the icons handed out, so retint() can recognise them.
_ISSUED: dict[int, str] = {}
_CACHE: dict[tuple[str, str, str, str], QIcon] = {}


def resources_dir() -> Path:
    """The ``resources/`` folder: ``$GPEN_DESKTOP_RESOURCES``, the PyInstaller bundle, or the repo.

    Looks, in order, at the environment variable, ``sys._MEIPASS/resources`` when frozen, and
    ``<repo>/resources`` next to the ``gpen_desktop`` package.
    """
    env = os.environ.get("GPEN_DESKTOP_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def icon_path(name: str) -> Path:
    """Path of the SVG source for ``name`` (may not exist)."""
    return resources_dir() / "icons" / f"{name}.svg"


@cache
def _svg_source(name: str) -> str | None:
    try:
        return icon_path(name).read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("Icon %r not found (%s); using a blank icon", name, exc)
        return None


def _renderer(name: str, color: QColor) -> QSvgRenderer | None:
    source = _svg_source(name)
    if source is None:
        return None
    svg = source.replace(_PLACEHOLDER, color.name())  # #rrggbb; alpha is applied when painting
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        log.warning("Icon %r is not a valid SVG; using a blank icon", name)
        return None
    return renderer


def _pixmap(
    renderer: QSvgRenderer | None, side: int, ratio: float, opacity: float = 1.0
) -> QPixmap:
    pixels = round(side * ratio)
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    if renderer is not None:
        painter = QPainter(pixmap)
        painter.setOpacity(opacity)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, pixels, pixels))
        painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def _mode_colors(palette: QPalette) -> tuple[QColor, QColor, QColor]:
    """(normal, disabled, selected) icon colours for ``palette``."""
    normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    selected = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
    return normal, disabled, selected


_tmp_dir: Path | None = None


def _recoloured_file(name: str, color: QColor) -> Path | None:
    """A private temporary copy of the icon's SVG drawn in ``color`` (None if unusable)."""
    global _tmp_dir
    source = _svg_source(name)
    if source is None or not _svg_valid(name):
        return None
    if _tmp_dir is None:
        _tmp_dir = Path(tempfile.mkdtemp(prefix="gpen-desktop-icons-"))
        atexit.register(shutil.rmtree, _tmp_dir, True)
    folder = _tmp_dir / color.name(QColor.NameFormat.HexArgb)[1:]
    path = folder / f"{name}.svg"
    if not path.exists():
        folder.mkdir(exist_ok=True)
        svg = source.replace(_PLACEHOLDER, color.name())
        if color.alpha() < 255:  # wrap the drawing in a translucent group
            head_end = svg.index(">", svg.index("<svg")) + 1
            tail = svg.rindex("</svg>")
            svg = (
                f'{svg[:head_end]}<g opacity="{color.alphaF():.3f}">{svg[head_end:tail]}</g></svg>'
            )
        path.write_text(svg, encoding="utf-8")
    return path


@cache
def _svg_valid(name: str) -> bool:
    source = _svg_source(name)
    if source is None:
        return False
    if not QSvgRenderer(QByteArray(source.encode("utf-8"))).isValid():
        log.warning("Icon %r is not a valid SVG; using a blank icon", name)
        return False
    return True


def _blank() -> QIcon:
    result = QIcon()
    result.addPixmap(_pixmap(None, 16, 1.0))
    return result


def _build(name: str, colors: tuple[QColor, QColor, QColor]) -> QIcon:
    """Qt's own SVG icon engine on recoloured files: crisp at every size and pixel ratio."""
    normal, disabled, selected = colors
    files = [_recoloured_file(name, c) for c in colors]
    if files[0] is None:
        return _blank()
    result = QIcon(str(files[0]))
    if files[1] is not None:
        result.addFile(str(files[1]), QSize(), QIcon.Mode.Disabled, QIcon.State.Off)
    if files[2] is not None:
        result.addFile(str(files[2]), QSize(), QIcon.Mode.Selected, QIcon.State.Off)
    if result.pixmap(16, 16).isNull():  # no SVG icon engine plugin: pre-rendered pixmaps
        result = QIcon()
        for mode, color in zip((QIcon.Mode.Normal, QIcon.Mode.Disabled), colors[:2], strict=True):
            renderer = _renderer(name, color)
            for side in SIZES:
                for ratio in (1.0, 2.0) if side in HIDPI_SIZES else (1.0,):
                    result.addPixmap(_pixmap(renderer, side, ratio, color.alphaF()), mode)
    return result


def icon(name: str, palette: QPalette | None = None) -> QIcon:
    """The icon called ``name`` (one of :data:`ICON_NAMES`) in the colours of ``palette``.

    ``palette`` defaults to the application palette. Icons are cached per name and colours,
    so asking again is cheap. Never raises: an unknown or unreadable name gives a blank,
    non-null icon and logs a warning. Needs a ``QGuiApplication``.
    """
    if name not in ICON_NAMES:
        log.warning("Unknown icon name %r; using a blank icon", name)
    colors = _mode_colors(palette if palette is not None else QGuiApplication.palette())
    key = (name, *(c.name(QColor.NameFormat.HexArgb) for c in colors))
    cached = _CACHE.get(key)
    if cached is None:
        cached = _build(name, colors)
        _CACHE[key] = cached
        _ISSUED[cached.cacheKey()] = name
    return QIcon(cached)


def icon_name(ic: QIcon) -> str | None:
    """The name of an icon made by :func:`icon` (None for any other icon)."""
    return _ISSUED.get(ic.cacheKey())


def retint(palette: QPalette | None = None) -> int:
    """Recolour the icons from :func:`icon` on every widget's actions and on buttons.

    Call after the palette changed (``apply_theme`` does). Returns how many icons were
    replaced. Icons held elsewhere keep their colours until they are asked for again.
    """
    from PySide6.QtWidgets import QAbstractButton, QApplication

    app = QApplication.instance()
    if app is None:
        return 0
    palette = palette if palette is not None else app.palette()
    replaced = 0
    seen: set[int] = set()
    for widget in app.allWidgets():
        for action in widget.actions():
            if id(action) in seen:
                continue
            seen.add(id(action))
            name = icon_name(action.icon())
            if name is not None:
                fresh = icon(name, palette)
                if fresh.cacheKey() != action.icon().cacheKey():
                    action.setIcon(fresh)
                    replaced += 1
        if isinstance(widget, QAbstractButton):
            name = icon_name(widget.icon())
            if name is not None:
                fresh = icon(name, palette)
                if fresh.cacheKey() != widget.icon().cacheKey():
                    widget.setIcon(fresh)
                    replaced += 1
        window_name = icon_name(widget.windowIcon()) if widget.isWindow() else None
        if window_name is not None:
            widget.setWindowIcon(icon(window_name, palette))
    return replaced


def app_icon() -> QIcon:
    """The application icon (full colour, from ``resources/gpen-desktop.svg`` or its PNG).

    Never raises: falls back to the PNG, then to a blank icon with a warning.
    """
    svg = resources_dir() / "gpen-desktop.svg"
    png = resources_dir() / "gpen-desktop.png"
    for path in (svg, png):
        if path.is_file():
            result = QIcon(str(path))
            if not result.pixmap(16, 16).isNull():
                return result
    log.warning("Application icon not found under %s; using a blank icon", resources_dir())
    return _blank()
