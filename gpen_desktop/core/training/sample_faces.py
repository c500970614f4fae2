"""Real faces that ship inside PyPI packages, aligned and augmented: a small training set and a
held-out set for ``gpen bench train`` and the training tests (no downloads).

- training: scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain) aligned with the
  project's own detector and aligner, plus crops with jittered landmarks (rotation, scale,
  shift) as if the face had been detected slightly differently;
- held out: matplotlib's ``grace_hopper.jpg`` (public domain) aligned the same way, plus two
  jittered crops. Nobody in the held-out set is in the training set.

The photos are aligned at 256 px and written as PNG; the trainer and ``gpen evaluate`` resize
them to the model size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpen_desktop.core.errors import GpenError

ALIGN_SIZE = 256


def _astronaut() -> np.ndarray:
    try:
        from skimage import data
    except ImportError:
        raise GpenError(
            "the training bench needs scikit-image (its astronaut photo is the training face): "
            "pip install scikit-image"
        ) from None
    return np.ascontiguousarray(data.astronaut())


def _grace_hopper() -> np.ndarray:
    try:
        import matplotlib.cbook as cbook
    except ImportError:
        raise GpenError(
            "the training bench needs matplotlib (its Grace Hopper photo is the held-out face): "
            "pip install matplotlib"
        ) from None
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return np.ascontiguousarray(np.asarray(Image.open(fh).convert("RGB")))


def jittered_crops(photo: np.ndarray, count: int, seed: int, size: int = ALIGN_SIZE) -> list:
    """The photo's largest face aligned (``size`` px), then ``count - 1`` crops whose five
    landmarks are rotated (±8°), scaled (0.9-1.1) and shifted (±4 % of the eye span's size)
    around their centre before alignment (seeded: the same crops every time)."""
    from gpen_desktop.core.faces import align_face, detect_faces

    faces = detect_faces(photo, "dlib")
    if not faces:
        raise GpenError("no face found in a sample photo (the detector is not working)")
    face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    base = face.landmarks_array().astype(np.float64)
    crops = [align_face(photo, base.astype(np.float32), size)[0]]
    rng = np.random.default_rng(seed)
    span = float(np.ptp(base[:, 0]))
    centre = base.mean(0)
    for _ in range(count - 1):
        angle = np.deg2rad(rng.uniform(-8, 8))
        scale = rng.uniform(0.9, 1.1)
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        moved = (base - centre) @ (rot * scale).T + centre + rng.uniform(-0.04, 0.04, 2) * span
        crops.append(align_face(photo, moved.astype(np.float32), size)[0])
    return crops


def write_faces(folder: Path, name: str, crops: list) -> list[Path]:
    import cv2

    from gpen_desktop.core.fileio import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, crop in enumerate(crops):
        ok, png = cv2.imencode(".png", np.ascontiguousarray(crop[:, :, ::-1]))
        if not ok:  # pragma: no cover - OpenCV always has a PNG encoder
            raise GpenError("PNG encoding failed")
        path = folder / f"{name}_{k:02d}.png"
        with atomic_write(path, overwrite=True) as tmp:
            tmp.write_bytes(png.tobytes())
        paths.append(path)
    return paths


def sample_face_folders(root: str | Path, train: int = 8, held_out: int = 3) -> tuple[Path, Path]:
    """``(root/train, root/val)``: ``train`` crops of the astronaut and ``held_out`` crops of
    Grace Hopper (see the module doc). Written once; an existing pair of folders with the
    right counts is reused."""
    root = Path(root)
    train_dir, val_dir = root / "train", root / "val"
    if len(list(train_dir.glob("*.png"))) != train:
        for old in train_dir.glob("*.png"):
            old.unlink()
        write_faces(train_dir, "astronaut", jittered_crops(_astronaut(), train, seed=1))
    if len(list(val_dir.glob("*.png"))) != held_out:
        for old in val_dir.glob("*.png"):
            old.unlink()
        write_faces(val_dir, "grace_hopper", jittered_crops(_grace_hopper(), held_out, seed=2))
    return train_dir, val_dir
