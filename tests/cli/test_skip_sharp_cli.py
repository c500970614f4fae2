"""``gpen restore --skip-sharp T`` over a folder (8-bit and 16-bit + alpha photos) and over a
session: faces scoring above T keep their pixels, the report says what was done to each."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core.degrade import apply_steps
from gpen_desktop.core.imageio import load_photo, save_photo
from gpen_desktop.core.types import Photo

BLUR = [{"step": "gaussian_blur", "sigma": 2.5}]


@pytest.fixture(scope="module")
def mixed(astronaut) -> np.ndarray:
    """The sharp astronaut beside a blurred mirror image (1024 x 512)."""
    blurred = apply_steps(np.ascontiguousarray(astronaut[:, ::-1]), BLUR)
    return np.ascontiguousarray(np.concatenate([astronaut, blurred], axis=1))


@pytest.mark.slow
def test_folder_of_8_and_16_bit_photos(tmp_path, mixed, mirrored_pair, tiny_checkpoint, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(mixed).save(folder / "mixed.png")
    Image.fromarray(mirrored_pair).save(folder / "sharp.png")
    deep = mixed.astype(np.uint16) * 257
    alpha = np.full(mixed.shape[:2], 50000, np.uint16)
    save_photo(Photo(pixels=deep, alpha=alpha), folder / "deep.png")
    out = tmp_path / "out"
    args = ["--model_path", str(tiny_checkpoint), "--device", "cpu", "--json"]
    assert main(["restore", str(folder), "-o", str(out), "--skip-sharp", "0.8", *args]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {r["input"].rsplit("/", 1)[-1]: r for r in report["results"]}
    for name in ("mixed.png", "deep.png"):
        r = by_name[name]
        assert r["faces_restored"] == 1 and r["faces_left_sharp"] == 1, name
        actions = sorted((f["face"], f["action"]) for f in r["faces"])
        assert [a for _n, a in actions].count("left as it is") == 1
        left = next(f for f in r["faces"] if f["action"] == "left as it is")
        assert left["quality"]["score"] > 0.8 and left["quality"]["words"] == "sharp already"
    # every face of sharp.png is sharp: the photo is copied through, byte for byte
    assert by_name["sharp.png"]["faces_left_sharp"] == 2 and by_name["sharp.png"]["status"] == "ok"
    assert (out / "sharp_restored.png").read_bytes() == (folder / "sharp.png").read_bytes()
    # the sharp half keeps its pixels; the blurred face is restored
    restored = np.asarray(Image.open(out / "mixed_restored.png").convert("RGB"))
    assert np.array_equal(restored[:, :512], mixed[:, :512])
    assert not np.array_equal(restored[:, 512:], mixed[:, 512:])
    photo = load_photo(out / "deep_restored.png")
    assert photo.pixels.dtype == np.uint16 and np.array_equal(photo.alpha, alpha)
    assert np.array_equal(photo.pixels[:, :512], deep[:, :512])


def test_session_keeps_the_threshold_and_the_command_line_overrides_it(
    tmp_path, mixed, tiny_checkpoint, capsys
):
    from gpen_desktop.core.pipeline import RestoreOptions, Restorer
    from gpen_desktop.core.session import load_session, make_session, save_session

    photo = tmp_path / "mixed.png"
    Image.fromarray(mixed).save(photo)
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu", skip_sharp=0.8)
    faces = Restorer(opts).detect(load_photo(photo))
    sidecar = save_session(make_session(photo, faces, options=opts))
    assert load_session(sidecar).options.skip_sharp == 0.8
    out = tmp_path / "a.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)["results"][0]
    assert rep["faces_left_sharp"] == 1 and rep["faces_restored"] == 1
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB"))[:, :512], mixed[:, :512])
    out2 = tmp_path / "b.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(out2), "--skip-sharp", "0"]) == 0
    captured = capsys.readouterr()
    assert "2/2 faces (session)" in captured.out and "skip-sharp 0.8 -> 0.0" in captured.err


def test_skip_sharp_is_checked_at_the_parser_and_refused_with_aligned(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["restore", "x.png", "--skip-sharp", "1.5"])
    assert "out of range" in capsys.readouterr().err
    crop = tmp_path / "crop.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(crop)
    assert main(["restore", "--aligned", str(crop), "--skip-sharp", "0.8", "-m", "x.pth"]) == 2
    assert "not with --aligned" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_quality_prints_the_auc(capsys):
    """``gpen bench quality``: the PyPI-shipped faces, clean against degraded copies."""
    assert main(["bench", "quality", "--draws", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["clean"]["count"] == 12 and len(doc["photos"]) == 2
    assert doc["auc"] >= 0.9 and doc["auc_fixed_levels"] >= 0.9
    assert {row["degradation"] for row in doc["levels"]} >= {"blur σ 2", "JPEG q 15"}
    assert main(["bench", "quality", "--draws", "1"]) == 0
    out = capsys.readouterr().out
    assert "AUC clean vs default degradation mix" in out and "12 clean faces from" in out
