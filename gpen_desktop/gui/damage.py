"""Damage marks: what a person painted over scratches and tears with the damage brush.

Each :class:`~gpen_desktop.gui.state.PhotoDoc` holds one :class:`DamageMarks`: an HxW uint8
array at the photo's size (1 = damaged), allocated on the first stroke. A stroke
(:class:`Stroke`, from press to release) paints or erases round dabs joined by lines and
becomes one :class:`DamageCommand` on the photo's undo stack, beside the face edits, so
Ctrl+Z takes back a stroke as it takes back a moved box. A command keeps only the rectangle
the stroke touched (before and after, as packed bits), not a copy of the whole mask.

``changed(rect)`` reports what changed: ``(x0, y0, x1, y1)`` in photo pixels (end exclusive),
or None for the whole photo. The restore sends :meth:`DamageMarks.mask` (a copy) to the core,
whose :mod:`gpen_desktop.core.inpaint` fills the marks: GPEN inpainting on faces when its
checkpoint is present, OpenCV elsewhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive), photo pixels

#: Brush diameters (photo pixels) the size slider and [ ] offer.
MIN_BRUSH, MAX_BRUSH = 1, 600


def brush_step(size: int, delta: int) -> int:
    """The next brush size for ``[`` (-1) and ``]`` (+1): about 15 % a step, at least 1 px."""
    step = max(1, round(size * 0.15))
    return int(min(MAX_BRUSH, max(MIN_BRUSH, size + delta * step)))


def _union(a: Rect | None, b: Rect) -> Rect:
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class DamageMarks(QObject):
    """The damage marks of one photo (see the module docstring)."""

    changed = Signal(object)  # Rect or None (everything), as each dab lands
    edited = Signal()  # a finished stroke, clear, undo, redo or replacement

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.width = self.height = 0
        self.array: np.ndarray | None = None  # HxW uint8, 1 = damaged; None = nothing yet
        self.version = 0  # bumps on every change (undo included)
        self._empty_at: tuple[int, bool] = (-1, True)
        self._diff_at: tuple[int, Any, Rect | None] = (-1, None, None)

    # ------------------------------------------------------------------ reading
    def set_size(self, width: int, height: int) -> None:
        """The photo's size (drops marks of another size)."""
        if (width, height) != (self.width, self.height):
            self.width, self.height = int(width), int(height)
            self.array = None
            self._touch(None)

    def is_empty(self) -> bool:
        if self.array is None:
            return True
        if self._empty_at[0] != self.version:
            self._empty_at = (self.version, not self.array.any())
        return self._empty_at[1]

    def mask(self) -> np.ndarray | None:
        """A copy of the marks as HxW bool (True = damaged), or None when nothing is marked."""
        return None if self.is_empty() else self.array.astype(bool)

    def bounds(self) -> Rect | None:
        """The bounding rectangle of the marks, or None."""
        if self.is_empty():
            return None
        return _bounds(self.array != 0)

    def diff_bounds(self, other: np.ndarray | None) -> Rect | None:
        """The bounding rectangle of the pixels where the marks differ from ``other`` (a mask
        from :meth:`mask`, or None = nothing marked); None when they are the same."""
        version, seen, rect = self._diff_at
        if version == self.version and seen is other:
            return rect
        mine = self.array if not self.is_empty() else None
        if mine is None and other is None:
            rect = None
        elif mine is None:
            rect = _bounds(other)
        elif other is None or other.shape != mine.shape:
            rect = _bounds(mine != 0) if other is None else (0, 0, self.width, self.height)
        else:
            rect = _bounds((mine != 0) != other)
        self._diff_at = (self.version, other, rect)
        return rect

    # ------------------------------------------------------------------ changing
    def set_mask(self, mask: np.ndarray | None) -> None:
        """Replace the marks (e.g. from a saved session; not an undo step)."""
        if mask is None:
            self.array = None
        else:
            m = np.asarray(mask)
            if m.shape != (self.height, self.width):
                raise ValueError(f"mask {m.shape} for a {self.width}x{self.height} photo")
            self.array = (m != 0).astype(np.uint8)
        self._touch(None)
        self.edited.emit()

    def _ensure(self) -> np.ndarray:
        if self.array is None:
            self.array = np.zeros((self.height, self.width), np.uint8)
        return self.array

    def _touch(self, rect: Rect | None) -> None:
        self.version += 1
        self.changed.emit(rect)

    def write(self, rect: Rect, values: np.ndarray) -> None:
        """Put ``values`` (the rectangle's pixels) back (undo and redo)."""
        x0, y0, x1, y1 = rect
        self._ensure()[y0:y1, x0:x1] = values
        self._touch(rect)

    def begin(self, erase: bool, size: float) -> Stroke | None:
        """Start a stroke of round dabs ``size`` photo pixels across (None on an empty photo)."""
        if self.width <= 0 or self.height <= 0:
            return None
        return Stroke(self, erase, size)

    def propose(self, mask: np.ndarray, stack: QUndoStack, text: str = "Find damage") -> int:
        """Add ``mask`` (HxW, nonzero = damaged, e.g. what Find Damage found) to the marks as
        one undo step on ``stack``; returns how many pixels became marked (0: nothing new,
        no step)."""
        m = np.asarray(mask) != 0
        if m.shape != (self.height, self.width):
            raise ValueError(f"mask {m.shape} for a {self.width}x{self.height} photo")
        array = self._ensure()
        new = m & (array == 0)
        rect = _bounds(new)
        if rect is None:
            return 0
        x0, y0, x1, y1 = rect
        before = array[y0:y1, x0:x1].copy()
        after = before | new[y0:y1, x0:x1]
        self.write(rect, after)
        stack.push(DamageCommand(self, rect, before, after, text))
        self.edited.emit()
        return int(np.count_nonzero(new))

    def clear(self, stack: QUndoStack) -> bool:
        """Remove every mark as one undo step on ``stack``; False when nothing was marked."""
        rect = self.bounds()
        if rect is None:
            return False
        x0, y0, x1, y1 = rect
        before = self.array[y0:y1, x0:x1].copy()
        self.write(rect, 0)
        stack.push(DamageCommand(self, rect, before, np.zeros_like(before), "Clear damage marks"))
        self.edited.emit()
        return True


class Stroke:
    """One press-drag-release of the brush: dabs at each point, joined by lines."""

    def __init__(self, marks: DamageMarks, erase: bool, size: float) -> None:
        self.marks = marks
        self.erase = erase
        self.size = max(float(size), 1.0)
        self.value = 0 if erase else 1
        self._snapshot = marks._ensure().copy()
        self._last: tuple[float, float] | None = None
        self.rect: Rect | None = None

    def add(self, x: float, y: float) -> None:
        """Paint from the last point (or a dab) to (x, y), in photo pixels."""
        import cv2  # not at import time: the window shows before OpenCV loads

        marks = self.marks
        array = marks._ensure()
        r = self.size / 2.0
        px, py = self._last if self._last is not None else (x, y)
        self._last = (x, y)
        x0 = max(0, math.floor(min(px, x) - r) - 1)
        y0 = max(0, math.floor(min(py, y) - r) - 1)
        x1 = min(marks.width, math.ceil(max(px, x) + r) + 2)
        y1 = min(marks.height, math.ceil(max(py, y) + r) + 2)
        if x0 >= x1 or y0 >= y1:
            return
        # OpenCV draws with 4 fractional bits: exact sub-pixel dabs, round ends
        shift, f = 4, 16
        view = array[y0:y1, x0:x1]
        a = (round((px - x0 - 0.5) * f), round((py - y0 - 0.5) * f))
        b = (round((x - x0 - 0.5) * f), round((y - y0 - 0.5) * f))
        radius = max(0, round((r - 0.5) * f))
        cv2.circle(view, b, radius, self.value, -1, cv2.LINE_8, shift)
        if a != b:
            cv2.circle(view, a, radius, self.value, -1, cv2.LINE_8, shift)
            d = math.hypot(x - px, y - py)
            nx, ny = -(y - py) / d * (r - 0.5), (x - px) / d * (r - 0.5)
            quad = np.array(
                [
                    (a[0] + nx * f, a[1] + ny * f),
                    (b[0] + nx * f, b[1] + ny * f),
                    (b[0] - nx * f, b[1] - ny * f),
                    (a[0] - nx * f, a[1] - ny * f),
                ],
                np.int32,
            )
            cv2.fillConvexPoly(view, quad, self.value, cv2.LINE_8, shift)
        rect = (x0, y0, x1, y1)
        self.rect = _union(self.rect, rect)
        marks._touch(rect)

    def finish(self, stack: QUndoStack) -> bool:
        """End the stroke: one undo step on ``stack`` (False when it changed nothing)."""
        rect, self._last = self.rect, None
        if rect is None:
            return False
        x0, y0, x1, y1 = rect
        before = self._snapshot[y0:y1, x0:x1].copy()
        after = self.marks.array[y0:y1, x0:x1].copy()
        self._snapshot = None
        if np.array_equal(before, after):
            return False
        text = "Erase damage marks" if self.erase else "Mark damage"
        stack.push(DamageCommand(self.marks, rect, before, after, text))
        self.marks.edited.emit()
        return True

    def cancel(self) -> None:
        """Take the stroke back (Escape while painting, the photo closing)."""
        if self.rect is not None and self._snapshot is not None:
            x0, y0, x1, y1 = self.rect
            self.marks.write(self.rect, self._snapshot[y0:y1, x0:x1])
        self.rect, self._snapshot, self._last = None, None, None


class DamageCommand(QUndoCommand):
    """A stroke or a clear, already applied when pushed: the rectangle's pixels before and
    after, kept as packed bits (an eighth of the bytes: a long history of strokes across a
    big scan stays small)."""

    def __init__(
        self, marks: DamageMarks, rect: Rect, before: np.ndarray, after: np.ndarray, text: str
    ) -> None:
        super().__init__(text)
        self.marks, self.rect = marks, rect
        self._shape = before.shape
        self._before = np.packbits(before != 0)
        self._after = np.packbits(after != 0)
        self._applied = True

    @property
    def before(self) -> np.ndarray:
        return self._unpack(self._before)

    @property
    def after(self) -> np.ndarray:
        return self._unpack(self._after)

    def _unpack(self, bits: np.ndarray) -> np.ndarray:
        n = self._shape[0] * self._shape[1]
        return np.unpackbits(bits, count=n).reshape(self._shape)

    def redo(self) -> None:
        if self._applied:  # QUndoStack.push calls redo: the stroke is already painted
            self._applied = False
            return
        self.marks.write(self.rect, self.after)
        self.marks.edited.emit()

    def undo(self) -> None:
        self.marks.write(self.rect, self.before)
        self.marks.edited.emit()


def _bounds(mask: Any) -> Rect | None:
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask[ys[0] : ys[-1] + 1].any(axis=0))
    return (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
