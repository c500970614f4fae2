"""Find Damage's detector (core/damage_detect.py): rendered damage with known masks is found,
clean photos (a face with hair, a tripod's thin legs, a sharp edge) are left almost unmarked,
16-bit and alpha inputs, the sensitivity range and the seam for other detectors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gpen_desktop.core import damage_bench as bench
from gpen_desktop.core import damage_detect as dd
from gpen_desktop.core.errors import GpenError
from gpen_desktop.core.types import Face


def smooth_photo(h: int = 200, w: int = 240) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = 90 + 60 * xx / w + 20 * np.sin(yy / 30)
    return np.repeat(base[:, :, None], 3, 2).astype(np.uint8)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    grown = cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return float(np.count_nonzero(grown & truth)) / max(1, int(np.count_nonzero(truth)))


def test_rendered_scratches_specks_and_a_crease_are_found_and_little_else():
    photo = smooth_photo()
    r = bench.render_damage(photo, 1, [(2, 60, False), (3, 60, True), (5, 80, False)])
    found = dd.find_damage(r.image)
    for group in ("w2 c60", "w3 c60", "w5 c80"):
        assert recall(found.mask, r.groups[group]) >= 0.9, group
    assert recall(found.mask, r.groups["crease"]) >= 0.6
    assert recall(found.mask, r.groups["speck"]) >= 0.5
    far = cv2.dilate(r.any.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    assert np.count_nonzero(found.mask & far) / found.mask.size <= 0.005
    assert found.scratches >= 3 and found.specks >= 5
    # the same photo without damage, only grain: nothing
    rng = np.random.default_rng(0)
    grainy = np.clip(photo + bench.film_grain(photo.shape[:2], rng)[:, :, None], 0, 255)
    assert dd.find_damage(grainy.astype(np.uint8)).share <= 0.001


def test_a_face_with_hair_and_thin_real_structures_are_left_almost_unmarked():
    from skimage import data

    face = data.astronaut()[0:220, 120:330]  # hair, eyelashes, teeth, the suit's collar
    assert dd.find_damage(face).share <= 0.005
    box = Face(
        box=(50, 30, 160, 180), landmarks=((85, 95), (130, 95), (108, 120), (90, 150), (128, 150))
    )
    protected = dd.find_damage(face, faces=[box])
    assert protected.share <= 0.001
    # a long sharp edge of an object (a dark wall against a bright sky), sharp and soft
    scene = smooth_photo()
    scene[:, 150:] = 30
    assert dd.find_damage(scene).share == 0
    assert dd.find_damage(cv2.GaussianBlur(scene, (0, 0), 1.2)).share == 0
    # a real photo's thin structures (the cameraman's tripod legs, the camera)
    camera = data.camera()[60:360, 100:400]
    assert dd.find_damage(camera).share <= 0.02  # weaker than the 0.5 % goal


def test_16_bit_and_alpha_inputs():
    photo = smooth_photo()
    r = bench.render_damage(photo, 3, [(3, 70, False)])
    eight = dd.find_damage(r.image).mask
    sixteen = dd.find_damage(r.image.astype(np.uint16) * 257).mask
    assert np.count_nonzero(eight ^ sixteen) <= 0.02 * max(1, np.count_nonzero(eight))
    # a transparent half: never marked, and its edge is not a scratch
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :100] = 0
    rgba = np.dstack([r.image, alpha])
    rgba[:, :100, :3] = 0
    got = dd.find_damage(rgba).mask
    assert not got[:, :103].any()  # transparent, and a 3 px band along its edge
    near = cv2.dilate(r.any.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert not (got[:, 103:120] & ~near[:, 103:120]).any()  # the edge is no scratch
    assert recall(got[:, 110:], r.groups["w3 c70"][:, 110:]) >= 0.8


def test_sensitivity_is_checked_and_moves_the_thresholds():
    with pytest.raises(GpenError, match="from 0 to 1"):
        dd.find_damage(smooth_photo(), 1.5)
    r = bench.render_damage(smooth_photo(), 3, [(2, 40, True)])
    low, high = dd.find_damage(r.image, 0.1), dd.find_damage(r.image, 0.9)
    assert high.pixels >= low.pixels


def test_another_detector_plugs_in_by_name():
    class Everything:
        name = "everything"

        def detect(self, gray, sensitivity, protect):
            return np.ones(gray.shape, bool), {"scratches": 1}

    dd.register_detector("everything", Everything)
    try:
        eyes = Face(
            box=(10, 10, 50, 50), landmarks=((20, 25), (40, 25), (30, 32), (22, 42), (38, 42))
        )
        got = dd.find_damage(smooth_photo(), detector="everything", faces=[eyes])
        assert got.scratches == 1 and got.detector == "everything"
        assert not got.mask[25, 20] and got.mask[150, 150]  # the eyes stay unmarked
    finally:
        dd._DETECTORS.pop("everything")
    with pytest.raises(GpenError, match="unknown damage detector"):
        dd.find_damage(smooth_photo(), detector="nope")
