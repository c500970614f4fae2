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


def test_core_bench_detect_rows_and_sample_photos(astronaut):
    """gpen_desktop.core.bench_detect: a row per photo, counted against plain dlib's own
    call; the sample group really holds 18 faces both find."""
    from gpen_desktop.core.bench_detect import DetectBenchRow, bench_detect, sample_photos

    names = [name for name, _rgb in sample_photos()]
    assert names == ["astronaut (scikit-image)", "astronaut x18 group"]
    seen = []
    rows = bench_detect([("portrait", astronaut)], repeat=1, on_row=seen.append)
    assert seen == rows and isinstance(rows[0], DetectBenchRow)
    row = rows[0]
    assert (row.faces, row.plain_faces, row.missed, row.extra) == (1, 1, 0, 0)
    assert row.to_json()["ratio"] == round(row.seconds / row.plain_seconds, 3)


def test_commands_bench_detect_formats_a_row():
    """gpen_desktop.commands.bench_detect: one table line per row, ratio last."""
    from gpen_desktop.commands.bench_detect import _fmt
    from gpen_desktop.core.bench_detect import DetectBenchRow

    line = _fmt(DetectBenchRow("group.jpg", 1200, 600, 18, 18, 19, 0, 0, 1.2, 1.0))
    assert line.startswith("group.jpg") and "1200x600" in line and line.endswith("1.20x")
