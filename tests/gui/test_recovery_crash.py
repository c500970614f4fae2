"""Crash recovery, end to end: a real app in a subprocess is killed (SIGKILL) with unsaved work
and started again; the work comes back, byte for byte, without a network run.

The app runs offscreen with a tiny random-weight GPEN; ``tests/gui/recovery_scenario.py``
(loaded through ``$GPEN_DESKTOP_SCENARIO``) drives it and writes what it sees as JSON.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).with_name("recovery_scenario.py")

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,  # two app starts each: 15-20 s on a busy 2-core machine
]


def _env(tmp_path: Path, step: str, out: Path) -> dict[str, str]:
    return dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        GPEN_DESKTOP_SETTINGS=str(tmp_path / "settings.ini"),
        GPEN_DESKTOP_RECOVERY_DIR=str(tmp_path / "recovery"),
        GPEN_DESKTOP_SCENARIO=str(SCENARIO),
        GPEN_SCENARIO_STEP=step,
        GPEN_SCENARIO_OUT=str(out),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )


def _start(tmp_path: Path, step: str, out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args],
        env=_env(tmp_path, step, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )


def _wait_for(proc: subprocess.Popen, word: str, timeout: float = 240.0) -> list[str]:
    """Read the app's output until a line says ``word``; fail on a scenario error or exit."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.strip() == word:
            return lines
        assert "SCENARIO FAILED" not in line, "\n".join(lines[-40:])
    proc.kill()
    raise AssertionError(f"no {word!r} from the app:\n" + "\n".join(lines[-40:]))


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL: no clean-up of any kind runs
    proc.wait(30)
    assert proc.returncode == -9


def _copies(tmp_path: Path) -> list[Path]:
    root = tmp_path / "recovery"
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != "owners")


def _recover(tmp_path: Path) -> dict:
    out = tmp_path / "recovered.json"
    proc = _start(tmp_path, "recover", out)
    try:
        output, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        raise AssertionError(output[-4000:]) from None
    assert proc.returncode == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    return json.loads(out.read_text())


@pytest.fixture
def app_files(tmp_path, mirrored_pair_png, tiny_checkpoint):
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(tiny_checkpoint, weights / "tiny-64.pth")
    photo = tmp_path / "pair.png"
    shutil.copy(mirrored_pair_png, photo)
    return photo, weights


def test_killed_app_offers_its_work_and_brings_it_back_byte_for_byte(tmp_path, app_files):
    photo, weights = app_files
    first = tmp_path / "first.json"
    proc = _start(tmp_path, "edit", first, str(photo), "--weights-dir", str(weights))
    try:
        _wait_for(proc, "READY")
    finally:
        _kill(proc)
    before = json.loads(first.read_text())
    assert before["marked"] > 0 and len(before["faces"]) == 2
    assert "needs restore" in before["status"]
    [copy] = _copies(tmp_path)
    assert (copy / "manifest.json").is_file()

    after = _recover(tmp_path)
    assert len(after["offered"]) == 1 and after["offered"][0].startswith("pair.png — ")
    assert "⚠" not in after["offered"][0] and not after["modal"]
    # the same faces (moved box included), marks, options and composite, byte for byte
    for key in ("faces", "numbers", "options", "marks", "composite", "shape", "kept_faces"):
        assert after[key] == before[key], key
    assert after["status"] == before["status"]
    assert after["network_runs"] == 0
    assert after["unsaved"]
    # the recovered photo's copy belonged to the second app, whose clean quit removed it
    assert after["recovered_copies"] == [str(copy)]
    assert _copies(tmp_path) == []


def test_a_kill_while_the_copy_is_written_leaves_the_previous_copy(tmp_path, app_files):
    photo, weights = app_files
    first = tmp_path / "first.json"
    proc = _start(tmp_path, "edit-then-write", first, str(photo), "--weights-dir", str(weights))
    try:
        _wait_for(proc, "READY")
        _wait_for(proc, "WRITING")  # halfway through the new manifest
    finally:
        _kill(proc)
    before = json.loads(first.read_text())
    [copy] = _copies(tmp_path)
    temps = [p.name for p in copy.iterdir() if p.name.startswith(".")]
    assert any("manifest" in name for name in temps), temps  # the half-written manifest

    after = _recover(tmp_path)
    assert len(after["offered"]) == 1
    # the copy made before the kill: blend 60 %, not the 30 % being written
    assert after["options"]["blend"] == before["options"]["blend"] == "0.6"
    for key in ("faces", "marks", "composite"):
        assert after[key] == before[key], key
    assert after["network_runs"] == 0
