"""How big a recovery copy is, and how long writing one takes, for a 29-face group photo.

    PYTHONPATH=. .venv/bin/python tests/core/measure_recovery.py [--size 512] [--faces 29]

Restores a synthetic group photo (tests/synthetic_faces.py: real faces from PyPI packages on
a texture) with a random-weight GPEN of ``--size`` (narrow 0.125: the copy's size depends on
the crop size, not on the network's width), then writes recovery copies as the app does: the
first (with every kept crop), the next after a face edit (the kept restore named again, not
written again), and one with damage marks (the damage-filled paste background written too).
Not a test (pytest does not collect it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--faces", type=int, default=29)
    parser.add_argument("--face-px", type=float, default=110.0)
    args = parser.parse_args()

    import cv2
    from synthetic_faces import group_photo

    from gpen_desktop.core import recovery
    from gpen_desktop.core.gpen import random_checkpoint
    from gpen_desktop.core.options import RestoreOptions
    from gpen_desktop.core.pipeline import Restorer
    from gpen_desktop.core.types import Face, Photo

    tmp = Path(tempfile.mkdtemp(prefix="gpen-recovery-"))
    image, boxes = group_photo([args.face_px] * args.faces, columns=6)
    path = tmp / "group.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    photo = Photo(pixels=image, path=path, format="PNG")
    model = random_checkpoint(tmp / f"gpen-{args.size}.pth", args.size, narrow=0.125)
    options = RestoreOptions(model_path=str(model), device="cpu")
    faces = [Face(box=tuple(float(v) for v in b)) for b in boxes]
    t0 = time.perf_counter()
    result = Restorer(options).restore(photo, faces)
    print(
        f"photo {image.shape[1]}x{image.shape[0]}, {len(result.faces)} faces restored at "
        f"{args.size} px in {time.perf_counter() - t0:.1f} s"
    )

    def snap(faces, damage=None, key=0, kept_damage=None, base_is_photo=True, res=result):
        kept = recovery.KeptResult(res, tuple(faces), options, kept_damage, base_is_photo)
        return recovery.Snapshot(
            photo=str(path), name=path.name, faces=tuple(faces),
            numbers=tuple(range(1, len(faces) + 1)), options=options, damage=damage,
            damage_key=key, kept=kept, result_key=id(res), owner="measure",
        )  # fmt: skip

    folder = tmp / "recovery" / "copy"
    w1 = recovery.write_copy(folder, snap(faces))
    print(f"first copy (every kept crop): {w1.bytes / 2**20:.1f} MB in {w1.seconds:.2f} s")
    edited = [faces[0].with_(blend=0.5), *faces[1:]]
    w2 = recovery.write_copy(folder, snap(edited))
    print(f"after a face edit (kept restore named again): {w2.seconds * 1000:.0f} ms")
    marks = np.zeros(image.shape[:2], np.uint8)
    marks[100:110, 50:900] = 1
    damaged = Restorer(options).restore(photo, result_faces(result), damage=marks != 0)
    w3 = recovery.write_copy(
        tmp / "recovery" / "marked",
        snap(edited, marks, 1, marks != 0, base_is_photo=False, res=damaged),
    )
    print(
        f"with damage marks (marks PNG + the filled background): {w3.bytes / 2**20:.1f} MB "
        f"in {w3.seconds:.2f} s"
    )
    print(f"files in {tmp}")


def result_faces(result):
    return [fr.face for fr in result.faces]


if __name__ == "__main__":
    main()
