"""TrainConfig: presets, TOML round trip, learning-rate schedule, degradation presets."""

from __future__ import annotations

import pytest

from gpen_desktop.core.degrade import DegradeConfig, degrade
from gpen_desktop.core.training.config import TrainConfig, TrainConfigError


def test_seed_preset_is_the_seed_objective():
    c = TrainConfig(data="d", out="o").resolved()
    assert (c.l1, c.perceptual, c.identity, c.adversarial, c.lpips) == (1.0, 0.05, 0.1, 0.005, 0.1)
    assert (c.r1_gamma, c.r1_every, c.lr, c.lr_drop_to) == (10.0, 16, 2e-3, 2e-4)
    assert (c.color, c.color_p) == (1.0, 0.5)  # colours from the input (issue 21)
    assert (c.size, c.channel_multiplier, c.narrow) == (512, 2, 1.0)
    assert c.degrade_options() == DegradeConfig()


def test_gpen_preset_is_the_official_code():
    c = TrainConfig(data="d", out="o", preset="gpen", size=256).resolved()
    assert (c.smooth_l1, c.identity, c.adversarial, c.l1, c.path_weight) == (
        1.0,
        1.0,
        1.0,
        0.0,
        2.0,
    )
    assert c.lr == 0.002 and c.beta1 == 0.0 and c.lazy_lr_scaling
    assert c.ema_decay == pytest.approx(0.5 ** (32 / 10000))
    assert (c.channel_multiplier, c.narrow) == (1, 0.5)  # GPEN-BFR-256
    d = c.degrade_options()
    assert d.gaussian_blur_kernel == 41 and d.downsample_factor == (0.8, 8.0)
    assert d.jpeg_quality == (60, 100) and d.noise_sigma == (0.0, 20.0) and c.gray_p == 0.2


def test_gpen_degradation_runs_with_its_41_tap_kernel_and_enlarging_factors(astronaut_face):
    d = TrainConfig(data="d", out="o", preset="gpen").resolved().degrade_options()
    for seed in range(6):
        result = degrade(astronaut_face, seed=seed, config=d)
        assert result.image.shape == astronaut_face.shape
        blur = next(s for s in result.steps if s["step"] == "gaussian_blur")
        assert blur["kernel"] == 41 and 0.1 <= blur["sigma"] <= 10
    with pytest.raises(ValueError, match="odd"):
        DegradeConfig(gaussian_blur_kernel=40)


def test_toml_round_trip_keeps_every_value(tmp_path):
    c = TrainConfig(data="faces", out=str(tmp_path), size=64, narrow=0.25, preset="gpen").resolved()
    c.write(tmp_path / "config.toml")
    again = TrainConfig.from_file(tmp_path / "config.toml")
    assert again == c
    assert again.resolved() == c


def test_ema_decay_warms_up_in_the_seed_preset_only():
    seed = TrainConfig(data="d", out="o").resolved()
    assert [round(seed.ema_decay_at(s), 4) for s in (0, 90, 10**6)] == [0.1, 0.91, 0.999]
    gpen = TrainConfig(data="d", out="o", preset="gpen").resolved()
    assert gpen.ema_decay_at(0) == gpen.ema_decay


def test_learning_rate_drops_at_its_share_of_the_steps():
    c = TrainConfig(data="d", out="o", steps=1000).resolved()
    assert [c.lr_at(s) for s in (0, 799, 800, 999)] == [2e-3, 2e-3, 2e-4, 2e-4]


def test_a_degrade_config_file_replaces_the_preset_degradation(tmp_path):
    (tmp_path / "d.toml").write_text("order = ['jpeg']\n[jpeg]\np = 1.0\nquality = [30, 40]\n")
    c = TrainConfig(data="d", out="o", degrade_config=str(tmp_path / "d.toml")).resolved()
    assert c.degrade_options() == DegradeConfig(order=("jpeg",), jpeg_p=1.0, jpeg_quality=(30, 40))
    assert c.degradation["jpeg_quality"] == [30, 40]  # recorded in the run's config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": 100}, "--size must be a power of two"),
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"preset": "fast"}, "--preset must be one of"),
        ({"lr": -1.0}, "--lr must be positive"),
        ({"identity": -0.1}, "loss weight identity"),
        ({"precision": "int8"}, "--precision must be"),
    ],
)
def test_bad_options_are_one_line_errors(changes, message):
    with pytest.raises(TrainConfigError, match=message):
        TrainConfig(data="d", out="o", **changes).resolved()


def test_unknown_keys_in_a_config_file_are_refused(tmp_path):
    (tmp_path / "c.toml").write_text("stepz = 3\n")
    with pytest.raises(TrainConfigError, match="unknown option 'stepz'"):
        TrainConfig.from_file(tmp_path / "c.toml")
