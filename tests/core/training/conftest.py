"""Training fixtures: folders of real faces (PyPI-shipped photos, aligned, augmented) and a tiny
network configuration that trains a step in well under a second on a CPU."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def _augment(face: np.ndarray, k: int) -> np.ndarray:
    """Variant ``k`` of an aligned face: a small shift, rotation and scale, some brightness."""
    size = face.shape[0]
    rng = np.random.default_rng(k)
    angle, scale = rng.uniform(-6, 6), rng.uniform(0.95, 1.05)
    m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    m[:, 2] += rng.uniform(-3, 3, 2)
    out = cv2.warpAffine(face, m, (size, size), borderMode=cv2.BORDER_REFLECT_101)
    return np.clip(out.astype(np.float32) * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8)


def _write(folder: Path, faces: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, face in enumerate(faces):
        cv2.imwrite(str(folder / f"face_{i:02d}.png"), np.ascontiguousarray(face[:, :, ::-1]))
    return folder


@pytest.fixture(scope="session")
def astronaut_face(astronaut, align) -> np.ndarray:
    return align(astronaut, 128)


@pytest.fixture(scope="session")
def hopper_face(align) -> np.ndarray:
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        photo = np.asarray(Image.open(fh).convert("RGB"))
    return align(np.ascontiguousarray(photo), 128)


@pytest.fixture(scope="session")
def faces_dir(tmp_path_factory, astronaut_face) -> Path:
    """Six augmented 128 px crops of scikit-image's astronaut (training data)."""
    faces = [astronaut_face] + [_augment(astronaut_face, k) for k in range(1, 6)]
    return _write(tmp_path_factory.mktemp("train") / "faces", faces)


@pytest.fixture(scope="session")
def val_dir(tmp_path_factory, hopper_face) -> Path:
    """Grace Hopper (matplotlib's sample photo), not in the training data."""
    return _write(tmp_path_factory.mktemp("val") / "faces", [hopper_face])


@pytest.fixture
def tiny(faces_dir, tmp_path):
    """``tiny(**changes)`` -> a TrainConfig of a 64 px network with ~0.3 M parameters, pixel +
    adversarial terms only (no backbones), float32, no workers, no TensorBoard."""
    from gpen_desktop.core.training.config import TrainConfig

    def make(**changes):
        options = dict(
            data=str(faces_dir),
            out=str(tmp_path / "run"),
            size=64,
            narrow=0.0625,
            style_dim=64,
            n_mlp=2,
            steps=4,
            batch_size=2,
            workers=0,
            precision="float32",
            perceptual=0.0,
            identity=0.0,
            lpips=0.0,
            log_every=1,
            save_every=2,
            tensorboard=False,
        )
        options.update(changes)
        return TrainConfig(**options)

    return make


def _read_log(run: str | Path) -> list[dict]:
    import json

    lines = (Path(run) / "log.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="session")
def read_log():
    """``read_log(RUN)`` -> the records of RUN/log.jsonl."""
    return _read_log


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    """Every training test runs on one torch thread (see the fixture in tests/conftest.py)."""
