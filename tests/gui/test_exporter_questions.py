"""The Exporter's questions without a window: Export Faces / Before | After / Export All ask for
a folder or a file, ask once about files that exist (replace, skip, cancel) and never write
over an original photo."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from gui_helpers import bare_context, run

from gpen_desktop.core.options import RestoreOptions
from gpen_desktop.gui.export_files import ExportSettings
from gpen_desktop.gui.exporter import Exporter
from gpen_desktop.gui.opening import PhotoOpener
from gpen_desktop.gui.restore_run import RestoreController


@pytest.fixture
def restored(qapp, aloop, until, tiny_checkpoint, photo, tmp_path, questions):
    """A restored photo (a copy of the test photo in its own folder), an Exporter whose
    suffix the test sets, and what it said."""
    shown: list[tuple[str, str]] = []
    options = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    src = tmp_path / "in" / "portrait.png"
    src.parent.mkdir()
    shutil.copy(photo, src)
    ctx = bare_context(tmp_path, options, shown)
    photos, worker = ctx.photos, ctx.worker
    settings = [ExportSettings()]  # the test swaps it (frozen)
    opener = PhotoOpener(ctx, lambda doc, saved: None, lambda: None)
    controller = RestoreController(worker, photos, opener.ensure_ready, asyncio.ensure_future)
    exporter = Exporter(ctx, controller, lambda: settings[0])
    [doc] = run(aloop, opener.open_paths([src]), 60)
    run(aloop, until(lambda: doc.detected, 60, "detection"))
    run(aloop, controller.restore([doc], options), 120)
    assert doc.has_result
    try:
        yield exporter, settings, src, shown
    finally:
        worker.shutdown()
        photos.deleteLater()


def test_export_faces_asks_for_a_folder_and_once_about_existing_files(
    restored, aloop, questions, tmp_path
):
    exporter, _settings, _src, shown = restored
    assert run(aloop, exporter.export_faces()) == []  # the folder question was cancelled
    assert questions.names()[-1] == "folder"
    out = tmp_path / "faces"
    out.mkdir()
    questions.answers["folder"] = str(out)
    first = run(aloop, exporter.export_faces(), 60)
    assert first and all(p.parent == out and p.is_file() for p in first)
    assert shown[-1] == ("info", f"Exported {len(first)} file(s) to {out}")
    stamp = {p: p.stat().st_mtime_ns for p in first}
    questions.answers["replace_many"] = "cancel"
    assert run(aloop, exporter.export_faces(), 60) == []  # asked once, nothing written
    assert questions.names()[-1] == "replace_many"
    questions.answers["replace_many"] = "skip"
    assert run(aloop, exporter.export_faces(), 60) == []  # every file exists: all skipped
    assert {p: p.stat().st_mtime_ns for p in first} == stamp


def test_export_pair_asks_for_a_file_and_may_not_replace(restored, aloop, questions, tmp_path):
    exporter, _settings, _src, _shown = restored
    assert run(aloop, exporter.export_pair()) is None  # the save dialog was cancelled
    target = tmp_path / "pair.png"
    questions.answers["save_file"] = str(target)
    written = run(aloop, exporter.export_pair(), 60)
    assert written == target and target.is_file()
    before = target.stat().st_mtime_ns
    questions.answers["overwrite"] = False
    assert run(aloop, exporter.export_pair(), 60) is None
    assert target.stat().st_mtime_ns == before and questions.names()[-1] == "overwrite"


def test_export_all_never_writes_over_an_original(restored, aloop, questions, tmp_path):
    exporter, settings, src, shown = restored
    original = src.read_bytes()
    settings[0] = ExportSettings(suffix="")  # portrait.png into its own folder: the original
    assert run(aloop, exporter.export_all(src.parent), 60) == []
    assert src.read_bytes() == original
    assert shown[-1][0] == "error" and "original" in shown[-1][1]
    settings[0] = ExportSettings()
    assert run(aloop, exporter.export_all(), 60) == []  # the folder question was cancelled
    out = tmp_path / "all"
    out.mkdir()
    questions.answers["folder"] = str(out)
    [written] = run(aloop, exporter.export_all(), 60)
    assert written == out / "portrait_restored.png" and written.is_file()
    questions.answers["replace_many"] = "skip"
    assert run(aloop, exporter.export_all(), 60) == []
    questions.answers["replace_many"] = "replace"
    assert run(aloop, exporter.export_all(), 60) == [written]
