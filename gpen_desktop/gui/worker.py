"""The inference thread (and the detection lane): core work off the GUI thread.

The GUI builds a request (a frozen dataclass: photo, faces, options, with its own ``run``; see
:mod:`gpen_desktop.gui.jobs`) and calls :meth:`InferenceWorker.submit`; a restore runs on ONE
long-lived ``QThread`` which owns the loaded model (a
:class:`gpen_desktop.core.pipeline.Restorer`, reused across runs). Detection requests
(``lane = "detect"``) run on a second thread, so a photo's faces are found while another
photo is in the network — the stages of `gpen restore`'s overlapped folder runs: decoding in
the I/O pool, detection on its lane, the network on the inference thread. Progress, results
and errors come back as queued signals and resolve an ``asyncio.Future`` on the GUI thread,
so coroutines on the qasync loop simply ``await job.future``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from gpen_desktop.core.errors import Cancelled, GpenError
from gpen_desktop.gui.jobs import JobContext

log = logging.getLogger(__name__)


class UnexpectedError(GpenError):
    """Something failed that the core did not turn into a GpenError (details in the log)."""


def describe_exception(exc: BaseException) -> GpenError:
    """Turn any exception into a GpenError with one line in plain words (the traceback is
    logged where it is caught): :func:`gpen_desktop.gui.notify.plain_words`."""
    if isinstance(exc, GpenError):
        return exc
    from gpen_desktop.gui.notify import plain_words

    return UnexpectedError(plain_words(exc))


# --------------------------------------------------------------------------- the thread side


class _Runner(QObject):
    """Lives on the worker thread; executes one request at a time in arrival order."""

    started = Signal(int)
    progressed = Signal(int, int, int, str)
    faceReady = Signal(int, int, object, object)  # job, index in the request's faces, crops
    succeeded = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self._restorer: Any = None
        self._job_id = 0

    @Slot(int, object, object)
    def run(self, job_id: int, request: Any, cancel: threading.Event) -> None:
        if cancel.is_set():
            self.failed.emit(job_id, Cancelled("cancelled"))
            return
        self.started.emit(job_id)

        def progress(done: int, total: int, message: str = "") -> None:
            self.progressed.emit(job_id, int(done), int(total), str(message))

        self._job_id = job_id
        try:
            result = self._execute(request, progress, cancel.is_set)
        except Cancelled as exc:
            self.failed.emit(job_id, exc)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, never raised
            if not isinstance(exc, GpenError):
                log.exception("worker job %d (%s) failed", job_id, type(request).__name__)
            self.failed.emit(job_id, describe_exception(exc))
        else:
            self.succeeded.emit(job_id, result)

    def _execute(self, request: Any, progress: Callable, cancelled: Callable[[], bool]) -> Any:
        job_id = self._job_id

        def face_ready(index: int, aligned: np.ndarray, restored: np.ndarray) -> None:
            self.faceReady.emit(job_id, index, aligned, restored)

        return request.run(JobContext(self._get_restorer, progress, cancelled, face_ready))

    def _get_restorer(self, options: Any) -> Any:
        """The one Restorer of this thread: it keeps its model while the checkpoint and device
        stay the same, whatever else changes."""
        from gpen_desktop.core.pipeline import Restorer

        if self._restorer is None:
            self._restorer = Restorer(options)
        elif self._restorer.options != options:
            self._restorer.set_options(options)
        return self._restorer


# --------------------------------------------------------------------------- the GUI side


@dataclass(eq=False)
class Job:
    """A submitted request. ``future`` resolves (on the GUI thread) with the result or the
    GpenError; :meth:`cancel` stops it before it starts or at the next batch boundary."""

    id: int
    request: Any
    future: asyncio.Future
    cancel_event: threading.Event
    submitted: float
    started: float | None = None
    done: int = 0
    total: int = 0
    message: str = ""

    @property
    def label(self) -> str:
        return str(getattr(self.request, "label", type(self.request).__name__))

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


_LIVE: weakref.WeakSet[InferenceWorker] = weakref.WeakSet()
_LIVE_POOLS: weakref.WeakSet[TaskPool] = weakref.WeakSet()


def live_workers() -> list[InferenceWorker]:
    """Workers whose thread or I/O pool is still running (tests fail on leftovers)."""
    return [w for w in list(_LIVE) if w.is_alive()]


def live_pools() -> list[TaskPool]:
    """Task pools with a thread still running (the workers' own and the dialogs')."""
    return [p for p in list(_LIVE_POOLS) if p.is_alive()]


# --------------------------------------------------------------------------- background tasks


class BackgroundTask(QObject):
    """One blocking function for a :class:`TaskPool`: ``fn(task)`` runs on a pool thread and
    may call ``task.report(done, total)`` and poll ``task.stop``; the outcome arrives on the GUI
    thread as ``succeeded(result)``, ``failed(message)`` or ``cancelled(message)``, then
    ``done()``. ``progressed(done, total)`` carries the reports."""

    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal(str)
    progressed = Signal(object, object)
    done = Signal()

    def __init__(self, fn: Callable[[BackgroundTask], Any], label: str) -> None:
        super().__init__()
        self._fn = fn
        self.label = label
        self.stop = threading.Event()
        self._ended = threading.Event()

    def cancel(self) -> None:
        """Ask the function to stop early (it polls ``stop``; others run to the end)."""
        self.stop.set()

    def report(self, done: Any, total: Any) -> None:
        self.progressed.emit(done, total)

    def wait(self, timeout_ms: int) -> bool:
        """Block until the function returned (True) or ``timeout_ms`` passed (False)."""
        return self._ended.wait(max(0, timeout_ms) / 1000)

    @property
    def running(self) -> bool:
        return not self._ended.is_set()

    def _run(self) -> None:
        try:
            result = self._fn(self)
        except Cancelled as exc:
            self.cancelled.emit(str(exc))
        except GpenError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - the task must always report back
            log.exception("%s failed", self.label)
            self.failed.emit(str(describe_exception(exc)))
        else:
            self.succeeded.emit(result)
        finally:
            self._ended.set()
            self.done.emit()


class TaskPool:
    """The one mechanism for light background work: a small thread pool whose functions run
    as :class:`BackgroundTask` (signals) or are awaited from coroutines (:meth:`run`)."""

    def __init__(self, threads: int = 2, name: str = "gpen-io") -> None:
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=name
        )
        _LIVE_POOLS.add(self)

    def start(self, task: BackgroundTask) -> BackgroundTask:
        if self._pool is None:
            raise RuntimeError("the task pool is shut down")
        self._pool.submit(task._run)
        return task

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            raise RuntimeError("the worker is shut down")
        return await asyncio.get_event_loop().run_in_executor(self._pool, fn, *args)

    def is_alive(self) -> bool:
        pool = self._pool
        return pool is not None and any(t.is_alive() for t in getattr(pool, "_threads", ()))

    def threads(self) -> list[threading.Thread]:
        pool = self._pool
        return [t for t in getattr(pool, "_threads", ()) if t.is_alive()] if pool else []

    def shutdown(self, wait: bool = True) -> None:
        """Drop queued work and stop the threads (``wait``: until the running work ended)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            if wait:
                self._pool = None


class InferenceWorker(QObject):
    """GUI-thread handle of the inference thread and the I/O pool.

    Signals (GUI thread): ``jobStarted(job)``, ``jobProgress(job)``, ``jobFinished(job)``,
    ``busyChanged(bool)``.
    """

    jobStarted = Signal(object)
    jobProgress = Signal(object)
    #: (job, index in the request's faces, aligned crop, restored crop), as soon as
    #: each face's batch is done, before the whole photo is pasted.
    faceRestored = Signal(object, int, object, object)
    jobFinished = Signal(object)
    busyChanged = Signal(bool)

    _submit = Signal(int, object, object)
    _submit_detect = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, io_threads: int = 2) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._thread, self._runner = self._lane("gpen-inference", self._submit)
        # Detection has its own lane: the next photo's faces are found while this one is in
        # the network (as `gpen restore` overlaps folder runs; core/overlap.py). Detectors use
        # their own models (dlib, RetinaFace), never the network's.
        self._detect_thread, self._detect_runner = self._lane("gpen-detect", self._submit_detect)
        self._pool: TaskPool | None = TaskPool(io_threads, "gpen-io")
        self._closed = False
        self._thread.start()
        self._detect_thread.start()
        _LIVE.add(self)

    def _lane(self, name: str, submit: Any) -> tuple[QThread, _Runner]:
        """A thread with its runner, wired to this worker's job bookkeeping (not started)."""
        thread = QThread()
        thread.setObjectName(name)
        runner = _Runner()
        runner.moveToThread(thread)
        thread.finished.connect(runner.deleteLater)
        submit.connect(runner.run)
        runner.started.connect(self._on_started)
        runner.progressed.connect(self._on_progress)
        runner.faceReady.connect(self._on_face_ready)
        runner.succeeded.connect(self._on_succeeded)
        runner.failed.connect(self._on_failed)
        return thread, runner

    # ------------------------------------------------------------------ inference jobs
    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def submit(self, request: Any) -> Job:
        """Queue ``request`` on the inference thread (or, when its ``lane`` is ``"detect"``, on
        the detection thread). Needs a running asyncio (qasync) loop."""
        if self._closed:
            raise RuntimeError("the worker is shut down")
        loop = asyncio.get_event_loop()
        job = Job(
            id=next(self._ids),
            request=request,
            future=loop.create_future(),
            cancel_event=threading.Event(),
            submitted=time.monotonic(),
        )
        was_busy = self.busy
        self._jobs[job.id] = job
        lane = self._submit_detect if getattr(request, "lane", "") == "detect" else self._submit
        lane.emit(job.id, request, job.cancel_event)
        if not was_busy:
            self.busyChanged.emit(True)
        return job

    async def run(self, request: Any) -> Any:
        """Submit and await the result (raises the job's GpenError)."""
        return await self.submit(request).future

    def cancel_all(self) -> None:
        for job in self._jobs.values():
            job.cancel()

    def _on_started(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job:
            job.started = time.monotonic()
            self.jobStarted.emit(job)

    def _on_progress(self, job_id: int, done: int, total: int, message: str) -> None:
        job = self._jobs.get(job_id)
        if job:
            job.done, job.total, job.message = done, total, message
            self.jobProgress.emit(job)

    def _on_face_ready(self, job_id: int, index: int, aligned: Any, restored: Any) -> None:
        job = self._jobs.get(job_id)
        if job:
            self.faceRestored.emit(job, index, aligned, restored)

    def _finish(self, job_id: int) -> Job | None:
        job = self._jobs.pop(job_id, None)
        if job is not None:
            self.jobFinished.emit(job)
            if not self._jobs:
                self.busyChanged.emit(False)
        return job

    def _on_succeeded(self, job_id: int, result: Any) -> None:
        job = self._finish(job_id)
        if job is not None and not job.future.done():
            job.future.set_result(result)

    def _on_failed(self, job_id: int, error: BaseException) -> None:
        job = self._finish(job_id)
        if job is not None and not job.future.done():
            job.future.set_exception(error)

    # ------------------------------------------------------------------ I/O pool
    async def run_io(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a light blocking function (decode, encode, crop) in the I/O pool."""
        if self._pool is None:
            raise RuntimeError("the worker is shut down")
        return await self._pool.run(fn, *args)

    # ------------------------------------------------------------------ lifetime
    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` began: no new work is taken."""
        return self._closed

    def is_alive(self) -> bool:
        if self._thread.isRunning() or self._detect_thread.isRunning():
            return True
        return self._pool is not None and self._pool.is_alive()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything, stop the thread and the pool. True when both ended in time."""
        self._closed = True
        self.cancel_all()
        for job in list(self._jobs.values()):
            if not job.future.done() and not job.future.get_loop().is_closed():
                job.future.cancel()
        self._jobs.clear()
        self._thread.quit()
        self._detect_thread.quit()
        ended = self._thread.wait(timeout_ms)
        ended = self._detect_thread.wait(timeout_ms) and ended
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if not ended:
            log.warning("the inference thread did not stop within %d ms", timeout_ms)
        return bool(ended)
