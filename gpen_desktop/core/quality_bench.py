"""``gpen bench quality``: how well the face quality score separates clean faces from the same
faces degraded by :mod:`gpen_desktop.core.degrade`.

Faces: the real photos of faces that ship inside PyPI packages — scikit-image's ``astronaut``
(Eileen Collins, NASA, public domain) and matplotlib's ``grace_hopper.jpg`` (public domain) —
each at 100 %, 80 % and 60 % of its size (area-averaged, so still clean) and mirrored: 12
clean faces, found once with dlib (the mirrored and smaller copies' landmarks follow by
geometry). Degraded copies: the whole photo goes through ``degrade()`` with the default
training mix (``draws`` seeded draws per clean face; a draw that applied nothing or only a
colour change is no loss of quality and is left out, counted), and through each degradation
alone at fixed strengths (:data:`LEVELS`).

The AUC is the probability that a clean face scores higher than a degraded one (ties count
half; 1 = perfect separation, 0.5 = chance).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpen_desktop.core.errors import GpenError

SCALES = (1.0, 0.8, 0.6)

#: Each degradation alone, at fixed strengths (``core.degrade`` step records; photo px).
LEVELS: tuple[tuple[str, tuple[dict[str, Any], ...]], ...] = (
    ("blur σ 1", ({"step": "gaussian_blur", "sigma": 1.0},)),
    ("blur σ 2", ({"step": "gaussian_blur", "sigma": 2.0},)),
    ("motion 9 px", ({"step": "motion_blur", "length": 9, "angle": 30.0},)),
    ("down ×2", ({"step": "downsample", "factor": 2.0, "down": "area", "up": "cubic"},)),
    ("down ×4", ({"step": "downsample", "factor": 4.0, "down": "area", "up": "cubic"},)),
    ("pixels ×3", ({"step": "downsample", "factor": 3.0, "down": "area", "up": "nearest"},)),
    ("noise σ 5", ({"step": "noise", "sigma": 5.0, "gray": False, "noise_seed": 1},)),
    ("noise σ 10", ({"step": "noise", "sigma": 10.0, "gray": False, "noise_seed": 2},)),
    ("noise σ 20", ({"step": "noise", "sigma": 20.0, "gray": True, "noise_seed": 3},)),
    ("JPEG q 50", ({"step": "jpeg", "quality": 50},)),
    ("JPEG q 30", ({"step": "jpeg", "quality": 30},)),
    ("JPEG q 15", ({"step": "jpeg", "quality": 15},)),
)


@dataclass
class LevelRow:
    """One degradation's scores on every clean face and its AUC against the clean ones."""

    name: str
    scores: list[float]
    auc: float

    def to_json(self) -> dict[str, Any]:
        s = np.asarray(self.scores)
        return {
            "degradation": self.name,
            "mean": round(float(s.mean()), 3),
            "min": round(float(s.min()), 3),
            "max": round(float(s.max()), 3),
            "auc": round(self.auc, 4),
        }


@dataclass
class QualityBench:
    """``auc``: clean faces vs the default degradation mix; ``clean``: the clean faces'
    scores; ``degraded``: the mix's scores (with each draw's words); ``levels``: each
    degradation alone; ``left_out``: draws that changed nothing but colour."""

    auc: float
    clean: list[float]
    degraded: list[tuple[float, str]]
    levels: list[LevelRow]
    faces: list[str]
    left_out: int
    seconds: float
    clean_parts: list[dict[str, Any]] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)

    @property
    def all_levels_auc(self) -> float:
        """Clean faces against every fixed-strength degradation together."""
        return auc(self.clean, [s for row in self.levels for s in row.scores])

    def to_json(self) -> dict[str, Any]:
        mix = np.asarray([s for s, _w in self.degraded])
        return {
            "auc": round(self.auc, 4),
            "auc_fixed_levels": round(self.all_levels_auc, 4),
            "photos": self.photos,
            "faces": self.faces,
            "clean": {
                "count": len(self.clean),
                "min": round(min(self.clean), 3),
                "median": round(float(np.median(self.clean)), 3),
                "max": round(max(self.clean), 3),
            },
            "degraded_mix": {
                "count": len(self.degraded),
                "left_out_colour_only": self.left_out,
                "median": round(float(np.median(mix)), 3),
                "share_at_or_above_clean_min": round(float(np.mean(mix >= min(self.clean))), 3),
            },
            "levels": [row.to_json() for row in self.levels],
            "seconds": round(self.seconds, 2),
        }


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counted half (Mann-Whitney U / n·m)."""
    p = np.asarray(positive, np.float64)[:, None]
    n = np.asarray(negative, np.float64)[None, :]
    if p.size == 0 or n.size == 0:
        raise ValueError("AUC needs both positives and negatives")
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def pypi_face_photos() -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8 RGB) of the face photos shipped in installed packages."""
    photos = []
    try:
        from skimage import data

        photos.append(("astronaut (scikit-image)", np.ascontiguousarray(data.astronaut())))
    except ImportError:
        pass
    try:
        import matplotlib.cbook as cbook
        from PIL import Image

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            rgb = np.asarray(Image.open(fh).convert("RGB"))
        photos.append(("Grace Hopper (matplotlib)", np.ascontiguousarray(rgb)))
    except (ImportError, OSError):
        pass
    if not photos:
        raise GpenError(
            "the quality bench needs scikit-image or matplotlib (their sample photos are the "
            "faces): pip install scikit-image matplotlib"
        )
    return photos


def clean_faces(
    photos: Sequence[tuple[str, np.ndarray]] | None = None,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, photo, landmarks) of every clean variant: each photo's largest face at each of
    :data:`SCALES` (area-averaged), as it is and mirrored."""
    import cv2

    from gpen_desktop.core.faces.detect import detect_faces

    out = []
    for name, rgb in photos if photos is not None else pypi_face_photos():
        faces = detect_faces(rgb, "dlib")
        if not faces:
            raise GpenError(f"no face found in {name} (is the dlib detector working?)")
        face = max(faces, key=lambda f: f.width * f.height)
        points = face.landmarks_array()
        for scale in SCALES:
            img, pts = rgb, points
            if scale != 1.0:
                h, w = rgb.shape[:2]
                size = (round(w * scale), round(h * scale))
                img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                f = np.array([size[0] / w, size[1] / h])
                pts = (points + 0.5) * f - 0.5
            out.append((f"{name} {scale:.0%}", np.ascontiguousarray(img), pts))
            mirrored = (pts * [-1, 1] + [img.shape[1] - 1, 0])[[1, 0, 2, 4, 3]]
            out.append(
                (f"{name} {scale:.0%} mirrored", np.ascontiguousarray(img[:, ::-1]), mirrored)
            )
    return out


def bench_quality(
    draws: int = 20, seed: int = 0, progress: Callable[[int, int, str], None] | None = None
) -> QualityBench:
    """Score the clean faces, ``draws`` default-mix degradations of each (face ``i`` gets
    seeds ``seed + i * draws`` onwards: every face its own draws) and every :data:`LEVELS` entry on each; see :class:`QualityBench`."""
    from gpen_desktop.core.degrade import apply_steps, degrade, describe_steps
    from gpen_desktop.core.faces.quality import face_quality

    t0 = time.perf_counter()
    photos = pypi_face_photos()
    faces = clean_faces(photos)
    total = len(faces) * (1 + draws + len(LEVELS))
    done = 0

    def score(img: np.ndarray, pts: np.ndarray) -> float:
        nonlocal done
        q = face_quality(img, pts)
        done += 1
        if progress is not None:
            progress(done, total, "scoring faces")
        return 0.0 if q is None else q.score

    clean, clean_parts, mix, left_out = [], [], [], 0
    level_scores: dict[str, list[float]] = {name: [] for name, _s in LEVELS}
    for index, (label, img, pts) in enumerate(faces):
        q = face_quality(img, pts)
        clean.append(0.0 if q is None else q.score)
        clean_parts.append({"face": label, **(q.to_json() if q is not None else {})})
        done += 1
        for k in range(draws):
            result = degrade(img, seed + index * draws + k)  # its own draws
            if all(s["step"] == "color" for s in result.steps):
                left_out += 1
                done += 1
                continue
            mix.append((score(result.image, pts), describe_steps(result.steps)))
        for name, steps in LEVELS:
            level_scores[name].append(score(apply_steps(img, list(steps)), pts))
    levels = [LevelRow(name, s, auc(clean, s)) for name, s in level_scores.items()]
    return QualityBench(
        auc=auc(clean, [s for s, _w in mix]),
        clean=clean,
        degraded=mix,
        levels=levels,
        faces=[label for label, _i, _p in faces],
        left_out=left_out,
        seconds=time.perf_counter() - t0,
        clean_parts=clean_parts,
        photos=[name for name, _rgb in photos],
    )
