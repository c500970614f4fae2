"""The Background list's speed classes and the Denoise strength slider of the Settings panel,
with random-weight files in the official layouts (Real-ESRGAN's compact general x4 and its
weak-denoise partner) and a full RRDBNet."""

from __future__ import annotations

import pytest
from helpers import WDN, X4V3, compact_pair
from PySide6.QtCore import Qt

from gpen_desktop.core.models import scan_weights
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.panels.options_panel import OptionsPanel


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from gpen_desktop.core.superres import random_sr_checkpoint

    folder = compact_pair(tmp_path_factory.mktemp("fast-weights"))
    # a full RRDBNet (64 features, 6 blocks: ~11 MFLOP per pixel, the "best" class)
    random_sr_checkpoint(folder / "rrdb_x4.pth", 4, num_feat=64, num_block=6, seed=3)
    return folder


@pytest.fixture(scope="module")
def found(folder):
    return scan_weights([folder])


def make_panel(qtbot, found) -> OptionsPanel:
    panel = OptionsPanel()
    qtbot.addWidget(panel)
    panel.set_models(found, "weights")
    return panel


def texts(panel) -> dict[str, str]:
    return {
        panel.sr_model.itemData(i): panel.sr_model.itemText(i)
        for i in range(panel.sr_model.count())
    }


def test_background_list_shows_each_models_speed_class(qtbot, found, folder):
    panel = make_panel(qtbot, found)
    shown = texts(panel)
    assert shown[str(folder / f"{X4V3}.pth")].startswith("Real-ESRGAN ×4 · fast · ")
    assert shown[str(folder / f"{WDN}.pth")].startswith("Real-ESRGAN WDN ×4 · fast · ")
    assert shown[str(folder / "rrdb_x4.pth")].startswith("rrdb ×4 · best · ")
    index = panel.sr_model.findData(str(folder / f"{X4V3}.pth"))
    tip = panel.sr_model.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "fast: a compact network (2.4 MFLOP per input pixel)" in tip
    index = panel.sr_model.findData(str(folder / "rrdb_x4.pth"))
    assert "best: a full network" in panel.sr_model.itemData(index, Qt.ItemDataRole.ToolTipRole)


def test_denoise_strength_applies_only_to_the_general_model_with_its_partner(qtbot, found, folder):
    panel = make_panel(qtbot, found)
    assert not panel.denoise.isEnabled()  # Resample only
    assert panel.options().denoise_strength == 0.5  # Real-ESRGAN's default
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(str(folder / f"{X4V3}.pth")))
    assert panel.denoise.isEnabled() and panel.denoise_usable()
    assert "0 % keeps the grain" in panel.denoise_info.text()
    with qtbot.waitSignal(panel.optionsChanged):
        panel.denoise.setValue(30)
    options = panel.options()
    assert options.denoise_strength == pytest.approx(0.3) and options.sr_model.endswith(
        f"{X4V3}.pth"
    )
    assert panel.denoise_label.text() == "30 %"
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(str(folder / "rrdb_x4.pth")))
    assert not panel.denoise.isEnabled() and panel.denoise_info.isHidden()


def test_without_the_partner_the_panel_says_what_is_missing(qtbot, found, folder):
    alone = [f for f in found if f.path.name != f"{WDN}.pth"]
    panel = make_panel(qtbot, alone)
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(str(folder / f"{X4V3}.pth")))
    assert not panel.denoise.isEnabled()
    assert f"Needs {WDN}.pth beside {X4V3}.pth" in panel.denoise_info.text()


def test_the_strength_is_remembered_and_shown_again(qtbot, found, folder):
    store = cfg.app_settings()
    panel = make_panel(qtbot, found)
    panel.sr_model.setCurrentIndex(panel.sr_model.findData(str(folder / f"{X4V3}.pth")))
    panel.denoise.setValue(80)
    panel.save_settings(store)
    store.sync()
    assert cfg.option_setting("denoise_strength").read(store) == pytest.approx(0.8)
    again = OptionsPanel()
    qtbot.addWidget(again)
    again.load_settings(cfg.app_settings())
    again.set_models(found, "weights")
    assert again.options().denoise_strength == pytest.approx(0.8) and again.denoise.isEnabled()
    again.set_values({"denoise_strength": 0.15})  # a photo's own options (a session)
    assert again.options().denoise_strength == pytest.approx(0.15)
