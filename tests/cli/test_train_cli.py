"""``gpen train``: a tiny run end to end, status, export, bad inputs, Ctrl+C, and torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from gpen_desktop.cli import main

ROOT = Path(__file__).parents[2]
TINY = ["--size", "64", "--narrow", "0.0625", "--style-dim", "64", "--n-mlp", "2"]
FAST = ["--workers", "0", "--precision", "float32", "--no-tensorboard", "--batch-size", "2"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def faces(tmp_path_factory, astronaut, align) -> Path:
    """Four flipped / shifted crops of scikit-image's astronaut, aligned at 128 px."""
    face = align(astronaut, 128)
    folder = tmp_path_factory.mktemp("cli-train") / "faces"
    folder.mkdir()
    for i in range(4):
        variant = np.roll(face if i % 2 else face[:, ::-1], 2 * i, axis=0)
        cv2.imwrite(str(folder / f"f{i}.png"), np.ascontiguousarray(variant[:, :, ::-1]))
    return folder


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_a_tiny_run_trains_reports_its_status_and_exports(faces, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", str(faces), "--out", str(run), *TINY, *FAST, "--steps", "2"]
    assert (
        main(
            [
                *args,
                "--save-every",
                "1",
                "--val",
                str(faces),
                "--val-every",
                "2",
                "--val-limit",
                "2",
                "--no-val-identity",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "perceptual loss disabled: no VGG-19 file" in out.out  # no backbones here
    assert "done: 2 steps" in out.out and (run / "model.pth").is_file()
    assert (run / "val" / "step_000002.png").is_file() and (run / "config.toml").is_file()

    assert main(["train", "status", str(run)]) == 0
    text = capsys.readouterr().out
    assert "step 2 of 2 saved (step_000002.pth)" in text and "best validation: step 2" in text
    assert "disabled terms: identity, lpips, perceptual" in text

    assert main(["models", "info", str(run / "model.pth"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["in_size"] == 64 and info["format"] == "state_dict"

    for fmt in ("flat", "bundle"):
        target = tmp_path / f"{fmt}.pth"
        assert main(["train", "export", str(run), "-o", str(target), "--format", fmt]) == 0
        assert f"({fmt}, step 2)" in capsys.readouterr().out
    from gpen_desktop.core.checkpoints import inspect_checkpoint

    assert inspect_checkpoint(tmp_path / "bundle.pth").format == "generator"
    ckpt = run / "checkpoints" / "step_000001.pth"
    assert main(["train", "export", str(ckpt), "-o", str(tmp_path / "one.pth")]) == 0

    # the same run again without --resume is refused; with --resume it goes on to --steps 3
    assert main(args) == 2
    assert "already has checkpoints" in capsys.readouterr().err
    assert main(["train", "--resume", "--out", str(run), "--steps", "3", *FAST]) == 0
    assert "resumed from step_000002.pth (step 2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("empty", [], "DATA folder has no images"),
        ("missing", [], "DATA folder not found"),
        ("small", [], "smaller than a quarter of --size 64 (16 px): s.png (8x8)"),
        (
            "faces",
            ["--init", "WIDE"],
            "does not fit this run: it has narrow 0.125 (this run: 0.0625)",
        ),
        # the parser refuses --keep 0 (test_bad_inputs_cli); a config file is checked too
        ("faces", ["--config", "BADCONF"], "--keep must be at least 1"),
    ],
)
def test_bad_inputs_are_one_line_errors_before_training(
    faces, tmp_path, capsys, tiny_checkpoint, setup, extra, message
):
    data = {"faces": faces, "empty": tmp_path / "empty", "missing": tmp_path / "nope"}.get(setup)
    if setup == "empty":
        data.mkdir()
    if setup == "small":
        data = tmp_path / "small"
        data.mkdir()
        cv2.imwrite(str(data / "s.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "bad.toml").write_text("keep = 0\n")
    known = {"WIDE": str(tiny_checkpoint), "BADCONF": str(tmp_path / "bad.toml")}
    extra = [known.get(e, e) for e in extra]
    rc = main(["train", str(data), "--out", str(tmp_path / "run"), *TINY, *FAST, *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_resume_without_a_run_and_a_missing_out_are_errors(tmp_path, capsys, faces):
    assert main(["train", "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "is not a training run" in capsys.readouterr().err
    assert main(["train", str(faces)]) == 2
    assert "--out RUN is required" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(faces, tmp_path):
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "gpen_desktop",
        "train",
        str(faces),
        "--out",
        str(run),
        *TINY,
        *FAST,
    ]
    proc = subprocess.Popen(
        [*cmd, "--steps", "100000", "--log-every", "1", "--save-every", "100000"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        log = run / "log.jsonl"
        if log.is_file() and '"losses"' in log.read_text("utf-8"):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "stopped by SIGINT at step" in out
    from gpen_desktop.core.checkpoints import load_checkpoint
    from gpen_desktop.core.training.checkpoints import latest_checkpoint

    assert load_checkpoint(latest_checkpoint(run)).info.in_size == 64
    assert load_checkpoint(run / "model.pth").info.in_size == 64


@pytest.mark.slow
def test_torchrun_two_gloo_processes_keep_g_identical(faces, tmp_path):
    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--rdzv-backend", "c10d", "--rdzv-endpoint", "localhost:0",
        "-m", "gpen_desktop", "train", str(faces), "--out", str(run), *TINY, *FAST,
        "--steps", "3", "--save-every", "3", "--device", "cpu",
    ]  # fmt: skip
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    start = next(r for r in records if r.get("event") == "start")
    digests = next(r for r in records if r.get("event") == "ranks")["g_digests"]
    assert start["world_size"] == 2 and len(digests) == 2 and digests[0] == digests[1]
    assert "effective_batch = 4" in (run / "config.toml").read_text()
    assert done.stdout.count("done: 3 steps") == 1  # rank 0 alone reports


def test_bench_train_is_a_command_and_checks_its_numbers(capsys):
    with pytest.raises(SystemExit) as stop:  # refused at the parser, in one line
        main(["bench", "train", "--steps", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--steps: 0 is out of range: at least 1" in err and "Traceback" not in err


@pytest.mark.slow
def test_bench_train_trains_and_scores_held_out_faces(tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "train", "--steps", "2", "--batch-size", "2", "--workers", "0"]
    assert main([*args, "--precision", "float32", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 2 and report["faces"] == {"train": 8, "held_out": 3}
    for variant in ("degraded", "restored"):
        assert report[variant]["psnr"] > 0 and report[variant]["ab_shift"] >= 0
    assert 0 <= report["data_wait"] <= 1 and report["steps_per_s"] > 0
    assert Path(report["sheet"]).is_file() and (out / "run" / "model.pth").is_file()
    assert main([*args, "--precision", "float32", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "held-out" in table and "Lab ab shift" in table and "restored" in table


def test_finetune_needs_a_model_and_keep_best_needs_held_out_faces(faces, tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", str(faces), "--out", run, "--preset", "finetune", *TINY, *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the finetune preset starts from a trained model" in err
    assert main(["train", str(faces), "--out", run, "--keep-best", *TINY, *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--keep-best needs held-out faces" in err
    assert not (tmp_path / "run" / "checkpoints").exists()
