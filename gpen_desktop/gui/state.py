"""Observable document model: the open photos, their faces, selection, results and undo.

The GUI binds to these objects; every face edit goes through a :class:`FacesCommand` on the
photo's own ``QUndoStack`` (all stacks sit in one ``QUndoGroup`` whose active stack follows the
current photo). Nothing here runs heavy work: loading, detection and restoration happen on the
worker and their results are handed in with the ``set_*`` methods.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QUndoCommand, QUndoGroup, QUndoStack

from gpen_desktop.core.types import Face, Photo


class PhotoStatus(enum.Enum):
    LOADING = "Loading…"
    UNREADABLE = "Can't open"
    READY = "Not processed"
    QUEUED = "Waiting…"
    RUNNING = "Restoring…"
    RESTORED = "Restored"
    FAILED = "Failed"


class FacesCommand(QUndoCommand):
    """Replace a photo's faces (one undo step). Commands with the same ``merge_key`` pushed one
    after another merge into one step (e.g. dragging a blend slider)."""

    _ids: dict[str, int] = {}

    def __init__(
        self,
        doc: PhotoDoc,
        after: tuple[Face, ...],
        text: str,
        select: int | None = None,
        merge_key: str | None = None,
    ) -> None:
        super().__init__(text)
        self._doc = doc
        self.before = doc.faces
        self.after = after
        self._select_before = doc.selected
        self._select_after = doc.selected if select is None else select
        self._merge_key = merge_key

    def id(self) -> int:  # noqa: A003 - Qt's name
        if self._merge_key is None:
            return -1
        return self._ids.setdefault(self._merge_key, len(self._ids) + 1)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, FacesCommand) or other._merge_key != self._merge_key:
            return False
        self.after = other.after
        self._select_after = other._select_after
        return True

    def redo(self) -> None:
        self._doc._apply_faces(self.after, self._select_after)

    def undo(self) -> None:
        self._doc._apply_faces(self.before, self._select_before)


class PhotoDoc(QObject):
    """One open photo: pixels, faces (editable, undoable), selection, status and result.

    ``faces`` is a tuple of :class:`Face` in photo pixel coordinates; ``selected`` is an index
    into it or -1. ``image``/``result_image`` are display copies (QImage, RGB888) of the photo
    and of the restored photo; ``thumbnail`` is small (≤ 160 px).
    """

    facesChanged = Signal()
    selectionChanged = Signal(int)
    statusChanged = Signal()
    loaded = Signal()
    resultChanged = Signal()

    _pasted = itertools.count(1)

    def __init__(self, path: Path | None = None, name: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path) if path is not None else None
        if name is None:
            name = self.path.name if self.path else f"Pasted image {next(self._pasted)}"
        self.name = name
        self.photo: Photo | None = None
        self.image: QImage | None = None
        self.thumbnail: QImage | None = None
        self.faces: tuple[Face, ...] = ()
        self.selected = -1
        self.detected = False
        self.status = PhotoStatus.LOADING
        self.message = ""
        self.result: Any = None  # core.pipeline.RestoreResult
        self.result_image: QImage | None = None
        self.result_faces: tuple[Face, ...] = ()
        self._face_results: dict[int, Any] = {}
        self.saved_path: Path | None = None
        self.undo_stack = QUndoStack(self)

    # ------------------------------------------------------------------ read-only helpers
    @property
    def is_loaded(self) -> bool:
        return self.photo is not None

    @property
    def has_result(self) -> bool:
        return self.result is not None

    @property
    def result_is_stale(self) -> bool:
        """True when the faces were edited after the last restore."""
        return self.has_result and self.faces != self.result_faces

    def status_text(self) -> str:
        text = self.status.value
        if self.status is PhotoStatus.RESTORED and self.result_is_stale:
            text += " (faces edited since)"
        if self.message and self.status in (PhotoStatus.UNREADABLE, PhotoStatus.FAILED):
            text += f": {self.message}"
        return text

    def included_faces(self) -> list[int]:
        return [i for i, f in enumerate(self.faces) if f.include]

    # ------------------------------------------------------------------ worker results
    def set_loaded(self, photo: Photo, image: QImage, thumbnail: QImage | None) -> None:
        self.photo, self.image, self.thumbnail = photo, image, thumbnail
        self.status, self.message = PhotoStatus.READY, ""
        self.loaded.emit()
        self.statusChanged.emit()

    def set_unreadable(self, reason: str) -> None:
        self.status, self.message = PhotoStatus.UNREADABLE, reason
        self.statusChanged.emit()

    def set_detected(self, faces: list[Face] | tuple[Face, ...]) -> None:
        """The detector's faces: the starting point of editing (clears undo history)."""
        self.detected = True
        self.undo_stack.clear()
        self._apply_faces(tuple(faces), 0 if faces else -1)

    def set_status(self, status: PhotoStatus, message: str = "") -> None:
        self.status, self.message = status, message
        self.statusChanged.emit()

    def set_result(self, result: Any, image: QImage | None, faces: tuple[Face, ...]) -> None:
        """A finished restore: ``faces`` the document's faces when it started (each
        FaceResult's ``index`` is its face's position in them)."""
        self._face_results = {fr.index: fr for fr in getattr(result, "faces", ())}
        self.result, self.result_image, self.result_faces = result, image, tuple(faces)
        self.status, self.message = PhotoStatus.RESTORED, ""
        self.resultChanged.emit()
        self.statusChanged.emit()

    def face_result(self, index: int) -> Any:
        """The FaceResult (aligned input and restored crop) of face ``index``, or None."""
        return self._face_results.get(index) if self.result is not None else None

    def face_results(self) -> list[tuple[int, Any]]:
        """(face index, FaceResult) for every face of the current result, in face order."""
        return sorted(self._face_results.items()) if self.result is not None else []

    # ------------------------------------------------------------------ undoable edits
    def edit_faces(
        self,
        faces: tuple[Face, ...],
        text: str,
        select: int | None = None,
        merge_key: str | None = None,
    ) -> None:
        faces = tuple(faces)
        if faces == self.faces:
            return
        self.undo_stack.push(FacesCommand(self, faces, text, select, merge_key))

    def replace_face(self, index: int, face: Face, text: str, merge_key: str | None = None) -> None:
        faces = list(self.faces)
        faces[index] = face
        self.edit_faces(tuple(faces), text, select=index, merge_key=merge_key)

    def add_face(self, face: Face) -> int:
        index = len(self.faces)
        self.edit_faces((*self.faces, face), f"Add face {index + 1}", select=index)
        return index

    def remove_face(self, index: int) -> None:
        faces = self.faces[:index] + self.faces[index + 1 :]
        select = min(index, len(faces) - 1)
        self.edit_faces(faces, f"Delete face {index + 1}", select=select)

    def set_included(self, index: int, include: bool) -> None:
        verb = "Include" if include else "Exclude"
        self.replace_face(
            index, self.faces[index].with_(include=include), f"{verb} face {index + 1}"
        )

    def set_face_blend(self, index: int, blend: float | None) -> None:
        face = self.faces[index].with_(blend=None if blend is None else round(float(blend), 3))
        self.replace_face(
            index, face, f"Set blend of face {index + 1}", merge_key=f"blend-{id(self)}-{index}"
        )

    def select(self, index: int) -> None:
        index = index if 0 <= index < len(self.faces) else -1
        if index != self.selected:
            self.selected = index
            self.selectionChanged.emit(index)

    def _apply_faces(self, faces: tuple[Face, ...], select: int) -> None:
        self.faces = faces
        self.selected = select if 0 <= select < len(faces) else -1
        self.facesChanged.emit()
        self.selectionChanged.emit(self.selected)
        if self.has_result:
            self.statusChanged.emit()


class Session(QObject):
    """The ordered list of open photos and which one is current."""

    photoAdded = Signal(object)
    photoRemoved = Signal(object)
    currentChanged = Signal(object)  # PhotoDoc or None

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.docs: list[PhotoDoc] = []
        self.current: PhotoDoc | None = None
        self.undo_group = QUndoGroup(self)

    def __len__(self) -> int:
        return len(self.docs)

    def find(self, path: Path) -> PhotoDoc | None:
        path = Path(path).resolve()
        for doc in self.docs:
            if doc.path is not None and doc.path.resolve() == path:
                return doc
        return None

    def add(self, doc: PhotoDoc) -> PhotoDoc:
        doc.setParent(self)
        self.docs.append(doc)
        self.undo_group.addStack(doc.undo_stack)
        self.photoAdded.emit(doc)
        if self.current is None:
            self.set_current(doc)
        return doc

    def remove(self, doc: PhotoDoc) -> None:
        if doc not in self.docs:
            return
        index = self.docs.index(doc)
        self.docs.remove(doc)
        self.undo_group.removeStack(doc.undo_stack)
        if self.current is doc:
            nxt = self.docs[min(index, len(self.docs) - 1)] if self.docs else None
            self.set_current(nxt)
        self.photoRemoved.emit(doc)
        doc.deleteLater()

    def set_current(self, doc: PhotoDoc | None) -> None:
        if doc is self.current:
            return
        self.current = doc
        self.undo_group.setActiveStack(doc.undo_stack if doc else None)
        self.currentChanged.emit(doc)

    def step(self, delta: int) -> None:
        """Make the photo ``delta`` places away current (wrapping)."""
        if not self.docs:
            return
        index = self.docs.index(self.current) if self.current in self.docs else 0
        self.set_current(self.docs[(index + delta) % len(self.docs)])


class DocBinding:
    """Keeps a view connected to the signals of one document at a time.

    ``connections(doc)`` lists (signal, slot) pairs; :meth:`bind` disconnects them from the
    previous document and connects them to the new one (None: to nothing).
    """

    def __init__(self, connections: Callable[[PhotoDoc], list[tuple[Any, Callable]]]) -> None:
        self._connections = connections
        self.doc: PhotoDoc | None = None

    def bind(self, doc: PhotoDoc | None) -> None:
        if self.doc is not None:
            for signal, slot in self._connections(self.doc):
                with contextlib.suppress(RuntimeError, TypeError):  # the doc may be gone
                    signal.disconnect(slot)
        self.doc = doc
        if doc is not None:
            for signal, slot in self._connections(doc):
                signal.connect(slot)
