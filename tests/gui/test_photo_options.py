"""Each photo owns its options; one "what changed" function says whether a photo needs a
restore and why (status, photo list, the Save question, Restore First).

Regressions: choosing a background model while working on one photo made Quit → Restore
First re-restore the other photo with it (twice the size); after changing only the
background model the Save question said faces "were moved, reshaped or added".
"""

from __future__ import annotations

import shutil

import pytest
from gui_helpers import close_now, make_window, open_photo, run

from gpen_desktop.core.options import PHOTO


@pytest.fixture(scope="module")
def sr_weights(tmp_path_factory, tiny_checkpoint):
    from gpen_desktop.core.superres import random_sr_checkpoint

    folder = tmp_path_factory.mktemp("sr-weights")
    shutil.copy(tiny_checkpoint, folder / "tiny-64.pth")
    random_sr_checkpoint(folder / "tiny_x2.pth", 2, seed=2)
    return folder


@pytest.fixture
def two_photos(photo, tmp_path):
    other = tmp_path / "other.png"
    shutil.copy(photo, other)
    return photo, other


def test_options_belong_to_the_photo(qtbot, aloop, until, sr_weights, two_photos, questions):
    window = make_window(qtbot, aloop, until, sr_weights)
    try:
        panel = window.options_panel
        a = open_photo(window, aloop, until, two_photos[0])
        b = open_photo(window, aloop, until, two_photos[1])
        assert window.session.current is b
        before_b = b.options
        sr = str(sr_weights / "tiny_x2.pth")
        window.session.set_current(a)
        assert "astronaut.png" in panel.scope_label.text()
        panel.sr_model.setCurrentIndex(panel.sr_model.findData(sr))
        panel.blend.setValue(40)
        assert a.options.sr_model == sr and a.options.blend == 0.4
        assert b.options == before_b  # editing one photo never changes another
        window.session.set_current(b)
        assert panel.sr_path() == "" and panel.blend.value() == 100  # the panel shows b's
        assert a.options.sr_model == sr and b.options == before_b
        # Restore All: each photo with its own options
        run(aloop, window.restore_all(), 180)
        assert (a.result.image.width, b.result.image.width) == (1024, 512)
        # Use for All Photos, then Make Default
        window.session.set_current(a)
        window.use_options_for_all()
        assert b.options.only(PHOTO) == a.options.only(PHOTO)
        assert b.needs_restore() and "background settings changed (Output scale, Background)" in (
            b.status_text()
        )
        window.make_options_default()
        assert window.defaults == a.options
    finally:
        close_now(window)


def test_a_background_change_is_named_and_restore_first_reuses_the_faces(
    qtbot, aloop, until, sr_weights, photo, tmp_path, questions, network_runs
):
    window = make_window(qtbot, aloop, until, sr_weights)
    try:
        panel = window.options_panel
        doc = open_photo(window, aloop, until, photo)
        run(aloop, window.restore_current(), 120)
        assert network_runs == [1] and not doc.needs_restore()
        network_runs.clear()
        panel.sr_model.setCurrentIndex(panel.sr_model.findData(str(sr_weights / "tiny_x2.pth")))
        changes = doc.changes()
        assert changes.background and changes.faces == ()
        assert changes.words() == "the background settings changed (Output scale, Background)"
        assert doc.status_text().endswith(f"(needs restore: {changes.words()})")
        assert doc.status_line() == "Needs restore: Output scale, Background"
        item = window.photo_strip.item(0)
        assert item.text().endswith("Needs restore: Output scale, Background")
        questions.answers["stale_save"] = "restore"
        written = run(aloop, window.save(path=tmp_path / "x.png"), 120)
        assert ("stale_save", "astronaut.png") in questions.asked
        words = [a[1] for n, a, _k in questions.calls if n == "stale_save"]
        assert words == ["the background settings changed (Output scale, Background)"]
        assert "moved" not in words[0]
        assert written.exists() and network_runs == []  # the kept face crop was reused
        assert doc.result.image.width == 1024 and not doc.needs_restore()
        # a network option: every face again, said so
        panel.precision.setCurrentIndex(panel.precision.findData("float32"))
        assert doc.options.precision == "float32"
        assert doc.changes().faces == (0,)
        assert doc.changes().words() == "the restore settings changed (Precision)"
    finally:
        close_now(window)


def test_photo_options_without_a_window(qtbot, tmp_path):
    """gpen_desktop.gui.photo_options.PhotoOptions on its own: new photos start from the
    defaults, showing a photo's options writes nothing back, a panel edit changes the current
    photo only (the defaults with no photo), Use for All and Make Default."""
    from PySide6.QtCore import QSettings

    from gpen_desktop.gui import settings as cfg
    from gpen_desktop.gui.panels.options_panel import OptionsPanel
    from gpen_desktop.gui.photo_options import PhotoOptions
    from gpen_desktop.gui.state import PhotoDoc, PhotoList

    panel = OptionsPanel()
    qtbot.addWidget(panel)
    photos = PhotoList()
    said: list[str] = []
    po = PhotoOptions(photos, panel, None, said.append)
    panel.optionsChanged.connect(po.take_panel)
    panel.blend.setValue(70)  # no photo open: the defaults
    assert po.defaults.blend == 0.7
    a = photos.add(PhotoDoc(None, "a"))
    b = photos.add(PhotoDoc(None, "b"))
    assert a.options == b.options == po.defaults and a.run_options().blend == 0.7
    photos.set_current(a)
    po.show(a)
    panel.color_match.setChecked(True)
    assert a.options.color_match and not b.options.color_match and not po.defaults.color_match
    photos.set_current(b)
    po.show(b)  # the panel follows b; a keeps its own
    assert not panel.color_match.isChecked() and a.options.color_match
    photos.set_current(a)
    po.use_for_all()
    assert b.options == a.options and said[-1].startswith("Every open photo now has")
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    po.make_default(store)
    assert po.defaults == a.options and cfg.option_setting("color_match").read(store) is True
    photos.deleteLater()
