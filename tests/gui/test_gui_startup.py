"""The GUI starts light: no torch, OpenCV or detector import before the window is up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import gpen_desktop.gui.main_window as mw
import gpen_desktop.gui.app
t1 = time.perf_counter()
from PySide6.QtWidgets import QApplication
app = QApplication([])
window = mw.MainWindow(weights_dir=sys.argv[1])
window.show()
app.processEvents()
t2 = time.perf_counter()
heavy = sorted(m for m in ("torch", "cv2", "dlib", "facexlib", "torchvision") if m in sys.modules)
window.worker.shutdown()
print(json.dumps({"heavy": heavy, "import_s": t1 - t0, "window_s": t2 - t0}))
"""


def test_window_appears_before_torch_is_imported(tmp_path):
    env = dict(
        os.environ, QT_QPA_PLATFORM="offscreen", GPEN_DESKTOP_SETTINGS=str(tmp_path / "s.ini")
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"\n[startup] GUI modules imported in {result['import_s']:.2f} s; "
        f"window shown {result['window_s']:.2f} s after start"
    )
    assert result["heavy"] == [], result
