"""The Settings' "Old photos" group (background super-resolution model, damage filling) and
the per-face model of the face panel, with tiny random-weight GPEN and RRDBNet files."""

from __future__ import annotations

import shutil

import pytest
from gui_helpers import close_now, make_window, run, two_faces
from PySide6.QtCore import Qt

from gpen_desktop.core.models import scan_weights
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.panels.options_panel import OptionsPanel

OPENCV_LABEL = "Faces: OpenCV (no GPEN-Inpainting model in weights/ — Model manager)"


@pytest.fixture(scope="module")
def old_weights(tmp_path_factory, tiny_checkpoint, tiny_checkpoint_128):
    """A weights folder: 64 and 128 px restorers, a GPEN inpainting file and a ×2 upscaler."""
    from gpen_desktop.core.gpen import random_checkpoint
    from gpen_desktop.core.superres import random_sr_checkpoint

    folder = tmp_path_factory.mktemp("old-weights")
    shutil.copy(tiny_checkpoint, folder / "tiny-64.pth")
    shutil.copy(tiny_checkpoint_128, folder / "tiny-128.pth")
    random_checkpoint(folder / "tiny-inpainting-64.pth", 64, seed=5)
    random_sr_checkpoint(folder / "tiny_x2.pth", 2, seed=2)
    return folder


@pytest.fixture(scope="module")
def found(old_weights):
    return scan_weights([old_weights])


def make_panel(qtbot, found) -> OptionsPanel:
    panel = OptionsPanel()
    qtbot.addWidget(panel)
    panel.set_models(found, "weights")
    return panel


def items(combo) -> list[tuple[str, object, bool]]:
    return [
        (combo.itemText(i), combo.itemData(i), combo.model().item(i).isEnabled())
        for i in range(combo.count())
    ]


def test_background_models_and_inpainting_come_from_the_weights_scan(qtbot, found, old_weights):
    panel = make_panel(qtbot, found)
    sr = str(old_weights / "tiny_x2.pth")
    inpainter = str(old_weights / "tiny-inpainting-64.pth")
    # Background: resampling, then each upscaler with its scale and file size
    (first, second) = items(panel.sr_model)
    assert first == ("Resample only", "", True)
    assert second[1] == sr and second[0].startswith("tiny ×2 · ") and second[0].endswith("kB")
    tip = panel.sr_model.itemData(1, Qt.ItemDataRole.ToolTipRole)
    assert sr in tip and "ESRGAN x2 super-resolution" in tip
    # the inpainting checkpoint is listed in Model but cannot be chosen as the restorer
    listed = {data: (text, enabled) for text, data, enabled in items(panel.model) if text}
    assert listed[str(old_weights / "tiny-64.pth")][1]
    assert listed[str(old_weights / "tiny-128.pth")][1]
    blocked = next(i for i, (t, _d, _e) in enumerate(items(panel.model)) if "damage strokes" in t)
    assert not panel.model.model().item(blocked).isEnabled()
    assert panel.model.itemText(blocked) == "tiny-inpainting-64 (for damage strokes)"
    assert panel.model.itemData(blocked) == ""
    assert "damage strokes" in panel.model.itemData(blocked, Qt.ItemDataRole.ToolTipRole)
    assert inpainter in panel.model.itemData(blocked, Qt.ItemDataRole.ToolTipRole)
    assert "inpainting" not in panel.model_path()
    # faces under strokes get the inpainting model found
    assert panel.inpaint_label() == "Faces: tiny-inpainting-64 (found in weights)"
    options = panel.options()
    assert options.inpaint_model == inpainter and options.sr_model == ""
    assert (options.inpaint_method, options.inpaint_mode) == ("telea", "inpaint+restore")
    # the damage-filling choices
    panel.inpaint_method.setCurrentIndex(panel.inpaint_method.findData("ns"))
    panel.inpaint_mode.setCurrentIndex(panel.inpaint_mode.findData("inpaint"))
    assert panel.inpaint_method.currentText() == "OpenCV Navier–Stokes"
    assert panel.inpaint_mode.currentText() == "Inpaint only"
    options = panel.options()
    assert (options.inpaint_method, options.inpaint_mode) == ("ns", "inpaint")


def test_output_scale_follows_the_background_model_and_is_never_invalid(qtbot, found, old_weights):
    panel = make_panel(qtbot, found)
    sr = str(old_weights / "tiny_x2.pth")
    scales = lambda: [panel.upscale.itemData(i) for i in range(panel.upscale.count())]  # noqa: E731
    assert scales() == [1, 2, 4]  # no "Model's own" without a model
    # choosing a model at 1×: its own scale
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(sr))
    assert scales() == [0, 1, 2, 4]
    assert panel.upscale.currentText() == "Model's own (×2)"
    options = panel.options()
    assert options.sr_model == sr and options.upscale == 0
    options.check()
    # back to resampling: "Model's own" goes and the scale is back to 1× (regression: it
    # stayed at ×2, a silent enlargement)
    panel.sr_model.setCurrentIndex(0)
    assert scales() == [1, 2, 4] and panel.options().upscale == 1
    # a scale chosen by hand is kept when a model is switched on
    panel.upscale.setCurrentIndex(panel.upscale.findData(4))
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(sr))
    assert panel.options().upscale == 4 and panel.options().sr_model == sr
    # every pair the panel can show is a valid RestoreOptions
    for s in range(panel.sr_model.count()):
        panel.sr_model.setCurrentIndex(s)
        for u in range(panel.upscale.count()):
            panel.upscale.setCurrentIndex(u)
            panel.options().check()


def test_choices_are_remembered_and_a_missing_model_falls_back(qtbot, found, old_weights):
    sr = str(old_weights / "tiny_x2.pth")
    store = cfg.app_settings()
    panel = make_panel(qtbot, found)
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(sr))
    panel.inpaint_method.setCurrentIndex(panel.inpaint_method.findData("ns"))
    panel.inpaint_mode.setCurrentIndex(panel.inpaint_mode.findData("inpaint"))
    panel.save_settings(store)
    store.sync()
    assert cfg.SR_MODEL.read(store) == sr and cfg.option_setting("upscale").read(store) == 0
    assert cfg.INPAINT_METHOD.read(store) == "ns" and cfg.INPAINT_MODE.read(store) == "inpaint"

    again = OptionsPanel()
    qtbot.addWidget(again)
    again.load_settings(cfg.app_settings())
    # before the scan the remembered file is shown by name, with its own scale
    assert again.sr_path() == sr and again.options().upscale == 0
    again.set_models(found, "weights")
    options = again.options()
    assert (options.sr_model, options.upscale) == (sr, 0)
    assert (options.inpaint_method, options.inpaint_mode) == ("ns", "inpaint")
    assert again.upscale.currentText() == "Model's own (×2)"
    # the file is gone: "Resample only", at a valid scale; no inpainter: OpenCV
    gone = [f for f in found if f.kind != "superres" and "inpainting" not in f.path.name]
    again.set_models(gone, "weights")
    options = again.options()
    assert again.sr_model.currentText() == "Resample only" and options.sr_model == ""
    assert options.upscale == 1 and again.upscale.findData(0) < 0
    options.check()
    assert again.inpaint_label() == OPENCV_LABEL and options.inpaint_model == ""

    # a session naming a background model that is not there shows "Resample only" too
    again.set_models(found, "weights")
    again.set_values({"sr_model": "/nowhere/x4.pth", "upscale": 0, "inpaint_model": "/x.pth"})
    options = again.options()
    assert (options.sr_model, options.upscale) == ("", 1)
    assert options.inpaint_model == str(old_weights / "tiny-inpainting-64.pth")
    again.set_values({"sr_model": sr, "upscale": 0})
    assert (again.options().sr_model, again.options().upscale) == (sr, 0)


def test_a_face_gets_its_own_model_undoably_and_the_restore_uses_it(
    qtbot, aloop, until, old_weights, photo
):
    small, big = str(old_weights / "tiny-64.pth"), str(old_weights / "tiny-128.pth")
    window = make_window(qtbot, aloop, until, old_weights)
    try:
        options = window.options_panel
        options.model.setCurrentIndex(options.model.findData(small))
        assert window.run_options().model_path == small
        doc = two_faces(window, aloop, until, photo, select=1)
        panel = window.face_panel
        combo = panel.model
        assert panel.detail.title() == "Face 2"
        listed = [combo.itemData(i) for i in range(combo.count())]
        assert combo.itemText(0) == "Photo's choice" and combo.currentIndex() == 0
        assert sorted(listed[1:]) == sorted([small, big])  # restorers only, no inpainting

        combo.setCurrentIndex(combo.findData(big))
        run(aloop, until(lambda: doc.faces[1].model is not None, 5, "the face's model"))
        assert doc.faces[1].model == big and doc.faces[0].model is None
        assert doc.undo_stack.undoText() == "Set model of face 2"
        assert "model tiny-128" in panel.list.item(1).text()
        assert combo.currentData() == big
        doc.undo_stack.undo()
        assert doc.faces[1].model is None and combo.currentIndex() == 0
        doc.undo_stack.redo()
        assert doc.faces[1].model == big and combo.currentData() == big

        run(aloop, window.restore_current(), 120)
        result = doc.network_result
        assert result.models == {small: 1, big: 1}
        by_face = dict(doc.face_results())
        assert by_face[0].model == small and by_face[1].model == big
        assert by_face[1].restored.shape[:2] == (128, 128)
        assert by_face[0].restored.shape[:2] == (64, 64)
        assert doc.faces_needing_restore(window.run_options()) == []

        # back to the photo's choice: only that face needs the network again
        doc.select(1)
        combo.setCurrentIndex(0)
        run(aloop, until(lambda: doc.faces[1].model is None, 5, "the photo's choice"))
        assert doc.faces_needing_restore(window.run_options()) == [1]
    finally:
        close_now(window)
        window.deleteLater()


def test_background_model_reaches_the_restore(qtbot, aloop, until, old_weights, photo):
    from gui_helpers import open_photo

    window = make_window(qtbot, aloop, until, old_weights)
    try:
        panel = window.options_panel
        panel.model.setCurrentIndex(panel.model.findData(str(old_weights / "tiny-64.pth")))
        panel.sr_model.setCurrentIndex(panel.sr_model.findData(str(old_weights / "tiny_x2.pth")))
        doc = open_photo(window, aloop, until, photo)
        run(aloop, window.restore_current(), 180)
        result = doc.network_result
        assert result.superres["model"] == "tiny_x2" and result.superres["scale"] == 2
        assert (result.image.width, result.image.height) == (1024, 1024)
    finally:
        close_now(window)
        window.deleteLater()
