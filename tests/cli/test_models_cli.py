"""``gpen models`` and ``gpen bench`` from the command line."""

from __future__ import annotations

import json

import torch

from gpen_desktop.cli import main


def test_models_info_json(tiny_checkpoint, capsys):
    assert main(["models", "info", str(tiny_checkpoint), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in (
        "arch",
        "in_size",
        "out_size",
        "channel_multiplier",
        "narrow",
        "n_params",
        "dtype",
        "format",
    ):
        assert key in info
    assert (info["arch"], info["in_size"], info["out_size"]) == ("GPEN", 64, 64)
    assert (info["channel_multiplier"], info["narrow"], info["format"]) == (2, 0.125, "state_dict")


def test_models_info_human(tiny_checkpoint, capsys):
    assert main(["models", "info", str(tiny_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "channel_multiplier" in out and "64 px" in out


def test_models_info_bad_file_is_one_line_and_nonzero(tmp_path, capsys):
    bad = tmp_path / "bad.pth"
    bad.write_text("not a checkpoint")
    assert main(["models", "info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: not a PyTorch checkpoint") and "\n" not in err
    assert main(["models", "info", str(tmp_path / "missing.pth")]) == 2
    assert "not found" in capsys.readouterr().err


def test_models_list_identifies_by_content(tmp_path, tiny_checkpoint, capsys):
    (tmp_path / "renamed.pth").write_bytes(tiny_checkpoint.read_bytes())
    (tmp_path / "broken.pth").write_bytes(b"\x80\x02garbage")
    torch.save(
        {"conv_first.weight": torch.zeros(1), "body.0.rdb1.conv1.weight": torch.zeros(1)},
        tmp_path / "esrgan.pth",
    )
    (tmp_path / "notes.txt").write_text("ignored")
    assert main(["models", "list", "--dir", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {m["path"].split("/")[-1]: m for m in data["models"]}
    assert set(by_name) == {"renamed.pth", "broken.pth", "esrgan.pth"}
    assert by_name["renamed.pth"]["kind"] == "restorer"
    assert by_name["renamed.pth"]["info"]["in_size"] == 64
    assert by_name["broken.pth"]["kind"] == "invalid" and by_name["broken.pth"]["error"]
    assert "ESRGAN" in by_name["esrgan.pth"]["error"]


def test_models_known_lists_official_checkpoints(capsys):
    assert main(["models", "known", "--json"]) == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)}
    assert {
        "GPEN-BFR-256",
        "GPEN-BFR-512",
        "GPEN-BFR-1024",
        "GPEN-BFR-2048",
        "GPEN-Colorization-1024",
        "GPEN-Inpainting-1024",
    } <= names


def test_bench_json(capsys):
    args = ["bench", "--size", "64", "--repeat", "1", "--warmup", "0", "--compare-eager"]
    assert main([*args, "--dtype", "float32", "bfloat16", "--json"]) == 0
    rows = {r["dtype"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert set(rows) == {"float32", "bfloat16"}
    for data in rows.values():
        for key in ("size", "device", "dtype", "batch", "seconds_per_face", "peak_rss_mb"):
            assert key in data
        assert data["size"] == 64 and data["device"] == "cpu" and data["seconds_per_face"] > 0
        assert data["speedup_vs_eager"] > 0
    assert rows["float32"]["max_abs_diff_vs_eager"] < 1e-3  # exact
    assert rows["bfloat16"]["max_u8_diff_vs_eager"] <= 2  # within 2 of 255 levels
    assert main([*args, "--precision", "auto"]) == 0  # the table, with the measured Δu8
    head, row = capsys.readouterr().out.splitlines()[:2]
    assert "Δu8" in head and row.split()[0] == "64"


def test_bench_photo_splits_the_pipeline(astronaut_png, capsys):
    assert main(["bench", "--size", "64", "--repeat", "1", "--warmup", "0", "--compare-eager",
                 "--photo", str(astronaut_png), "--json"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    runs = {r["engine"]: r for r in data["photo_runs"]}
    assert set(runs) == {"fast", "eager"}
    for run in runs.values():
        assert run["faces"] == 1 and run["width"] == 512
        assert set(run["seconds"]) == {"detect", "align", "network", "paste", "total"}
        assert run["seconds"]["total"] >= run["seconds"]["network"] > 0
    assert data["weights_mb"] < 30  # sizes below 256 bench the tiny test network


def test_bench_table(capsys):
    assert (
        main(
            ["bench", "--size", "64", "128", "--batch", "1", "2", "--repeat", "1", "--warmup", "0"]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:4] == ["size", "batch", "device", "dtype"]
    assert len(lines) == 5 and lines[-1].split()[:2] == ["128", "2"]


def test_models_info_on_a_super_resolution_file(tmp_path, capsys):
    from gpen_desktop.core.superres import random_sr_checkpoint

    x2 = random_sr_checkpoint(tmp_path / "tiny_x2.pth", 2)
    assert main(["models", "info", str(x2), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["kind"], info["arch"], info["scale"]) == ("superres", "ESRGAN", 2)
    assert info["n_params"] > 0
    assert main(["models", "info", str(x2)]) == 0
    out = capsys.readouterr().out
    assert "ESRGAN" in out and "x2" in out and "super-resolution" in out


def test_models_info_on_an_upscaler_without_spandrel_says_what_to_install(
    tmp_path, capsys, monkeypatch
):
    from gpen_desktop.core import superres
    from gpen_desktop.core.superres import random_sr_checkpoint

    x2 = random_sr_checkpoint(tmp_path / "tiny_x2.pth", 2)
    monkeypatch.setattr(superres, "spandrel_available", lambda: False)
    assert main(["models", "info", str(x2)]) == 2
    err = capsys.readouterr().err.strip()
    assert "spandrel" in err and "\n" not in err


def test_bench_sr_reports_seconds_per_megapixel_and_the_difference(tmp_path, capsys):
    from gpen_desktop.core.superres import random_sr_checkpoint

    x2 = random_sr_checkpoint(tmp_path / "tiny_x2.pth", 2)
    args = ["bench", "--sr", str(x2), "--sr-crop", "48", "--repeat", "1"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["photo"].startswith("astronaut")
    rows = data["superres"]
    assert [(r["precision"], r["channels_last"]) for r in rows] == [
        ("float32", False),
        ("float32", True),
        ("bfloat16", True),
    ]
    assert all(r["seconds_per_mp"] > 0 and r["width"] == 48 for r in rows)
    assert rows[0]["max_u8_diff"] == 0 and rows[1]["max_u8_diff"] <= 1  # the layout is exact
    assert rows[2]["max_u8_diff"] <= 2
    assert main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "s/MP" in lines[1] and lines[4].split()[:2] == ["bfloat16", "NHWC"]
