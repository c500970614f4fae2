"""Crash recovery: a copy of every photo's unsaved work, kept on disk, offered at the next start.

:class:`RecoveryKeeper` watches the open photos. A few seconds after a change (faces, options,
damage marks, a restore, a save) it takes a snapshot of each changed photo on the GUI thread —
references to frozen values and a copy of the marks, never during a brush stroke — and writes
it on its own thread (never the inference thread, so a copy never waits behind a restore)
with :func:`gpen_desktop.core.recovery.write_copy`. A photo with no unsaved work (saved,
exported, or closed: saved or discarded) has its copy removed; a clean quit leaves none.

Copies live in ``recovery/`` in the app's data folder (beside ``gpen-desktop.log``;
``$GPEN_DESKTOP_RECOVERY_DIR`` names another folder). Each app instance holds a lock file
there (``owners/<id>.lock``); at start-up the copies whose owner holds no lock any more (it
crashed, was killed, or the machine went down) are offered: Recover opens those photos with
their faces, options, marks and kept restored faces (no network run), Discard deletes them,
Later keeps them for the next start. All copies together stay under a size cap
(``$GPEN_DESKTOP_RECOVERY_CAP_MB``, default 500 MB): the oldest go first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer, Signal

from gpen_desktop.core.errors import GpenError
from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.state import PhotoDoc
from gpen_desktop.gui.worker import TaskPool

log = logging.getLogger(__name__)

#: How long after the last change a copy is written (ms), and the longest a change waits
#: while changes keep coming.
DELAY_MS = 3000
MAX_WAIT_MS = 10000


def recovery_root() -> Path:
    """Where recovery copies live: ``$GPEN_DESKTOP_RECOVERY_DIR``, else ``recovery/`` in the
    app's data folder (where ``gpen-desktop.log`` is)."""
    env = os.environ.get("GPEN_DESKTOP_RECOVERY_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".gpen-desktop") / "recovery"


def size_cap() -> int:
    """The cap on all copies together, in bytes (``$GPEN_DESKTOP_RECOVERY_CAP_MB``)."""
    from gpen_desktop.core.recovery import DEFAULT_CAP

    try:
        return int(float(os.environ["GPEN_DESKTOP_RECOVERY_CAP_MB"]) * 1024 * 1024)
    except (KeyError, ValueError):
        return DEFAULT_CAP


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path))
    lock.setStaleLockTime(0)  # stale only when its process is gone, never by age
    return lock


class RecoveryKeeper(QObject):
    """Keeps recovery copies of the photos in ``ctx.photos``. ``opener`` (a PhotoOpener)
    opens recovered photos; ``options_for(doc, session)`` gives a recovered photo its
    session's options; ``refresh(doc)`` brings a recovered photo's composite and face list
    up to date; ``busy()`` is True while the canvas is in a brush stroke (the copy waits).
    Signals: ``written(doc, Written)`` after each copy, ``removed(doc)``."""

    written = Signal(object, object)
    removed = Signal(object)

    def __init__(
        self,
        ctx: AppContext,
        opener: Any,
        options_for: Callable[[PhotoDoc, Any], None],
        refresh: Callable[[PhotoDoc], None] = lambda _doc: None,
        busy: Callable[[], bool] = lambda: False,
        root: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.opener = opener
        self.options_for = options_for
        self.refresh = refresh
        self.busy = busy
        self._inflight = 0
        self._removing: set[Path] = set()  # copies whose removal is queued
        self.root = Path(root) if root is not None else recovery_root()
        self.cap = size_cap()
        self.delay_ms = DELAY_MS
        self.owner = uuid.uuid4().hex[:12]
        self._lock: QLockFile | None = None
        self._folders: dict[PhotoDoc, Path] = {}  # each photo's copy folder
        self._dirty: dict[PhotoDoc, float] = {}  # photo -> when its first unwritten change came
        self._pending: dict[Path, Any] = {}  # folder -> the newest snapshot not yet written
        self._pending_lock = threading.Lock()
        self._pool: TaskPool | None = TaskPool(1, "gpen-recovery")
        self._closed = False
        self.last_error = ""
        self.writes = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)
        ctx.photos.photoAdded.connect(self._watch)
        ctx.photos.photoRemoved.connect(self._on_removed)
        for doc in ctx.photos.docs:
            self._watch(doc)

    # ------------------------------------------------------------------ the lock
    def _take_lock(self) -> None:
        if self._lock is not None:
            return
        try:
            (self.root / "owners").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("no recovery copies: cannot create %s: %s", self.root, exc)
            return
        lock = _lock(self.root / "owners" / f"{self.owner}.lock")
        if lock.tryLock(0):
            self._lock = lock

    def is_orphan(self, owner: str) -> bool:
        """True when the instance ``owner`` is gone (its lock is free); never our own."""
        if owner == self.owner:
            return False
        path = self.root / "owners" / f"{owner}.lock"
        lock = _lock(path)
        if lock.tryLock(0):
            lock.unlock()  # removes the stale file
            return True
        return False

    # ------------------------------------------------------------------ watching
    def _watch(self, doc: PhotoDoc) -> None:
        for signal in (doc.facesChanged, doc.optionsChanged, doc.statusChanged):
            signal.connect(lambda d=doc: self.changed(d))
        doc.damage.edited.connect(lambda d=doc: self.changed(d))
        doc.damage.changed.connect(lambda _r, d=doc: self._postpone(d))  # a stroke's dabs
        doc.undo_stack.cleanChanged.connect(lambda _c, d=doc: self.changed(d))

    def changed(self, doc: PhotoDoc) -> None:
        """``doc`` changed: its copy is written (or removed) a few seconds from now."""
        if self._closed or doc.path is None:
            return
        self._dirty.setdefault(doc, time.monotonic())
        self._restart()

    def _postpone(self, doc: PhotoDoc) -> None:
        if doc in self._dirty:
            self._restart()

    def _restart(self) -> None:
        oldest = min(self._dirty.values(), default=time.monotonic())
        waited = (time.monotonic() - oldest) * 1000
        if self._timer.isActive() and waited >= MAX_WAIT_MS:
            return  # changes keep coming: let the copy be written
        self._timer.start(self.delay_ms)

    def _flush(self) -> None:
        if self._closed:
            return
        if self.busy():  # in a brush stroke: after it
            self._timer.start(max(200, self.delay_ms // 4))
            return
        dirty, self._dirty = list(self._dirty), {}
        for doc in dirty:
            if doc not in self.ctx.photos.docs:
                continue
            if doc.unsaved and doc.is_loaded:
                self.ctx.spawn(self.write(doc))
            elif doc in self._folders:
                self.ctx.spawn(self.remove(doc))

    def flush_now(self) -> None:
        """Write (or remove) every changed photo's copy now (tests, the scenario hook)."""
        self._timer.stop()
        self._flush()

    # ------------------------------------------------------------------ writing
    def folder_of(self, doc: PhotoDoc) -> Path:
        folder = self._folders.get(doc)
        if folder is None:
            folder = self.root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
            self._folders[doc] = folder
        return folder

    def snapshot(self, doc: PhotoDoc) -> Any:
        """The photo's unsaved work now (GUI thread; cheap: references and a copy of the
        marks)."""
        from gpen_desktop.core.recovery import KeptResult, Snapshot

        kept = None
        if doc.network_result is not None and doc.result_options is not None:
            base = getattr(doc.network_result, "paste_base", None)
            if base is not None:
                kept = KeptResult(
                    doc.network_result,
                    tuple(doc.result_faces),
                    doc.result_options,
                    doc.result_damage,
                    base.pixels is doc.photo.pixels,
                )
        damage = doc.damage.array if not doc.damage.is_empty() else None
        options = doc.options if doc.options is not None else doc.run_options()
        return Snapshot(
            photo=str(doc.path),
            name=doc.name,
            faces=tuple(doc.faces),
            numbers=tuple(doc.numbers),
            options=options,
            exports=tuple(str(p) for p in doc.exports),
            saved_path=str(doc.saved_path) if doc.saved_path else None,
            damage=None if damage is None else damage.copy(),
            damage_key=(id(doc), doc.damage.version),
            kept=kept,
            result_key=None if kept is None else id(doc.network_result),
            owner=self.owner,
        )

    async def write(self, doc: PhotoDoc) -> Any:
        """Write ``doc``'s copy now, off the GUI thread; returns what was written (None:
        nothing, or it failed: logged, and said once)."""
        if self._pool is None:
            return None
        self._take_lock()
        folder = self.folder_of(doc)
        snap = self.snapshot(doc)
        with self._pending_lock:
            queued = folder in self._pending
            self._pending[folder] = snap  # the newest wins
        if queued:
            return None
        self._inflight += 1
        try:
            written = await self._pool.run(self._write_pending, folder)
        except (GpenError, OSError) as exc:
            log.warning("recovery copy of %s not written: %s", doc.name, exc)
            if not self.last_error:
                self.ctx.say(f"Couldn't keep a recovery copy of {doc.name}: {exc}", "warning")
            self.last_error = str(exc)
            return None
        except RuntimeError:  # the pool shut down meanwhile (closing)
            return None
        finally:
            self._inflight -= 1
        if written is None:
            return None
        if doc not in self.ctx.photos.docs or self._closed:
            return written  # closed meanwhile: its removal follows on the same thread
        self.writes += 1
        self.last_error = ""
        self.written.emit(doc, written)
        return written

    def _write_pending(self, folder: Path) -> Any:
        """On the recovery thread: write the newest snapshot of ``folder``, then keep all
        copies under the cap."""
        from gpen_desktop.core.recovery import enforce_cap, write_copy

        with self._pending_lock:
            snap = self._pending.pop(folder, None)
        if snap is None or self._closed:
            return None
        written = write_copy(folder, snap)
        try:
            enforce_cap(self.root, self.cap, keep=[folder])
        except OSError as exc:
            log.warning("recovery cap: %s", exc)
        return written

    async def remove(self, doc: PhotoDoc) -> None:
        """Remove ``doc``'s copy (saved, discarded or closed), on the recovery thread."""
        folder = self._folders.pop(doc, None)
        if folder is None or self._pool is None:
            return
        self._inflight += 1
        self._removing.add(folder)
        try:
            await self._pool.run(self._remove_folder, folder)
        finally:
            self._inflight -= 1
            self._removing.discard(folder)
        self.removed.emit(doc)

    def _remove_folder(self, folder: Path) -> None:
        from gpen_desktop.core.recovery import remove_copy

        with self._pending_lock:
            self._pending.pop(folder, None)
        remove_copy(folder)

    def _on_removed(self, doc: PhotoDoc) -> None:
        self._dirty.pop(doc, None)
        if doc in self._folders and not self._closed:
            self.ctx.spawn(self.remove(doc))

    def close(self) -> None:
        """A clean quit: every photo was saved or discarded, so no copy of this instance is
        left (those of other sessions, kept for Later, stay); the thread stops."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        folders = [*self._folders.values(), *self._removing]
        self._folders.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # a copy being written ends first
        from gpen_desktop.core.recovery import remove_copy

        for folder in folders:
            remove_copy(folder)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    # ------------------------------------------------------------------ at start-up
    async def orphans(self) -> list:
        """The copies left by instances that are gone (oldest first), with their photos
        checked (in the recovery thread)."""
        from gpen_desktop.core.recovery import list_copies

        if self._pool is None:
            return []
        self._take_lock()
        return await self._pool.run(list_copies, self.root, self.is_orphan)

    async def offer(self) -> str:
        """Offer the copies left by a session that did not end properly: Recover, Discard or
        Later (the answer; "" when there were none)."""
        copies = await self.orphans()
        if not copies:
            return ""
        answer = await self.ctx.questions.recover(copies)
        if answer == "recover":
            await self.recover(copies)
        elif answer == "discard":
            await self.discard(copies)
        return answer

    async def discard(self, copies: list) -> None:
        from gpen_desktop.core.recovery import remove_copy

        for copy in copies:
            if self._pool is not None:
                await self._pool.run(remove_copy, copy.folder)
        n = len(copies)
        self.ctx.say(f"Discarded {n} recovery cop{'y' if n == 1 else 'ies'}.", "info")

    async def recover(self, copies: list) -> list[PhotoDoc]:
        """Open each copy's photo with its work; copies of photos that are gone stay."""
        docs = []
        for copy in copies:
            if copy.photo_state == "gone":
                self.ctx.say(f"{copy.name}: {copy.note}; its recovery copy is kept.", "warning")
                continue
            doc = await self._recover_one(copy)
            if doc is not None:
                docs.append(doc)
        return docs

    async def _recover_one(self, copy: Any) -> PhotoDoc | None:
        from gpen_desktop.core.recovery import read_copy, set_owner

        opener = self.opener
        ctx = self.ctx
        done: list[PhotoDoc] = []

        async def apply(doc: PhotoDoc) -> None:
            try:
                got = await ctx.worker.run_io(read_copy, copy, doc.photo)
                await self.apply(doc, got)
            except Exception as exc:  # noqa: BLE001 - said in plain words; the copy stays
                ctx.notifier.error(exc, f"Couldn't recover {copy.name}")
                if not doc.detected:
                    await self.opener.detect(doc)
                return
            self._folders[doc] = copy.folder  # this instance keeps the copy from now on
            snap = self.snapshot(doc)
            await self._pool.run(
                lambda: set_owner(
                    copy.folder,
                    self.owner,
                    damage_key=snap.damage_key,
                    **({"result_key": snap.result_key} if got.kept is not None else {}),
                )
            )
            done.append(doc)

        doc = await opener.open_recovered(Path(copy.photo), apply)
        if doc is None:
            ctx.say(f"{copy.name} is open already; its recovery copy is kept.", "warning")
            return None
        return done[0] if done else None

    async def apply(self, doc: PhotoDoc, got: Any) -> None:
        """Give a freshly loaded ``doc`` the recovered work ``got`` (core Recovered)."""
        from gpen_desktop.gui.jobs import composite_job

        session = got.session
        doc.set_detected(list(session.faces), sort=False, numbers=got.numbers)
        self.options_for(doc, session)
        if got.damage is not None:
            doc.damage.set_mask(got.damage)
        doc.exports = [Path(p) for p in session.exports]
        doc.saved_path = Path(got.saved_path) if got.saved_path else None
        kept = got.kept
        if kept is not None:
            outcome = await self.ctx.worker.run_io(
                composite_job, kept.result, list(kept.faces), kept.options
            )
            kept.result.image = outcome.result.image
            doc.set_result(
                kept.result, outcome.image, kept.faces, kept.options, outcome.shown, kept.damage
            )
            self.refresh(doc)
        doc.recovered = True
        doc.statusChanged.emit()
        notes = list(got.notes)
        if got.info.photo_state == "changed":
            notes.insert(0, got.info.note)
        if notes:
            self.ctx.say(f"Recovered {doc.name}, but " + "; ".join(notes) + ".", "warning", doc=doc)
        else:
            self.ctx.say(f"Recovered the unsaved work of {doc.name}.", "info", doc=doc)


async def wait_written(keeper: RecoveryKeeper, timeout: float = 30.0) -> None:
    """Wait until the keeper has nothing left to write (tests and the scenario hook)."""
    deadline = time.monotonic() + timeout
    while keeper._dirty or keeper._timer.isActive() or keeper._pending or keeper._inflight:
        if time.monotonic() > deadline:
            raise TimeoutError("the recovery copy was not written in time")
        await asyncio.sleep(0.02)
