"""A randomized test of the real window (Hypothesis stateful testing).

Rules open photos (some with a saved session, answered either way), restore, restore all,
cancel mid-run, change blend (photo and face), exclude, colour match, move boxes and
landmarks, draw and delete faces, paint and undo/redo damage marks, change any option the
Settings panel shows (from the option table), switch photos, Save / Save As / Save Session
with every answer of every question, Close Photo / Quit with every answer, Detect Again.

After every step the invariants hold: no error message names an exception or says
"Unexpected"; the event loop goes idle within a bounded number of turns (no task left
pending, a started restore finishes or is cancelled); options of one photo never change when
another is edited; unsaved work is never dropped without a "Discard" answer; and what Save
writes is what the canvas shows.

``make test`` runs a bounded profile with a fixed seed; ``GPEN_LONG_TESTS=1`` runs hundreds
of examples (marked slow).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import close_now
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from PySide6.QtWidgets import QComboBox

from gpen_desktop.core.imageio import load_photo
from gpen_desktop.core.options import OPTIONS, PHOTO
from gpen_desktop.core.types import Face
from gpen_desktop.gui import jobs
from gpen_desktop.gui.qimage import rgb_from_qimage

EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception|Interrupt)\b|Unexpected|Traceback")
#: the photo options the Settings panel shows, with the values a rule may pick: the option
#: table's own choices (files are left to the weights scan; blend at a few points)
PANEL_CHOICES = {
    o.name: o.values if o.values else (False, True) if o.type is bool else (0.0, 0.35, 0.8, 1.0)
    for o in OPTIONS
    if o.panel
    and o.scope == PHOTO
    and o.type in (str, int, float, bool)
    and (o.values or o.type in (bool, float))
}
N_PHOTOS = 3
FIND_ROW = [0]  # the row the Find Damage stub marks (set by the rule)
SIZE = 160


def _bounded(examples: int, steps: int, seed: int | None):
    kwargs = dict(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=seed is not None,
        database=None,
    )
    return settings(**kwargs)


@pytest.fixture(scope="module")
def small_photos(tmp_path_factory, astronaut):
    """Three small photos with one face each (the astronaut, tinted differently)."""
    import cv2

    folder = tmp_path_factory.mktemp("machine-photos")
    small = cv2.resize(astronaut[:256, 96:352], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    paths = []
    for i in range(N_PHOTOS):
        tinted = np.clip(small.astype(int) + (i * 12, -i * 6, i * 3), 0, 255).astype(np.uint8)
        path = folder / f"p{i}.png"
        cv2.imwrite(str(path), tinted[:, :, ::-1])
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def small_face(small_photos):
    """The face the detector finds on the small photos (found once, then stubbed)."""
    from gpen_desktop.core.faces.detect import detect_faces

    photo = load_photo(small_photos[0])
    found = detect_faces(photo.rgb8(), detector="dlib")
    if found:
        face = found[0]
        return Face(box=tuple(face.box), landmarks=face.landmarks)
    s = SIZE / 256  # the astronaut's face in the crop, by hand
    box = (40 * s * 2, 30 * s * 2, 95 * s * 2, 100 * s * 2)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w = box[2] - box[0]
    points = ((cx - w / 5, cy - w / 8), (cx + w / 5, cy - w / 8), (cx, cy + w / 20),
              (cx - w / 6, cy + w / 4), (cx + w / 6, cy + w / 4))  # fmt: skip
    return Face(box=box, landmarks=points)


def _points_in(box):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    rel = ((0.33, 0.4), (0.67, 0.4), (0.5, 0.58), (0.37, 0.75), (0.63, 0.75))
    return tuple((x0 + a * w, y0 + b * h) for a, b in rel)


def _machine(qtbot, aloop, until, weights, photos, face, questions, tmp_path):
    class Editor(RuleBasedStateMachine):
        """The window as a person drives it; ``self.expected`` is each photo's options as
        the rules set them, ``self.dropped`` unsaved work closed with each answer."""

        def __init__(self) -> None:
            super().__init__()
            questions.asked.clear()
            questions.answers.update(questions.DEFAULTS)
            self.window = self.new_window()
            self.expected: dict = {}
            self.closed = False
            self.out = Path(tempfile.mkdtemp(prefix="out", dir=tmp_path))
            for p in photos:  # no session left over from an earlier example
                p.with_name(p.name + ".gpen.json").unlink(missing_ok=True)
                p.with_name(p.name + ".damage.png").unlink(missing_ok=True)
            self.saves = 0

        # ------------------------------------------------------------------ helpers
        def new_window(self):
            """A window as the app makes it (not handed to qtbot: the machine closes it)."""
            from gpen_desktop.gui.main_window import MainWindow

            window = MainWindow(weights_dir=str(weights))
            window.resize(1280, 820)
            window.show()
            self.run(until(lambda: window.options_panel._scanned, 60, "the model scan"))
            return window

        def run(self, coro, timeout: float = 60.0):
            return aloop.run_until_complete(asyncio.wait_for(coro, timeout))

        def settle(self) -> None:
            """Let the loop go idle: every task of the window done within bounded turns."""
            w = self.window
            self.run(until(lambda: all(t.done() for t in w._tasks), 60, "the loop to go idle"))

        @property
        def doc(self):
            return None if self.closed else self.window.session.current

        def docs(self):
            return [] if self.closed else list(self.window.session.docs)

        def note_options(self) -> None:
            for d in self.docs():
                self.expected[d] = d.options

        def set_answer(self, name, value) -> None:
            questions.answers[name] = value

        def close_with(self, answer: str, coro_fn) -> None:
            # unsaved work, and whether "Save…" can save it without a file dialog (a result
            # saved before goes to the same file; edits without a result go to a session)
            before = {d: d.unsaved for d in self.docs()}
            quiet = {d: d.saved_path is not None or not d.has_result for d in self.docs()}
            self.set_answer("unsaved", answer)
            self.set_answer("save_file", "")  # "Save…" then cancelling the file dialog
            self.run(coro_fn(), 120)
            self.settle()
            for d, unsaved in before.items():
                gone = self.closed or d not in self.window.session.docs
                if gone and unsaved:
                    assert answer == "discard" or (answer == "save" and quiet[d]), (
                        f"{d.name}: unsaved work dropped on {answer!r}"
                    )
                if gone:
                    self.expected.pop(d, None)

        # ------------------------------------------------------------------ opening
        @precondition(lambda self: not self.closed)
        @rule(i=st.integers(0, N_PHOTOS - 1))
        def open_photo(self, i):
            self.run(self.window.open_paths_async([photos[i]]), 60)
            self.settle()
            self.note_options()

        @precondition(lambda self: not self.closed)
        @rule(i=st.integers(0, N_PHOTOS - 1), use=st.booleans())
        def open_photo_with_a_session(self, i, use):
            from gpen_desktop.core.session import make_session, save_session

            path = photos[i]
            if self.window.session.find(path) is not None:
                return
            edited = face.with_(box=tuple(v + 3 for v in face.box), manual=True)
            save_session(make_session(path, [edited]))
            self.set_answer("open_session", use)
            docs = self.run(self.window.open_paths_async([path]), 60)
            self.settle()
            doc = docs[0]
            if use:
                assert doc.faces == (edited,)
            path.with_name(path.name + ".gpen.json").unlink(missing_ok=True)
            self.note_options()

        @precondition(lambda self: len(self.docs()) > 1)
        @rule(step=st.sampled_from([1, -1]))
        def switch_photo(self, step):
            self.window.session.step(step)

        # ------------------------------------------------------------------ restoring
        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule()
        def restore(self):
            self.run(self.window.restore_current(), 120)
            self.settle()

        @precondition(lambda self: bool(self.docs()))
        @rule()
        def restore_all(self):
            self.run(self.window.restore_all(), 180)
            self.settle()

        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule(turns=st.integers(0, 3))
        def cancel_mid_run(self, turns):
            w = self.window
            task = w.spawn(w.restore_current())
            for _ in range(turns):
                self.run(asyncio.sleep(0.01))
            w.cancel()
            self.run(until(task.done, 60, "the cancelled restore"))
            self.settle()
            assert not w.controller.running

        # ------------------------------------------------------------------ options
        @precondition(lambda self: not self.closed)
        @rule(name=st.sampled_from(sorted(PANEL_CHOICES)), data=st.data())
        def change_option(self, name, data):
            value = data.draw(st.sampled_from(PANEL_CHOICES[name]))
            control = self.window.options_panel.fields()[name]
            if isinstance(control, QComboBox):
                index = control.findData(value)
                if index < 0 or not control.model().item(index).isEnabled():
                    return  # not offered here (no weights for it): a person can't pick it
            others = {d: d.options for d in self.docs() if d is not self.doc}
            self.window.options_panel.set_values({name: value})
            self.settle()
            for d, options in others.items():
                assert d.options == options, f"{name} on one photo changed {d.name}'s options"
            self.note_options()

        @precondition(lambda self: self.doc is not None and len(self.docs()) > 1)
        @rule()
        def use_for_all(self):
            self.window.use_options_for_all()
            self.settle()
            self.note_options()

        # ------------------------------------------------------------------ faces
        @precondition(lambda self: self.doc is not None and bool(self.doc.faces))
        @rule(data=st.data())
        def edit_a_face(self, data):
            doc = self.doc
            i = data.draw(st.integers(0, len(doc.faces) - 1))
            f = doc.faces[i]
            kind = data.draw(st.sampled_from(["move", "landmark", "blend", "exclude", "delete"]))
            if kind == "move":
                dx = data.draw(st.integers(-6, 6))
                box = tuple(v + dx for v in f.box)
                self.window._on_face_edited(i, f.with_(box=box), "Move face")
                self.run(asyncio.sleep(0.01))
            elif kind == "landmark" and f.landmarks:
                points = list(f.landmarks)
                points[0] = (points[0][0] + 2, points[0][1] - 1)
                self.window._on_face_edited(i, f.with_(landmarks=tuple(points)), "Move point")
                self.run(asyncio.sleep(0.01))
            elif kind == "blend":
                doc.set_face_blend(i, data.draw(st.sampled_from([None, 0.0, 0.5])))
            elif kind == "exclude":
                doc.set_included(i, not f.include)
            else:
                doc.remove_face(i)
            self.settle()

        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule(dx=st.integers(0, 60))
        def draw_a_face(self, dx):
            self.run(self.window.add_face((10.0 + dx, 20.0, 70.0 + dx, 90.0)), 60)
            self.settle()

        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule(x=st.integers(5, SIZE - 5), y=st.integers(5, SIZE - 5))
        def brush_stroke(self, x, y):
            stroke = self.doc.damage.begin(False, 6)
            stroke.add(x, y)
            stroke.add(min(SIZE - 1, x + 20), y)
            stroke.finish(self.doc.undo_stack)
            self.settle()

        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule(row=st.integers(0, SIZE - 1))
        def find_damage(self, row):
            """Edit ▸ Find Damage (the stub proposes one scratch along ``row``): what is new
            is one undo step; nothing new is a plain message and no step."""
            doc = self.doc
            FIND_ROW[0] = row
            old = doc.damage.mask()  # None: no marks yet
            h, w = doc.photo.height, doc.photo.width
            row = min(row, h - 1)
            marked = np.zeros((h, w), bool) if old is None else old.copy()
            before = doc.undo_stack.index()
            added = self.run(self.window.find_damage(), 60)
            self.settle()
            if doc is not self.doc:
                return
            fresh = int(np.count_nonzero(~marked[row]))
            assert added == fresh
            assert doc.undo_stack.index() == before + (1 if fresh else 0)
            assert doc.damage.mask()[row].all()

        @precondition(lambda self: self.doc is not None)
        @rule(undo=st.booleans())
        def undo_or_redo(self, undo):
            stack = self.doc.undo_stack
            (stack.undo if undo else stack.redo)()
            self.settle()

        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule(answer=st.booleans())
        def detect_again(self, answer):
            self.set_answer("detect_again", answer)
            self.run(self.window.detect_again(), 60)
            self.settle()

        # ------------------------------------------------------------------ saving
        @precondition(lambda self: self.doc is not None and self.doc.has_result)
        @rule(
            stale=st.sampled_from(["restore", "save", "cancel"]),
            again=st.booleans(),
            replace=st.booleans(),
        )
        def save(self, stale, again, replace):
            w, doc = self.window, self.doc
            self.saves += 1
            target = self.out / (f"s{self.saves % 2 if again else self.saves}.png")
            self.set_answer("stale_save", stale)
            self.set_answer("overwrite", replace)
            existed = target.exists()
            before = target.read_bytes() if existed else None
            written = self.run(w.save(path=target), 120)
            self.settle()
            if written is None:
                if existed:
                    assert target.read_bytes() == before  # refused: untouched
                else:
                    assert not target.exists()
                return
            saved = load_photo(written).rgb8()
            assert np.array_equal(saved, rgb_from_qimage(doc.result_image)), "Save != shown"

        @precondition(lambda self: self.doc is not None and self.doc.has_result)
        @rule(name=st.sampled_from(["", "as"]), stale=st.sampled_from(["save", "cancel"]))
        def save_as(self, name, stale):
            self.set_answer("save_file", str(self.out / name) if name else "")
            self.set_answer("stale_save", stale)
            self.set_answer("overwrite", True)
            self.run(self.window.save(ask=True), 120)
            self.settle()

        @precondition(lambda self: self.doc is not None and self.doc.is_loaded)
        @rule()
        def save_session(self):
            doc = self.doc
            path = self.run(self.window.save_session(), 60)
            self.settle()
            assert (
                path is not None
                and path.is_file()
                and not doc.undo_stack.count()
                or (doc.undo_stack.isClean())
            )
            path.unlink()  # the next open of this photo is not asked about it

        # ------------------------------------------------------------------ closing
        @precondition(lambda self: self.doc is not None)
        @rule(answer=st.sampled_from(["save", "discard", "cancel"]))
        def close_photo(self, answer):
            self.close_with(answer, self.window.close_photo)

        @precondition(lambda self: not self.closed)
        @rule(answer=st.sampled_from(["save", "discard", "cancel"]))
        def quit(self, answer):
            self.close_with(answer, self._quit)

        async def _quit(self):
            closed = await self.window.quit()
            if closed:
                self.closed = True
            return closed

        @precondition(lambda self: self.closed)
        @rule()
        def start_again(self):
            self.window.deleteLater()
            self.window = self.new_window()
            self.closed = False
            self.expected = {}

        # ------------------------------------------------------------------ invariants
        @invariant()
        def messages_in_plain_words(self):
            for level, text in self.window.notifier.history:
                if level == "error":
                    assert not EXCEPTION_NAME.search(text), text

        @invariant()
        def idle_and_bounded(self):
            """No restore left running, and every task of the window ends within a bounded
            time (background work that a timer starts — a recovery copy written a few
            seconds after a change — may begin between two rules; it must finish)."""
            if not self.closed:
                assert not self.window.controller.running
                self.settle()

        @invariant()
        def each_photo_keeps_its_options(self):
            for d in self.docs():
                if d in self.expected:
                    assert d.options == self.expected[d], f"{d.name}'s options changed"
                    assert set(d.options.only(PHOTO)) == {
                        o.name for o in OPTIONS if o.scope == PHOTO
                    }

        def teardown(self):
            if not self.closed:
                close_now(self.window)
                self.window.deleteLater()
            self.run(asyncio.sleep(0))
            for p in photos:
                p.with_name(p.name + ".gpen.json").unlink(missing_ok=True)
                p.with_name(p.name + ".damage.png").unlink(missing_ok=True)

    return Editor


@pytest.fixture
def stub_detection(monkeypatch, small_face):
    """Detection and landmark prediction answer at once (the real ones are tested
    elsewhere): the machine spends its time on the editor, not on dlib."""

    def detect(self, ctx):
        return [small_face] if self.photo.width == SIZE else []

    def landmarks(self, ctx):
        return Face(box=tuple(self.box), landmarks=_points_in(self.box))

    def find_damage(self, ctx):
        from gpen_desktop.core.damage_detect import DamageResult

        mask = np.zeros((self.photo.height, self.photo.width), bool)
        mask[min(FIND_ROW[0], self.photo.height - 1)] = True
        return DamageResult(mask, scratches=1)

    monkeypatch.setattr(jobs.DetectRequest, "run", detect)
    monkeypatch.setattr(jobs.LandmarksRequest, "run", landmarks)
    monkeypatch.setattr(jobs.FindDamageRequest, "run", find_damage)


def _run(qtbot, aloop, until, weights, photos, face, questions, tmp_path, examples, steps, seed):
    machine = _machine(qtbot, aloop, until, weights, photos, face, questions, tmp_path)
    run_state_machine_as_test(machine, settings=_bounded(examples, steps, seed))


def test_the_editor_never_gets_stuck(
    qtbot, aloop, until, weights, small_photos, small_face, questions, tmp_path, stub_detection
):
    _run(qtbot, aloop, until, weights, small_photos, small_face, questions, tmp_path,
         examples=10, steps=25, seed=0)  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("GPEN_LONG_TESTS"), reason="set GPEN_LONG_TESTS=1")
@pytest.mark.timeout(3600)
def test_the_editor_never_gets_stuck_long(
    qtbot, aloop, until, weights, small_photos, small_face, questions, tmp_path, stub_detection
):
    _run(qtbot, aloop, until, weights, small_photos, small_face, questions, tmp_path,
         examples=300, steps=40, seed=None)  # fmt: skip
