"""``gpen bench detect``: the default detector against plain dlib, per photo."""

from __future__ import annotations

import json

import cv2
import numpy as np

from gpen_desktop.cli import main


def test_bench_detect_compares_with_plain_dlib(astronaut_png, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 90, np.uint8))
    assert main(["bench", "detect", str(astronaut_png), str(blank), "--repeat", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["detect"]
    assert [r["photo"] for r in rows] == ["astronaut.png", "blank.png"]
    face, empty = rows
    assert face["faces"] == face["plain_faces"] == 1 and face["missed"] == face["extra"] == 0
    assert face["seconds"] > 0 and face["plain_seconds"] > 0 and face["ratio"] > 0
    assert empty["faces"] == empty["plain_faces"] == 0


def test_bench_detect_table(astronaut_png, capsys):
    assert main(["bench", "detect", str(astronaut_png), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "plain dlib" in out and "astronaut.png" in out and "x" in out.splitlines()[-1]


def test_photos_belong_to_bench_detect(astronaut_png, capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["bench", str(astronaut_png)])
