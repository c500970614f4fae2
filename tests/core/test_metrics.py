"""PSNR, SSIM, dlib identity distance and LPIPS availability."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from gpen_desktop.core import metrics
from gpen_desktop.core.degrade import DegradeConfig, degrade
from gpen_desktop.core.metrics import (
    LPIPS_SKIPPED,
    compare,
    identity_descriptor,
    identity_distance,
    lpips_distance,
    lpips_status,
    psnr,
    ssim,
)

TEMPLATE = np.array(
    [(0.394611, 0.474383), (0.604356, 0.473223), (0.500150, 0.593670)]
)  # GPEN template: left eye, right eye, nose tip (fractions of the crop side)


def grace_hopper() -> np.ndarray:
    """Grace Hopper's portrait shipped with matplotlib (a dependency of facexlib via filterpy)."""
    mpl = pytest.importorskip("matplotlib")
    path = Path(mpl.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        pytest.skip("matplotlib's grace_hopper.jpg is not installed")
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def collins(astronaut, align) -> np.ndarray:
    return align(astronaut)


@pytest.fixture(scope="module")
def hopper(align) -> np.ndarray:
    return align(grace_hopper())


# -- PSNR --------------------------------------------------------------------------------------


def test_psnr_identical_is_inf(astronaut):
    assert psnr(astronaut, astronaut.copy()) == math.inf


@pytest.mark.parametrize("d", [1, 3, 10, 50])
def test_psnr_of_a_constant_offset(d):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 200, (64, 48, 3), dtype=np.uint8)
    b = a + np.uint8(d)
    assert psnr(b, a) == pytest.approx(20 * math.log10(255 / d), abs=1e-9)
    assert psnr(a, b) == psnr(b, a)


def test_psnr_matches_skimage_and_checks_shapes(astronaut):
    skm = pytest.importorskip("skimage.metrics")
    b = degrade(astronaut, 1).image
    assert psnr(b, astronaut) == pytest.approx(skm.peak_signal_noise_ratio(astronaut, b), abs=1e-9)
    with pytest.raises(ValueError, match="shape"):
        psnr(astronaut, astronaut[:10])


# -- SSIM --------------------------------------------------------------------------------------


def test_ssim_identical_is_one(astronaut):
    assert ssim(astronaut, astronaut.copy()) == pytest.approx(1.0, abs=1e-12)
    assert ssim(astronaut, astronaut.copy(), channel="rgb") == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_skimage(astronaut):
    skm = pytest.importorskip("skimage.metrics")
    kw = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 255}
    b = degrade(astronaut, 1).image
    luma = np.array([0.299, 0.587, 0.114])
    ref_y = skm.structural_similarity(astronaut @ luma, b @ luma, **kw)
    assert ssim(b, astronaut) == pytest.approx(ref_y, abs=1e-6)
    ref_rgb = skm.structural_similarity(astronaut, b, channel_axis=2, **kw)
    assert ssim(b, astronaut, channel="rgb") == pytest.approx(ref_rgb, abs=1e-6)


def test_ssim_falls_with_noise_and_rejects_bad_input(astronaut):
    values = [
        ssim(
            degrade(astronaut, 0, DegradeConfig.only("noise", noise_sigma=(s, s))).image, astronaut
        )
        for s in (2, 8, 25)
    ]
    assert 1.0 > values[0] > values[1] > values[2] > 0.0
    with pytest.raises(ValueError, match="11x11"):
        ssim(astronaut[:8, :8], astronaut[:8, :8])
    with pytest.raises(ValueError, match="channel"):
        ssim(astronaut, astronaut, channel="lab")


# -- identity ----------------------------------------------------------------------------------


def test_identity_same_face_is_zero_and_robust_to_mild_degradation(collins):
    assert identity_distance(collins, collins.copy()) == pytest.approx(0.0, abs=1e-9)
    mild = degrade(
        collins,
        0,
        DegradeConfig.only(
            "jpeg", "gaussian_blur", jpeg_quality=(60, 60), gaussian_blur_sigma=(1.0, 1.0)
        ),
    ).image
    assert identity_distance(mild, collins) < 0.3


def test_identity_of_two_different_people_is_larger(collins, hopper):
    """Eileen Collins (skimage astronaut) vs Grace Hopper (matplotlib sample data)."""
    other = identity_distance(collins, hopper)
    assert other > 0.6  # dlib's own same-person threshold
    assert other > 3 * identity_distance(
        degrade(collins, 0, DegradeConfig.only("jpeg", jpeg_quality=(60, 60))).image, collins
    )


def test_identity_detect_mode_on_whole_photos(astronaut, collins, hopper):
    assert identity_distance(astronaut, collins, aligned=False) < 0.35
    assert identity_distance(grace_hopper(), collins, aligned=False) > 0.6
    # No face in a flat image: None, not a number.
    assert identity_distance(np.full((200, 200, 3), 90, np.uint8), astronaut, aligned=False) is None
    # Aligned crops of any size give about the same descriptor (resized to IDENTITY_SIZE).
    small = cv2.resize(collins, (128, 128), interpolation=cv2.INTER_AREA)
    assert identity_distance(small, collins) < 0.2


# -- LPIPS -------------------------------------------------------------------------------------


def test_lpips_none_with_a_note_when_unavailable(astronaut, monkeypatch):
    ok, note = lpips_status()
    if ok:  # a machine with lpips and its cached backbone: it must compute
        assert lpips_distance(astronaut, astronaut.copy()) == pytest.approx(0.0, abs=1e-4)
    else:
        assert note.startswith(LPIPS_SKIPPED)
        assert lpips_distance(astronaut, astronaut) is None

    real_find_spec = metrics.importlib.util.find_spec
    monkeypatch.setattr(
        metrics.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "lpips" else real_find_spec(name, *a),
    )
    ok, note = lpips_status()
    assert not ok and note == f"{LPIPS_SKIPPED} (the lpips package is not installed)"
    assert lpips_distance(astronaut, astronaut) is None
    with pytest.raises(ValueError):
        lpips_status("resnet")


def test_compare_returns_every_metric(collins):
    b = degrade(collins, 2).image
    scores = compare(b, collins, lpips=False)
    assert set(scores) == {"psnr", "ssim", "identity", "lpips"}
    assert scores["psnr"] == psnr(b, collins) and scores["ssim"] == ssim(b, collins)
    assert scores["identity"] is not None and scores["lpips"] is None
    assert compare(b, collins, identity=False)["identity"] is None
    reference = identity_descriptor(collins)
    assert reference.shape == (128,)
    assert compare(b, collins, identity=reference)["identity"] == pytest.approx(scores["identity"])
