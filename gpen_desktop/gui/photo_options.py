"""Each photo owns its options; the Settings panel shows and edits the current photo's.

:class:`PhotoOptions` keeps the defaults new photos start from, gives each opened photo a copy,
binds the panel to the current photo (showing its options never writes them back; a person's
edit changes that photo only), completes a photo's options for a run (the app's device, batch
size and weights folder, the inpainting model the scan found) and carries out "Use for All
Photos" and "Make Default".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from gpen_desktop.core.options import APP, PHOTO
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.panels.options_panel import OptionsPanel
from gpen_desktop.gui.state import PhotoDoc, PhotoList


class PhotoOptions(QObject):
    """``photos``: the open photos; ``panel``: the Settings panel; ``say(text)``: a message.
    ``changed(doc)`` fires when a photo's options change (by the panel or an action)."""

    changed = Signal(object)

    def __init__(
        self,
        photos: PhotoList,
        panel: OptionsPanel,
        weights_dir: str | None,
        say: Callable[[str], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.photos = photos
        self.panel = panel
        self.weights_dir = weights_dir
        self.say = say
        self.showing = False  # the panel is being filled from a photo: nothing to take back
        #: the options new photos start from (the panel edits them while no photo is open)
        self.defaults = panel.options(weights_dir=weights_dir)
        photos.photoAdded.connect(self._added)

    # ------------------------------------------------------------------ reading
    def run_options(self, doc: PhotoDoc | None = None) -> Any:
        """The options a restore of ``doc`` (default: the current photo) uses: its own with the
        app's device, batch size and weights folder, and the inpainting model the weights
        scan found; with no photo, the defaults."""
        doc = doc if doc is not None else self.photos.current
        shown = self.panel.options(weights_dir=self.weights_dir)
        own = doc.options if doc is not None and doc.options is not None else self.defaults
        model = own.model_path or self.defaults.model_path or shown.model_path
        return own.replace(**shown.only(APP), model_path=model, inpaint_model=shown.inpaint_model)

    def panel_values(self) -> dict[str, Any]:
        """The photo options the panel shows (what a person edits there)."""
        return {
            k: v
            for k, v in self.panel.options().only(PHOTO).items()
            if k in self.panel.values() and k != "inpaint_model"
        }

    # ------------------------------------------------------------------ the panel
    def show(self, doc: PhotoDoc | None) -> None:
        """Show ``doc``'s options in the panel (None: the defaults), writing nothing back."""
        own = self.run_options(doc) if doc is not None else self.defaults
        values = {k: getattr(own, k) for k in self.panel.values()}
        values["model_path"] = own.model_path or self.panel.model_path()
        self.showing = True
        try:
            self.panel.set_values(values)
        finally:
            self.showing = False
        self.panel.set_scope_label(doc.name if doc is not None else None)

    def take_panel(self) -> None:
        """A person changed the panel: the current photo's options change (the defaults when
        no photo is open); nothing else does."""
        if self.showing:
            return
        values = self.panel_values()
        doc = self.photos.current
        if doc is not None and doc.options is not None:
            doc.set_options(doc.options.replace(**values))
        else:
            self.defaults = self.defaults.replace(**values)

    # ------------------------------------------------------------------ actions
    def use_for_all(self) -> None:
        """Give every open photo the current photo's options ("Use for All Photos")."""
        doc = self.photos.current
        if doc is None or doc.options is None:
            return
        for other in self.photos.docs:
            if other is not doc:
                other.set_options(doc.options)
        n = len(self.photos.docs) - 1
        self.say(f"Every open photo now has the settings of {doc.name} ({n} changed).")

    def make_default(self, settings: QSettings) -> None:
        """The current photo's options become the defaults new photos start from ("Make
        Default"), kept for the next start."""
        doc = self.photos.current
        if doc is None or doc.options is None:
            return
        self.defaults = doc.options
        self.save_defaults(settings)
        self.say("New photos will start with these settings.")

    def save_defaults(self, settings: QSettings) -> None:
        cfg.write_options(settings, {k: getattr(self.defaults, k) for k in self.panel_values()})

    def from_session(
        self, doc: PhotoDoc, saved: Any, weights_dir_seen: str, missing: str = ""
    ) -> None:
        """Give ``doc`` a saved session's options: its model when found (by content when the
        session recorded it, else where it was), else ``missing`` ("": none chosen; a
        recovery copy passes the default model)."""
        model = saved.find_model([weights_dir_seen] if weights_dir_seen else None)
        own = saved.options.only(PHOTO)
        own["model_path"] = str(model) if model else missing
        doc.set_options(self.defaults.replace(**own))
        if doc is self.photos.current:
            self.show(doc)

    def models_scanned(self) -> None:
        """The weights scan chose a model in the panel: it is the default when none was (or
        the remembered one is gone), for the photos that had the old default too."""
        model = self.panel.model_path()
        known = self.panel.model.findData(self.defaults.model_path) >= 0
        old = self.defaults.model_path
        if model and (not old or not known):
            self.defaults = self.defaults.replace(model_path=model)
            for doc in self.photos.docs:
                if doc.options is not None and doc.options.model_path in (old, ""):
                    doc.set_options(doc.options.replace(model_path=model))

    def _added(self, doc: PhotoDoc) -> None:
        if doc.options is None:
            doc.set_options(self.defaults)
        doc.resolver = self.run_options
        doc.optionsChanged.connect(lambda d=doc: self.changed.emit(d))
