"""Dialogs of the desktop application (each module is importable on its own)."""

from gpen_desktop.gui.dialogs.model_manager import ModelManagerDialog

__all__ = ["ModelManagerDialog"]
