"""The fast background upscaler (Real-ESRGAN's realesr-general-x4v3) and ``--denoise-strength``
from the command line: photos, folders, sessions, 16-bit and alpha; ``gpen models`` and
``gpen bench --sr ... --sr-compare``. Random weights in the official key layout."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from helpers import WDN, X4V3, compact_pair
from PIL import Image

from gpen_desktop.cli import main


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return compact_pair(tmp_path_factory.mktemp("weights"))


@pytest.fixture()
def plain(tmp_path):
    path = tmp_path / "in" / "plain.png"
    path.parent.mkdir()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(path)
    return path


def _restore(src, out, model, sr, *extra):
    return main(
        ["restore", str(src), "-o", str(out), "-m", str(model), "--sr-model", str(sr), *extra]
    )


def test_denoise_strength_blends_and_is_reported(tmp_path, plain, weights, tiny_checkpoint, capsys):
    outs = {}
    for dn in ("0", "0.25", "1"):
        outs[dn] = tmp_path / f"o{dn}.png"
        assert _restore(plain, outs[dn], tiny_checkpoint, weights / f"{X4V3}.pth", "-dn", dn) == 0
        assert f"background {X4V3} x4 (1 tiles, denoise {float(dn):g})" in capsys.readouterr().out
    assert Image.open(outs["1"]).size == (96, 80)
    wdn = tmp_path / "wdn.png"
    assert _restore(plain, wdn, tiny_checkpoint, weights / f"{WDN}.pth", "--json") == 0
    report = json.loads(capsys.readouterr().out)["results"][0]["superres"]
    assert report["model"] == WDN and "denoise_strength" not in report  # the partner as is
    pixels = {k: np.asarray(Image.open(v)) for k, v in outs.items()}
    assert np.array_equal(pixels["0"], np.asarray(Image.open(wdn)))  # dn 0 = the wdn file
    assert not np.array_equal(pixels["0.25"], pixels["0"])
    assert not np.array_equal(pixels["0.25"], pixels["1"])


def test_without_the_partner_one_line_says_so(tmp_path, plain, weights, tiny_checkpoint, capsys):
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / f"{X4V3}.pth").write_bytes((weights / f"{X4V3}.pth").read_bytes())
    assert _restore(plain, tmp_path / "o.png", tiny_checkpoint, alone / f"{X4V3}.pth") == 0
    out = capsys.readouterr().out
    assert f"denoise strength needs {WDN}.pth beside {X4V3}.pth" in out
    assert "ran the plain model" in out


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "nan", "strong"])
def test_bad_strength_is_refused_in_one_line(
    tmp_path, plain, weights, tiny_checkpoint, capsys, bad
):
    out = tmp_path / "o.png"
    with pytest.raises(SystemExit) as exc:
        _restore(plain, out, tiny_checkpoint, weights / f"{X4V3}.pth", "--denoise-strength", bad)
    assert exc.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert "--denoise-strength" in err[-1] and ("range: 0-1" in err[-1] or "expected" in err[-1])


def test_folder_run_with_16_bit_and_alpha(tmp_path, plain, weights, tiny_checkpoint, capsys):
    rng = np.random.default_rng(4)
    deep = rng.integers(0, 65536, (16, 20, 4), dtype=np.uint16)
    deep[..., 3] = np.linspace(0, 65535, 20, dtype=np.uint16)[None, :]
    cv2.imwrite(str(plain.parent / "deep.png"), deep)  # 16-bit BGRA
    out = tmp_path / "out"
    args = [str(plain.parent), "-o", str(out), "-m", str(tiny_checkpoint), "-dn", "0.6", "--json"]
    assert main(["restore", *args, "--sr-model", str(weights / f"{X4V3}.pth")]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["superres"]["denoise_strength"] for r in results] == [0.6, 0.6]
    got = cv2.imread(str(out / "deep_restored.png"), cv2.IMREAD_UNCHANGED)
    assert got.dtype == np.uint16 and got.shape == (64, 80, 4)
    assert got[..., 3].min() < 2000 and got[..., 3].max() > 60000  # the alpha, enlarged
    assert Image.open(out / "plain_restored.png").size == (96, 80)


def test_session_keeps_the_strength_and_the_command_line_overrides_it(
    tmp_path, plain, weights, tiny_checkpoint, capsys
):
    from gpen_desktop.core.pipeline import RestoreOptions
    from gpen_desktop.core.session import load_session, make_session, save_session

    opts = RestoreOptions(
        model_path=str(tiny_checkpoint),
        device="cpu",
        sr_model=str(weights / f"{X4V3}.pth"),
        upscale=0,
        denoise_strength=0.3,
    )
    sidecar = save_session(make_session(plain, [], options=opts))
    assert load_session(sidecar).options.denoise_strength == 0.3
    out = tmp_path / "s.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["results"][0]
    assert report["superres"]["denoise_strength"] == 0.3
    assert Image.open(out).size == (96, 80)
    again = tmp_path / "s2.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(again), "-dn", "1"]) == 0
    said = capsys.readouterr()
    assert "denoise-strength 0.3 -> 1.0" in said.out + said.err
    assert not np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))


def test_models_list_and_known(weights, capsys):
    assert main(["models", "list", "--dir", str(weights)]) == 0
    out = capsys.readouterr().out
    assert f"{X4V3}.pth: {X4V3}: RealESRGAN Compact x4" in out
    assert f"{WDN}.pth: {WDN}:" in out and "(fast)" in out
    assert main(["models", "info", str(weights / f"{X4V3}.pth")]) == 0
    info = capsys.readouterr().out
    assert "RealESRGAN Compact" in info and "2.4 MFLOP per input pixel (fast)" in info
    assert main(["models", "known"]) == 0
    known = capsys.readouterr().out
    for name in (X4V3, WDN):
        assert (
            f"https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/{name}.pth" in known
        )


@pytest.mark.slow
def test_bench_compares_two_upscalers_on_the_same_tiles(capsys):
    args = ["bench", "--sr", X4V3, "--sr-compare", WDN, "--sr-crop", "24", "--repeat", "1"]
    args += ["--sr-precision", "float32", "--tile", "64"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in data["superres"]] == [X4V3, X4V3]
    assert [r["model"] for r in data["compare"]] == [WDN, WDN]
    assert {r["tile"] for r in data["superres"] + data["compare"]} == {64}
    ratios = data["ratios"]
    assert [(r["precision"], r["channels_last"]) for r in ratios] == [
        ("float32", False),
        ("float32", True),
    ]
    for r in ratios:
        assert r["ratio"] == pytest.approx(r["other_seconds_per_mp"] / r["seconds_per_mp"])
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["float32", "NHWC"] and line.endswith("x") for line in lines)
    assert any(X4V3 in line and WDN in line for line in lines)  # the comparison's header
