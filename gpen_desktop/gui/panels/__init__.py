"""The window's side panels and small widgets.

Panels bind to the document model (:mod:`gpen_desktop.gui.state`) and call its undoable edit
methods directly; they never run heavy work.
"""

from gpen_desktop.gui.panels.banner import MessageBanner
from gpen_desktop.gui.panels.empty_state import EmptyState, ModelCard
from gpen_desktop.gui.panels.face_panel import FacePanel
from gpen_desktop.gui.panels.options_panel import OptionsPanel
from gpen_desktop.gui.panels.photo_strip import PhotoStrip

__all__ = ["EmptyState", "FacePanel", "MessageBanner", "ModelCard", "OptionsPanel", "PhotoStrip"]
