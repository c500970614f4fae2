"""The document model: undoable face edits, selection, merge of slider steps, session order."""

from __future__ import annotations

import numpy as np
import pytest

from gpen_desktop.core.types import Face
from gpen_desktop.gui import export
from gpen_desktop.gui.state import PhotoDoc, PhotoStatus, Session

A = Face(box=(10, 10, 60, 70), landmarks=((20, 30), (45, 30), (32, 45), (24, 58), (42, 58)))
B = Face(box=(100, 20, 150, 80))


@pytest.fixture
def doc(qapp):
    session = Session()
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
    doc.set_result(object(), None, doc.faces)
    assert doc.status_text() == "Restored"
    doc.set_included(0, False)
    assert doc.result_is_stale and "edited since" in doc.status_text()


def test_session_current_and_removal(qapp):
    session = Session()
    a, b, c = (session.add(PhotoDoc(None, n)) for n in "abc")
    assert session.current is a
    session.step(-1)
    assert session.current is c
    session.remove(c)
    assert session.current is b and len(session) == 2
    session.deleteLater()


class _FR:
    def __init__(self, i, s):
        self.index = i
        self.aligned_input = np.zeros((s, s, 3), np.uint8)
        self.restored = np.full((s, s, 3), 255, np.uint8)


def test_results_map_back_to_face_numbers(doc):
    # face 0 excluded: the pipeline's only result carries face 1's position
    fr = _FR(1, 32)
    doc.set_result(type("R", (), {"faces": [fr]})(), None, doc.faces)
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
