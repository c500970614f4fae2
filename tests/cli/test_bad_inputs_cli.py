"""The last bad inputs: a full disk, undecodable file names on a strict UTF-8 stdout, bad files
in degrade/evaluate folder runs, an output path under a file."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main

ROOT = Path(__file__).resolve().parents[2]
XFF = os.fsdecode(b"caf\xff")  # a name that is not UTF-8: Python holds it as 'caf\udcff'


def _plain(path: Path, value: int = 128) -> Path:
    Image.fromarray(np.full((48, 48, 3), value, np.uint8)).save(path)
    return path


def _restore(args, ckpt):
    return main(["restore", *map(str, args), "--model_path", str(ckpt), "--device", "cpu"])


def test_copy_through_onto_a_full_disk_is_one_line_and_the_run_goes_on(
    tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    src = tmp_path / "in"
    src.mkdir()
    _plain(src / "a.png", 100)
    _plain(src / "b.png", 200)
    calls = []
    real = shutil.copyfile

    def full_disk_once(a, b, *args, **kw):
        calls.append(a)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(a, b, *args, **kw)

    monkeypatch.setattr(shutil, "copyfile", full_disk_once)
    out = tmp_path / "out"
    assert _restore([src, "-o", out], tiny_checkpoint) == 1
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and "a.png" in errors[0] and "disk full" in errors[0]
    assert "Traceback" not in "\n".join(err)
    assert len(calls) == 2  # the run went on to b.png
    assert sorted(p.name for p in out.iterdir()) == ["b_restored.png"]  # no temp file left
    assert (out / "b_restored.png").read_bytes() == (src / "b.png").read_bytes()


def test_a_write_failing_inside_the_writer_is_one_line(
    tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    """Not only the copy: an OSError from any save in a folder run is reported, not raised."""
    import gpen_desktop.core.imageio as images

    src = tmp_path / "in"
    src.mkdir()
    _plain(src / "a.png")

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(images, "save_photo", broken)
    monkeypatch.setattr(images, "save_restored", broken)
    assert _restore([src, "-o", tmp_path / "out", "--ext", "jpg"], tiny_checkpoint) == 1
    err = capsys.readouterr().err
    assert "Input/output error" in err and "Traceback" not in err


def test_output_under_a_file_names_the_real_problem(tmp_path, tiny_checkpoint, capsys):
    photo = _plain(tmp_path / "a.png")
    blocker = tmp_path / "taken.txt"
    blocker.write_text("a file")
    assert _restore([photo, "-o", blocker / "sub" / "a.png"], tiny_checkpoint) == 1
    err = capsys.readouterr().err
    assert f"{blocker} is a file, not a folder" in err
    assert "already exists" not in err


def test_degrade_folder_reports_and_skips_bad_files(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _plain(src / "a.png")
    (src / "b.png").write_bytes(b"not an image")
    _plain(src / "c.png")
    out = tmp_path / "out"
    assert main(["degrade", str(src), "-o", str(out), "--seed", "1"]) == 1
    cap = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert "done: 2 of 3 images degraded, 1 failed" in cap.out
    errors = cap.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error:") and "b.png" in errors[0]


def test_degrade_json_lists_the_failure(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _plain(src / "a.png")
    (src / "b.png").write_bytes(b"")
    assert main(["degrade", str(src), "-o", str(tmp_path / "o"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["output"] is None for r in report] == [False, True]
    assert report[1]["error"]


def test_evaluate_folder_reports_and_skips_bad_files(tmp_path, tiny_checkpoint, capsys, align):
    from skimage import data

    hq = tmp_path / "hq"
    hq.mkdir()
    Image.fromarray(align(data.astronaut(), 64)).save(hq / "a.png")
    (hq / "b.png").write_bytes(b"broken")
    base = tmp_path / "rep"
    args = ["evaluate", "--hq", str(hq), "--model_path", str(tiny_checkpoint), "--out", str(base)]
    assert main([*args, "--device", "cpu", "--no-identity"]) == 1
    cap = capsys.readouterr()
    assert "done: 1 of 2 images evaluated, 1 failed" in cap.out
    assert "b.png" in cap.err and "(skipped)" in cap.err
    report = json.loads(base.with_suffix(".json").read_text())
    assert report["count"] == 1 and [f["file"] for f in report["failed"]] == ["b.png"]


# --------------------------------------------------------------------------- strict UTF-8


@pytest.fixture(scope="module")
def strict_folder(tmp_path_factory, align) -> Path:
    """A folder with one face photo and one plain photo, both named with a \\xff byte."""
    from skimage import data

    folder = tmp_path_factory.mktemp("strict")
    face = align(data.astronaut(), 128)
    Image.fromarray(face).save(folder / f"{XFF}-face.png")
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / f"{XFF}-plain.png")
    return folder


def _gpen_strict(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "gpen_desktop", *args],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["detect", "degrade", "restore", "evaluate"])
def test_undecodable_names_on_a_strict_utf8_stdout(command, strict_folder, tmp_path, request):
    out = tmp_path / "out"
    if command == "detect":
        args = [str(strict_folder)]
    elif command == "degrade":
        args = [str(strict_folder), "-o", str(out)]
    else:
        ckpt = str(request.getfixturevalue("tiny_checkpoint"))
        if command == "restore":
            args = [str(strict_folder), "-o", str(out), "--model_path", ckpt, "--device", "cpu"]
        else:
            args = ["--hq", str(strict_folder), "--model_path", ckpt, "--device", "cpu",
                    "--out", str(out / "rep"), "--no-identity"]  # fmt: skip
    proc = _gpen_strict(command, *args)
    text = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")  # strict: valid UTF-8
    assert proc.returncode == 0, text
    assert "Traceback" not in text and "UnicodeEncodeError" not in text
    if command != "evaluate":  # evaluate prints file names only in its report files
        assert "caf\\xff-plain.png" in text or "caf\\xff-face.png" in text
    if command in ("degrade", "restore"):
        assert len(list(out.iterdir())) == 2


def test_say_escapes_and_never_raises():
    import io

    from gpen_desktop.commands._output import printable, say

    assert printable(XFF) == "caf\\xff"
    assert printable(b"caf\xff") == "caf\\xff"
    assert printable(Path(XFF)) == "caf\\xff"
    raw = io.BytesIO()
    strict = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    say(XFF, "✓ déjà", file=strict, flush=True)
    assert raw.getvalue() == b"caf\\xff \\u2713 d\\xe9j\\xe0\n"
    strict.close()
    say("to a closed stream", file=strict)  # ignored

    class Broken(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    say("x", file=Broken())


# --------------------------------------------------------------------------- numeric ranges


def _one_line_usage_error(capsys, argv: list[str]) -> str:
    """Run ``gpen argv``: argparse's exit 2 with one 'error:' line naming the flag."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["restore", "a.png", "--tile", "1"], "at least 32, or 0 = automatic"),
        (["restore", "a.png", "--tile", "31"], "at least 32"),
        (["restore", "a.png", "--tile", "-5"], "at least 32"),
        (["restore", "a.png", "--upscale", "9"], "1-8, or 0 ="),
        (["restore", "a.png", "--upscale", "-1"], "1-8"),
        (["restore", "a.png", "--blend", "nan"], "a number expected"),
        (["restore", "a.png", "--blend", "1.5"], "0-1"),
        (["restore", "a.png", "--batch-size", "0"], "1-128"),
        (["restore", "a.png", "--quality", "101"], "0-100"),
        (["restore", "a.png", "--size", "3"], "16-4096"),
        (["restore", "a.png", "--max-faces", "0"], "at least 1"),
        (["restore", "a.png", "--min-face", "-1"], "at least 0"),
        (["detect", "a.png", "--max-faces", "0"], "at least 1"),
        (["detect", "a.png", "--min-face", "-3"], "at least 0"),
        (["degrade", "a.png", "-o", "b", "--seed", "-1"], "at least 0"),
        (["evaluate", "--hq", "d", "--model_path", "m", "--limit", "0"], "at least 1"),
        (["evaluate", "--hq", "d", "--model_path", "m", "--seed", "x"], "whole number"),
        (["bench", "--batch", "0"], "1-128"),
        (["bench", "--repeat", "0"], "at least 1"),
        (["bench", "--warmup", "-1"], "at least 0"),
        (["models", "export-onnx", "a.pth", "-o", "a.onnx", "--opset", "3"], "7-28"),
        (["train", "d", "--steps", "0"], "at least 1"),
        (["train", "d", "--narrow", "0"], "more than 0, at most 4"),
        (["train", "d", "--lr", "inf"], "a number expected"),
        (["train", "d", "--ema-decay", "1"], "less than 1"),
        (["train", "d", "--gray-p", "2"], "0-1"),
        (["train", "d", "--workers", "-1"], "at least 0"),
        (["train", "d", "--size", "100"], "invalid choice"),
    ],
)
def test_numbers_out_of_range_are_refused_at_the_parser(argv, words, capsys):
    line = _one_line_usage_error(capsys, argv)
    assert words in line, line


def test_every_numeric_flag_says_its_range_in_help(capsys):
    """Sweep every subcommand: a flag that takes a number has a checked range, said in --help."""
    from gpen_desktop.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parsers = dict(sub.choices)
    models = parsers.pop("models")
    msub = next(a for a in models._actions if isinstance(a, argparse._SubParsersAction))
    parsers.update({f"models {k}": v for k, v in msub.choices.items()})
    unchecked = []
    for name, p in parsers.items():
        for action in p._actions:
            numeric = getattr(action.type, "__name__", "") in ("int", "float")
            if numeric and action.choices is None:
                words = getattr(action.type, "range_words", "")
                if not words or f"({words})" not in action.help:
                    unchecked.append(f"{name} {action.option_strings}")
    assert not unchecked, unchecked


def test_upscale_0_is_documented_and_needs_an_sr_model(
    tmp_path, tiny_checkpoint, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "400")  # argparse wraps help at the terminal's width
    with pytest.raises(SystemExit):
        main(["restore", "--help"])
    assert "0 = the super-resolution model's own scale" in " ".join(capsys.readouterr().out.split())
    photo = _plain(tmp_path / "a.png")
    out = tmp_path / "o.png"
    assert _restore([photo, "-o", out, "--upscale", "0"], tiny_checkpoint) == 2
    err = capsys.readouterr().err.strip()
    assert "upscale" in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_a_tile_that_makes_too_many_tiles_is_one_line_before_any_work(
    tmp_path, tiny_checkpoint, capsys, monkeypatch
):
    from gpen_desktop.core import superres
    from gpen_desktop.core.options import MAX_TILES

    sr = superres.random_sr_checkpoint(tmp_path / "tiny_x2.pth", 2)
    side = 32 * (int(MAX_TILES**0.5) + 1)  # one tile row and column more than allowed
    Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(tmp_path / "big.png")
    ran = []
    monkeypatch.setattr(superres.SuperResolver, "upscale", lambda *a, **k: ran.append(1))
    out = tmp_path / "o.png"
    code = _restore([tmp_path / "big.png", "-o", out, "--sr-model", sr, "--tile", "32"],
                    tiny_checkpoint)  # fmt: skip
    assert code != 0 and not out.exists() and not ran
    err = capsys.readouterr().err.strip()
    assert f"at most {MAX_TILES}" in err and "use a larger tile" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
