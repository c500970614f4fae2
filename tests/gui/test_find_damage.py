"""Edit ▸ Find Damage: the detector runs on the worker, its marks land in the photo's damage
layer as one undo step (undo removes them all, redo brings them back), the brush edits them,
and a clean photo gets a plain message."""

from __future__ import annotations

import numpy as np
from gui_helpers import open_photo, run
from PIL import Image

from gpen_desktop.core import damage_bench as bench


def _scan(tmp_path, damaged: bool = True):
    h, w = 200, 240
    yy, xx = np.mgrid[0:h, 0:w]
    base = (100 + 60 * xx / w + 15 * np.sin(yy / 25)).astype(np.uint8)
    photo = np.repeat(base[:, :, None], 3, 2)
    r = bench.render_damage(photo, 1, [(3, 70, False)])
    path = tmp_path / ("scan.png" if damaged else "clean.png")
    Image.fromarray(r.image if damaged else photo).save(path)
    return path, r.groups["w3 c70"]


def test_find_damage_is_one_undo_step_and_the_brush_edits_it(window, aloop, until, tmp_path):
    path, truth = _scan(tmp_path)
    doc = open_photo(window, aloop, until, path)
    assert window.act_find_damage.isEnabled() and doc.damage.is_empty()
    steps = doc.undo_stack.count()
    added = run(aloop, window.find_damage())
    assert added > 0 and doc.undo_stack.count() == steps + 1
    assert doc.undo_stack.undoText() == "Find damage"
    found = doc.damage.mask()
    assert (found & truth).sum() >= 0.8 * truth.sum()
    assert window.canvas.tool == "brush" and window.brush_bar.isVisible()
    window.act_undo.trigger()
    assert doc.damage.is_empty()
    window.act_redo.trigger()
    assert np.array_equal(doc.damage.mask(), found)
    # the brush erases part of the proposal, as its own step
    y, x = np.argwhere(found)[len(np.argwhere(found)) // 2]
    stroke = doc.damage.begin(erase=True, size=9)
    stroke.add(float(x) + 0.5, float(y) + 0.5)
    assert stroke.finish(doc.undo_stack)
    assert not doc.damage.array[y, x] and doc.undo_stack.count() == steps + 2
    # found again: only what is new is added (the erased spot comes back), one more step
    assert run(aloop, window.find_damage()) > 0 and doc.undo_stack.count() == steps + 3


def test_a_clean_photo_gets_a_plain_message(window, aloop, until, tmp_path):
    path, _truth = _scan(tmp_path, damaged=False)
    doc = open_photo(window, aloop, until, path)
    window.brush_bar.sensitivity.setValue(30)
    assert window.damage_sensitivity == 0.3
    assert run(aloop, window.find_damage()) == 0
    assert doc.damage.is_empty() and doc.undo_stack.undoText() != "Find damage"
    assert "No scratches, dust or creases found" in window.banner.text
