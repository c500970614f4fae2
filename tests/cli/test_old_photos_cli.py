"""``gpen restore --sr-model`` and ``--damage-mask`` from the command line."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main


@pytest.fixture(scope="module")
def x2(tmp_path_factory):
    from gpen_desktop.core.superres import random_sr_checkpoint

    return random_sr_checkpoint(tmp_path_factory.mktemp("sr") / "tiny_x2.pth", 2)


@pytest.fixture()
def plain(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "plain.png"
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


def test_sr_model_enlarges_even_a_photo_without_faces(tmp_path, plain, x2, tiny_checkpoint, capsys):
    out = tmp_path / "o.png"
    args = [
        "restore",
        str(plain),
        "-o",
        str(out),
        "-m",
        str(tiny_checkpoint),
        "--sr-model",
        str(x2),
    ]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["results"][0]
    assert Image.open(out).size == (96, 80)
    assert report["status"] == "no_face"
    assert report["superres"]["model"] == "tiny_x2" and report["superres"]["tiles"] == 1
    out3 = tmp_path / "o3.png"
    assert main(["restore", str(plain), "-o", str(out3), "-m", str(tiny_checkpoint),
                 "--sr-model", str(x2), "--upscale", "3", "--tile", "32"]) == 0  # fmt: skip
    assert Image.open(out3).size == (144, 120)
    assert "background tiny_x2 x2 (4 tiles)" in capsys.readouterr().out


def test_a_restorer_given_as_sr_model_is_a_clear_error(tmp_path, plain, tiny_checkpoint, capsys):
    out = tmp_path / "o.png"
    code = main(["restore", str(plain), "-o", str(out), "-m", str(tiny_checkpoint),
                 "--sr-model", str(tiny_checkpoint)])  # fmt: skip
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert "is a GPEN face restorer, not a super-resolution model" in err and "\n" not in err


def test_missing_spandrel_is_one_line(tmp_path, plain, x2, tiny_checkpoint, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "spandrel", None)
    code = main(["restore", str(plain), "-o", str(tmp_path / "o.png"), "-m", str(tiny_checkpoint),
                 "--sr-model", str(x2)])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: background super-resolution needs the 'spandrel' package: pip install spandrel"
    )


def test_damage_mask_fills_the_strokes(tmp_path, plain, tiny_checkpoint, capsys):
    photo = np.asarray(Image.open(plain)).copy()
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[20:23, 5:40] = 255
    photo[mask > 0] = 255
    Image.fromarray(photo).save(plain)
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "o.png"
    code = main(["restore", str(plain), "-o", str(out), "-m", str(tiny_checkpoint),
                 "--damage-mask", str(tmp_path / "mask.png"), "--inpaint-method", "ns", "--json"])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)["results"][0]
    assert report["inpainting"]["background"] == "OpenCV Navier–Stokes"
    got = np.asarray(Image.open(out))
    assert np.array_equal(got[mask == 0], photo[mask == 0])
    assert not np.array_equal(got[mask > 0], photo[mask > 0])


def test_damage_mask_of_another_size_is_a_clear_error(tmp_path, plain, tiny_checkpoint, capsys):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "mask.png")
    out = tmp_path / "o.png"
    code = main(["restore", str(plain), "-o", str(out), "-m", str(tiny_checkpoint),
                 "--damage-mask", str(tmp_path / "mask.png")])  # fmt: skip
    assert code == 1 and not out.exists()
    assert "the damage mask is 10x10 but the photo is 48x40" in capsys.readouterr().err


def test_damage_mask_needs_one_photo(tmp_path, plain, tiny_checkpoint, capsys):
    code = main(["restore", str(plain), str(plain), "-o", str(tmp_path), "-m",
                 str(tiny_checkpoint), "--damage-mask", str(plain)])  # fmt: skip
    assert code == 2
    assert "exactly one input" in capsys.readouterr().err


def test_auto_picked_model_is_never_the_inpainting_one(tmp_path, monkeypatch):
    import argparse

    from gpen_desktop.commands.restore import _pick_inpaint_model, _pick_model
    from gpen_desktop.core.gpen import random_checkpoint

    random_checkpoint(tmp_path / "GPEN-Inpainting-1024.pth", 64, seed=1)
    random_checkpoint(tmp_path / "GPEN-BFR-512.pth", 64, seed=2)
    monkeypatch.setenv("GPEN_WEIGHTS_DIR", str(tmp_path))
    args = argparse.Namespace(model_path=None, size=None, damage_mask="m.png", inpaint_model=None)
    assert _pick_model(args).endswith("GPEN-BFR-512.pth")
    assert _pick_inpaint_model(args).endswith("GPEN-Inpainting-1024.pth")
    args.inpaint_model = "opencv"
    assert _pick_inpaint_model(args) == ""
