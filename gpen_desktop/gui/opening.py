"""Opening photos: files and folders, paste and drop, decoding, detection, saved sessions and
Open Recent.

:class:`PhotoOpener` turns paths into :class:`~gpen_desktop.gui.state.PhotoDoc` documents:
decodes them in the I/O pool, detects faces on the worker (or, when the photo has a session
sidecar and the person agrees, takes the faces as edited from it) and remembers what opened in
Open Recent. A photo that cannot be opened says why, on the photo and in the banner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

from gpen_desktop.core.errors import Cancelled, GpenError
from gpen_desktop.core.types import Photo
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.jobs import (
    DetectRequest,
    expand_paths,
    load_for_display,
    load_session_damage_job,
)
from gpen_desktop.gui.qimage import display_images
from gpen_desktop.gui.state import (
    PhotoDoc,
    PhotoStatus,
    reading_order,
)
from gpen_desktop.gui.worker import describe_exception

log = logging.getLogger(__name__)

MAX_RECENT = 10


def _load_sidecar(path: Path):
    """The photo's saved session, or None when it has none; SessionError when it is broken."""
    from gpen_desktop.core.session import load_session, sidecar_path

    sidecar = sidecar_path(path)
    return load_session(sidecar) if sidecar.is_file() else None


class PhotoOpener(QObject):
    """Opens photos into ``ctx.photos``. ``use_session_options(doc, saved)`` gives a photo a
    saved session's options; ``faces_shown()`` is told when the current photo's faces are
    there (the face list's crops follow); ``recent_menu`` is the Open Recent menu it fills."""

    def __init__(
        self,
        ctx: AppContext,
        use_session_options: Callable[[PhotoDoc, Any], None],
        faces_shown: Callable[[], None],
        recent_menu: QMenu | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.use_session_options = use_session_options
        self.faces_shown = faces_shown
        self.recent_menu = recent_menu
        self.loads: dict[PhotoDoc, asyncio.Task] = {}
        self.detections: dict[PhotoDoc, asyncio.Task] = {}

    @property
    def session(self):
        return self.ctx.photos

    async def open_paths(self, paths: list[str | Path]) -> list[PhotoDoc]:
        """Open files and folders; returns the new documents once all have loaded (or failed)."""
        w = self.ctx
        files, problems = await w.worker.run_io(expand_paths, paths)
        new_docs: list[PhotoDoc] = []
        first: PhotoDoc | None = None
        for path in files:
            existing = self.session.find(path)
            if existing is not None:
                first = first or existing
                continue
            doc = self.session.add(PhotoDoc(path))
            new_docs.append(doc)
            first = first or doc
            self.loads[doc] = w.spawn(self._load(doc))
        if first is not None:
            self.session.set_current(first)
            cfg.OPEN_DIR.write(w.settings, str(Path(files[0]).parent))
        if new_docs:
            await asyncio.gather(
                *(self.loads[d] for d in new_docs if d in self.loads), return_exceptions=True
            )
        failed = [(d.path, d.message) for d in new_docs if d.status is PhotoStatus.UNREADABLE]
        bad = {Path(p) for p, _why in problems} | {Path(p) for p, _why in failed}
        # what opened goes to Open Recent; a file that failed does not
        self.add_recent([Path(p) for p in paths if Path(p) not in bad])
        failed += problems
        if failed:
            lines = [f"{Path(p).name}: {why}" for p, why in failed]
            head = "Couldn't open " + (lines[0] if len(lines) == 1 else f"{len(lines)} files")
            detail = "" if len(lines) == 1 else " — " + "; ".join(lines[:4])
            w.say(head + detail, "warning")
        return new_docs

    async def open_recovered(
        self, path: Path, apply: Callable[[PhotoDoc], Awaitable[None]]
    ) -> PhotoDoc | None:
        """Open ``path`` (unless it is open already: None) and, once it is loaded, hand it to
        ``apply`` instead of detecting faces or offering its session (a recovery copy gives
        it its faces). Returns the document after ``apply``."""
        if self.session.find(path) is not None:
            return None
        doc = self.session.add(PhotoDoc(path))
        self.session.set_current(doc)
        self.loads[doc] = task = self.ctx.spawn(self._load(doc, apply))
        await asyncio.gather(task, return_exceptions=True)
        return doc

    async def _load(
        self, doc: PhotoDoc, apply: Callable[[PhotoDoc], Awaitable[None]] | None = None
    ) -> None:
        w = self.ctx
        try:
            photo, image, thumb = await w.worker.run_io(load_for_display, doc.path)
        except Exception as exc:  # noqa: BLE001 - shown on the photo and in the banner
            doc.set_unreadable(str(describe_exception(exc)))
            return
        finally:
            self.loads.pop(doc, None)
        doc.set_loaded(photo, image, thumb)
        if apply is not None:
            await apply(doc)
        elif not await self._open_session(doc):
            self.detections[doc] = w.spawn(self.detect(doc))

    async def _open_session(self, doc: PhotoDoc) -> bool:
        """Offer the photo's saved session; True when its faces were taken."""
        w = self.ctx
        try:
            saved = await w.worker.run_io(_load_sidecar, doc.path)
        except GpenError as exc:
            w.say(f"Couldn't read the session of {doc.name}: {exc}", "warning", doc=doc)
            return False
        if saved is None or not await w.questions.open_session(doc.name, len(saved.faces)):
            return False
        faces = list(saved.faces)
        doc.set_detected(faces, sort=False)  # the session's order (and numbers) as saved
        doc.exports = [Path(p) for p in saved.exports]
        if saved.damage_mask:
            try:
                mask = await w.worker.run_io(
                    load_session_damage_job, saved, doc.path, doc.photo.width, doc.photo.height
                )
            except GpenError as exc:
                w.say(f"Session of {doc.name}: {exc}", "warning", doc=doc)
            else:
                doc.damage.set_mask(mask)
        self.use_session_options(doc, saved)
        warnings = await w.worker.run_io(saved.check, doc.path, w.run_options(doc).model_path)
        if warnings:
            w.say(f"Session of {doc.name}: " + "; ".join(warnings), "warning", doc=doc)
        return True

    def open_photo(self, photo: Photo, name: str | None = None) -> PhotoDoc:
        """Open an in-memory photo (paste)."""
        doc = self.session.add(PhotoDoc(None, name))
        doc.set_loaded(photo, *display_images(photo))
        self.session.set_current(doc)
        self.detections[doc] = self.ctx.spawn(self.detect(doc))
        return doc

    async def detect(self, doc: PhotoDoc, keep_manual: bool = False) -> None:
        """Find the faces of ``doc`` with the chosen detector; ``keep_manual`` keeps the faces a
        person drew (Detect Faces Again, an undoable step)."""
        w = self.ctx
        try:
            faces = await w.worker.run(DetectRequest(doc.photo, w.run_options(doc)))
        except Cancelled:
            return
        except GpenError as exc:
            if not keep_manual:
                doc.set_detected([])
            w.say(f"Face detection failed for {doc.name}: {exc}", "error", doc=doc)
            return
        finally:
            self.detections.pop(doc, None)
        if doc not in self.session.docs:
            return
        if keep_manual:
            drawn = [f for f in doc.faces if f.manual]
            found = tuple(reading_order(faces)) + tuple(drawn)
            doc.edit_faces(found, "Detect faces again", select=0)
        else:
            doc.set_detected(faces)
        if doc is self.session.current:
            self.faces_shown()
            if not faces and not doc.faces:
                w.say(f"No faces found in {doc.name}. Draw one with Add Face (N).", "info", doc=doc)

    async def ensure_ready(self, doc: PhotoDoc) -> bool:
        """Wait until ``doc`` is loaded and detected; False when it can't be opened."""
        task = self.loads.get(doc)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if not doc.is_loaded:
            return False
        task = self.detections.get(doc)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if not doc.detected:
            await self.detect(doc)
        return True

    # ------------------------------------------------------------------ Open Recent
    def recent(self) -> list[str]:
        return list(cfg.RECENT.read(self.ctx.settings))

    def add_recent(self, paths: Iterable[Path]) -> None:
        """Remember opened files and folders (newest first)."""
        new = [str(p.resolve()) for p in paths]
        items = list(dict.fromkeys(new[::-1] + self.recent()))
        cfg.RECENT.write(self.ctx.settings, items[:MAX_RECENT])
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        items = self.recent()
        for p in items:
            act = menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _c=False, p=p: self.ctx.spawn(self.open_paths([p])))
        if items:
            menu.addSeparator()
            menu.addAction("Clear Recent", self.clear_recent)
        menu.setEnabled(bool(items))

    def clear_recent(self) -> None:
        cfg.RECENT.write(self.ctx.settings, [])
        self.rebuild_recent_menu()
