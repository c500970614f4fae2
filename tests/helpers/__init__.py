"""Test helpers shared by tests/core, tests/cli and tests/gui (importable as ``helpers``: pytest
puts tests/ on sys.path). Fixtures live in tests/conftest.py; plain functions live here."""

from __future__ import annotations

import numpy as np


def tiny_known_model(url: str, size: int = 64):
    """A catalogue entry (:class:`~gpen_desktop.core.catalog.KnownModel`) for the tiny
    random-weight checkpoint of ``size`` (conftest's ``tiny_checkpoint`` at 64) served at
    ``url``: what the downloader and the model manager check a download against."""
    from gpen_desktop.core.catalog import KnownModel

    return KnownModel(
        f"GPEN-Test-{size}", f"GPEN-Test-{size}.pth", size, 2, 0.125, "bfr", url, 17_000_000,
        "tiny test model",
    )  # fmt: skip


def mirrored_pair(image: np.ndarray) -> np.ndarray:
    """``image`` beside its mirror image (twice as wide): two faces far apart."""
    return np.ascontiguousarray(np.concatenate([image, image[:, ::-1]], axis=1))


def big_and_small(image: np.ndarray) -> np.ndarray:
    """1024 x 512 grey canvas: the 512 px ``image`` on the left, a half-size copy right of the
    centre (two faces of different sizes)."""
    import cv2

    canvas = np.full((512, 1024, 3), 128, np.uint8)
    canvas[:, :512] = image
    canvas[128:384, 600:856] = cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA)
    return canvas


#: Real-ESRGAN's compact general x4 model and its weak-denoise partner (file stems).
X4V3, WDN = "realesr-general-x4v3", "realesr-general-wdn-x4v3"


def compact_pair(folder):
    """Random-weight files of the compact general x4 model and its partner (official key
    layout, different seeds) in ``folder``; returns the folder."""
    from gpen_desktop.core.superres import random_compact_checkpoint

    random_compact_checkpoint(folder / f"{X4V3}.pth", seed=1)
    random_compact_checkpoint(folder / f"{WDN}.pth", seed=2)
    return folder
