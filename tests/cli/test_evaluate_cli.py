"""``gpen evaluate`` with the tiny random-weight model: table, JSON report and contact sheet."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gpen_desktop.cli import main
from gpen_desktop.core.evaluate import contact_sheet


@pytest.fixture(scope="module")
def hq_dir(tmp_path_factory, astronaut, align) -> Path:
    """Three HQ faces: Eileen Collins at two sizes (one not square) and Grace Hopper."""
    folder = tmp_path_factory.mktemp("hq")
    collins = align(astronaut, 256)
    faces = {"1-collins.png": collins, "3-collins-wide.png": cv2.copyMakeBorder(
        align(astronaut, 160), 0, 0, 12, 12, cv2.BORDER_REFLECT)}  # fmt: skip
    try:
        import matplotlib

        hopper = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data/grace_hopper.jpg"))
        faces["2-hopper.jpg"] = align(hopper[:, :, ::-1].copy(), 200)
    except (ImportError, TypeError):  # no matplotlib: a third view of the same face
        faces["2-collins-flipped.png"] = collins[:, ::-1]
    for name, rgb in faces.items():
        cv2.imwrite(str(folder / name), np.ascontiguousarray(rgb[:, :, ::-1]))
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, hq_dir, tiny_checkpoint):
    base = tmp_path_factory.mktemp("report") / "eval"
    args = ["evaluate", "--hq", str(hq_dir), "--model_path", str(tiny_checkpoint),
            "--out", str(base), "--device", "cpu", "--seed", "5"]  # fmt: skip
    return args, base


def test_evaluate_writes_table_json_and_sheet(first_run, capsys):
    args, base = first_run
    assert main(args) == 0
    out = capsys.readouterr().out
    for word in ("PSNR", "SSIM", "identity", "LPIPS", "degraded", "restored", "±", "3 faces"):
        assert word in out, word
    assert "wrote" in out

    report = json.loads(Path(f"{base}.json").read_text(encoding="utf-8"))
    assert report["mode"] == "reference" and report["count"] == 3 and report["seed"] == 5
    assert report["model"]["in_size"] == 64 and report["device"] == "cpu"
    assert report["compare_size"] == 64
    assert set(report["timings"]) >= {"load_model_s", "degrade_s", "restore_s", "total_s"}
    images = report["images"]
    assert [im["file"] for im in images][0] == "1-collins.png"
    assert [im["seed"] for im in images] == [5, 6, 7]
    assert [im["center_cropped"] for im in images] == [False, False, True]
    for im in images:
        for variant in ("degraded", "restored"):
            s = im[variant]
            assert set(s) == {"psnr", "ssim", "identity", "lpips"}
            assert s["psnr"] == "inf" or s["psnr"] > 0
            assert -1.0 <= s["ssim"] <= 1.0
            assert s["identity"] is None or s["identity"] >= 0
        assert im["timings"]["restore_s"] > 0
    for key in ("psnr", "ssim", "identity"):
        for variant in ("degraded", "restored"):
            assert report["summary"][key][variant]["n"] >= 1
    restored_psnr = [im["restored"]["psnr"] for im in images]
    assert report["summary"]["psnr"]["restored"]["mean"] == pytest.approx(np.mean(restored_psnr))
    if report["summary"]["lpips"]["restored"]["mean"] is None:
        assert any(n.startswith("LPIPS skipped") for n in report["notes"])

    sheet = cv2.imread(f"{base}.png")
    assert sheet is not None
    cell, gutter, margin, ncol = 160, 4, 10, 3  # tiny model: cells at the 160 px minimum
    assert sheet.shape[1] == 2 * margin + ncol * cell + (ncol - 1) * gutter
    assert sheet.shape[0] > 3 * cell
    assert sheet.std() > 20  # pictures, not a blank canvas


def test_same_seed_same_scores_and_limit(first_run, capsys, tmp_path):
    args, base = first_run
    if not Path(f"{base}.json").exists():
        assert main(args) == 0
    before = json.loads(Path(f"{base}.json").read_text(encoding="utf-8"))
    again = tmp_path / "again"
    assert main([*args[:-4], "--out", str(again), "--device", "cpu", "--seed", "5",
                 "--limit", "2", "--json"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    after = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert printed["count"] == after["count"] == 2
    for a, b in zip(before["images"][:2], after["images"], strict=True):
        assert a["steps"] == b["steps"]
        assert a["degraded"] == b["degraded"] and a["restored"] == b["restored"]


def test_evaluate_errors(tmp_path, tiny_checkpoint, hq_dir, capsys):
    assert main(["evaluate", "--hq", str(tmp_path / "nope"), "--model_path",
                 str(tiny_checkpoint)]) == 2  # fmt: skip
    assert "not a folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["evaluate", "--hq", str(empty), "--model_path", str(tiny_checkpoint)]) == 2
    assert "no images" in capsys.readouterr().err
    assert main(["evaluate", "--hq", str(hq_dir), "--model_path", str(tmp_path / "x.pth"),
                 "--out", str(tmp_path / "r")]) == 2  # fmt: skip
    assert capsys.readouterr().err.startswith("error:")
    with pytest.raises(SystemExit) as exc:  # refused at the parser, before any work
        main(["evaluate", "--hq", str(hq_dir), "--model_path", str(tiny_checkpoint),
              "--limit", "0"])  # fmt: skip
    assert exc.value.code == 2


def test_no_reference_mode(tmp_path, astronaut_png, tiny_checkpoint, capsys):
    pytest.importorskip("gpen_desktop.core.pipeline")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "astronaut.png").write_bytes(astronaut_png.read_bytes())
    base = tmp_path / "nr"
    assert main(["evaluate", "--hq", str(photos), "--model_path", str(tiny_checkpoint),
                 "--no-reference", "--out", str(base), "--device", "cpu"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "identity" in out and "no reference" in out
    report = json.loads(Path(f"{base}.json").read_text(encoding="utf-8"))
    assert report["mode"] == "no-reference" and report["faces"] >= 1
    face = report["images"][0]["faces"][0]
    assert face["identity"] is None or face["identity"] >= 0
    assert face["network_s"] >= 0
    assert cv2.imread(f"{base}.png") is not None


def test_contact_sheet_layout():
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((300, 300, 3), np.uint8)
    blue[..., 2] = 255
    rows = [[(red, ["a"]), (blue, ["b", "c"])], [(blue, []), (red, ["d"])]]
    sheet = contact_sheet(["Left", "Right"], rows, title="t", cell=100)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3
    assert sheet.shape[1] == 2 * 10 + 2 * 100 + 4
    # Every cell has the same size: the first row's left cell is red, the right one blue.
    header = 10 + 26 + 26
    assert tuple(sheet[header + 50, 10 + 50]) == (255, 0, 0)
    assert tuple(sheet[header + 50, 10 + 100 + 4 + 50]) == (0, 0, 255)


def test_no_reference_against_the_pipeline_contract(
    tmp_path, astronaut, align, monkeypatch, capsys
):
    """The no-reference path, with a stand-in for core.pipeline that follows its contract."""
    import sys
    import types
    from dataclasses import dataclass

    from gpen_desktop.core.types import Face

    collins = align(astronaut, 128)

    @dataclass(frozen=True)
    class RestoreOptions:
        model_path: str
        device: str = "auto"

    @dataclass
    class FaceResult:
        face: Face
        index: int
        aligned_input: np.ndarray
        restored: np.ndarray

    @dataclass
    class RestoreResult:
        image: object
        faces: list
        timings: dict
        device: str
        fallback_note: str | None = None

    class Restorer:
        def __init__(self, options):
            self.options = options

        def restore(self, photo, faces=None, progress=None, cancel=None):
            assert photo.pixels.shape == astronaut.shape and faces is None
            blurred = cv2.GaussianBlur(collins, (0, 0), 1.0)
            found = [FaceResult(Face((175, 76, 265, 166)), 0, collins, blurred)]
            timings = {"detect": 0.1, "align": 0.01, "network": 0.2, "paste": 0.02, "total": 0.4}
            return RestoreResult(photo, found, timings, "cpu")

    fake = types.ModuleType("gpen_desktop.core.pipeline")
    fake.RestoreOptions, fake.Restorer = RestoreOptions, Restorer
    monkeypatch.setitem(sys.modules, "gpen_desktop.core.pipeline", fake)

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.png"), astronaut[:, :, ::-1])
    base = tmp_path / "nr"
    assert main(["evaluate", "--hq", str(photos), "--model_path", "unused.pth",
                 "--no-reference", "--out", str(base)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "no reference" in out and "identity" in out and "network 200.0 ms" in out
    report = json.loads(Path(f"{base}.json").read_text(encoding="utf-8"))
    assert report["mode"] == "no-reference" and report["faces"] == 1 and report["device"] == "cpu"
    face = report["images"][0]["faces"][0]
    assert 0 < face["identity"] < 0.5 and face["network_s"] == pytest.approx(0.2)
    assert face["face"]["box"] == [175, 76, 265, 166]
    assert report["summary"]["identity"]["restored"]["n"] == 1
    assert report["images"][0]["timings"]["detect_s"] == pytest.approx(0.1)
    sheet = cv2.imread(f"{base}.png")
    assert sheet.shape[1] == 2 * 10 + 2 * 160 + 4


def test_no_degradation_gives_inf_psnr_in_valid_json(tmp_path, hq_dir, tiny_checkpoint, capsys):
    cfg = tmp_path / "none.json"
    cfg.write_text('{"order": []}', encoding="utf-8")
    base = tmp_path / "inf"
    assert main(["evaluate", "--hq", str(hq_dir), "--model_path", str(tiny_checkpoint),
                 "--limit", "1", "--device", "cpu", "--no-identity",
                 "--degrade-config", str(cfg), "--out", str(base)]) == 0  # fmt: skip
    assert "PSNR" in capsys.readouterr().out
    text = Path(f"{base}.json").read_text(encoding="utf-8")
    report = json.loads(text)  # strict JSON: no bare Infinity/NaN
    assert "Infinity" not in text and "NaN" not in text
    image = report["images"][0]
    assert image["steps"] == [] and image["degraded"]["psnr"] == "inf"
    assert image["degraded"]["ssim"] == pytest.approx(1.0)
    assert image["degraded"]["identity"] is None
    assert report["summary"]["psnr"]["degraded"] == {"mean": None, "std": None, "n": 0, "n_inf": 1}
    assert report["degrade_config"]["order"] == []
