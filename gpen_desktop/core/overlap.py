"""Overlapped folder runs: the next photo is read and its faces found while the current one is
in the network, with a small, counted number of photos in flight.

:func:`overlapped` runs every item through a list of stages (``decode -> detect/align``,
``network -> paste``, …), each stage in its own thread, and hands the results back to the
caller **in the items' order**, where the last step (encode and save, report) runs. A stage
that raises for an item turns that item into a :class:`Failed` result (the later stages skip
it, the caller reports it and goes on); :class:`~gpen_desktop.core.errors.Cancelled` (from a
stage or from ``cancel()``) stops the run: nothing more is started, the stages finish what
they hold and the caller gets the exception.

Memory: at most ``max_in_flight`` items (default 3) are between the start of the first stage
and the caller's hand-back, each with what its stages made (for a photo: its decoded pixels,
its faces' aligned and restored crops, and its output, which with background
super-resolution x4 is 16 times the photo's pixels: about 0.6 GB as 8-bit RGB for a 12 MP
photo). :class:`Restorer`'s stages are safe to run side by side this way: detection (dlib or
RetinaFace) and the network use separate objects, and the network stage alone uses the
loaded models.

The CLI's ``gpen restore`` runs folders through it (``restore_stages``); a GUI worker can do
the same: ``for item, out in overlapped(photos, restore_stages(restorer, ...)): ...``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gpen_desktop.core.errors import Cancelled
from gpen_desktop.core.types import CancelFn

log = logging.getLogger(__name__)

#: Photos in flight by default: one being read/detected, one in the network, one being saved.
DEFAULT_IN_FLIGHT = 3

Stage = Callable[[Any, Any], Any]  # (item, previous stage's value) -> value


@dataclass
class Failed:
    """What an item whose stage raised hands back instead of a value."""

    error: BaseException
    stage: int


class _End:
    pass


_END = _End()


def overlapped(
    items: Iterable[Any],
    stages: Sequence[Stage],
    max_in_flight: int = DEFAULT_IN_FLIGHT,
    cancel: CancelFn | None = None,
    on_count: Callable[[int], None] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(item, value)`` for every item, in order: ``value`` is the last stage's result
    or a :class:`Failed`. Stage ``k`` is called as ``stage(item, value_of_stage_k-1)`` (the
    first gets None). At most ``max_in_flight`` items are started and not yet handed back
    (the next one starts when the caller asks for the next result); ``on_count(n)`` sees that
    number each time it changes (tests count it). ``cancel()`` is polled before each item
    starts and before each hand-back; Cancelled is raised to the caller."""
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    items = list(items)
    stages = list(stages)
    if not stages:
        for item in items:
            yield item, None
        return
    slots = threading.Semaphore(max_in_flight)
    stop = threading.Event()
    lock = threading.Lock()
    count = [0]
    pipes: list[queue.Queue] = [queue.Queue() for _ in stages]

    def counted(delta: int) -> None:
        with lock:
            count[0] += delta
            n = count[0]
        if on_count is not None:
            on_count(n)

    def run(k: int, item: Any, value: Any) -> Any:
        if isinstance(value, Failed):
            return value
        if stop.is_set():  # not finished: never handed back as if it were
            return Failed(Cancelled("cancelled"), k)
        try:
            return stages[k](item, value)
        except Exception as exc:  # reported by the caller, the run goes on (Cancelled stops)
            if isinstance(exc, Cancelled):
                stop.set()
            return Failed(exc, k)
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: the caller re-raises
            stop.set()
            return Failed(exc, k)

    def first() -> None:
        try:
            for index, item in enumerate(items):
                while not slots.acquire(timeout=0.05):
                    if stop.is_set():
                        return
                if stop.is_set() or (cancel is not None and cancel()):
                    stop.set()
                    slots.release()
                    return
                counted(+1)
                pipes[0].put((index, item, run(0, item, None)))
        finally:
            pipes[0].put(_END)

    def later(k: int) -> None:
        while True:
            got = pipes[k - 1].get()
            if got is _END:
                pipes[k].put(_END)
                return
            index, item, value = got
            pipes[k].put((index, item, run(k, item, value)))

    threads = [threading.Thread(target=first, name="gpen-stage-0", daemon=True)]
    threads += [
        threading.Thread(target=later, args=(k,), name=f"gpen-stage-{k}", daemon=True)
        for k in range(1, len(stages))
    ]
    for t in threads:
        t.start()
    try:
        while True:
            got = pipes[-1].get()
            if got is _END:
                break
            _index, item, value = got
            if isinstance(value, Failed) and (
                isinstance(value.error, Cancelled) or not isinstance(value.error, Exception)
            ):
                raise value.error
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            yield item, value
            counted(-1)
            slots.release()
        if stop.is_set():  # a stage was cancelled after the last hand-back
            raise Cancelled("cancelled")
        clean = True
    except (Exception, GeneratorExit):
        clean = True  # Cancelled, an error of the caller's: the stages end their item first
        raise
    except BaseException:
        clean = False  # Ctrl-C: do not wait for a photo in the network (daemon threads)
        raise
    finally:
        stop.set()
        for t in threads:  # they pass what they hold through (skipping the work) and end
            t.join(timeout=None if clean else 0.1)
