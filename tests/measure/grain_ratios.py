"""Noise inside the pasted face / noise in the ring around it, with and without Match grain.

Run from the repository root:
  .venv/bin/python tests/measure/grain_ratios.py
The photo is scikit-image's astronaut (values squeezed to 25..229, so that grain is not
clipped) plus known grain; every run pastes the same clean "restored" crop (the aligned face,
smoothed: a stand-in for GPEN's clean output) through the real pipeline (tiny random-weight
GPEN-128 only for detection/alignment, reuse= for the crop), so output - (same run on the
grain-free photo) is exactly the noise; its standard deviation is read inside the face
(weight >= 0.999) and in a 40 px ring outside the paste.
"""

import dataclasses
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, "tests/core")
sys.path.insert(0, "tests")
from test_grain import _grain, _noise_stats, _ring  # noqa: E402

from gpen_desktop.core.gpen import random_checkpoint  # noqa: E402
from gpen_desktop.core.pipeline import RestoreOptions, Restorer  # noqa: E402
from gpen_desktop.core.types import Photo  # noqa: E402

ckpt = random_checkpoint(Path(tempfile.mkdtemp()) / "tiny-128.pth", 128, seed=2)
clean = np.round(data.astronaut().astype(np.float32) * 0.8 + 25).astype(np.uint8)
r = Restorer(RestoreOptions(model_path=str(ckpt), device="cpu"))
fr = r.restore(Photo(pixels=clean)).faces[0]
crop = cv2.GaussianBlur(fr.aligned_input, (0, 0), 1.0)
faces = [fr.face]


def run(pixels, on, depth=8):
    r.set_options(dataclasses.replace(r.options, match_grain=on))
    return r.restore(Photo(pixels=pixels), faces, reuse={0: crop})


print(
    "grain (per channel)          | off: in/ring | on: in/ring | neighbour corr in/ring | channel corr in/ring"
)
for sigma, size, mono, depth in [
    (8, 0.25, True, 8),
    (8, 0.25, False, 8),
    (4, 0.25, True, 8),
    (6, 0.8, True, 8),
    (6, 1.2, True, 8),
    (8, 1.6, False, 8),
    (8, 0.25, True, 16),
]:
    scale = 257 if depth == 16 else 1
    base = clean.astype(np.float32) * scale
    top = 65535 if depth == 16 else 255
    dtype = np.uint16 if depth == 16 else np.uint8
    noisy = np.round(
        np.clip(base + _grain(clean.shape[:2], sigma * scale, size, mono), 0, top)
    ).astype(dtype)
    ref = run(base.round().astype(dtype), False).image.pixels.astype(np.float32)
    res = {on: run(noisy, on) for on in (False, True)}
    inside, ring = res[True].weight >= 0.999, _ring(res[True].weight)
    row = []
    for on in (False, True):
        n = res[on].image.pixels - ref
        a, b = _noise_stats(n, inside), _noise_stats(n, ring)
        row.append((a, b))
    (a0, b0), (a1, b1) = row
    kind = "mono " if mono else "colour"
    print(
        f"sigma {sigma:>2} size {size:<4} {kind} {depth:>2}-bit | {a0[0] / b0[0]:12.2f} | {a1[0] / b1[0]:11.2f} | "
        f"{a1[1]:.2f} / {b1[1]:.2f}            | {a1[2]:.2f} / {b1[2]:.2f}"
    )
