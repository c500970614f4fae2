"""Background super-resolution through spandrel, with tiny random RRDBNets in the basicsr layout."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from gpen_desktop.core.errors import Cancelled, CheckpointError
from gpen_desktop.core.superres import (
    SuperResolutionError,
    auto_tile_size,
    inspect_sr_model,
    load_sr_model,
    plan_tiles,
    random_sr_checkpoint,
)


@pytest.fixture(scope="module")
def sr_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sr")
    return {s: random_sr_checkpoint(folder / f"tiny_x{s}.pth", s, seed=s) for s in (4, 2, 1)}


@pytest.fixture(scope="module")
def x2(sr_files):
    return load_sr_model(sr_files[2], "cpu", "float32")


@pytest.fixture(scope="module")
def x4(sr_files):
    return load_sr_model(sr_files[4], "cpu", "float32")


@pytest.fixture(scope="module")
def bf2(sr_files):
    """The x2 model in bfloat16, asked for explicitly (whatever this CPU has)."""
    return load_sr_model(sr_files[2], "cpu", "bfloat16")


@pytest.fixture(scope="module")
def patch(astronaut):
    return np.ascontiguousarray(astronaut[120:210, 170:270])  # 90 x 100, the face


def test_files_are_basicsr_rrdbnets_under_params_ema(sr_files):
    for scale, in_ch in ((4, 3), (2, 12), (1, 48)):
        raw = torch.load(sr_files[scale], weights_only=True)
        sd = raw["params_ema"]
        assert sd["conv_first.weight"].shape[1] == in_ch  # pixel-unshuffled inputs for x2, x1
        for key in ("body.0.rdb3.conv5.weight", "conv_body.weight", "conv_up2.weight"):
            assert key in sd
        info = inspect_sr_model(sr_files[scale])
        assert (info.arch, info.scale, info.format) == ("ESRGAN", scale, "params_ema")
        assert info.purpose == ("Restoration" if scale == 1 else "SR")


def test_output_has_the_scaled_size_and_dtype(x2, x4, sr_files):
    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for sr in (x2, x4, load_sr_model(sr_files[1], "cpu", "float32")):
        out = sr.upscale(img)
        assert out.shape == (37 * sr.scale, 53 * sr.scale, 3) and out.dtype == np.uint8
        assert out.std() > 0.5  # a real image, not a constant
    assert sr.last_tiles == 1


@pytest.mark.parametrize("scale", [4, 2])
def test_tiles_reproduce_the_untiled_result(scale, x2, x4, patch):
    sr = {2: x2, 4: x4}[scale]
    part = np.ascontiguousarray(patch[:60, :70])
    whole = sr.upscale(part, tile=1024)
    assert sr.last_tiles == 1
    tiled = sr.upscale(part, tile=32)
    assert sr.last_tiles == 6
    assert np.abs(tiled.astype(int) - whole).max() <= 1


# --------------------------------------------------------------------------- precision

#: bfloat16 against float32 on the tiny random networks (8-bit levels; measured 1). The
#: official-size RealESRNet x4 with random weights measured 9 (mean 0.47) on the astronaut:
#: `gpen bench --sr` reports it.
BF16_LEVELS = 2


@pytest.mark.parametrize("scale", [4, 2])
def test_bfloat16_is_within_a_few_levels_of_float32(scale, sr_files, x2, x4, patch):
    exact = {2: x2, 4: x4}[scale]
    fast = load_sr_model(sr_files[scale], "cpu", "bfloat16")
    assert fast.dtype == torch.bfloat16 and exact.dtype == torch.float32
    a, b = exact.upscale(patch), fast.upscale(patch)
    assert a.shape == b.shape and b.dtype == np.uint8
    assert np.abs(a.astype(int) - b).max() <= BF16_LEVELS
    assert not np.array_equal(a, b)  # it did run in bfloat16


def test_tiled_bfloat16_equals_untiled_bfloat16(bf2, patch):
    whole = bf2.upscale(patch, tile=1024)
    assert bf2.last_tiles == 1
    tiled = bf2.upscale(patch, tile=32)
    assert bf2.last_tiles == 12
    diff = np.abs(tiled.astype(int) - whole)
    assert diff.max() <= 1
    # the seam lines (both output rows/columns at every tile border) checked on their own
    plan = plan_tiles(*patch.shape[:2], 32, grid=bf2.grid)
    rows = sorted({y0 * 2 + d for (y0, _y1, _x0, _x1), _ in plan if y0 for d in (-1, 0)})
    cols = sorted({x0 * 2 + d for (_y0, _y1, x0, _x1), _ in plan if x0 for d in (-1, 0)})
    assert len(rows) == 4 and len(cols) == 6
    assert diff[rows].max() <= 1 and diff[:, cols].max() <= 1


def test_auto_precision_follows_the_face_networks_rule(sr_files, monkeypatch):
    import gpen_desktop.core.inference as inference
    from gpen_desktop.core.superres import sr_dtype

    desc = load_sr_model(sr_files[2], "cpu", "float32")._desc
    for native, expected in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(inference, "cpu_has_native_bfloat16", lambda n=native: n)
        assert sr_dtype("cpu", "auto", desc) == expected
        assert sr_dtype("cpu", "auto", desc) == inference.pick_dtype("cpu", "auto")
        assert load_sr_model(sr_files[2], "cpu").dtype == expected
    assert sr_dtype("cuda", "auto", desc) == torch.float16
    assert sr_dtype("cpu", "float16", desc) == torch.float32  # no fast float16 on a CPU
    assert sr_dtype("cpu", "float32", desc) == torch.float32
    assert sr_dtype("cpu", "bfloat16", desc) == torch.bfloat16

    class NoReduced:
        supports_half = supports_bfloat16 = False

    assert sr_dtype("cpu", "bfloat16", NoReduced()) == torch.float32
    assert sr_dtype("cuda", "auto", NoReduced()) == torch.float32


def test_channels_last_and_precision_switch_without_reload(sr_files, patch):
    sr = load_sr_model(sr_files[4], "cpu", "float32")
    conv = next(m for m in sr._desc.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    exact = sr.upscale(patch)
    sr.set_precision("bfloat16")
    assert sr.dtype_name == "bfloat16" and conv.weight.dtype == torch.bfloat16
    assert np.abs(sr.upscale(patch).astype(int) - exact).max() <= BF16_LEVELS
    sr.set_precision("float32")
    assert np.array_equal(sr.upscale(patch), exact)


def test_tile_plan_covers_the_image_once_on_the_grid():
    plan = plan_tiles(101, 250, tile=64, overlap=10, grid=4)
    cover = np.zeros((101, 250), int)
    for (y0, y1, x0, x1), (py0, py1, px0, px1) in plan:
        cover[y0:y1, x0:x1] += 1
        assert y0 % 4 == 0 and x0 % 4 == 0 and py0 % 4 == 0 and px0 % 4 == 0
        assert py0 <= y0 and py1 >= y1 and px0 <= x0 and px1 >= x1
        assert y0 - py0 in (0, 12) and px1 - x1 in (0, 12) or px1 == 250
    assert (cover == 1).all()
    assert len(plan) == 2 * 4


def test_sixteen_bit_is_processed_as_float_and_stays_sixteen_bit(x2, patch):
    deep = patch.astype(np.uint16) * 257
    out16 = x2.upscale(deep)
    out8 = x2.upscale(patch)
    assert out16.dtype == np.uint16 and out16.shape == out8.shape
    assert np.abs(out16 / 257.0 - out8).max() <= 1.0
    assert (out16 % 257 != 0).any()  # finer than 8-bit steps


def test_progress_per_tile_and_cancel_between_tiles(x2, patch, monkeypatch):
    seen = []
    x2.upscale(patch, tile=32, progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(i, 12) for i in range(1, 13)]
    runs = []
    real = x2._run_tile
    monkeypatch.setattr(x2, "_run_tile", lambda *a: runs.append(1) or real(*a))
    with pytest.raises(Cancelled):
        x2.upscale(patch, tile=32, cancel=lambda: len(runs) >= 2)
    assert len(runs) == 2


def test_non_sr_files_get_a_message_naming_what_spandrel_saw(tmp_path, tiny_checkpoint):
    with pytest.raises(SuperResolutionError, match="GPEN face restorer"):
        inspect_sr_model(tiny_checkpoint)
    other = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, other)
    with pytest.raises(SuperResolutionError, match="not a model spandrel recognises"):
        inspect_sr_model(other)
    from spandrel.architectures.ESRGAN import ESRGAN

    gray = tmp_path / "gray.pth"
    torch.save(ESRGAN(in_nc=1, out_nc=1, num_filters=8, num_blocks=1).state_dict(), gray)
    with pytest.raises(SuperResolutionError, match="1 input and 1 output channels"):
        inspect_sr_model(gray)
    with pytest.raises(SuperResolutionError, match="not found"):
        inspect_sr_model(tmp_path / "missing.pth")


def test_unsafe_files_are_refused_before_anything_runs(tmp_path):
    evil = tmp_path / "evil.pth"
    torch.save({"params_ema": {"x": torch.zeros(1)}, "hook": print}, evil)
    with pytest.raises(CheckpointError, match="refused to load evil.pth"):
        inspect_sr_model(evil)


def test_missing_spandrel_is_a_one_line_message(sr_files, monkeypatch):
    monkeypatch.setitem(sys.modules, "spandrel", None)  # import spandrel -> ImportError
    with pytest.raises(SuperResolutionError) as exc:
        load_sr_model(sr_files[4], "cpu")
    assert str(exc.value) == (
        "background super-resolution needs the 'spandrel' package: pip install spandrel"
    )


def test_automatic_tile_follows_free_memory(sr_files):
    info = inspect_sr_model(sr_files[4])
    info.features = 64
    sizes = [auto_tile_size(info, "cpu", free_bytes=g * 2**30) for g in (0.25, 2, 8, 64)]
    assert sizes == sorted(sizes) and sizes[0] >= 64 and sizes[-1] == 512
    assert all(s % 16 == 0 for s in sizes)
    assert auto_tile_size(info, "cpu", free_bytes=None) > 0


def test_weights_scan_lists_upscalers_with_their_scale(tmp_path, sr_files, tiny_checkpoint):
    import shutil

    from gpen_desktop.core.models import KNOWN_MODELS, scan_weights

    for path in sr_files.values():
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(tiny_checkpoint, tmp_path / "gpen.pth")
    found = {f.path.name: f for f in scan_weights([tmp_path])}
    assert found["gpen.pth"].kind == "restorer"
    for s in (4, 2, 1):
        f = found[f"tiny_x{s}.pth"]
        assert f.kind == "superres" and f.info.scale == s and f.error is None
        assert f.to_json()["info"]["scale"] == s
    official = {m.name: m for m in KNOWN_MODELS if m.task == "superres"}
    assert sorted(official) == [
        "realesr-general-wdn-x4v3",
        "realesr-general-x4v3",
        "realesrnet_x1",
        "realesrnet_x2",
        "realesrnet_x4",
    ]
    assert official["realesrnet_x2"].scale == 2
    assert official["realesrnet_x4"].url == (
        "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/realesrnet_x4.pth"
    )


def test_official_layout_is_named_as_gpens_file():
    from gpen_desktop.core.superres import _known_name

    assert _known_name("ESRGAN", 2, ["64nf", "23nb", "unshuffle"]) == "realesrnet_x2"
    assert _known_name("ESRGAN", 4, ["64nf", "23nb"]) == "realesrnet_x4"
    assert _known_name("ESRGAN", 4, ["32nf", "23nb"]) is None
    # Real-ESRGAN's compact general x4 and its weak-denoise partner: one layout, told by name
    compact = ("RealESRGAN Compact", 4, ["64nf", "32nc"])
    assert _known_name(*compact, "weights/realesr-general-x4v3.pth") == "realesr-general-x4v3"
    assert _known_name(*compact, "realesr-general-wdn-x4v3.pth") == "realesr-general-wdn-x4v3"
    assert _known_name("RealESRGAN Compact", 4, ["64nf", "16nc"], "anime.pth") is None


# --------------------------------------------------------------------------- in the pipeline


@pytest.fixture(scope="module")
def small_scene(astronaut):
    """The astronaut at 160 px and its face (landmarks scaled from the full-size detection)."""
    import cv2

    from gpen_desktop.core.faces import detect_faces

    face = detect_faces(astronaut, "dlib")[0]
    k = 160 / 512
    small = cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA)
    lm = (np.asarray(face.landmarks) + 0.5) * k - 0.5
    return small, face.with_(box=tuple(np.asarray(face.box) * k), landmarks=tuple(map(tuple, lm)))


def _restorer(ckpt, sr_path, **kw):
    from gpen_desktop.core.pipeline import RestoreOptions, Restorer

    kw.setdefault("sr_precision", "float32")  # compared with the float32 fixtures
    return Restorer(RestoreOptions(model_path=str(ckpt), device="cpu", sr_model=str(sr_path), **kw))


def test_pipeline_restores_faces_on_the_super_resolved_background(
    small_scene, sr_files, x2, tiny_checkpoint
):
    from gpen_desktop.core.types import Photo

    small, face = small_scene
    r = _restorer(tiny_checkpoint, sr_files[2], upscale=0)
    res = r.restore(Photo(pixels=small), [face])
    out = res.image.pixels
    assert out.shape == (320, 320, 3) and res.weight.shape == (320, 320)
    assert res.superres["model"] == "tiny_x2" and res.superres["scale"] == 2
    assert res.superres["tiles"] >= 1 and res.superres["precision"] == "float32"
    background = x2.upscale(small)
    away = res.weight == 0
    assert away.mean() > 0.3 and np.array_equal(out[away], background[away])
    x0, y0, x1, y1 = (np.asarray(face.box) * 2).astype(int)
    assert res.weight[(y0 + y1) // 2, (x0 + x1) // 2] > 0.9  # the face sits where it belongs


def test_upscale_of_another_scale_resizes_after_sr_and_alpha_is_resized(
    small_scene, sr_files, x2, tiny_checkpoint
):
    from gpen_desktop.core.superres import resize_to
    from gpen_desktop.core.types import Photo

    small, face = small_scene
    alpha = np.full(small.shape[:2], 255, np.uint8)
    alpha[:, :40] = 0
    r = _restorer(tiny_checkpoint, sr_files[2], upscale=3)
    res = r.restore(Photo(pixels=small, alpha=alpha), [face])
    assert res.image.pixels.shape == (480, 480, 3)
    assert res.image.alpha.shape == (480, 480)
    assert res.image.alpha[:, :100].max() < 30 and res.image.alpha[:, 140:].min() > 225
    expected = resize_to(x2.upscale(small), 480, 480)
    away = res.weight == 0
    assert np.array_equal(res.image.pixels[away], expected[away])


def test_sixteen_bit_photo_with_sr_stays_sixteen_bit(small_scene, sr_files, tiny_checkpoint):
    from gpen_desktop.core.types import Photo

    small, face = small_scene
    r = _restorer(tiny_checkpoint, sr_files[2], upscale=0)
    res = r.restore(Photo(pixels=small.astype(np.uint16) * 257), [face])
    assert res.image.pixels.dtype == np.uint16 and res.image.pixels.shape == (320, 320, 3)


def test_cancel_during_sr_gives_no_result(small_scene, sr_files, tiny_checkpoint):
    from gpen_desktop.core.types import Photo

    small, face = small_scene
    r = _restorer(tiny_checkpoint, sr_files[2], upscale=0, tile=64)
    tiles = []

    def progress(done, total, message):
        if message.startswith("enhancing background"):
            tiles.append(done)

    with pytest.raises(Cancelled):
        r.restore(Photo(pixels=small), [face], progress=progress, cancel=lambda: len(tiles) >= 1)
    assert tiles == [1]


def test_bad_sr_model_fails_before_any_work(tiny_checkpoint):
    from gpen_desktop.core.types import Photo

    r = _restorer(tiny_checkpoint, tiny_checkpoint)
    with pytest.raises(SuperResolutionError, match="GPEN face restorer"):
        r.restore(Photo(pixels=np.zeros((32, 32, 3), np.uint8)), [])


def test_grey_photo_without_faces_stays_grey_after_sr(sr_files, tiny_checkpoint):
    from gpen_desktop.core.types import Photo

    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (30, 40, 1), dtype=np.uint8), 3, axis=2)
    res = _restorer(tiny_checkpoint, sr_files[2], upscale=0).restore(
        Photo(pixels=grey, is_gray=True), []
    )
    out = res.image.pixels
    assert out.shape == (60, 80, 3) and res.image.is_gray
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_pipeline_runs_sr_in_the_chosen_precision(small_scene, sr_files, bf2, tiny_checkpoint):
    from gpen_desktop.core.types import Photo

    small, face = small_scene
    r = _restorer(tiny_checkpoint, sr_files[2], upscale=0, sr_precision="bfloat16")
    res = r.restore(Photo(pixels=small), [face])
    assert res.superres["precision"] == "bfloat16"
    away = res.weight == 0
    assert np.array_equal(res.image.pixels[away], bf2.upscale(small)[away])
    sr = r.superres
    r.set_options(r.options.replace(sr_precision="float32"))
    assert r.superres is sr and sr.dtype_name == "float32"  # same model, no reload


def test_sr_precision_is_an_option_that_sessions_keep():
    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.options import RestoreOptions
    from gpen_desktop.core.session import options_from_dict, options_to_dict

    o = RestoreOptions(sr_precision="bfloat16")
    assert options_from_dict(options_to_dict(o)).sr_precision == "bfloat16"
    assert RestoreOptions().sr_precision == "auto"
    with pytest.raises(GpenError, match="super-resolution precision"):
        RestoreOptions(sr_precision="int8").check()
