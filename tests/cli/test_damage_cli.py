"""``gpen damage`` writes the mask ``gpen restore --damage-mask`` reads; ``gpen restore
--auto-damage`` finds and fills damage in one run, for a photo, a folder and a session;
``gpen bench damage`` is wired."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core import damage_bench as bench
from gpen_desktop.core.inpaint import load_damage_mask


def _scan(h: int = 200, w: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """A smooth photo with one long dark scratch, and where the scratch is."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = (100 + 60 * xx / w + 15 * np.sin(yy / 25)).astype(np.uint8)
    photo = np.repeat(base[:, :, None], 3, 2)
    r = bench.render_damage(photo, 1, [(3, 70, False)])
    return r.image, r.groups["w3 c70"]


@pytest.fixture()
def scan(tmp_path):
    pixels, truth = _scan()
    path = tmp_path / "scan.png"
    Image.fromarray(pixels).save(path)
    return path, pixels, truth


def test_gpen_damage_writes_a_mask_that_damage_mask_reads(tmp_path, scan, capsys):
    path, pixels, truth = scan
    out = tmp_path / "mask.png"
    assert main(["damage", str(path), "-o", str(out), "--detector", "none", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scratches"] >= 1 and report["width"] == 240 and report["faces"] == 0
    mask = load_damage_mask(out, 240, 200)
    assert mask.sum() == report["damaged_pixels"] > 0
    assert (mask & truth).sum() >= 0.8 * truth.sum()
    # an existing mask is kept unless --overwrite; the range is checked at the parser
    assert main(["damage", str(path), "-o", str(out), "--detector", "none"]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["damage", str(path), "-o", str(out), "--sensitivity", "1.5"])
    assert "out of range: 0-1" in capsys.readouterr().err
    assert main(["damage", str(path), "-o", str(tmp_path / "m.jpg"), "--detector", "none"]) == 2


def test_restore_auto_damage_fills_what_it_finds(tmp_path, scan, tiny_checkpoint, capsys):
    path, pixels, truth = scan
    out = tmp_path / "o.png"
    args = ["-m", str(tiny_checkpoint), "--device", "cpu", "--json"]
    assert main(["restore", str(path), "-o", str(out), "--auto-damage", *args]) == 0
    report = json.loads(capsys.readouterr().out)["results"][0]
    assert report["inpainting"]["background"] == "OpenCV Telea"
    got = np.asarray(Image.open(out)).astype(int)
    # the scratch is filled: the dark line is gone (close to its neighbours again)
    assert np.abs(got[truth] - pixels.astype(int)[truth]).mean() > 30
    # a folder run finds it too; --damage-mask and --auto-damage are one or the other
    folder = tmp_path / "album"
    folder.mkdir()
    Image.fromarray(pixels).save(folder / "a.png")
    assert main(["restore", str(folder), "-o", str(tmp_path / "out"), "--auto-damage", *args]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["inpainting"]
    code = main(["restore", str(path), "-o", str(tmp_path / "x.png"), "--auto-damage",
                 "--damage-mask", str(path), *args])  # fmt: skip
    assert code == 2 and "not both" in capsys.readouterr().err


def test_a_session_without_marks_gets_them_found_with_auto_damage(
    tmp_path, scan, tiny_checkpoint, capsys
):
    from gpen_desktop.core.pipeline import RestoreOptions
    from gpen_desktop.core.session import make_session, save_session

    path, _pixels, _truth = scan
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    sidecar = save_session(make_session(path, [], options=opts))
    out = tmp_path / "s.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(out), "--json"]) == 0
    assert not json.loads(capsys.readouterr().out)["results"][0].get("inpainting")
    out2 = tmp_path / "s2.png"
    code = main(["restore", "--session", str(sidecar), "-o", str(out2), "--auto-damage", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["inpainting"]


def test_bench_damage_is_a_what_of_gpen_bench():
    from gpen_desktop.cli import build_parser

    args = build_parser().parse_args(["bench", "damage", "--damage-sensitivity", "0.7"])
    assert args.what == "damage" and args.damage_sensitivity == 0.7


def test_the_bench_measures_recall_and_clean_marks_on_a_small_set():
    pixels, _truth = _scan(100, 120)
    clean = np.asarray(_scan(100, 120)[0] * 0 + 128, np.uint8)
    result = bench.run_damage_bench(photos=[("scan", pixels), ("flat", clean)])
    assert result.recall and result.seconds_per_mp > 0
    assert result.clean["flat"] == 0
    text = bench.format_damage_bench(result)
    assert "scratch recall" in text and "s per megapixel" in text
