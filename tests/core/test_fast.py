"""The fast inference path equals the reference forward; GPU-only logic runs on the CPU here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpen_desktop.core.gpen import fast as fast_mod
from gpen_desktop.core.gpen import random_generator
from gpen_desktop.core.gpen.fast import FastGPEN
from gpen_desktop.core.inference import FastRunner, cpu_has_native_bfloat16, pick_dtype


@pytest.mark.parametrize(
    ("size", "cm", "narrow"),
    [(64, 2, 0.125), (128, 2, 0.125), (128, 1, 0.25), (256, 1, 0.0625)],
)
def test_fast_equals_eager(size, cm, narrow):
    model = random_generator(size, cm, narrow, seed=size)
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ref = model(x)
    net = FastGPEN(model)
    for batch_mode in (False, True):  # per-face folded weights / shared conv (the GPU path)
        out = net(x, batch_mode=batch_mode)
        assert out.shape == ref.shape and out.dtype == torch.float32
        assert (out - ref).abs().max().item() < 1e-3


def test_parity_vector_through_the_fast_path():
    from pathlib import Path

    from gpen_desktop.core.gpen import FullGenerator, config_from_state_dict

    d = torch.load(Path(__file__).parents[1] / "data" / "parity_64.pt", weights_only=True)
    model = FullGenerator.from_config(config_from_state_dict(d["state_dict"])).eval()
    model.load_state_dict(d["state_dict"])
    x = d["input_rgb_u8"].permute(0, 3, 1, 2).float() / 255 * 2 - 1
    assert (FastGPEN(model)(x) - d["output"]).abs().max().item() <= 1e-4


def test_winograd_failure_falls_back(monkeypatch):
    model = random_generator(64, seed=2)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        ref = model(x)
    net = FastGPEN(model)
    net.use_winograd = True

    def broken(*args, **kwargs):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(fast_mod, "WINOGRAD_MIN_SIZE", 8)
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", broken)
    out = net(x)
    assert not net.use_winograd
    assert (out - ref).abs().max().item() < 1e-3


def test_dtype_choice(monkeypatch):
    native = cpu_has_native_bfloat16()
    assert pick_dtype("cpu") == (torch.bfloat16 if native else torch.float32)
    assert pick_dtype("cuda") == torch.float16
    assert pick_dtype("mps") == torch.float32
    assert pick_dtype("cpu", "bfloat16") == torch.bfloat16
    assert pick_dtype("cpu", "float32") == torch.float32
    with pytest.raises(ValueError, match="precision"):
        pick_dtype("cpu", "int8")
    monkeypatch.setenv("GPEN_CPU_FLOAT32", "1")
    assert not cpu_has_native_bfloat16() and pick_dtype("cpu") == torch.float32


@pytest.mark.parametrize(
    ("size", "seed", "dtype"),
    [(64, 3, "bfloat16"), (128, 4, "bfloat16"), (128, 5, "bfloat16"), (64, 6, "float16")],
)
def test_reduced_precision_within_two_levels_of_float32(size, seed, dtype):
    """Reduced precision: channels-last bfloat16 (float16 on GPUs) from 16 px up, float32
    below and on the RGB path; the 8-bit output stays within 2 levels of the eager float32
    forward, per face and for a batch sharing one convolution (the GPU path)."""
    model = random_generator(size, seed=seed)
    faces = np.random.default_rng(seed).integers(0, 256, (2, size, size, 3), dtype=np.uint8)
    full = FastRunner(model, "cpu", engine="eager").run_uint8(faces)
    runner = FastRunner(model, "cpu", dtype)
    assert runner.net.channels_last and runner.dtype_name == dtype
    per_face = runner.run_uint8(faces)
    assert per_face.shape == full.shape
    assert np.abs(per_face.astype(int) - full).max() <= 2
    x = torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 127.5 - 1
    shared = runner.net(x, batch_mode=True)
    assert shared.dtype == torch.float32 and shared.is_contiguous()
    ref = torch.from_numpy(full).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert (shared.clamp(-1, 1) - ref).abs().max().item() <= 3 / 127.5


def test_float32_layers_inside_a_bfloat16_network():
    net = FastGPEN(random_generator(64, seed=1), "cpu", torch.bfloat16)
    assert net.conv1.dtype == torch.float32  # 4 px
    sizes = [4 * 2 ** (i + 1) for i in range(len(net.blocks))]
    for size, (up, same, _) in zip(sizes, net.blocks, strict=True):
        want = torch.bfloat16 if size >= fast_mod.LOW_PRECISION_MIN_SIZE else torch.float32
        assert up.dtype == same.dtype == want and up.bias.dtype == want
        for m in (up.mod, same.mod):  # one copy each: float32 where a face folds into it
            assert m.weight.dtype in ((want,) if want == torch.float32 else (want, torch.float32))
            assert m.weight_lp is None


def test_enhancer_falls_back_to_cpu_on_out_of_memory(tiny_checkpoint, monkeypatch):
    from gpen_desktop.core.checkpoints import load_checkpoint
    from gpen_desktop.core.inference import Enhancer

    enh = Enhancer(load_checkpoint(tiny_checkpoint), device="cpu", batch_size=2)
    real_runner = enh._get_runner()

    class GpuThatRunsOut:
        device = torch.device("cuda", 0)

        def run_uint8(self, batch):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 4 GiB")

    enh.device = torch.device("cuda", 0)
    enh._runner = GpuThatRunsOut()
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr("gpen_desktop.core.devices.describe", lambda d: "CUDA 0: test")
    crops = [np.zeros((64, 64, 3), np.uint8)] * 3
    out = enh.restore_crops(crops)
    assert len(out) == 3 and enh.device.type == "cpu"
    assert "out of memory" in enh.fallback_note
    assert np.array_equal(out[0], real_runner.run_uint8(np.stack(crops[:1]))[0])


def test_memory_aware_batch_size():
    from gpen_desktop.core.inference import activation_bytes_per_face, suggest_batch_size

    per_face = activation_bytes_per_face(512)
    assert 50e6 < per_face < 2e9
    assert suggest_batch_size(8, 512, "cpu") == 8
    gib = 1 << 30
    small = suggest_batch_size(8, 512, "cuda", free_bytes=int(per_face * 2.9))
    assert small == 2
    assert suggest_batch_size(8, 512, "cuda", free_bytes=80 * gib) == 8
    assert suggest_batch_size(8, 2048, "cuda", free_bytes=1) == 1


@pytest.mark.parametrize(("cin", "cout", "h", "w"), [(3, 5, 4, 4), (8, 2, 7, 5), (16, 16, 1, 3)])
def test_polyphase_upsample_is_the_transposed_conv(cin, cout, h, w):
    g = torch.Generator().manual_seed(cin * 100 + h)
    x = torch.randn(2, cin, h, w, generator=g)
    weight = torch.randn(cin, cout, 3, 3, generator=g)
    want = torch.nn.functional.conv_transpose2d(x, weight, stride=2)  # 2H+1 x 2W+1
    got = fast_mod.polyphase_upsample(x, fast_mod.polyphase_weight(weight))
    assert got.shape == (2, cout, 2 * h + 2, 2 * w + 2)
    assert torch.allclose(got[:, :, :-1, :-1], want, atol=1e-5)
    assert got[:, :, -1].abs().max() == 0 and got[:, :, :, -1].abs().max() == 0


def test_reduced_precision_cpu_path_avoids_transposed_convs(monkeypatch):
    net = FastGPEN(random_generator(64, seed=2), "cpu", torch.bfloat16)
    ups = [up.mod for up, _, _ in net.blocks if up.dtype == torch.bfloat16]
    assert ups and all(m.polyphase and m.weight.shape[-1] == 2 for m in ups)
    calls = []
    real = torch.nn.functional.conv_transpose2d
    monkeypatch.setattr(
        torch.nn.functional, "conv_transpose2d", lambda *a, **k: calls.append(a[0]) or real(*a, **k)
    )
    net(torch.rand(1, 3, 64, 64) * 2 - 1)
    # only float32 layers (8 px) and the 3-channel RGB skip upsample remain transposed convs
    assert calls and all(x.dtype == torch.float32 for x in calls)


def test_winograd_only_where_it_pays(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert not fast_mod.winograd_available(cpu, torch.float32)  # oneDNN is as fast, less memory
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert fast_mod.winograd_available(cpu, torch.float32) == torch._nnpack_available()
    assert not fast_mod.winograd_available(cpu, torch.bfloat16)
    monkeypatch.setenv("GPEN_NO_WINOGRAD", "1")
    assert not fast_mod.winograd_available(cpu, torch.float32)
