"""Shared fixtures: tiny random-weight GPEN checkpoints in the official key layout, real photos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """Size 64, channel_multiplier 2, narrow 0.125, style_dim 512, 8 mapping layers."""
    from gpen_desktop.core.gpen import random_checkpoint

    return random_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-64.pth", 64, seed=1)


@pytest.fixture(scope="session")
def tiny_checkpoint_128(tmp_path_factory) -> Path:
    """Size 128, channel_multiplier 2, narrow 0.125."""
    from gpen_desktop.core.gpen import random_checkpoint

    return random_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-128.pth", 128, seed=2)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins, public domain): 512 x 512 x 3 uint8 RGB."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory, astronaut) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    cv2.imwrite(str(path), astronaut[:, :, ::-1])
    return path
