"""The one progress display of the commands (commands/_progress.py, through tqdm)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from gpen_desktop.cli import main
from gpen_desktop.commands._progress import Progress, callback


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    with Progress(3, "photos", unit="photo", stream=out) as bar:
        for n in range(1, 4):
            bar.update(n, f"p{n}.jpg")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert lines[0].startswith("photos 1/3  0:00") and "photo/s" in lines[0]
    assert "ETA" in lines[0] and lines[-1].endswith("p3.jpg") and "ETA" not in lines[-1]


def test_plain_lines_are_spaced_and_live_only_displays_stay_quiet():
    out = io.StringIO()
    bar = Progress(5, "training", unit="step", every=3600, initial=None, stream=out)
    for n in range(3, 9):  # a resumed run: from step 3
        bar.update(n, total=8)
    assert len(out.getvalue().splitlines()) == 2  # the first and the last
    quiet = io.StringIO()
    tiles = Progress(desc="background", plain=False, stream=quiet)
    callback(tiles, "enhancing")(1, 4, "enhancing background: tile 1/4")
    assert quiet.getvalue() == "" and tiles.done == 1 and tiles.total == 4


def test_a_bar_on_a_terminal_and_nothing_when_disabled():
    tty = Terminal()
    with Progress(4, "photos", unit="photo", stream=tty) as bar:
        for n in range(1, 5):
            bar.update(n, "x.jpg")
    text = tty.getvalue()
    assert "\r" in text and "4/4" in text and "photo/s" in text  # tqdm's redrawn line
    off = Terminal()
    with Progress(4, enabled=False, stream=off) as bar:
        bar.update(2)
        bar.print("")
    assert off.getvalue() == ""


def test_folder_progress_on_stderr_and_nothing_in_json_mode(tmp_path, tiny_checkpoint_128, capsys):
    import numpy as np
    from PIL import Image

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((48, 64, 3), 128, np.uint8)).save(folder / name)
    args = ["restore", str(folder), "-o", str(tmp_path / "out"), "-m", str(tiny_checkpoint_128)]
    assert main(args) == 0
    cap = capsys.readouterr()
    assert re.search(r"^photos 2/2 ", cap.err, re.M) and "\r" not in cap.err
    assert "photos 2/2" not in cap.out and "done: 2 of 2 photos" in cap.out
    assert main([*args, "--json", "--overwrite"]) == 0
    cap = capsys.readouterr()
    json.loads(cap.out)  # stdout is the report alone
    assert "photos" not in cap.err


def test_no_hand_written_carriage_returns_left():
    import gpen_desktop.commands as commands

    for path in Path(commands.__file__).parent.glob("*.py"):
        assert "\\r" not in path.read_text(), path.name
