"""Checkpoint loading: every file form loads to the same network; bad input gets one clear line."""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

import pytest
import torch

from gpen_desktop.core.checkpoints import inspect_checkpoint, load_checkpoint
from gpen_desktop.core.errors import CheckpointError
from gpen_desktop.core.gpen import random_generator


@pytest.fixture(scope="module")
def reference():
    model = random_generator(64, seed=11)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        y = model(x)
    return model.state_dict(), x, y


def _forms(sd):
    prefixed = {f"module.{k}": v for k, v in sd.items()}
    half = {k: v.half() for k, v in sd.items()}
    return {
        "flat": (sd, {}),
        "training": (
            {
                "g": sd,
                "d": {"x": torch.zeros(1)},
                "g_ema": sd,
                "g_optim": {"state": {}, "param_groups": [{"lr": 0.002}]},
            },
            {},
        ),
        "g_only": ({"g": sd}, {}),
        "state_dict": ({"state_dict": sd}, {}),
        "params_ema": ({"params_ema": sd, "params": sd}, {}),
        "params": ({"params": sd}, {}),
        "model": ({"model": sd}, {}),
        "module_prefix": (prefixed, {}),
        "bundle": (
            {
                "generator": sd,
                "args": argparse.Namespace(in_size=64, out_size=64, version="GPEN-BFR-v2.0-64"),
                "encoder": {},
            },
            {},
        ),
        "wrapped_prefixed": ({"state_dict": prefixed}, {}),
        "float16": (half, {"tol": 2e-2}),
        "legacy": (sd, {"legacy": True}),
    }


@pytest.mark.parametrize(
    "form",
    [
        "flat",
        "training",
        "g_only",
        "state_dict",
        "params_ema",
        "params",
        "model",
        "module_prefix",
        "bundle",
        "wrapped_prefixed",
        "float16",
        "legacy",
    ],
)
def test_every_form_loads_and_gives_the_same_output(tmp_path, reference, form):
    sd, x, y = reference
    obj, opts = _forms(sd)[form]
    path = tmp_path / f"{form}.pth"
    if opts.get("legacy"):
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(obj, path)
    loaded = load_checkpoint(path)
    info = loaded.info
    assert (info.arch, info.in_size, info.out_size) == ("GPEN", 64, 64)
    assert (info.channel_multiplier, info.narrow, info.style_dim, info.n_mlp) == (2, 0.125, 512, 8)
    assert info.n_params == sum(p.numel() for p in loaded.model.parameters())
    assert info.dtype == ("float16" if form == "float16" else "float32")
    with torch.no_grad():
        out = loaded.model(x)
    assert out.dtype == torch.float32
    assert (out - y).abs().max().item() <= opts.get("tol", 1e-6)


def test_format_names_the_wrapper(tmp_path, reference):
    sd, _, _ = reference
    torch.save({"g": sd, "g_ema": sd}, tmp_path / "a.pth")
    assert inspect_checkpoint(tmp_path / "a.pth").format == "g_ema"
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "b.pth")
    assert inspect_checkpoint(tmp_path / "b.pth").format == "module"


def test_hyperparameters_come_from_tensors_not_the_name(tmp_path, reference):
    sd, _, _ = reference
    path = tmp_path / "GPEN-BFR-2048.pth"
    torch.save(sd, path)
    info = inspect_checkpoint(path)
    assert info.in_size == 64 and info.name == "GPEN-64 (custom)"


def test_official_256_layout_is_named(tmp_path):
    model = random_generator(256, channel_multiplier=1, narrow=0.5, seed=0)
    path = tmp_path / "whatever.pth"
    torch.save(model.state_dict(), path)
    info = inspect_checkpoint(path)
    assert info.name == "GPEN-BFR-256" and info.n_params == 18_879_010


def _err(path) -> str:
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_missing_file(tmp_path):
    assert "not found" in _err(tmp_path / "nope.pth")


def test_empty_file(tmp_path):
    (tmp_path / "e.pth").write_bytes(b"")
    assert "empty" in _err(tmp_path / "e.pth")


def test_truncated_zip(tmp_path, reference):
    path = tmp_path / "t.pth"
    torch.save(reference[0], path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _err(path)


def test_truncated_legacy(tmp_path, reference):
    path = tmp_path / "t.pth"
    torch.save(reference[0], path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    assert "truncated" in _err(path)


def test_not_a_pytorch_file(tmp_path):
    (tmp_path / "n.pth").write_text("hello, I am a text file\n")
    assert "not a PyTorch checkpoint" in _err(tmp_path / "n.pth")
    (tmp_path / "i.pth").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert "PNG" in _err(tmp_path / "i.pth")
    (tmp_path / "h.pth").write_bytes(b"<!DOCTYPE html><html>Not found</html>")
    assert "HTML" in _err(tmp_path / "h.pth")


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("legacy", [False, True])
def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path, legacy):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": _Evil(marker)}, path, _use_new_zipfile_serialization=not legacy)
    assert not marker.exists()
    msg = _err(path)
    assert "refused" in msg and "system" in msg
    assert not marker.exists(), "the checkpoint's code ran"


def test_plain_pickle_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl.pth"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    assert "refused" in _err(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("keys", "expect"),
    [
        (
            [
                "conv_body_first.weight",
                "stylegan_decoder.style_mlp.1.weight",
                "stylegan_decoder.to_rgbs.0.bias",
            ],
            "GFPGAN",
        ),
        (
            ["body.conv1.0.weight", "ClassHead.0.conv1x1.weight", "BboxHead.0.conv1x1.weight"],
            "RetinaFace",
        ),
        (["conv_first.weight", "body.0.rdb1.conv1.weight", "conv_last.weight"], "ESRGAN"),
        (["style.1.weight", "convs.0.conv.weight", "to_rgbs.0.bias"], "StyleGAN2"),
        (["foo.weight", "bar.bias"], "not a GPEN model"),
    ],
)
def test_other_architectures_are_named(tmp_path, keys, expect):
    path = tmp_path / "other.pth"
    torch.save({k: torch.zeros(2, 2) for k in keys}, path)
    assert expect in _err(path)


def test_discriminator_is_recognised_but_not_loaded_as_restorer(tmp_path):
    from gpen_desktop.core.gpen import Discriminator

    path = tmp_path / "d.pth"
    torch.save({"d": Discriminator(64, narrow=0.125).state_dict()}, path)
    info = inspect_checkpoint(path)
    assert info.arch == "GPEN-Discriminator" and info.in_size == 64
    assert "discriminator" in _err(path)


def test_missing_and_misshaped_tensors_are_named(tmp_path, reference):
    sd = dict(reference[0])
    del sd["generator.convs.3.conv.weight"]
    del sd["generator.to_rgbs.1.bias"]
    torch.save(sd, tmp_path / "m.pth")
    msg = _err(tmp_path / "m.pth")
    assert "missing" in msg and "generator.convs.3.conv.weight" in msg
    sd = dict(reference[0])
    sd["generator.convs.2.activate.bias"] = torch.zeros(7)
    torch.save(sd, tmp_path / "s.pth")
    msg = _err(tmp_path / "s.pth")
    assert "mis-shaped" in msg and "generator.convs.2.activate.bias" in msg


def test_args_hint_that_contradicts_the_tensors(tmp_path, reference):
    path = tmp_path / "b.pth"
    torch.save({"generator": reference[0], "args": argparse.Namespace(in_size=512)}, path)
    assert "in_size=512" in _err(path)


def test_kernel_buffers_are_never_a_problem(tmp_path, reference):
    sd, x, y = reference
    no_kernels = {k: v for k, v in sd.items() if not k.endswith(".kernel")}
    odd_kernels = {k: (v * 0 if k.endswith(".kernel") else v) for k, v in sd.items()}
    for name, d in (("nk", no_kernels), ("ok", odd_kernels)):
        torch.save(d, tmp_path / f"{name}.pth")
        with torch.no_grad():
            assert (load_checkpoint(tmp_path / f"{name}.pth").model(x) - y).abs().max() < 1e-6
