"""The detection bench: the default detector against plain dlib, on the same photos.

"Plain dlib" is the call people compare with: ``dlib.get_frontal_face_detector()`` run at
``upsample_num_times=2`` (threshold 0). For each photo the bench reports what each finds, the
faces plain dlib finds from the kept margin that ours misses (IoU < 0.5 with every face of
ours), and the best wall time of each over ``repeat`` interleaved runs in this process (ours
includes landmarks; plain dlib's call does not).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass
class DetectBenchRow:
    photo: str
    width: int
    height: int
    faces: int  # ours
    plain_faces: int  # plain dlib's, margin >= the kept margin
    plain_all: int  # plain dlib's, threshold 0
    missed: int  # plain dlib's kept-margin faces that ours misses
    extra: int  # ours that plain dlib does not find at all
    seconds: float  # ours, best of the runs
    plain_seconds: float  # plain dlib's call, best of the runs

    @property
    def ratio(self) -> float:
        return self.seconds / self.plain_seconds if self.plain_seconds > 0 else float("nan")

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": round(self.ratio, 3)}


def sample_photos() -> list[tuple[str, np.ndarray]]:
    """Photos that ship with scikit-image (a portrait, and a group made of it): the default
    when no photos are named."""
    import cv2
    from skimage import data

    portrait = np.ascontiguousarray(data.astronaut())
    tiles = []
    for row in range(3):
        line = []
        for col in range(6):
            side = 150 + 10 * ((row * 6 + col) % 5)  # faces about 27-35 px
            tile = cv2.resize(portrait, (side, side), interpolation=cv2.INTER_AREA)
            line.append(cv2.resize(tile, (200, 200), interpolation=cv2.INTER_AREA))
        tiles.append(np.concatenate(line, axis=1))
    group = np.ascontiguousarray(np.concatenate(tiles, axis=0))
    return [("astronaut (scikit-image)", portrait), ("astronaut x18 group", group)]


def read_photos(paths: list[str | Path]) -> list[tuple[str, np.ndarray]]:
    from gpen_desktop.core.faces.detect import as_rgb8
    from gpen_desktop.core.imageio import load_photo

    return [(Path(p).name, as_rgb8(load_photo(p).pixels)) for p in paths]


def bench_detect(
    photos: list[tuple[str, np.ndarray]], repeat: int = 3, on_row=None
) -> list[DetectBenchRow]:
    """Time and compare the default ``dlib`` detector and plain dlib on each photo."""
    from gpen_desktop.core.faces import detect
    from gpen_desktop.core.faces.detect import _iou

    plain_detector = detect._dlib().get_frontal_face_detector()  # its own, untouched instance
    rows = []
    for name, rgb in photos:
        detect.detect_faces(rgb[:64, :64], "dlib")  # models loaded before timing
        ours_best = plain_best = float("inf")
        faces: list = []
        plain: list = []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            rects, scores, _ = plain_detector.run(rgb, 2, 0.0)
            plain_best = min(plain_best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            faces = detect.detect_faces(rgb, "dlib")
            ours_best = min(ours_best, time.perf_counter() - t0)
            plain = [
                ((r.left(), r.top(), r.right(), r.bottom()), s)
                for r, s in zip(rects, scores, strict=True)
            ]
        kept = [b for b, s in plain if s >= detect._HOG_MIN_MARGIN]
        row = DetectBenchRow(
            photo=name,
            width=rgb.shape[1],
            height=rgb.shape[0],
            faces=len(faces),
            plain_faces=len(kept),
            plain_all=len(plain),
            missed=sum(all(_iou(b, f.box) < 0.5 for f in faces) for b in kept),
            extra=sum(all(_iou(f.box, b) < 0.5 for b, _s in plain) for f in faces),
            seconds=ours_best,
            plain_seconds=plain_best,
        )
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
