"""``gpen detect`` from the command line."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from gpen_desktop.cli import main


def test_detect_json(astronaut_png, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GPEN_WEIGHTS_DIR", str(tmp_path))  # no RetinaFace: auto is dlib
    assert main(["detect", str(astronaut_png), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"input", "image", "detector", "score", "seconds", "faces"}
    assert doc["detector"] == "dlib" and doc["score"] == "margin"
    assert doc["image"] == {"width": 512, "height": 512}
    assert len(doc["faces"]) == 1
    face = doc["faces"][0]
    assert set(face) == {"box", "margin", "landmarks", "quality"}
    quality = face["quality"]  # a sharp photo: what --skip-sharp compares with its threshold
    assert quality["score"] >= 0.8 and quality["words"] == "sharp already"
    assert set(quality) == {"score", "words", "sharpness", "noise", "blockiness", "measures"}
    x0, y0, x1, y1 = face["box"]
    assert 160 <= x0 < x1 <= 290 and 60 <= y0 < y1 <= 190
    lms = np.array(face["landmarks"])
    assert lms.shape == (5, 2) and lms[0, 0] < lms[1, 0] and lms[1, 1] < lms[3, 1]
    assert isinstance(face["margin"], float) and face["margin"] > 0


def test_detect_human_table(astronaut_png, capsys):
    assert main(["detect", str(astronaut_png), "--detector", "dlib", "--max-faces", "1"]) == 0
    out = capsys.readouterr().out
    assert "512x512, 1 face(s)" in out and "(dlib)" in out and "margin" in out
    assert "quality" in out and "sharp already" in out
    lines = out.strip().splitlines()
    assert len(lines) == 3 and lines[2].split()[0] == "1"


def test_detect_min_face_above_every_face(astronaut_png, capsys):
    assert main(["detect", str(astronaut_png), "--min-face", "400", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["faces"] == []


def test_detect_a_folder_reports_and_skips_bad_files(astronaut_png, tmp_path, capsys):
    import shutil

    shutil.copy(astronaut_png, tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    assert main(["detect", str(tmp_path), "--detector", "dlib", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["failed"] == 1 and len(doc["results"]) == 2
    assert len(doc["results"][0]["faces"]) == 1 and "error" in doc["results"][1]


def test_detect_only_center_face(astronaut, tmp_path, capsys):
    canvas = np.full((512, 1100, 3), 90, np.uint8)
    canvas[:, :512] = astronaut
    canvas[128:384, 520:776] = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), canvas[:, :, ::-1])
    assert main(["detect", str(path), "--detector", "dlib", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["faces"]) == 2
    assert main(["detect", str(path), "--detector", "dlib", "--only-center-face", "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert len(faces) == 1 and faces[0]["box"][0] > 512


def test_detect_retinaface_without_weights(astronaut_png, tmp_path, capsys):
    rc = main(
        ["detect", str(astronaut_png), "--detector", "retinaface", "--weights-dir", str(tmp_path)]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: RetinaFace weights not found") and str(tmp_path) in err
    assert len(err.splitlines()) == 1


def test_detect_bad_input(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    assert main(["detect", str(bad)]) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # refused at the parser, before any work
        main(["detect", str(bad), "--max-faces", "0"])
    assert exc.value.code == 2
