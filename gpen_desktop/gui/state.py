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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QUndoCommand, QUndoGroup, QUndoStack

from gpen_desktop.core.options import BACKGROUND, COMPOSITING, NETWORK, OPTIONS, option
from gpen_desktop.core.types import Face, Photo
from gpen_desktop.gui.damage import DamageMarks

#: Option fields whose change means every face goes through the network again (model,
#: precision, mask…), from the option table; damage-only ones count only with damage marks.
NETWORK_FIELDS = tuple(o.name for o in OPTIONS if o.cost == NETWORK)
#: Option fields whose change means the background is made again (super-resolution, scale);
#: the kept face crops are pasted again without the network.
BACKGROUND_FIELDS = tuple(o.name for o in OPTIONS if o.cost == BACKGROUND)
#: Option fields the composite depends on (changed live from the kept crops, no network).
COMPOSITE_FIELDS = tuple(o.name for o in OPTIONS if o.cost == COMPOSITING)


@dataclass(frozen=True)
class Changes:
    """What changed since a photo's last restore, and what that costs: ``faces`` (indices of
    included faces that need the network again), ``background`` (the background must be made
    again: super-resolution or scale settings, damage marks outside the faces), ``reasons``
    (each in plain words, for the status bar, the photo list and the questions)."""

    faces: tuple[int, ...] = ()
    background: bool = False
    reasons: tuple[str, ...] = ()
    brief: tuple[str, ...] = ()  # the same, in a few words each (the photo list)

    @property
    def needs_restore(self) -> bool:
        return bool(self.faces) or self.background

    def words(self) -> str:
        """The reasons as one clause: "faces were moved and the model changed"."""
        if not self.reasons:
            return ""
        if len(self.reasons) == 1:
            return self.reasons[0]
        return ", ".join(self.reasons[:-1]) + " and " + self.reasons[-1]


def _labels(fields: tuple[str, ...]) -> str:
    return ", ".join(option(n).label for n in fields)


def reading_order(faces) -> list[Face]:
    """``faces`` in reading order: rows of faces that overlap vertically (each face joins the
    row whose vertical band it overlaps most, by at least half the smaller height), rows top
    to bottom, each row left to right. Faces a little higher or lower in a group photo's row
    stay in that row."""
    faces = list(faces)
    if len(faces) < 2:
        return faces
    rows: list[list[Face]] = []

    def band(row: list[Face]) -> tuple[float, float]:
        return (
            sum(f.box[1] for f in row) / len(row),
            sum(f.box[3] for f in row) / len(row),
        )

    for f in sorted(faces, key=lambda f: (f.box[1] + f.box[3]) / 2):
        best, best_share = None, 0.5
        for row in rows:
            top, bottom = band(row)
            overlap = min(bottom, f.box[3]) - max(top, f.box[1])
            share = overlap / max(1e-6, min(bottom - top, f.box[3] - f.box[1]))
            if share >= best_share:
                best, best_share = row, share
        if best is None:
            rows.append([f])
        else:
            best.append(f)
    rows.sort(key=lambda row: sum(band(row)) / 2)
    return [f for row in rows for f in sorted(row, key=lambda f: f.box[0] + f.box[2])]


def crop_bounds(face_result: Any) -> tuple[float, float, float, float]:
    """The photo rectangle (x0, y0, x1, y1) a restored face's aligned crop was cut from."""
    m = np.asarray(face_result.matrix, np.float64)
    size = face_result.restored.shape[0]
    inverse = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    xy = corners @ inverse.T
    return (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def same_geometry(a: Face, b: Face) -> bool:
    """Same box, landmarks (None on ``a`` = predicted, matches any) and own model: a kept
    crop of ``a`` still fits ``b``."""
    same_points = a.landmarks is None or a.landmarks == b.landmarks
    same_model = getattr(a, "model", None) == getattr(b, "model", None)
    return tuple(a.box) == tuple(b.box) and same_points and same_model


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
        numbers: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(text)
        self._doc = doc
        self.before = doc.faces
        self.after = after
        self._numbers_before = doc.numbers
        self._numbers_after = numbers if numbers is not None else doc.numbers_for(after)
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
        self._numbers_after = other._numbers_after
        return True

    def redo(self) -> None:
        self._doc._apply_faces(self.after, self._select_after, self._numbers_after)

    def undo(self) -> None:
        self._doc._apply_faces(self.before, self._select_before, self._numbers_before)


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
    identityChanged = Signal()
    optionsChanged = Signal()

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
        #: each face's number as shown (reading order at detection; kept when one is deleted)
        self.numbers: tuple[int, ...] = ()
        self.selected = -1
        self.detected = False
        self.status = PhotoStatus.LOADING
        self.message = ""
        #: the last restore's full result (every kept restored crop), and what it was made of
        self.network_result: Any = None  # core.pipeline.RestoreResult
        self.result_faces: tuple[Face, ...] = ()
        self.result_options: Any = None  # core.pipeline.RestoreOptions
        #: what the canvas shows and Save writes: ``network_result`` composited for today's
        #: faces and options (blend, exclusions, colour match), and its display copy
        self.result: Any = None
        self.result_image: QImage | None = None
        self.composite_key: Any = None
        self._face_results: dict[int, Any] = {}  # result index -> FaceResult pasted
        self._shown_crops: dict[int, Any] = {}  # result index -> pasted crop (RGB)
        self._pasted_keys: dict[int, Any] = {}  # result index -> pasted_key, per composite
        #: kept-result face index -> gui.jobs.IdentityCheck of its restored crop
        self._identity: dict[int, Any] = {}
        #: the photo's own options (core RestoreOptions; the app's defaults when it opens) and
        #: how the app completes them for a run (device, found models): see ``run_options``
        self.options: Any = None
        self.resolver: Callable[[PhotoDoc], Any] | None = None
        self.saved_path: Path | None = None
        self.exports: list[Path] = []
        self._result_gen = 0
        self._saved_gen = 0
        #: work taken back from a recovery copy, not saved since (unsaved with a clean stack)
        self.recovered = False
        self.undo_stack = QUndoStack(self)
        #: the damage brush's marks (undoable on ``undo_stack``) and those of the kept result
        self.damage = DamageMarks(self)
        self.result_damage: np.ndarray | None = None
        self.damage.edited.connect(self._on_damage_edited)

    # ------------------------------------------------------------------ read-only helpers
    @property
    def is_loaded(self) -> bool:
        return self.photo is not None

    @property
    def has_result(self) -> bool:
        return self.result is not None

    @property
    def result_is_stale(self) -> bool:
        """True when the shown result needs restoring again (:meth:`changes`: faces moved or
        added, damage marks or restore settings changed since)."""
        return self.has_result and self.changes().needs_restore

    def damage_changed(self) -> bool:
        """Whether the damage marks differ from those the kept result was restored with."""
        return self.network_result is not None and self._damage_diff() is not None

    def _damage_diff(self) -> tuple[int, int, int, int] | None:
        return self.damage.diff_bounds(self.result_damage)

    @property
    def unsaved(self) -> bool:
        """Restored results or hand edits that were not saved, exported or put in a session."""
        if self.has_result and self._result_gen != self._saved_gen:
            return True
        return self.recovered or not self.undo_stack.isClean()

    def mark_saved(self, path: Path | None = None) -> None:
        """The current result (and the faces as edited) went to a file."""
        self._saved_gen = self._result_gen
        self.recovered = False
        self.undo_stack.setClean()
        if path is not None and Path(path) not in self.exports:
            self.exports.append(Path(path))
        self.statusChanged.emit()

    def status_text(self) -> str:
        text = self.status.value
        if self.status is PhotoStatus.RESTORED:
            changes = self.changes()
            if changes.needs_restore:
                text += f" (needs restore: {changes.words()})"
        if self.message and self.status in (PhotoStatus.UNREADABLE, PhotoStatus.FAILED):
            text += f": {self.message}"
        return text

    def status_line(self) -> str:
        """The status in a few words (the photo list; :meth:`status_text` is the whole)."""
        if self.status is PhotoStatus.RESTORED:
            changes = self.changes()
            if changes.needs_restore:
                return "Needs restore: " + ", ".join(changes.brief)
        return self.status_text()

    def included_faces(self) -> list[int]:
        return [i for i, f in enumerate(self.faces) if f.include]

    def _on_damage_edited(self) -> None:
        self.statusChanged.emit()  # "needs restore" and "unsaved" may have changed

    # ------------------------------------------------------------------ worker results
    def set_loaded(self, photo: Photo, image: QImage, thumbnail: QImage | None) -> None:
        self.photo, self.image, self.thumbnail = photo, image, thumbnail
        self.damage.set_size(photo.width, photo.height)
        self.status, self.message = PhotoStatus.READY, ""
        self.loaded.emit()
        self.statusChanged.emit()

    def set_unreadable(self, reason: str) -> None:
        self.status, self.message = PhotoStatus.UNREADABLE, reason
        self.statusChanged.emit()

    def set_detected(
        self,
        faces: list[Face] | tuple[Face, ...],
        sort: bool = True,
        numbers: tuple[int, ...] | None = None,
    ) -> None:
        """The detector's faces (put in reading order unless ``sort`` is False): the starting
        point of editing (clears undo history), numbered 1..n (or ``numbers``, one each)."""
        self.detected = True
        self.undo_stack.clear()
        faces = tuple(reading_order(faces) if sort else faces)
        if numbers is None or len(numbers) != len(faces):
            numbers = tuple(range(1, len(faces) + 1))
        self._apply_faces(faces, 0 if faces else -1, tuple(numbers))

    def set_status(self, status: PhotoStatus, message: str = "") -> None:
        self.status, self.message = status, message
        self.statusChanged.emit()

    def set_result(
        self,
        result: Any,
        image: QImage | None,
        faces: tuple[Face, ...],
        options: Any = None,
        shown: dict[int, Any] | None = None,
        damage: np.ndarray | None = None,
    ) -> None:
        """A finished restore: ``faces`` the faces it was given (each FaceResult's ``index`` is
        its face's position in them), ``options`` the RestoreOptions it ran with, ``shown`` its
        pasted crops, ``damage`` the damage marks it filled (None: none). It becomes the kept
        result and, until recomposited, what is shown."""
        self.network_result, self.result_faces = result, tuple(faces)
        self.result_options = options
        self.result_damage = damage
        self._identity = {}
        self.set_composite(result, image, shown or {})
        self.composite_key = self.composite_key_for(options) if options is not None else None
        self.status, self.message = PhotoStatus.RESTORED, ""
        self.statusChanged.emit()

    def set_composite(self, result: Any, image: QImage | None, shown: dict[int, Any]) -> None:
        """What is shown and saved: a composite of the kept result (``shown``: result face
        index -> the pasted crop as the output shows it)."""
        self._face_results = {fr.index: fr for fr in getattr(result, "faces", ())}
        self._shown_crops = dict(shown)
        self._pasted_keys = {}
        self.result, self.result_image = result, image
        self._result_gen += 1
        self.resultChanged.emit()

    def face_result(self, index: int) -> Any:
        """The FaceResult (aligned input and restored crop) pasted for face ``index``, or None."""
        j = self._matches().get(index)
        return None if j is None or self.result is None else self._face_results.get(j)

    def face_results(self) -> list[tuple[int, Any]]:
        """(face index, FaceResult) for every face of the shown result, in face order."""
        if self.result is None:
            return []
        pairs = sorted(self._matches().items())
        return [(i, self._face_results[j]) for i, j in pairs if j in self._face_results]

    def shown_crop(self, index: int) -> Any:
        """Face ``index`` as the shown result has it pasted (aligned crop, RGB), or None."""
        j = self._matches().get(index)
        return None if j is None or self.result is None else self._shown_crops.get(j)

    def pasted_key(self, j: int) -> Any:
        """What identifies the crop pasted for kept face ``j`` now (its bytes' hash, computed
        once per composite): an identity check holds for that crop only."""
        if j not in self._pasted_keys:
            crop = self._shown_crops.get(j)
            if crop is None:
                fr = self._face_results.get(j)
                crop = None if fr is None else fr.restored
            key = None if crop is None else hash(np.ascontiguousarray(crop).tobytes())
            self._pasted_keys[j] = key
        return self._pasted_keys[j]

    def set_identity(self, result: Any, checks: dict[int, tuple[Any, Any]]) -> None:
        """Identity checks (result face index -> (``gui.jobs.IdentityCheck``, the
        :meth:`pasted_key` of the crop it was computed on), added to those already in) for the
        kept result ``result``; ignored when another restore replaced it meanwhile."""
        if result is not self.network_result:
            return
        self._identity.update(checks)
        self.identityChanged.emit()

    def identity(self, index: int) -> Any:
        """The identity check of face ``index`` as it is pasted now, or None (no restored
        crop for it, or not computed yet for the crop shown: blend changed since)."""
        j = self._matches().get(index)
        if j is None or self.result is None or j not in self._identity:
            return None
        check, key = self._identity[j]
        return check if key == self.pasted_key(j) else None

    def identity_missing(self) -> list[int]:
        """Kept faces (result indices) whose pasted crop has no identity check yet."""
        if self.network_result is None:
            return []
        return [
            fr.index
            for fr in self.network_result.faces
            if fr.index not in self._identity
            or self._identity[fr.index][1] != self.pasted_key(fr.index)
        ]

    # ------------------------------------------------------------------ kept crops
    def _matches(self) -> dict[int, int]:
        """Current face index -> index in ``result_faces`` of the same face (same box and
        landmarks; each kept face matches once, in order)."""
        if self.network_result is None:
            return {}
        kept = {fr.index for fr in self.network_result.faces}
        free = [j for j in range(len(self.result_faces)) if j in kept]
        out: dict[int, int] = {}
        for i, face in enumerate(self.faces):
            for j in free:
                if same_geometry(self.result_faces[j], face) or same_geometry(
                    face, self.result_faces[j]
                ):
                    out[i] = j
                    free.remove(j)
                    break
        return out

    def kept_crop(self, index: int) -> Any:
        """The kept restored crop of current face ``index`` (same box and landmarks), or None."""
        j = self._matches().get(index)
        if j is None:
            return None
        return next(fr.restored for fr in self.network_result.faces if fr.index == j)

    def _damage_touched(self) -> set[int]:
        """Current faces with a kept crop whose crop region meets a damage mark that changed
        since the restore (their kept crop no longer shows what the marks ask for)."""
        diff = self._damage_diff()
        if diff is None:
            return set()
        by_index = {fr.index: fr for fr in self.network_result.faces}
        return {
            i
            for i, j in self._matches().items()
            if j in by_index and _overlaps(crop_bounds(by_index[j]), diff)
        }

    def composite_faces(self) -> list[Face]:
        """The faces in the kept result's index space with today's include and blend (faces
        deleted or moved since count as excluded): what ``core.pipeline.composite`` takes."""
        back = {j: i for i, j in self._matches().items()}
        out = []
        for j, sent in enumerate(self.result_faces):
            i = back.get(j)
            out.append(sent.with_(include=False) if i is None else self.faces[i])
        return out

    def composite_key_for(self, options: Any) -> Any:
        """What the composite depends on; a shown result with another key is out of date."""
        return (
            tuple((f.include, f.blend) for f in self.composite_faces()),
            tuple(getattr(options, name) for name in COMPOSITE_FIELDS),
        )

    def _changed_fields(self, options: Any, fields: tuple[str, ...]) -> tuple[str, ...]:
        """Those of ``fields`` in which ``options`` differ from the last restore's (damage-only
        fields count only when the photo has or had damage marks); () when either is
        unknown."""
        options = options if options is not None else self.run_options()
        if options is None or self.result_options is None:
            return ()
        damage = self.result_damage is not None or not self.damage.is_empty()
        return tuple(
            f
            for f in fields
            if (damage or not option(f).damage_only)
            and getattr(options, f, None) != getattr(self.result_options, f, None)
        )

    def options_changed(self, options: Any = None) -> bool:
        """Whether ``options`` (default: the photo's own) differ from the last restore's in a
        field that needs the network again (model, precision, mask…)."""
        return bool(self._changed_fields(options, NETWORK_FIELDS))

    def changes(self, options: Any = None) -> Changes:
        """The one answer to "does this photo need a restore, and why" for ``options``
        (default: the photo's own): nothing without a kept result."""
        if self.network_result is None:
            return Changes()
        reasons: list[str] = []
        brief: list[str] = []
        network = self._changed_fields(options, NETWORK_FIELDS)
        included = self.included_faces()
        if network:
            faces = included
            reasons.append(f"the restore settings changed ({_labels(network)})")
            brief.append(_labels(network))
        else:
            matched = self._matches()
            touched = self._damage_touched()
            faces = [i for i in included if i not in matched or i in touched]
            if any(i not in matched for i in faces):
                reasons.append("faces were moved, reshaped or added")
                brief.append("faces edited")
        background_fields = self._changed_fields(options, BACKGROUND_FIELDS)
        if background_fields:
            reasons.append(f"the background settings changed ({_labels(background_fields)})")
            brief.append(_labels(background_fields))
        damage = self.damage_changed()
        if damage:
            reasons.append("damage marks were painted or erased")
            brief.append("damage marks")
        return Changes(
            tuple(faces), bool(background_fields) or damage, tuple(reasons), tuple(brief)
        )

    def faces_needing_restore(self, options: Any = None) -> list[int]:
        """Included faces with no kept crop (added, moved, reshaped, or excluded at the last
        restore, or under changed damage marks); every included face when ``options``
        (default: the photo's own) changed the model, precision, mask… since."""
        if self.network_result is None:
            return self.included_faces()
        return list(self.changes(options).faces)

    def needs_restore(self, options: Any = None) -> bool:
        """Whether the kept result is out of date for ``options`` (:meth:`changes`)."""
        return self.changes(options).needs_restore

    # ------------------------------------------------------------------ the photo's options
    def run_options(self) -> Any:
        """The options a restore of this photo uses now: its own, completed by the app."""
        return self.resolver(self) if self.resolver is not None else self.options

    def set_options(self, options: Any) -> None:
        """The photo's own restore options (a ``RestoreOptions``): what its restores, its
        composite and its session use."""
        if options == self.options:
            return
        self.options = options
        self.optionsChanged.emit()
        if self.has_result:
            self.statusChanged.emit()  # "needs restore" may have changed

    def reuse_for(
        self, sent: tuple[Face, ...], options: Any, only_face: int | None = None
    ) -> dict[int, Any]:
        """The reuse decision: position in ``sent`` -> kept restored crop that may be pasted
        again without the network (same face, same model and precision); ``only_face`` is
        always restored afresh."""
        if self.network_result is None or self.options_changed(options):
            return {}
        reuse = {}
        touched = self._damage_touched()
        for i, face in enumerate(sent):
            if i == only_face or not face.include or i >= len(self.faces) or i in touched:
                continue
            crop = self.kept_crop(i)
            if crop is not None:
                reuse[i] = crop
        return reuse

    def hand_edits(self) -> list[str]:
        """The face edits made by hand since detection that detecting again would drop (moved
        or reshaped boxes and landmarks, deleted faces, exclusions, blends…), as their undo
        texts; faces drawn by hand are kept by Detect Again and not listed."""
        texts = []
        for i in range(self.undo_stack.index()):
            command = self.undo_stack.command(i)
            if isinstance(command, FacesCommand) and not command.text().startswith("Add face"):
                texts.append(command.text())
        return texts

    # ------------------------------------------------------------------ undoable edits
    def number(self, index: int) -> int:
        """The number face ``index`` shows (its place in ``faces`` + 1 when unnumbered)."""
        return self.numbers[index] if 0 <= index < len(self.numbers) else index + 1

    def numbers_for(self, faces: tuple[Face, ...]) -> tuple[int, ...]:
        """Numbers for an edit to ``faces``: kept when the count stays, else 1..n."""
        if len(faces) == len(self.numbers):
            return self.numbers
        return tuple(range(1, len(faces) + 1))

    def edit_faces(
        self,
        faces: tuple[Face, ...],
        text: str,
        select: int | None = None,
        merge_key: str | None = None,
        numbers: tuple[int, ...] | None = None,
    ) -> None:
        faces = tuple(faces)
        if faces == self.faces:
            return
        self.undo_stack.push(FacesCommand(self, faces, text, select, merge_key, numbers))

    def replace_face(self, index: int, face: Face, text: str, merge_key: str | None = None) -> None:
        faces = list(self.faces)
        faces[index] = face
        self.edit_faces(tuple(faces), text, select=index, merge_key=merge_key)

    def add_face(self, face: Face) -> int:
        index = len(self.faces)
        number = max((self.number(i) for i in range(index)), default=0) + 1
        numbers = tuple(self.number(i) for i in range(index)) + (number,)
        self.edit_faces((*self.faces, face), f"Add face {number}", select=index, numbers=numbers)
        return index

    def remove_face(self, index: int) -> None:
        """Delete face ``index``; the others keep their numbers."""
        faces = self.faces[:index] + self.faces[index + 1 :]
        numbers = tuple(self.number(i) for i in range(len(self.faces)) if i != index)
        select = min(index, len(faces) - 1)
        self.edit_faces(faces, f"Delete face {self.number(index)}", select=select, numbers=numbers)

    def set_included(self, index: int, include: bool) -> None:
        verb = "Include" if include else "Exclude"
        self.replace_face(
            index, self.faces[index].with_(include=include), f"{verb} face {self.number(index)}"
        )

    def set_face_blend(self, index: int, blend: float | None) -> None:
        face = self.faces[index].with_(blend=None if blend is None else round(float(blend), 3))
        self.replace_face(
            index,
            face,
            f"Set blend of face {self.number(index)}",
            merge_key=f"blend-{id(self)}-{index}",
        )

    def set_face_model(self, index: int, model: str | None) -> None:
        """Give face ``index`` its own restoration model file (None: the photo's choice)."""
        face = self.faces[index].with_(model=str(model) if model else None)
        self.replace_face(index, face, f"Set model of face {self.number(index)}")

    def select(self, index: int) -> None:
        index = index if 0 <= index < len(self.faces) else -1
        if index != self.selected:
            self.selected = index
            self.selectionChanged.emit(index)

    def _apply_faces(
        self, faces: tuple[Face, ...], select: int, numbers: tuple[int, ...] | None = None
    ) -> None:
        self.numbers = numbers if numbers is not None else self.numbers_for(faces)
        self.faces = faces
        self.selected = select if 0 <= select < len(faces) else -1
        self.facesChanged.emit()
        self.selectionChanged.emit(self.selected)
        if self.has_result:
            self.statusChanged.emit()


class PhotoList(QObject):
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
