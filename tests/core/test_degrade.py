"""Synthetic degradation: ranges, effects, determinism and configuration."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from gpen_desktop.core.degrade import (
    INTERPOLATIONS,
    STEP_NAMES,
    DegradeConfig,
    DegradeConfigError,
    apply_steps,
    degrade,
    describe_steps,
    motion_kernel,
    sample_steps,
)
from gpen_desktop.core.errors import GpenError

SEEDS = range(300)


@pytest.fixture(scope="module")
def face(astronaut) -> np.ndarray:
    """A 192x192 crop around Eileen Collins' face (fast to degrade)."""
    return np.ascontiguousarray(astronaut[20:212, 124:316])


def _params(step: str, config: DegradeConfig | None = None) -> list[dict]:
    config = config or DegradeConfig.only(step)
    out = []
    for seed in SEEDS:
        steps = sample_steps(seed, config)
        assert [s["step"] for s in steps] == [step]
        out.append(steps[0])
    return out


def _blockiness(img: np.ndarray) -> float:
    """Mean |step| across 8x8 block borders divided by the mean |step| elsewhere (1 = none)."""
    y = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)
    dx = np.abs(np.diff(y, axis=1))  # dx[:, j] = |y[:, j+1] - y[:, j]|
    dy = np.abs(np.diff(y, axis=0))
    at_x = (np.arange(dx.shape[1]) % 8) == 7
    at_y = (np.arange(dy.shape[0]) % 8) == 7
    border = np.concatenate([dx[:, at_x].ravel(), dy[at_y, :].ravel()]).mean()
    inside = np.concatenate([dx[:, ~at_x].ravel(), dy[~at_y, :].ravel()]).mean()
    return float(border / inside)


def _hf_energy(img: np.ndarray) -> float:
    y = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(np.mean(cv2.Laplacian(y, cv2.CV_64F) ** 2))


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_same_bytes_different_seeds_differ(face):
    outs = [degrade(face, seed).image for seed in range(12)]
    again = [degrade(face, seed).image for seed in range(12)]
    for a, b in zip(outs, again, strict=True):
        assert a.tobytes() == b.tobytes()
    distinct = {o.tobytes() for o in outs}
    assert len(distinct) >= 11  # at most one pair may coincide (e.g. both with no step)
    all_steps = DegradeConfig(**{f"{n}_p": 1.0 for n in STEP_NAMES})
    a, b = degrade(face, 1, all_steps).image, degrade(face, 2, all_steps).image
    assert not np.array_equal(a, b)


def test_output_shape_dtype_and_result_record(face):
    result = degrade(face, 5)
    assert result.image.shape == face.shape and result.image.dtype == np.uint8
    assert result.seed == 5
    assert json.loads(json.dumps(result.to_json())) == {"seed": 5, "steps": result.steps}
    assert isinstance(describe_steps(result.steps), str)
    # A random seed is drawn and recorded when none is given; it reproduces the output.
    fresh = degrade(face)
    assert np.array_equal(degrade(face, fresh.seed).image, fresh.image)


def test_recorded_steps_replay_exactly(face):
    """The record holds everything: replaying it gives the same bytes."""
    config = DegradeConfig(**{f"{n}_p": 0.7 for n in STEP_NAMES})
    for seed in range(25):
        result = degrade(face, seed, config)
        replay = json.loads(json.dumps(result.steps))
        assert np.array_equal(apply_steps(face, replay), result.image)


def test_independent_of_opencv_thread_count(astronaut):
    before = cv2.getNumThreads()
    config = DegradeConfig(**{f"{n}_p": 1.0 for n in STEP_NAMES})
    try:
        outs = []
        for threads in (1, 4):
            cv2.setNumThreads(threads)
            outs.append([degrade(astronaut, s, config).image for s in range(4)])
    finally:
        cv2.setNumThreads(before)
    for a, b in zip(*outs, strict=True):
        assert np.array_equal(a, b)


def test_one_steps_settings_do_not_change_the_others():
    base = DegradeConfig(**{f"{n}_p": 1.0 for n in STEP_NAMES})
    changed = base.replace(jpeg_p=0.0, gaussian_blur_sigma=(0.5, 0.5))
    for seed in range(20):
        a = {s["step"]: s for s in sample_steps(seed, base)}
        b = {s["step"]: s for s in sample_steps(seed, changed)}
        assert "jpeg" not in b
        for name in ("color", "motion_blur", "downsample", "noise"):
            assert a[name] == b[name]


def test_odd_and_tiny_images_keep_their_shape():
    rng = np.random.default_rng(0)
    config = DegradeConfig(**{f"{n}_p": 1.0 for n in STEP_NAMES}, downsample_factor=(16, 16))
    for shape in ((37, 53, 3), (5, 3, 3), (1, 1, 3)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        out = degrade(img, 3, config).image
        assert out.shape == shape and out.dtype == np.uint8


def test_rejects_bad_images():
    with pytest.raises(ValueError):
        degrade(np.zeros((8, 8, 3), np.float32), 0)
    with pytest.raises(ValueError):
        degrade(np.zeros((8, 8), np.uint8), 0)
    with pytest.raises(ValueError):
        degrade(np.zeros((8, 8, 4), np.uint8), 0)
    with pytest.raises(ValueError):
        sample_steps(-1)


# -- probabilities and ranges ------------------------------------------------------------------


def test_probabilities_are_respected():
    config = DegradeConfig(
        color_p=0.0,
        gaussian_blur_p=1.0,
        motion_blur_p=0.3,
        downsample_p=0.0,
        noise_p=0.0,
        jpeg_p=0.0,
    )
    counts = {n: 0 for n in STEP_NAMES}
    for seed in range(600):
        for s in sample_steps(seed, config):
            counts[s["step"]] += 1
    assert counts["gaussian_blur"] == 600
    assert counts["color"] == counts["downsample"] == counts["noise"] == counts["jpeg"] == 0
    assert 0.24 < counts["motion_blur"] / 600 < 0.36


def test_steps_follow_the_configured_order():
    order = ("jpeg", "noise", "gaussian_blur")
    config = DegradeConfig.only(*order)
    for seed in range(5):
        assert [s["step"] for s in sample_steps(seed, config)] == list(order)


def test_default_ranges():
    d = DegradeConfig()
    assert d.downsample_factor == (2.0, 16.0)
    assert d.gaussian_blur_sigma == (0.0, 3.0)
    assert d.motion_blur_length[1] == 25
    assert d.jpeg_quality == (10, 100)
    assert d.noise_sigma == (0.0, 25.0)
    assert set(d.downsample_interpolations) == {"nearest", "linear", "cubic", "area", "lanczos"}


def test_downsample_parameters_in_range():
    ps = _params("downsample")
    factors = np.array([p["factor"] for p in ps])
    assert factors.min() >= 2.0 and factors.max() <= 16.0
    assert factors.min() < 2.5 and factors.max() > 12.0  # the whole range is used
    seen = {p["down"] for p in ps} | {p["up"] for p in ps}
    assert seen == set(INTERPOLATIONS)
    custom = _params("downsample", DegradeConfig.only("downsample", downsample_factor=(3, 4)))
    assert all(3.0 <= p["factor"] <= 4.0 for p in custom)


def test_gaussian_blur_parameters_in_range():
    sigmas = np.array([p["sigma"] for p in _params("gaussian_blur")])
    assert sigmas.min() >= 0.0 and sigmas.max() <= 3.0
    assert sigmas.min() < 0.2 and sigmas.max() > 2.8


def test_motion_blur_parameters_in_range():
    ps = _params("motion_blur")
    lengths = [p["length"] for p in ps]
    angles = [p["angle"] for p in ps]
    assert all(isinstance(v, int) for v in lengths)
    assert min(lengths) >= 3 and max(lengths) <= 25 and max(lengths) >= 24
    assert min(angles) >= 0.0 and max(angles) < 180.0


def test_jpeg_parameters_in_range():
    qs = [p["quality"] for p in _params("jpeg")]
    assert all(isinstance(q, int) for q in qs)
    assert min(qs) >= 10 and max(qs) <= 100
    assert min(qs) <= 13 and max(qs) >= 97


def test_noise_parameters_in_range():
    ps = _params("noise")
    sigmas = [p["sigma"] for p in ps]
    assert min(sigmas) >= 0.0 and max(sigmas) <= 25.0 and max(sigmas) > 24.0
    gray = sum(p["gray"] for p in ps) / len(ps)
    assert 0.3 < gray < 0.5  # default gray probability 0.4


def test_color_parameters_in_range():
    c = DegradeConfig()
    for p in _params("color"):
        assert c.color_gamma[0] <= p["gamma"] <= c.color_gamma[1]
        assert c.color_contrast[0] <= p["contrast"] <= c.color_contrast[1]
        assert len(p["gain"]) == 3
        assert all(c.color_gain[0] <= g <= c.color_gain[1] for g in p["gain"])


# -- effects -----------------------------------------------------------------------------------


def test_jpeg_leaves_block_artefacts(face):
    assert _blockiness(face) < 1.15
    low = DegradeConfig.only("jpeg", jpeg_quality=(10, 10))
    high = DegradeConfig.only("jpeg", jpeg_quality=(100, 100))
    assert _blockiness(degrade(face, 0, low).image) > 1.4
    q100 = degrade(face, 0, high).image
    assert _blockiness(q100) < 1.15
    # It is a real encode/decode: even quality 100 changes some pixels, but barely.
    assert not np.array_equal(q100, face)
    assert np.abs(q100.astype(int) - face).mean() < 2.0


@pytest.mark.parametrize("sigma", [5.0, 15.0, 25.0])
def test_noise_std_matches_sigma(sigma):
    flat = np.full((256, 256, 3), 128, np.uint8)
    for gray in (0.0, 1.0):
        config = DegradeConfig.only("noise", noise_sigma=(sigma, sigma), noise_gray_p=gray)
        out = degrade(flat, 7, config).image.astype(np.float64)
        assert out.std() == pytest.approx(sigma, rel=0.05)
        assert abs(out.mean() - 128) < 0.5
        corr = np.corrcoef(out[..., 0].ravel(), out[..., 1].ravel())[0, 1]
        if gray:
            assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(
                out[..., 1], out[..., 2]
            )
        else:
            assert abs(corr) < 0.05


def test_gaussian_blur_reduces_high_frequencies(face):
    energy = _hf_energy(face)
    previous = energy
    for sigma in (0.5, 1.0, 2.0, 3.0):
        config = DegradeConfig.only("gaussian_blur", gaussian_blur_sigma=(sigma, sigma))
        e = _hf_energy(degrade(face, 0, config).image)
        assert e < previous
        previous = e
    assert previous < 0.1 * energy


def test_motion_blur_smears_along_its_angle():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    config = DegradeConfig.only("motion_blur", motion_blur_length=(15, 15))
    steps = [{"step": "motion_blur", "length": 15, "angle": 0.0}]
    out = apply_steps(img, steps).astype(np.float64)
    gx = np.abs(np.diff(out, axis=1)).mean()
    gy = np.abs(np.diff(out, axis=0)).mean()
    assert gx < 0.3 * gy  # a horizontal streak removes horizontal detail only
    vertical = apply_steps(img, [{"step": "motion_blur", "length": 15, "angle": 90.0}])
    v = vertical.astype(np.float64)
    assert np.abs(np.diff(v, axis=0)).mean() < 0.3 * np.abs(np.diff(v, axis=1)).mean()
    assert _hf_energy(degrade(img, 3, config).image) < 0.2 * _hf_energy(img)


@pytest.mark.parametrize("length,angle", [(1, 0.0), (9, 33.0), (25, 135.0), (10, 90.0)])
def test_motion_kernel_is_a_normalised_streak(length, angle):
    k = motion_kernel(length, angle)
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    assert (k > 1e-3).sum() >= min(length, k.shape[0])  # a line, not a dot
    assert k[k.shape[0] // 2, k.shape[1] // 2] > 0  # through the centre


def test_downsample_effective_factor_in_range():
    """Nearest down/up leaves constant blocks: the number of column changes ~ width / factor."""
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    config = DegradeConfig.only("downsample", downsample_interpolations=("nearest",))
    for seed in range(40):
        result = degrade(img, seed, config)
        factor = result.steps[0]["factor"]
        assert 2.0 <= factor <= 16.0
        changes = int(np.any(np.diff(result.image[0].astype(int), axis=0) != 0, axis=1).sum())
        distinct = changes + 1
        assert abs(distinct - 256 / factor) <= 1.0
    # Smooth interpolation removes detail, more for larger factors.
    smooth = DegradeConfig.only("downsample", downsample_interpolations=("area",))
    e2 = _hf_energy(degrade(img, 0, smooth.replace(downsample_factor=(2, 2))).image)
    e8 = _hf_energy(degrade(img, 0, smooth.replace(downsample_factor=(8, 8))).image)
    assert e8 < e2 < 0.5 * _hf_energy(img)


def test_color_shift_applies_gamma_and_contrast():
    gray = np.full((16, 16, 3), 128, np.uint8)
    gamma = DegradeConfig.only(
        "color", color_gamma=(2.0, 2.0), color_contrast=(1.0, 1.0), color_gain=(1.0, 1.0)
    )
    assert np.all(degrade(gray, 0, gamma).image == round(255 * (128 / 255) ** 2))
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    contrast = DegradeConfig.only(
        "color", color_gamma=(1.0, 1.0), color_contrast=(0.5, 0.5), color_gain=(1.0, 1.0)
    )
    out = degrade(ramp, 0, contrast).image.astype(int)
    assert out.max() - out.min() == pytest.approx(128, abs=2)
    cast = DegradeConfig.only("color")
    steps = degrade(ramp, 4, cast).steps[0]
    assert len(set(steps["gain"])) > 1  # per-channel gains: a colour cast


# -- configuration -----------------------------------------------------------------------------


def test_config_from_toml_and_json(tmp_path):
    toml = tmp_path / "d.toml"
    toml.write_text(
        'order = ["gaussian_blur", "jpeg"]\n'
        "noise_p = 0.0\n"
        "[jpeg]\np = 1.0\nquality = [20, 30]\n"
        "[gaussian_blur]\np = 0.5\nsigma = [1.0, 2.0]\n",
        encoding="utf-8",
    )
    c = DegradeConfig.from_file(toml)
    assert c.order == ("gaussian_blur", "jpeg")
    assert c.jpeg_p == 1.0 and c.jpeg_quality == (20, 30)
    assert c.gaussian_blur_p == 0.5 and c.gaussian_blur_sigma == (1.0, 2.0)
    for seed in range(30):
        steps = sample_steps(seed, c)
        assert steps[-1]["step"] == "jpeg" and 20 <= steps[-1]["quality"] <= 30

    js = tmp_path / "d.json"
    js.write_text(json.dumps(c.to_dict()), encoding="utf-8")
    assert DegradeConfig.from_file(js) == c
    assert DegradeConfig.from_dict(DegradeConfig().to_dict()) == DegradeConfig()


@pytest.mark.parametrize(
    "data,match",
    [
        ({"jpeg_qualty": [1, 2]}, "unknown option"),
        ({"jpeg": {"qualty": [1, 2]}}, "unknown option jpeg.qualty"),
        ({"jpeg_quality": [50, 20]}, "above"),
        ({"jpeg_quality": [0, 20]}, "within"),
        ({"noise_p": 1.5}, r"\[0, 1\]"),
        ({"order": ["blur"]}, "unknown step"),
        ({"order": ["jpeg", "jpeg"]}, "twice"),
        ({"downsample_interpolations": ["bilinear"]}, "interpolations"),
        ({"gaussian_blur_sigma": "wide"}, "pair"),
        ({"motion_blur_length": [2.5, 9]}, "integers"),
    ],
)
def test_bad_configs_are_refused(data, match):
    with pytest.raises(DegradeConfigError, match=match):
        DegradeConfig.from_dict(data)


def test_bad_config_files(tmp_path):
    broken = tmp_path / "x.toml"
    broken.write_text("jpeg_p = = 1", encoding="utf-8")
    with pytest.raises(GpenError, match="not valid"):
        DegradeConfig.from_file(broken)
    with pytest.raises(GpenError, match="cannot read"):
        DegradeConfig.from_file(tmp_path / "missing.json")
    other = tmp_path / "x.yaml"
    other.write_text("a: 1", encoding="utf-8")
    with pytest.raises(GpenError, match=".json or .toml"):
        DegradeConfig.from_file(other)
    scalar = tmp_path / "s.json"
    scalar.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(GpenError, match="table/object"):
        DegradeConfig.from_file(scalar)


def test_single_number_means_fixed_value():
    c = DegradeConfig(jpeg_quality=50, noise_sigma=3.0)
    assert c.jpeg_quality == (50, 50) and c.noise_sigma == (3.0, 3.0)
