"""The export controller: Save, Save As, face crops, before | after, Export All.

It writes what the window shows: the document's result composited for the faces and options
as they are now (never a stale one), through the writers in :mod:`gpen_desktop.gui.export`
in the I/O pool. A photo whose faces moved since its restore is not saved without asking
(Restore first / Save as it is / Cancel). Every written file marks its photo saved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices

from gpen_desktop.core.errors import GpenError
from gpen_desktop.gui import export_files as export
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.restore_run import RestoreController
from gpen_desktop.gui.state import PhotoDoc


class Exporter(QObject):
    """Writes photos through ``ctx`` (photos, worker, questions, messages, settings) and the
    restore ``controller`` (composites, Restore First); ``export_settings()`` gives the
    format, quality and suffix chosen."""

    def __init__(
        self,
        ctx: AppContext,
        controller: RestoreController,
        export_settings: Callable[[], export.ExportSettings],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.controller = controller
        self.export_settings = export_settings

    def _say(self, text: str, level: str = "info", **kwargs: Any) -> None:
        self.ctx.say(text, level, **kwargs)

    # ------------------------------------------------------------------ helpers
    async def _ask_save_path(self, suggested: Path, title: str = "Save Restored Photo") -> str:
        settings = self.export_settings()
        return await self.ctx.questions.save_file(
            title, str(suggested), export.file_filter(), export.filter_for(settings.format)
        )

    def _folder(self, doc: PhotoDoc | None = None) -> Path:
        """Where a save dialog starts: where the photo was last saved, else the photo's own
        folder (its first save), else the folder of the last save anywhere, else home."""
        if doc is not None and doc.saved_path is not None:
            return doc.saved_path.parent
        if doc is not None and doc.path is not None:
            return doc.path.parent
        return Path(cfg.SAVE_DIR.read(self.ctx.settings) or str(Path.home()))

    async def _may_write(self, path: Path, original: Path | None) -> bool:
        """True when ``path`` may be written: new, or the person agreed to replace it (with
        words of its own when it is the photo's original)."""
        if export.same_file(path, original):
            return await self.ctx.questions.overwrite(path, original=True)
        if path.exists():
            return await self.ctx.questions.overwrite(path)
        return True

    def _need_result(self, doc: PhotoDoc | None = None) -> PhotoDoc | None:
        doc = doc or self.ctx.photos.current
        if doc is None or not doc.has_result:
            self._say("Nothing to save yet: restore the photo first (Ctrl+R).", "info")
            return None
        return doc

    async def result_to_write(self, doc: PhotoDoc, ask: bool = True) -> Any:
        """The result Save writes: up to date with blend and exclusions; when the photo
        changed since its restore (faces, marks, settings), asks first (None: cancelled or
        the restore failed)."""
        options = self.ctx.run_options(doc)
        changes = doc.changes(options)
        if ask and changes.needs_restore:
            answer = await self.ctx.questions.stale_save(doc.name, changes.words())
            if answer == "cancel":
                return None
            if answer == "restore":
                await self.controller.restore([doc], options, reuse_kept=True)
                if doc.needs_restore(options) or not doc.has_result:
                    return None
        return await self.controller.composited(doc, options)

    # ------------------------------------------------------------------ commands
    async def save(
        self, ask: bool = False, path: str | Path | None = None, doc: PhotoDoc | None = None
    ) -> Path | None:
        """Save a restored photo (default: the current one). Never replaces a file (or the
        original) without asking. Returns the written path, or None."""
        doc = self._need_result(doc)
        if doc is None:
            return None
        settings = self.export_settings()
        if path is None and (ask or doc.saved_path is None):
            suggested = export.suggested_path(doc.path, doc.name, settings, self._folder(doc))
            chosen = await self._ask_save_path(suggested)
            if not chosen:
                return None
            path = export.with_extension(Path(chosen), settings)
            if not await self._may_write(path, doc.path):
                return None
        elif path is None:
            path = doc.saved_path  # Save again to the same file: the user chose it before
        else:
            path = Path(path)
            if not await self._may_write(path, doc.path):
                return None
        result = await self.result_to_write(doc)
        if result is None:
            return None
        written = await self.ctx.worker.run_io(export.write_photo, result.image, path, settings)
        doc.saved_path = written
        doc.mark_saved(written)
        cfg.SAVE_DIR.write(self.ctx.settings, str(written.parent))
        self._say(f"Saved {written.name}", "info")
        return written

    async def _ask_folder(self, title: str) -> str:
        start = cfg.SAVE_DIR.read(self.ctx.settings) or str(Path.home())
        return await self.ctx.questions.folder(title, start)

    async def export_faces(self, folder: str | Path | None = None) -> list[Path]:
        doc = self._need_result()
        if doc is None:
            return []
        if folder is None:
            folder = await self._ask_folder("Export Face Crops To")
            if not folder:
                return []
        folder = Path(folder)
        if await self.result_to_write(doc) is None:
            return []
        stem = doc.path.stem if doc.path else doc.name.replace(" ", "_")
        numbered = [(doc.number(i) - 1, fr) for i, fr in doc.face_results()]
        targets = export.face_targets(stem, numbered, folder)
        existing = [t for t in targets if t.exists()]
        skip = False
        if existing:
            answer = await self.ctx.questions.replace_many(existing)
            if answer == "cancel":
                return []
            skip = answer == "skip"
        written = await self.ctx.worker.run_io(export.write_faces, stem, numbered, folder, skip)
        self._say(f"Exported {len(written)} file(s) to {folder}", "info")
        return written

    async def export_pair(self, path: str | Path | None = None) -> Path | None:
        doc = self._need_result()
        if doc is None:
            return None
        settings = self.export_settings()
        if path is None:
            stem = doc.path.stem if doc.path else doc.name.replace(" ", "_")
            suggested = self._folder(doc) / f"{stem}_before_after{settings.extension}"
            chosen = await self._ask_save_path(suggested, "Export Before | After")
            if not chosen:
                return None
            path = export.with_extension(Path(chosen), settings)
        path = Path(path)
        if not await self._may_write(path, doc.path):
            return None
        result = await self.result_to_write(doc)
        if result is None:
            return None
        written = await self.ctx.worker.run_io(
            export.write_side_by_side, doc.photo, result.image, path, settings
        )
        self._say(f"Saved {written.name}", "info")
        return written

    async def export_all(self, folder: str | Path | None = None) -> list[Path]:
        docs = [d for d in self.ctx.photos.docs if d.has_result]
        if not docs:
            self._say("No restored photos to export yet.", "info")
            return []
        if folder is None:
            folder = await self._ask_folder("Export All Restored Photos To")
            if not folder:
                return []
        folder = Path(folder)
        settings = self.export_settings()
        targets = [(d, export.suggested_path(d.path, d.name, settings, folder)) for d in docs]
        # never the originals; ask once about files that already exist
        if any(export.same_file(t, d.path) for d, t in targets):
            self._say(
                "Export All would replace original photos; choose another folder or suffix.",
                "error",
            )
            return []
        existing = [t for _d, t in targets if t.exists()]
        if existing:
            answer = await self.ctx.questions.replace_many(existing)
            if answer == "cancel":
                return []
            if answer == "skip":
                targets = [(d, t) for d, t in targets if t not in existing]
        written = []
        for doc, target in targets:
            result = await self.controller.composited(doc, self.ctx.run_options(doc))
            try:
                written.append(
                    await self.ctx.worker.run_io(export.write_photo, result.image, target, settings)
                )
            except GpenError as exc:
                self._say(f"Couldn't write {target.name}: {exc}", "error")
                continue
            doc.mark_saved(target)
        cfg.SAVE_DIR.write(self.ctx.settings, str(folder))
        if written:
            self._say(
                f"Exported {len(written)} photo(s) to {folder}",
                "info",
                actions=[
                    (
                        "Show Folder",
                        lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))),
                    )
                ],
            )
        return written
