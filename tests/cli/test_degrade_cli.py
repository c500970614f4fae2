"""``gpen degrade``: files and folders in, seeded degraded PNGs and JSON parameters out."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gpen_desktop.cli import main
from gpen_desktop.core.degrade import DegradeConfig, degrade


def _write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])
    return path


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path))[:, :, ::-1]


@pytest.fixture()
def photos(tmp_path, astronaut) -> dict[str, Path]:
    return {
        "face": _write(tmp_path / "in" / "face.png", astronaut[20:212, 124:316]),
        "a": _write(tmp_path / "folder" / "a.png", astronaut[:96, :128]),
        "b": _write(tmp_path / "folder" / "b.jpg", astronaut[200:296, 300:396]),
    }


def test_single_file_to_folder_matches_the_library(tmp_path, photos, capsys):
    out = tmp_path / "out"
    assert main(["degrade", str(photos["face"]), "-o", str(out), "--seed", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report) == 1 and report[0]["seed"] == 3
    written = out / "face.png"
    assert report[0]["output"] == str(written)
    expected = degrade(_read(photos["face"]), 3)
    assert np.array_equal(_read(written), expected.image)  # PNG: lossless, bit for bit
    assert report[0]["steps"] == expected.steps


def test_files_and_folders_seed_plus_index(tmp_path, photos, capsys):
    out = tmp_path / "out"
    args = ["degrade", str(photos["face"]), str(photos["a"].parent), "-o", str(out)]
    assert main([*args, "--seed", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [Path(r["output"]).name for r in report] == ["face.png", "a.png", "b.png"]
    assert [r["seed"] for r in report] == [10, 11, 12]
    for r in report:
        assert np.array_equal(
            _read(Path(r["output"])), degrade(_read(Path(r["input"])), r["seed"]).image
        )
    first = {r["output"]: Path(r["output"]).read_bytes() for r in report}

    # Existing outputs are refused without --overwrite, and nothing is changed.
    assert main([*args, "--seed", "99"]) == 2
    assert "exists" in capsys.readouterr().err
    assert all(Path(p).read_bytes() == b for p, b in first.items())

    # Same seed again with --overwrite: the same bytes. Plain output names each file.
    assert main([*args, "--seed", "10", "--overwrite"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "seed 10" in lines[0]
    assert all(Path(p).read_bytes() == b for p, b in first.items())


def test_single_output_file_and_random_seed(tmp_path, photos, capsys):
    target = tmp_path / "x" / "degraded.png"
    assert main(["degrade", str(photos["face"]), "-o", str(target), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert target.is_file()
    seed = report[0]["seed"]
    assert np.array_equal(_read(target), degrade(_read(photos["face"]), seed).image)


def test_config_file(tmp_path, photos, capsys):
    cfg = tmp_path / "only-jpeg.toml"
    cfg.write_text('order = ["jpeg"]\n[jpeg]\np = 1.0\nquality = [20, 20]\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["degrade", str(photos["face"]), "-o", str(out), "--seed", "1",
                 "--config", str(cfg), "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report[0]["steps"] == [{"step": "jpeg", "quality": 20}]
    config = DegradeConfig.from_file(cfg)
    assert np.array_equal(_read(out / "face.png"), degrade(_read(photos["face"]), 1, config).image)


def test_errors_are_one_line(tmp_path, photos, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"jpeg_quality": [90, 10]}', encoding="utf-8")
    out = str(tmp_path / "out")
    assert main(["degrade", str(photos["face"]), "-o", out, "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: degrade config:") and "\n" not in err
    assert main(["degrade", str(tmp_path / "nope.png"), "-o", out]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["degrade", str(photos["face"]), str(photos["a"]), "-o", str(photos["b"])]) == 2
    assert "folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["degrade", str(empty), "-o", out]) == 2
    assert "no images" in capsys.readouterr().err
