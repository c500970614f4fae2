"""Save on quit: every unsaved photo is saved (results as photos, hand edits as sessions), then
the window closes."""

from __future__ import annotations

from gui_helpers import open_photo, run


def test_save_on_quit_saves_every_photo_then_closes(
    window, aloop, until, photo, tmp_path, questions, qapp, request
):
    import shutil

    # as in the app (gui/app.py): closing the window must not stop the event loop under us
    quits = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    request.addfinalizer(lambda: qapp.setQuitOnLastWindowClosed(quits))

    edited_only = tmp_path / "edited.png"
    shutil.copy(photo, edited_only)
    doc = open_photo(window, aloop, until, photo)
    run(aloop, window.restore_current(), 120)
    out = run(aloop, window.save(path=tmp_path / "out.png"))
    before = out.read_bytes()
    window.options_panel.blend.setValue(50)  # unsaved again: a new composite
    other = open_photo(window, aloop, until, edited_only)
    other.set_included(0, False)  # hand edits only, no result
    assert doc.unsaved and other.unsaved
    questions.answers["unsaved"] = "save"
    window.close()
    assert window.isVisible()  # stays until both are saved
    run(aloop, until(lambda: not window.isVisible(), 60, "the window to close"))
    assert out.read_bytes() != before  # Save went to the file chosen before
    sidecar = edited_only.with_name("edited.png.gpen.json")
    assert sidecar.is_file()  # the edits went to a session beside the photo
    from gpen_desktop.core.session import load_session

    assert [f.include for f in load_session(sidecar).faces] == [False]
