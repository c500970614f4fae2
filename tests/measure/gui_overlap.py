# ruff: noqa: E402  (a script: tests/ goes on sys.path before the imports)
"""Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/measure/gui_overlap.py [SIZE]

Restore All in the app's controller: open N group photos, restore all at once; time it with
detection on its own lane (now) and behind the network (before: lane '')."""

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), "."]
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from synthetic_faces import group_photo

from gpen_desktop.core.gpen import random_checkpoint
from gpen_desktop.core.options import RestoreOptions
from gpen_desktop.gui import jobs
from gpen_desktop.gui.context import AppContext
from gpen_desktop.gui.notify import Notifier
from gpen_desktop.gui.opening import PhotoOpener
from gpen_desktop.gui.questions import Questions
from gpen_desktop.gui.restore_run import RestoreController
from gpen_desktop.gui.state import PhotoList
from gpen_desktop.gui.worker import InferenceWorker

app = QApplication([])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
tmp = Path(tempfile.mkdtemp())
size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
ckpt = random_checkpoint(tmp / "m.pth", size, 1, 0.5, seed=0)
paths = []
rng = np.random.default_rng(0)
for i in range(6):
    img, _ = group_photo(list(rng.uniform(40, 90, 6)), columns=3)
    p = tmp / f"g{i}.png"
    cv2.imwrite(str(p), img[:, :, ::-1])
    paths.append(p)


async def once(lane):
    jobs.DetectRequest.lane = lane
    photos = PhotoList()
    worker = InferenceWorker()
    options = RestoreOptions(model_path=str(ckpt), device="cpu")
    ctx = AppContext(
        photos=photos,
        worker=worker,
        notifier=Notifier(lambda *a: None),
        questions=Questions(),
        settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
        spawn=asyncio.ensure_future,
        run_options=lambda doc=None: options,
    )
    opener = PhotoOpener(ctx, lambda d, s: None, lambda: None)
    ctl = RestoreController(worker, photos, opener.ensure_ready, asyncio.ensure_future)
    t0 = time.perf_counter()
    docs = await opener.open_paths(paths)
    run = await ctl.restore(docs, options)
    dt = time.perf_counter() - t0
    faces = sum(len(d.faces) for d in docs)
    worker.shutdown()
    photos.deleteLater()
    return dt, run.done, faces


async def main():
    await once("detect")  # warm-up: models, imports
    for _rep in range(2):
        for lane in ("", "detect"):
            dt, done, faces = await once(lane)
            print(
                f"lane={lane or 'inference (before)':<20} {done} photos, {faces} faces: {dt:.1f} s, {60 * done / dt:.1f} photos/min",
                flush=True,
            )


with loop:
    loop.run_until_complete(main())
