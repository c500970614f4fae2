"""Real-ESRGAN's compact general upscaler (SRVGGNetCompact) and its denoise-strength blend,
from random-weight files in the official key layout (``{'params': {'body.N.weight', ...}}``,
64 features, 32 convolutions, PReLU, x4), loaded through spandrel."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from helpers import WDN, X4V3, compact_pair

from gpen_desktop.core.catalog import known_model
from gpen_desktop.core.superres import (
    COMPACT_ARCH,
    SRInfo,
    SuperResolutionError,
    blend_weights,
    denoise_partner,
    inspect_sr_model,
    load_sr_model,
    mflops_per_pixel,
    random_compact_checkpoint,
    random_rrdbnet_state_dict,
    random_sr_checkpoint,
)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The two official files, side by side, with different random weights."""
    folder = compact_pair(tmp_path_factory.mktemp("compact"))
    return folder / f"{X4V3}.pth", folder / f"{WDN}.pth"


@pytest.fixture(scope="module")
def img():
    return np.random.default_rng(5).integers(0, 256, (12, 16, 3), dtype=np.uint8)


def _run(path, image, strength=None):
    return load_sr_model(path, "cpu", "float32", strength).upscale(image)


def test_files_have_the_official_key_layout(pair):
    strong, weak = pair
    sd = torch.load(strong, weights_only=True)["params"]
    # body.0 first conv, then (PReLU, conv) x 32, PReLU, body.66 the last conv (48 = 3 x 4 x 4)
    convs = {f"body.{i}.{p}" for i in range(0, 67, 2) for p in ("weight", "bias")}
    prelus = {f"body.{i}.weight" for i in range(1, 67, 2)}
    assert set(sd) == convs | prelus
    assert sd["body.0.weight"].shape == (64, 3, 3, 3)
    assert sd["body.1.weight"].shape == (64,)  # PReLU, one slope per channel
    assert sd["body.66.weight"].shape == (48, 64, 3, 3)
    info = inspect_sr_model(strong)
    assert (info.arch, info.scale, info.format, info.name) == (COMPACT_ARCH, 4, "params", X4V3)
    assert info.tags == ["64nf", "32nc"] and info.purpose == "SR"
    assert info.n_params == sum(v.numel() for v in sd.values()) == 1_213_296  # ~1.2 M
    assert inspect_sr_model(weak).name == WDN  # the same layout: the name tells the partner


def test_speed_class_comes_from_the_counted_cost_per_pixel(pair):
    import spandrel

    compact = inspect_sr_model(pair[0])
    assert 2.3 < compact.mflops_per_px < 2.5 and compact.speed == "fast"
    rrdb = spandrel.ModelLoader().load_from_state_dict(random_rrdbnet_state_dict(4))
    full = mflops_per_pixel(rrdb)
    assert 35 < full < 37  # RealESRNet x4: ~36 MFLOP per input pixel (DESIGN §7)
    assert SRInfo("r", "ESRGAN", 4, "SR", mflops_per_px=full).speed == "best"
    assert SRInfo("r", "ESRGAN", 4, "SR").speed == ""  # not counted: no class claimed
    assert "2.4 MFLOP/px (fast)" in compact.summary()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_output_is_four_times_the_size_in_the_same_depth(pair, img, dtype):
    image = img.astype(dtype) * (257 if dtype == np.uint16 else 1)
    out = _run(pair[0], image, 0.5)
    assert out.shape == (48, 64, 3) and out.dtype == dtype
    assert out.std() > 0


def test_blend_at_one_and_zero_is_each_file_and_between_is_the_mix(pair, img, tmp_path):
    strong, weak = pair
    plain_strong, plain_weak = _run(strong, img), _run(weak, img)
    assert not np.array_equal(plain_strong, plain_weak)
    sr = load_sr_model(strong, "cpu", "float32", 1.0)
    assert sr.partner_path == weak and sr.denoise_strength == 1.0
    assert np.array_equal(sr.upscale(img), plain_strong)  # dn 1: the x4v3 file
    sr.set_denoise(0.0)
    assert np.array_equal(sr.upscale(img), plain_weak)  # dn 0: the wdn file
    # 0.3: the network of 0.3 * x4v3 + 0.7 * wdn, as Real-ESRGAN's dni makes it
    a = torch.load(strong, weights_only=True)["params"]
    b = torch.load(weak, weights_only=True)["params"]
    mixed = tmp_path / "mixed.pth"
    torch.save({"params": {k: 0.3 * a[k] + 0.7 * b[k] for k in a}}, mixed)
    sr.set_denoise(0.3)
    assert sr.denoise_strength == 0.3 and sr.denoise_note is None
    assert np.abs(sr.upscale(img).astype(int) - _run(mixed, img)).max() <= 1
    sr.set_denoise(1.0)  # and back: the file's own weights, exactly
    assert np.array_equal(sr.upscale(img), plain_strong)


def test_blends_are_cached_per_strength(pair):
    sr = load_sr_model(pair[0], "cpu", "float32")
    sr.set_denoise(0.5)
    half = sr._blends[0.5]
    sr.set_denoise(0.25)
    sr.set_denoise(0.5)
    assert sr._blends[0.5] is half and list(sr._blends) == [0.25, 0.5]
    for k in range(20):
        sr.set_denoise(k / 40)
    assert len(sr._blends) <= sr.BLEND_CACHE


def test_the_blend_survives_a_precision_switch(pair, img):
    sr = load_sr_model(pair[0], "cpu", "float32", 0.4)
    exact = sr.upscale(img)
    sr.set_precision("bfloat16")
    sr.set_precision("float32")
    assert np.array_equal(sr.upscale(img), exact)  # the blend, not the x4v3 file, came back


def test_without_the_partner_the_plain_model_runs_and_says_why(pair, img, tmp_path):
    alone = tmp_path / f"{X4V3}.pth"
    shutil.copy(pair[0], alone)
    sr = load_sr_model(alone, "cpu", "float32", 0.5)
    assert sr.partner_path is None and sr.denoise_strength is None
    note = sr.denoise_note
    assert f"{WDN}.pth" in note and "plain model" in note and "\n" not in note
    assert np.array_equal(sr.upscale(img), _run(pair[0], img))
    sr.set_denoise(1.0)  # 1 is the plain model: nothing missing
    assert sr.denoise_note is None and sr.denoise_strength == 1.0


def test_a_partner_of_another_layout_is_not_blended(pair, img, tmp_path):
    shutil.copy(pair[0], tmp_path / f"{X4V3}.pth")
    random_sr_checkpoint(tmp_path / f"{WDN}.pth", 4)  # an RRDBNet under the partner's name
    sr = load_sr_model(tmp_path / f"{X4V3}.pth", "cpu", "float32", 0.5)
    assert sr.denoise_strength is None and "is not a" in sr.denoise_note
    assert np.array_equal(sr.upscale(img), _run(pair[0], img))


def test_partner_found_as_real_esrgan_names_it(pair, tmp_path):
    mine = tmp_path / f"old-{X4V3}.pt"
    shutil.copy(pair[0], mine)
    assert denoise_partner(mine) is None
    shutil.copy(pair[1], tmp_path / f"old-{WDN}.pt")
    assert denoise_partner(mine) == tmp_path / f"old-{WDN}.pt"
    (tmp_path / f"old-{WDN}.pt").unlink()
    shutil.copy(pair[1], tmp_path / f"{WDN}.pth")
    assert denoise_partner(mine) == tmp_path / f"{WDN}.pth"


def test_other_models_ignore_denoise_strength(tmp_path, img):
    sr = load_sr_model(random_sr_checkpoint(tmp_path / "tiny_x4.pth", 4), "cpu", "float32")
    before = sr.upscale(img)
    sr.set_denoise(0.2)
    assert sr.denoise_strength is None and sr.denoise_note is None
    assert np.array_equal(sr.upscale(img), before)


def test_blend_weights_refuses_different_layouts():
    a = {"w": torch.ones(2)}
    assert torch.equal(blend_weights(a, {"w": torch.zeros(2)}, 0.25)["w"], torch.full((2,), 0.25))
    with pytest.raises(SuperResolutionError):
        blend_weights(a, {"w": torch.zeros(3)}, 0.5)


def test_catalogue_and_weights_scan_know_both_files(pair, tmp_path):
    from gpen_desktop.core.models import scan_weights

    base = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/"
    for name in (X4V3, WDN):
        m = known_model(name)
        assert (m.task, m.scale, m.filename, m.url) == (
            "superres",
            4,
            f"{name}.pth",
            f"{base}{name}.pth",
        )
    for p in pair:
        shutil.copy(p, tmp_path / p.name)
    shutil.copy(pair[0], tmp_path / "fast-upscaler.pth")  # renamed: known by its layout
    found = {f.path.name: f for f in scan_weights([tmp_path])}
    assert found[f"{X4V3}.pth"].known.name == X4V3
    assert found[f"{WDN}.pth"].known.name == WDN
    assert found["fast-upscaler.pth"].known.name == X4V3
    assert all(f.kind == "superres" and f.info.speed == "fast" for f in found.values())
    # a compact network of another size is not the catalogue's
    random_compact_checkpoint(tmp_path / f"small-{X4V3}.pth", num_feat=16, num_conv=4)
    small = next(f for f in scan_weights([tmp_path]) if f.path.name.startswith("small"))
    assert small.known is None and small.info.name == f"small-{X4V3}"
