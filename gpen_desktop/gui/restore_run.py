"""The restore controller: runs restores of photo documents and keeps their composites fresh.

:class:`RestoreController` owns the one running :class:`RestoreRun` (restore / restore selected
face / restore all / cancel) and reports to the window through signals; the window only
shows. It also recomposites a document's kept restored crops whenever blend, exclusions or
colour match change (no network: :func:`gpen_desktop.gui.jobs.composite_job` in the I/O pool,
the latest edit wins), and :meth:`RestoreController.composited` hands Save an up-to-date
result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from gpen_desktop.core.errors import Cancelled, GpenError
from gpen_desktop.gui.jobs import RestoreOutcome, RestoreRequest, composite_job, identity_check
from gpen_desktop.gui.state import PhotoDoc, PhotoList, PhotoStatus
from gpen_desktop.gui.worker import InferenceWorker, Job

log = logging.getLogger(__name__)


@dataclass
class RestoreRun:
    """One restore over one or more photos. ``only_face``: restore just that face of the
    (single) photo, keeping the others' crops; ``reuse_kept``: reuse every kept crop whose face
    is unchanged (only what changed runs through the network)."""

    docs: list[PhotoDoc]
    #: core RestoreOptions for every photo, or a function giving each photo its own
    options: Any
    only_face: int | None = None
    reuse_kept: bool = False
    started: float = field(default_factory=time.monotonic)
    index: int = 0
    name: str = ""
    cancelled: bool = False
    job: Job | None = None
    done: int = 0
    failed: int = 0

    def options_of(self, doc: PhotoDoc) -> Any:
        """The options ``doc`` is restored with (each photo owns its options)."""
        return self.options(doc) if callable(self.options) else self.options

    @property
    def count(self) -> int:
        return len(self.docs)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class RestoreController(QObject):
    """Restores documents on the worker. Signals: ``runStarted(run)``, ``runChanged(run)``
    (next photo, progress), ``runFinished(run)``, ``faceRestored(doc, index, aligned,
    restored)`` as each face leaves the network, ``restored(doc, outcome)`` per photo
    (then each face's identity check is computed in the I/O pool and handed to the document),
    ``message(text, level)`` for the banner."""

    runStarted = Signal(object)
    runChanged = Signal(object)
    runFinished = Signal(object)
    faceRestored = Signal(object, int, object, object)
    restored = Signal(object, object)
    message = Signal(str, str)

    def __init__(
        self,
        worker: InferenceWorker,
        session: PhotoList,
        ensure_ready: Callable[[PhotoDoc], Awaitable[bool]],
        spawn: Callable[[Coroutine], asyncio.Task],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = worker
        self.session = session
        self._ensure_ready = ensure_ready
        self._spawn = spawn
        self.run: RestoreRun | None = None
        self._compositing: dict[PhotoDoc, asyncio.Task] = {}
        self._checking: set[PhotoDoc] = set()  # identity checks running
        self._check_again: set[PhotoDoc] = set()  # … and asked for again meanwhile
        worker.jobProgress.connect(self._on_job_progress)
        worker.faceRestored.connect(self._on_face_restored)

    @property
    def running(self) -> bool:
        return self.run is not None

    # ------------------------------------------------------------------ restoring
    async def restore(
        self,
        docs: list[PhotoDoc],
        options: Any,
        only_face: int | None = None,
        reuse_kept: bool = False,
    ) -> RestoreRun | None:
        """Restore ``docs`` one after another; returns the finished run (None if one was
        already running)."""
        if self.run is not None:
            self.message.emit("A restore is already running.", "info")
            return None
        run = RestoreRun(list(docs), options, only_face, reuse_kept)
        self.run = run
        for doc in run.docs:
            if doc.status is not PhotoStatus.RUNNING:
                doc.set_status(PhotoStatus.QUEUED)
        self.runStarted.emit(run)
        try:
            for n, doc in enumerate(run.docs):
                if run.cancelled:
                    break
                run.index, run.name = n, doc.name
                self.runChanged.emit(run)
                outcome = await self._restore_one(run, doc)
                run.done += outcome == "done"
                run.failed += outcome == "failed"
        finally:
            self.run = None
            run.job = None
            for doc in run.docs:
                if doc.status is PhotoStatus.QUEUED:
                    doc.set_status(PhotoStatus.RESTORED if doc.has_result else PhotoStatus.READY)
            self.runFinished.emit(run)
        return run

    def cancel(self) -> bool:
        """Stop the running restore (False: none runs)."""
        run = self.run
        if run is None:
            return False
        run.cancelled = True
        if run.job is not None:
            run.job.cancel()
        self.runChanged.emit(run)
        return True

    def faces_to_send(self, doc: PhotoDoc, run: RestoreRun) -> tuple[tuple, dict]:
        """The faces a restore sends and the kept crops it pastes again (see
        :meth:`PhotoDoc.reuse_for`). Restoring one face of a photo with a result keeps the faces
        restored before: they are sent too, with their crops, so only this face is redone."""
        faces = doc.faces
        if run.only_face is None:
            reuse = doc.reuse_for(faces, run.options_of(doc)) if run.reuse_kept else {}
            return faces, reuse
        kept = {i for i in range(len(faces)) if doc.kept_crop(i) is not None}
        sent = tuple(
            f.with_(include=(i == run.only_face or (i in kept and f.include)))
            for i, f in enumerate(faces)
        )
        return sent, doc.reuse_for(sent, run.options_of(doc), only_face=run.only_face)

    async def _restore_one(self, run: RestoreRun, doc: PhotoDoc) -> str:
        if not await self._ensure_ready(doc):
            return "skipped"
        if self.run is not run or run.cancelled:
            return "skipped"
        sent, reuse = self.faces_to_send(doc, run)
        if not any(f.include for f in sent):
            reason = "no faces to restore" if not doc.faces else "every face is excluded"
            doc.set_status(PhotoStatus.FAILED, reason)
            self.message.emit(
                f"{doc.name}: {reason}. Draw a face with Add Face (N) or include one (X).",
                "warning",
            )
            return "failed"
        doc.set_status(PhotoStatus.RUNNING)
        damage = doc.damage.mask()  # a copy: painting on during the restore is not sent
        options = run.options_of(doc)
        job = self.worker.submit(RestoreRequest(doc.photo, sent, options, doc.name, reuse, damage))
        run.job = job
        self.runChanged.emit(run)
        try:
            outcome: RestoreOutcome = await job.future
        except Cancelled:
            doc.set_status(PhotoStatus.RESTORED if doc.has_result else PhotoStatus.READY)
            run.cancelled = True
            return "cancelled"
        except GpenError as exc:
            doc.set_status(PhotoStatus.FAILED, str(exc))
            self.message.emit(f"Couldn't restore {doc.name}: {exc}", "error")
            return "failed"
        finally:
            run.job = None
        if doc not in self.session.docs:
            return "skipped"
        doc.set_result(outcome.result, outcome.image, sent, options, outcome.shown, damage=damage)
        left = len(getattr(outcome.result, "left_sharp", ()))
        if left:
            they = "it is" if left == 1 else "they are"
            self.message.emit(
                f"{doc.name}: {left} face{'s' if left != 1 else ''} sharp already, left as {they}",
                "info",
            )
        self.restored.emit(doc, outcome)
        self._spawn(self.check_identity(doc))
        return "done"

    async def check_identity(self, doc: PhotoDoc) -> None:
        """Compare each face as it is pasted (after blend and colour match) with its input
        (dlib, one face at a time in the I/O pool, the selected face first, so closing never
        waits for a whole group) and hand each result to ``doc``
        (:meth:`PhotoDoc.set_identity`). Runs again after each recomposite; faces whose pasted
        crop has a check already are skipped."""
        if doc in self._checking:
            self._check_again.add(doc)
            return
        self._checking.add(doc)
        try:
            while True:
                self._check_again.discard(doc)
                await self._check_identity_once(doc)
                if doc not in self._check_again:
                    return
        finally:
            self._checking.discard(doc)

    async def _check_identity_once(self, doc: PhotoDoc) -> None:
        kept = doc.network_result
        if kept is None:
            return
        first = doc._matches().get(doc.selected) if doc.selected >= 0 else None
        for j in sorted(doc.identity_missing(), key=lambda j: j != first):
            if self.worker.closed:
                return  # the window is closing
            fr = next((f for f in kept.faces if f.index == j), None)
            key = doc.pasted_key(j)
            pasted = doc._shown_crops.get(j)
            check = await self.worker.run_io(identity_check, fr, pasted)
            if doc not in self.session.docs or doc.network_result is not kept:
                return  # closed, or restored again meanwhile (that run checks its own)
            doc.set_identity(kept, {j: (check, key)})

    def _on_job_progress(self, job: Job) -> None:
        if self.run is not None and job is self.run.job:
            self.runChanged.emit(self.run)

    def _on_face_restored(self, job: Job, index: int, aligned: Any, restored: Any) -> None:
        request = job.request
        if not isinstance(request, RestoreRequest):
            return
        doc = next((d for d in self.session.docs if d.photo is request.photo), None)
        if doc is not None:
            self.faceRestored.emit(doc, index, aligned, restored)

    # ------------------------------------------------------------------ compositing
    def schedule_composite(self, doc: PhotoDoc, options: Any) -> None:
        """Bring ``doc``'s shown result up to date with its faces and ``options`` soon."""
        if doc.network_result is None or doc.composite_key == doc.composite_key_for(options):
            return
        if doc not in self._compositing:
            self._spawn(self.composited(doc, options))

    async def composited(self, doc: PhotoDoc, options: Any) -> Any:
        """``doc``'s result composited for its faces as they are and ``options`` (blend,
        colour match), recomputed only when out of date; None without a result."""
        while doc.network_result is not None:
            if doc not in self.session.docs:
                return doc.result
            key = doc.composite_key_for(options)
            if doc.composite_key == key:
                return doc.result
            task = self._compositing.get(doc)
            if task is None:
                task = asyncio.ensure_future(self._composite(doc, options, key))
                self._compositing[doc] = task
                task.add_done_callback(lambda _t, d=doc: self._compositing.pop(d, None))
            await task
        return None

    async def _composite(self, doc: PhotoDoc, options: Any, key: Any) -> None:
        kept = doc.network_result
        outcome = await self.worker.run_io(composite_job, kept, doc.composite_faces(), options)
        if doc.network_result is kept and doc in self.session.docs:
            doc.set_composite(outcome.result, outcome.image, outcome.shown)
            doc.composite_key = key
            if doc.identity_missing():
                self._spawn(self.check_identity(doc))  # on what is pasted now
