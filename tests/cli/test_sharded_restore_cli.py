"""``gpen restore`` sharded across torchrun ranks: each output written once, restarts skip
what is done, rank 0 prints the merged summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.commands._shard import Shard, assign, shard_device, shard_from_env

REPO = Path(__file__).resolve().parents[2]
TORCHRUN_VARS = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
)


@pytest.fixture()
def album(tmp_path, astronaut):
    """Two photos with a face (the astronaut and her mirror image, 256 px) and three without,
    one of them in a sub-folder."""
    folder = tmp_path / "album"
    (folder / "sub").mkdir(parents=True)
    small = np.asarray(Image.fromarray(astronaut).resize((256, 256), Image.LANCZOS))
    Image.fromarray(small).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(small[:, ::-1])).save(folder / "b.png")
    rng = np.random.default_rng(4)
    for name in ("c.png", "d.png", "sub/e.png"):
        Image.fromarray(rng.integers(0, 256, (72, 96, 3), dtype=np.uint8)).save(folder / name)
    return folder


def _torchrun(*argv) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["GPEN_CPU_FLOAT32"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    cmd += ["-m", "gpen_desktop", "restore", *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)


def _outputs(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.png")}


def test_two_ranks_write_each_output_once_and_a_rerun_skips_them(album, tmp_path, tiny_checkpoint):
    out = tmp_path / "out"
    args = (album, "-o", out, "-r", "-m", tiny_checkpoint, "--device", "cpu")
    run = _torchrun(*args, "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    doc = json.loads(run.stdout)  # rank 0 alone prints: one JSON document
    results, summary = doc["results"], doc["summary"]
    names = [Path(r["input"]).relative_to(album).as_posix() for r in results]
    assert names == ["a.png", "b.png", "c.png", "d.png", "sub/e.png"]  # input order, once each
    assert {r["rank"] for r in results} == {0, 1}
    assert [r["rank"] for r in results] == [0, 1, 0, 1, 0]  # dealt round-robin
    assert all(r["status"] in ("ok", "no_face") for r in results)  # no "exists" error: one writer
    assert len({r["output"] for r in results}) == 5
    assert summary["world_size"] == 2 and summary["inputs"] == 5 and summary["ok"] == 5
    assert summary["failed"] == 0 and summary["faces_restored"] >= 2
    written = _outputs(out)
    assert sorted(written) == [
        "a_restored.png",
        "b_restored.png",
        "c_restored.png",
        "d_restored.png",
        "sub/e_restored.png",
    ]

    # started again (e.g. after a kill that lost one output): only that one is redone, the
    # others are skipped and not rewritten
    (out / "b_restored.png").unlink()
    third = _torchrun(*args)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "done: 1 of 5 photos" in third.stdout and "4 already there (skipped)" in third.stdout
    assert third.stdout.count("done:") == 1  # the merged summary, from rank 0 only
    (redone,) = [line for line in third.stdout.splitlines() if "b_restored.png" in line]
    assert redone.startswith("[rank 1] ") and "faces" in redone, third.stdout
    now = _outputs(out)
    assert sorted(now) == sorted(written)
    assert {k: v for k, v in now.items() if k != "b_restored.png"} == {
        k: v for k, v in written.items() if k != "b_restored.png"
    }


def test_shard_from_env():
    assert shard_from_env({}) is None
    assert shard_from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    assert shard_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == Shard(3, 4, 1)
    assert shard_from_env({"WORLD_SIZE": "2", "RANK": "1"}) == Shard(1, 2, 0)
    from gpen_desktop.core.errors import GpenError

    for env, message in (
        ({"WORLD_SIZE": "two", "RANK": "0"}, "not a whole number"),
        ({"WORLD_SIZE": "2"}, "RANK is not"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "outside WORLD_SIZE"),
    ):
        with pytest.raises(GpenError, match=message):
            shard_from_env(env)


def test_assign_covers_every_input_once_and_keeps_shared_outputs_together():
    outs = [Path(f"o/{n}.png") for n in "abcdefg"]
    outs[5] = outs[1]  # two inputs that would write one file
    shares = [assign(outs, Shard(r, 3, r)) for r in range(3)]
    flat = sorted(i for share in shares for i in share)
    assert flat == list(range(7))
    owner = {i: r for r, share in enumerate(shares) for i in share}
    assert owner[1] == owner[5]
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_shard_device_keeps_explicit_choices():
    s = Shard(1, 2, 1)
    assert shard_device("cpu", s) == "cpu"
    assert shard_device("cuda:0", s) == "cuda:0"
    import torch

    if not torch.cuda.is_available():
        assert shard_device("auto", s) == "auto"
    else:
        assert shard_device("auto", s) == f"cuda:{1 % torch.cuda.device_count()}"


def test_a_job_environment_without_torchrun_is_a_clear_error(
    album, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    for k in TORCHRUN_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    code = main(["restore", str(album), "-o", str(tmp_path / "o"), "-m", str(tiny_checkpoint)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "MASTER_ADDR and MASTER_PORT not set" in err and "\n" not in err
    code = main(["restore", "--session", str(tmp_path / "x.gpen.json")])
    assert code == 2 and "not sharded" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_skip_existing_in_a_plain_run(tmp_path, tiny_checkpoint, capsys):
    rng = np.random.default_rng(2)
    folder = tmp_path / "crops"
    folder.mkdir()
    for n in ("x", "y"):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{n}.png")
    out = tmp_path / "out"
    base = ["restore", str(folder), "--aligned", "-o", str(out), "-m", str(tiny_checkpoint)]
    assert main(base) == 0
    (out / "y_restored.png").unlink()
    before = (out / "x_restored.png").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*base, "--skip-existing", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["ok"], summary["skipped"], summary["failed"]) == (1, 1, 0)
    assert (out / "x_restored.png").stat().st_mtime_ns == before
    assert (out / "y_restored.png").is_file()
    # without it, an existing output is still an error (and --overwrite replaces it)
    assert main(base) == 1
