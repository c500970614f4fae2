"""Every setting the app remembers, declared once: its key, default and description.

The restore options persist field by field as the option table (:mod:`gpen_desktop.core.options`)
says (key, default, description); the GUI-only settings (export, paths, theme, the window) sit
beside them. The choice lists the options panel offers come from core.

``$GPEN_DESKTOP_SETTINGS`` names an INI file to use instead of the platform's store (tests).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from gpen_desktop.core import options as option_table
from gpen_desktop.core.options import (
    DETECTORS,
    INPAINT_METHODS,
    INPAINT_MODES,
    MASK_TYPES,
    PRECISIONS,
    UPSCALES,
    RestoreOptions,
)

__all__ = [
    "DETECTORS",
    "INPAINT_METHODS",
    "INPAINT_MODES",
    "MASK_TYPES",
    "PRECISIONS",
    "UPSCALES",
    "Setting",
    "app_settings",
    "restore_options",
]

_DEFAULTS = RestoreOptions()
THEMES = ("system", "light", "dark")


def app_settings() -> QSettings:
    """The app's QSettings; ``$GPEN_DESKTOP_SETTINGS`` names an INI file instead (tests)."""
    path = os.environ.get("GPEN_DESKTOP_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("GPEN Desktop", "GPEN Desktop")


@dataclass(frozen=True)
class Setting:
    """One remembered value. ``field`` names the RestoreOptions field it fills ("" for a
    GUI-only setting); the type of ``default`` is the type read back."""

    key: str
    default: Any
    description: str
    field: str = ""

    def read(self, store: QSettings) -> Any:
        """The stored value as the default's type; the default when missing or unreadable."""
        value = store.value(self.key, None)
        if value is None:
            return self.default
        kind = type(self.default)
        try:
            if kind is bool:
                if isinstance(value, str):
                    return value.strip().lower() in ("1", "true", "yes", "on")
                return bool(value)
            if kind is tuple:
                items = [value] if isinstance(value, str) else list(value or ())
                return tuple(str(v) for v in items if str(v))
            if kind is int:
                return int(float(value))
            return kind(value)
        except (TypeError, ValueError):
            return self.default

    def write(self, store: QSettings, value: Any) -> None:
        store.setValue(self.key, list(value) if isinstance(value, tuple | list) else value)


# --------------------------------------------------------------------------- restore options
#: The remembered restore options (the app's defaults for new photos), one per option-table
#: entry that names a settings key.
OPTIONS: tuple[Setting, ...] = tuple(
    Setting(o.setting, o.default, o.help, o.name) for o in option_table.OPTIONS if o.setting
)
_BY_FIELD = {s.field: s for s in OPTIONS}


def option_setting(name: str) -> Setting:
    """The remembered setting of restore option ``name`` (KeyError: not remembered)."""
    return _BY_FIELD[name]


SR_MODEL = option_setting("sr_model")
INPAINT_METHOD = option_setting("inpaint_method")
INPAINT_MODE = option_setting("inpaint_mode")

# --------------------------------------------------------------------------- GUI only
CUSTOM_MODELS = Setting("options/custom_models", (), "checkpoints chosen from disk")
EXPORT_FORMAT = Setting("export/format", "PNG", "file format of Save and Export")
EXPORT_QUALITY = Setting("export/quality", 95, "JPEG and WebP quality, 1..100")
EXPORT_METADATA = Setting("export/keep_metadata", True, "keep EXIF and the colour profile")
EXPORT_SUFFIX = Setting("export/suffix", "_restored", "added to names by Export All")
THEME = Setting("appearance/theme", "system", "colour theme: system, light or dark")
OPEN_DIR = Setting("paths/open_dir", "", "folder of the last Open")
SAVE_DIR = Setting("paths/save_dir", "", "folder of the last Save or Export")
CHECKPOINT_DIR = Setting("paths/checkpoint_dir", "", "folder of the last chosen checkpoint")
RECENT = Setting("recent", (), "recently opened files and folders, newest first")
GEOMETRY = Setting("window/geometry", b"", "window size and place")
WINDOW_STATE = Setting("window/state", b"", "docks and toolbar layout")
BRUSH_SIZE = Setting("brush/size", 24, "damage brush diameter in photo pixels")
DAMAGE_SENSITIVITY = Setting("brush/find_sensitivity", 50, "Find Damage's sensitivity, 0..100")


def read_options(store: QSettings) -> dict[str, Any]:
    """The remembered restore options as RestoreOptions field -> value."""
    return {s.field: s.read(store) for s in OPTIONS}


def write_options(store: QSettings, values: Mapping[str, Any]) -> None:
    for s in OPTIONS:
        if s.field in values:
            s.write(store, values[s.field])


def restore_options(values: Mapping[str, Any], **overrides: Any) -> RestoreOptions:
    """A RestoreOptions from field values (unknown names are an error, missing ones default)."""
    return dataclasses.replace(_DEFAULTS, **{**dict(values), **overrides})
