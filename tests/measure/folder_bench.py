# ruff: noqa: E402  (a script: tests/ goes on sys.path before the imports)
"""Photos per minute of `gpen restore FOLDER` with --in-flight 1 (serial) and 3 (overlapped),
OMP_NUM_THREADS 1 and 2: 20 photos of mixed sizes (portraits and group photos), a random-weight
256 px GPEN in the official configuration. Usage: python folder_bench.py OUT_DIR"""

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), "."]
from synthetic_faces import astronaut, group_photo

from gpen_desktop.core.gpen import random_checkpoint

root = Path(sys.argv[1])
src = root / "in"
src.mkdir(parents=True, exist_ok=True)
model = random_checkpoint(root / "GPEN-BFR-256.pth", 256, 1, 0.5, seed=0)
rng = np.random.default_rng(0)
for i in range(20):
    if i % 2:
        img, _ = group_photo(list(rng.uniform(35, 90, int(rng.integers(3, 8)))), columns=4)
    else:
        side = int(rng.choice([384, 512, 768, 1024]))
        img = cv2.resize(astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(src / f"p{i:02d}.jpg"), img[:, :, ::-1])
for omp in ("1", "2"):
    for flight in ("1", "3", "1", "3"):
        out = root / f"out-{omp}-{flight}"
        env = dict(os.environ, OMP_NUM_THREADS=omp)
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gpen_desktop",
                "restore",
                str(src),
                "-o",
                str(out),
                "-m",
                str(model),
                "--device",
                "cpu",
                "--overwrite",
                "--in-flight",
                flight,
                "--json",
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        dt = time.perf_counter() - t
        print(
            f"OMP_NUM_THREADS={omp} --in-flight {flight}: {dt:.1f} s, {60 * 20 / dt:.1f} photos/min",
            flush=True,
        )
