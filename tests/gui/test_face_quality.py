"""The face quality score in the GUI: the face panel shows each face's score and its parts,
says "Sharp already" in plain words (and "left as it is" under Settings ▸ Leave sharp faces
as they are), and a restore then leaves that face's pixels as they were."""

from __future__ import annotations

import numpy as np
from gui_helpers import open_photo, run

from gpen_desktop.gui.panels.face_panel import quality_words


def test_face_panel_shows_the_score_and_sharp_words_and_restore_leaves_the_face(
    window, aloop, until, photo
):
    doc = open_photo(window, aloop, until, photo)
    panel = window.face_panel
    run(aloop, until(lambda: panel.quality_of(doc.faces[0]) is not None, 60, "the quality"))
    panel.refresh()
    quality = panel.quality_of(doc.faces[0])
    assert quality.score >= 0.8  # the astronaut is a sharp photo
    item = panel.list.item(0).text()
    assert f"Sharp already ({quality.score:.2f})" in item
    assert panel.quality.isVisible()
    assert panel.quality.text().startswith(f"Sharp already (quality {quality.score:.2f})")
    assert "sharpness" in panel.quality.text() and "noise" in panel.quality.text()
    assert "sharpness for the face's size" in panel.quality.toolTip()

    # Settings ▸ Leave sharp faces as they are: the words say what a restore will do
    settings = window.options_panel
    assert not settings.sharp_threshold.isEnabled()
    settings.skip_sharp.setChecked(True)
    run(aloop, until(lambda: doc.options.skip_sharp == 0.8, 10, "the photo's options"))
    assert settings.sharp_threshold.isEnabled() and settings.sharp_fade.isEnabled()
    assert "Sharp already — left as it is" in panel.list.item(0).text()
    assert panel.quality.text().startswith("Sharp already — left as it is")

    run(aloop, window.restore_current(), 120)
    result = doc.network_result
    assert result.left_sharp == (0,) and result.restored_count == 0
    assert np.array_equal(result.image.pixels, doc.photo.pixels)
    said = [text for _level, text in window.notifier.history]
    assert "astronaut.png: 1 face sharp already, left as it is" in said


def test_quality_words_follow_the_threshold():
    from gpen_desktop.core.faces.quality import FaceQuality

    sharp = FaceQuality(0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 0.0, 0.1, 193)
    noisy = FaceQuality(0.2, 1.0, 0.2, 1.0, 1.0, 7.0, 0.0, 0.1, 193)
    assert quality_words(sharp) == "Sharp already"
    assert quality_words(sharp, 0.8) == "Sharp already — left as it is"
    assert quality_words(sharp, 0.95) == "Sharp already"  # under a higher threshold: restored
    assert quality_words(noisy, 0.8) == "Noisy"
    assert quality_words(None) == ""
