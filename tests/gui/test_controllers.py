"""Controllers are built from an AppContext (photos, worker, notifier, questions, settings),
not from the window, and work without one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gui_helpers import bare_context, run

import gpen_desktop.gui as gui_package
from gpen_desktop.core.imageio import load_photo
from gpen_desktop.core.options import RestoreOptions
from gpen_desktop.gui.export_files import ExportSettings
from gpen_desktop.gui.exporter import Exporter
from gpen_desktop.gui.opening import PhotoOpener
from gpen_desktop.gui.restore_run import RestoreController
from gpen_desktop.gui.worker import InferenceWorker

GUI = Path(gui_package.__file__).parent
CONTROLLERS = [
    "exporter.py",
    "opening.py",
    "model_choice.py",
    "restore_run.py",
    "run_status.py",
    "actions.py",
]


def test_controllers_do_not_import_the_window():
    for name in CONTROLLERS:
        assert "main_window" not in (GUI / name).read_text(encoding="utf-8"), name


def test_open_restore_and_save_without_a_window(
    qapp, aloop, until, tiny_checkpoint, photo, tmp_path
):
    shown: list[tuple[str, str]] = []
    tasks = []

    def spawn(coro):
        import asyncio

        task = asyncio.ensure_future(coro)
        tasks.append(task)
        return task

    options = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    ctx = bare_context(tmp_path, options, shown, spawn)
    photos, worker = ctx.photos, ctx.worker
    try:
        opener = PhotoOpener(ctx, lambda doc, saved: None, lambda: None)
        controller = RestoreController(worker, photos, opener.ensure_ready, spawn)
        exporter = Exporter(ctx, controller, ExportSettings)
        docs = run(aloop, opener.open_paths([photo]), 60)
        doc = docs[0]
        run(aloop, until(lambda: doc.detected, 60, "detection"))
        assert doc.faces
        run(aloop, controller.restore([doc], options), 120)
        assert doc.has_result
        out = run(aloop, exporter.save(path=tmp_path / "out.png"), 60)
        assert np.array_equal(load_photo(out).rgb8(), doc.result.image.rgb8())
        assert shown[-1] == ("info", "Saved out.png") and not doc.unsaved
    finally:
        worker.shutdown()
        photos.deleteLater()


def test_detection_runs_beside_a_restore_not_behind_it(qapp, aloop):
    """A photo's faces are found while another photo is in the network: detection requests
    have their own thread (the overlap of `gpen restore`'s folder runs, in the app)."""
    import asyncio
    import threading
    from dataclasses import dataclass

    release = threading.Event()
    threads: dict[str, str] = {}

    @dataclass(frozen=True, eq=False)
    class InTheNetwork:
        label = "Restoring"

        def run(self, ctx):
            threads["restore"] = threading.current_thread().name
            assert release.wait(30)
            return "restored"

    @dataclass(frozen=True, eq=False)
    class Detect:
        label = "Detecting faces"
        lane = "detect"

        def run(self, ctx):
            threads["detect"] = threading.current_thread().name
            return "faces"

    worker = InferenceWorker()
    try:

        async def scenario():
            restoring = worker.submit(InTheNetwork())
            faces = await asyncio.wait_for(worker.run(Detect()), 30)
            assert not restoring.future.done()  # still in the network
            release.set()
            return faces, await restoring.future

        assert run(aloop, scenario(), 60) == ("faces", "restored")
        assert threads["detect"] != threads["restore"]
        from gpen_desktop.gui.jobs import DetectRequest, LandmarksRequest

        assert DetectRequest.lane == LandmarksRequest.lane == "detect"
    finally:
        release.set()
        assert worker.shutdown()
    assert not worker.is_alive()
