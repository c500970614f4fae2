"""The document model: undoable face edits, selection, merge of slider steps, session order."""

from __future__ import annotations

import numpy as np
import pytest

from gpen_desktop.core.types import Face
from gpen_desktop.gui import export_files as export
from gpen_desktop.gui.state import PhotoDoc, PhotoList, PhotoStatus

A = Face(box=(10, 10, 60, 70), landmarks=((20, 30), (45, 30), (32, 45), (24, 58), (42, 58)))
B = Face(box=(100, 20, 150, 80))


@pytest.fixture
def doc(qapp):
    session = PhotoList()
    d = session.add(PhotoDoc(None, "test"))
    d.set_detected([A, B])
    yield d
    session.deleteLater()


def test_edits_are_undoable_and_signal(doc, qtbot):
    with qtbot.waitSignal(doc.facesChanged):
        doc.replace_face(0, A.with_(box=(12, 10, 62, 70)), "Move face 1")
    doc.add_face(Face(box=(0, 0, 20, 20)))
    assert doc.selected == 2
    doc.remove_face(1)
    doc.set_included(0, False)
    assert [f.box for f in doc.faces] == [(12, 10, 62, 70), (0, 0, 20, 20)]
    assert doc.faces[0].include is False
    for _ in range(4):
        doc.undo_stack.undo()
    assert doc.faces == (A, B)
    assert doc.undo_stack.count() == 4
    doc.undo_stack.redo()
    assert doc.faces[0].box == (12, 10, 62, 70)


def test_blend_steps_merge_and_detection_resets_history(doc):
    for v in (0.9, 0.8, 0.7):
        doc.set_face_blend(1, v)
    assert doc.undo_stack.count() == 1 and doc.faces[1].blend == pytest.approx(0.7)
    doc.undo_stack.undo()
    assert doc.faces[1].blend is None
    doc.set_detected([B])
    assert doc.undo_stack.count() == 0 and doc.faces == (B,)


def test_status_text_and_stale_result(doc):
    doc.set_status(PhotoStatus.FAILED, "no faces to restore")
    assert doc.status_text() == "Failed: no faces to restore"
    doc.set_result(_Result([_FR(0, 32), _FR(1, 32)]), None, doc.faces)
    assert doc.status_text() == "Restored" and doc.unsaved
    doc.set_included(0, False)  # compositing, not network work
    assert not doc.result_is_stale and doc.faces_needing_restore() == []
    doc.replace_face(1, B.with_(box=(101, 20, 150, 80)), "Move face 2")
    assert doc.result_is_stale and "needs restore" in doc.status_text()
    assert doc.faces_needing_restore() == [1]
    doc.mark_saved()
    assert not doc.unsaved
    doc.undo_stack.undo()
    assert doc.unsaved and not doc.result_is_stale


def test_kept_crops_follow_their_faces_and_the_reuse_decision(doc):
    from gpen_desktop.core.pipeline import RestoreOptions

    opts = RestoreOptions(model_path="a.pth")
    doc.set_result(_Result([_FR(0, 32), _FR(1, 32)]), None, doc.faces, opts)
    doc.remove_face(0)  # face B is now face 0: its crop goes with it
    assert doc.kept_crop(0) is not None and doc.face_result(0).index == 1
    assert [f.include for f in doc.composite_faces()] == [False, True]
    assert set(doc.reuse_for(doc.faces, opts)) == {0}
    assert doc.reuse_for(doc.faces, opts, only_face=0) == {}
    other_model = RestoreOptions(model_path="b.pth")
    assert doc.reuse_for(doc.faces, other_model) == {}
    assert doc.faces_needing_restore(other_model) == [0]
    assert doc.faces_needing_restore(RestoreOptions(model_path="a.pth", blend=0.2)) == []


def test_session_current_and_removal(qapp):
    session = PhotoList()
    a, b, c = (session.add(PhotoDoc(None, n)) for n in "abc")
    assert session.current is a
    session.step(-1)
    assert session.current is c
    session.remove(c)
    assert session.current is b and len(session) == 2
    session.deleteLater()


class _Result:
    def __init__(self, faces):
        self.faces = faces


class _FR:
    def __init__(self, i, s):
        self.index = i
        self.aligned_input = np.zeros((s, s, 3), np.uint8)
        self.restored = np.full((s, s, 3), 255, np.uint8)


def test_results_map_back_to_face_numbers(doc):
    # face 0 excluded: the pipeline's only result carries face 1's position
    fr = _FR(1, 32)
    doc.set_result(_Result([fr]), None, doc.faces)
    assert doc.face_result(0) is None and doc.face_result(1) is fr
    assert doc.face_results() == [(1, fr)]
    assert [p.name for p in export.face_targets("x", doc.face_results(), export.Path("."))] == [
        "x_face02.png",
        "x_faces_before_after.png",
    ]


def test_before_after_strip_layout():
    strip = export.before_after_strip([(0, _FR(0, 32)), (1, _FR(1, 32))], gap=4)
    assert strip.shape == (32 * 2 + 4, 32 * 2 + 4, 3)
    assert strip[0, 0].tolist() == [0, 0, 0] and strip[0, -1].tolist() == [255, 255, 255]
    pair = export.side_by_side(np.zeros((10, 20, 3), np.uint8), np.zeros((20, 40, 3), np.uint8))
    assert pair.shape == (20, 40 + 8 + 40, 3)


def test_task_pools_are_seen_by_the_thread_guard(qapp):
    """``no_leftover_threads`` finds running task pools (and stops them) like workers."""
    import threading

    from gpen_desktop.gui.worker import BackgroundTask, TaskPool, live_pools

    pool = TaskPool(1, "leftover")
    gate = threading.Event()
    outcome = []
    task = BackgroundTask(lambda t: gate.wait(5), "waits")
    task.succeeded.connect(outcome.append)
    pool.start(task)
    assert pool in live_pools() and task.running
    gate.set()
    assert task.wait(5000)
    qapp.processEvents()  # the outcome arrives on this (the GUI) thread
    assert outcome == [True]
    pool.shutdown()
    assert pool not in live_pools()


def test_faces_are_numbered_in_reading_order_and_keep_their_numbers(qapp):
    from gpen_desktop.gui.state import reading_order

    def at(x, y):
        return Face(box=(x, y, x + 40, y + 50))

    # two rows (the second face of the top row sits a little lower), given shuffled
    top = [at(10, 10), at(100, 18), at(200, 5)]
    bottom = [at(30, 120), at(150, 115)]
    shuffled = [bottom[1], top[2], bottom[0], top[0], top[1]]
    assert reading_order(shuffled) == top + bottom
    session = PhotoList()
    doc = session.add(PhotoDoc(None, "group"))
    doc.set_detected(shuffled)
    assert doc.faces == tuple(top + bottom) and doc.numbers == (1, 2, 3, 4, 5)
    doc.remove_face(1)
    assert doc.numbers == (1, 3, 4, 5) and doc.undo_stack.undoText() == "Delete face 2"
    doc.add_face(at(300, 300))
    assert doc.numbers == (1, 3, 4, 5, 6)
    doc.set_included(1, False)
    assert doc.numbers == (1, 3, 4, 5, 6) and "face 3" in doc.undo_stack.undoText()
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.numbers == (1, 2, 3, 4, 5)
    session.deleteLater()


def test_a_group_photos_rows_read_left_to_right(qapp):
    """Regression: on a 1927 group photo (faces 36-55 px, rows not quite level) the top row
    read 1, 3, 9, 10, 11, 4, 5, 6, 7, 2, 8."""
    import random

    from gpen_desktop.gui.state import reading_order

    rng = random.Random(3)
    rows = []
    for row, y in enumerate((40, 130, 230)):
        faces = []
        for i in range(11 - row):
            size = rng.uniform(36, 55)
            top = y + rng.uniform(-0.35, 0.35) * size  # heads higher and lower in a row
            x = 20 + i * 70 + rng.uniform(-8, 8)
            faces.append(Face(box=(x, top, x + size * 0.8, top + size)))
        rows.append(faces)
    expected = [f for row in rows for f in row]
    shuffled = expected[:]
    rng.shuffle(shuffled)
    assert reading_order(shuffled) == expected


def test_a_face_given_its_own_model_needs_restoring(doc):
    from gpen_desktop.core.pipeline import RestoreOptions

    opts = RestoreOptions(model_path="a.pth")
    doc.set_result(_Result([_FR(0, 32), _FR(1, 32)]), None, doc.faces, opts)
    doc.replace_face(0, A.with_(model="b.pth"), "Face 1 model")
    assert doc.faces_needing_restore(opts) == [0] and doc.kept_crop(0) is None
    assert doc.faces_needing_restore(
        RestoreOptions(model_path="a.pth", models_by_size=((512, "c.pth"),))
    ) == [0, 1]
