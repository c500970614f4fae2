"""Settings ▸ Match grain: a compositing option, so turning it on re-pastes the kept faces with
grain (no network run), and the photo's own options keep it."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import open_photo, run
from PIL import Image

from gpen_desktop.core.options import COMPOSITING, option
from gpen_desktop.core.pipeline import composite
from gpen_desktop.gui.qimage import rgb_from_qimage


@pytest.mark.slow
def test_match_grain_recomposites_without_the_network(
    window, aloop, until, tmp_path, astronaut, network_runs
):
    assert option("match_grain").cost == COMPOSITING
    rng = np.random.default_rng(2)
    grainy = np.clip(astronaut * 0.8 + 25 + rng.normal(0, 8, astronaut.shape), 0, 255)
    path = tmp_path / "grainy.png"
    Image.fromarray(np.round(grainy).astype(np.uint8)).save(path)
    doc = open_photo(window, aloop, until, path)
    run(aloop, window.restore_current(), 120)
    assert network_runs
    network_runs.clear()
    before = doc.result.image.pixels.copy()

    def recomposited() -> None:
        run(
            aloop,
            until(
                lambda: doc.composite_key == doc.composite_key_for(window.run_options()),
                30,
                "the recomposite",
            ),
        )

    panel = window.options_panel
    assert not panel.match_grain.isChecked()  # off by default
    panel.match_grain.setChecked(True)
    assert doc.options.match_grain  # the photo's own options have it
    recomposited()
    expected = composite(doc.network_result, doc.composite_faces(), window.run_options())
    shown = rgb_from_qimage(window.canvas._wipe._pixmap.toImage())
    assert np.array_equal(doc.result.image.pixels, expected.image.pixels)
    assert np.array_equal(shown, expected.image.pixels)  # the canvas shows it live
    assert not np.array_equal(doc.result.image.pixels, before)
    assert network_runs == []  # no network: only the paste again
    assert not doc.result_is_stale

    panel.match_grain.setChecked(False)  # and back: the first composite, byte for byte
    recomposited()
    assert np.array_equal(doc.result.image.pixels, before) and network_runs == []
