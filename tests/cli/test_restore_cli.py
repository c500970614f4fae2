"""``gpen restore`` as users of the original GPEN scripts run it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core.checkpoints import load_checkpoint


@pytest.fixture()
def photos(tmp_path, astronaut):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(astronaut).save(src / "astro.jpg", quality=95)
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(src / "plain.png")
    return src


def test_seed_workflow_exactly_as_written(tmp_path, photos, tiny_checkpoint_128, capsys):
    out = tmp_path / "restored_face.png"
    code = main(
        [
            "restore",
            "--input",
            str(photos / "astro.jpg"),
            "--output",
            str(out),
            "--model_path",
            str(tiny_checkpoint_128),
            "--size",
            "128",
            "--face_align",
        ]
    )
    assert code == 0
    assert Image.open(out).size == (512, 512)
    assert "1/1 faces" in capsys.readouterr().out


def test_size_mismatch_is_a_clear_error(tmp_path, photos, tiny_checkpoint_128, capsys):
    code = main(
        [
            "restore",
            str(photos / "astro.jpg"),
            "-o",
            str(tmp_path / "o.png"),
            "--model_path",
            str(tiny_checkpoint_128),
            "--size",
            "2048",
        ]
    )
    assert code == 2
    assert "--size 2048 does not match" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_folder_with_bad_files_reports_and_goes_on(tmp_path, photos, tiny_checkpoint_128, capsys):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.png").write_text("this is text")
    good = np.asarray(Image.open(photos / "astro.jpg"))
    Image.fromarray(good).save(photos / "cut.png")
    (photos / "cut.png").write_bytes((photos / "cut.png").read_bytes()[:3000])
    huge = photos / "huge.png"
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    huge.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    out = tmp_path / "out"
    code = main(
        ["restore", str(photos), "-o", str(out), "--model_path", str(tiny_checkpoint_128), "--json"]
    )
    assert code == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    by = {r["input"].split("/")[-1]: r for r in report["results"]}
    assert by["astro.jpg"]["status"] == "ok" and by["astro.jpg"]["faces_restored"] == 1
    assert by["plain.png"]["status"] == "no_face"
    assert "empty" in by["empty.jpg"]["error"]
    assert "not an image" in by["notes.png"]["error"] or "text" in by["notes.png"]["error"]
    assert "truncated" in by["cut.png"]["error"] or "corrupt" in by["cut.png"]["error"]
    assert "pixels" in by["huge.png"]["error"] or "large" in by["huge.png"]["error"]
    assert report["summary"]["failed"] == 4
    # no face: copied through unchanged, byte for byte
    assert (out / "plain_restored.png").read_bytes() == (photos / "plain.png").read_bytes()
    assert (out / "astro_restored.jpg").exists()
    assert sorted(p.name for p in out.iterdir()) == ["astro_restored.jpg", "plain_restored.png"]


def test_never_overwrites_without_asking(tmp_path, photos, tiny_checkpoint_128, capsys):
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    args = [
        "restore",
        str(photos / "astro.jpg"),
        "-o",
        str(out),
        "--model_path",
        str(tiny_checkpoint_128),
    ]
    assert main(args) == 1
    assert out.read_bytes() == b"precious"
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert out.read_bytes() != b"precious"


def test_default_output_goes_beside_the_input_with_a_suffix(photos, tiny_checkpoint_128):
    assert (
        main(["restore", str(photos / "astro.jpg"), "--model_path", str(tiny_checkpoint_128)]) == 0
    )
    assert (photos / "astro_restored.jpg").exists()


@pytest.mark.parametrize(("precision", "levels"), [("float32", 1), ("auto", 2), ("bfloat16", 2)])
def test_aligned_mode_writes_the_raw_network_output(
    tmp_path, astronaut, tiny_checkpoint_128, precision, levels
):
    crop = np.asarray(Image.fromarray(astronaut[30:230, 130:330]).resize((128, 128)))
    Image.fromarray(crop).save(tmp_path / "face.png")
    out = tmp_path / "face_out.png"
    assert (
        main(
            [
                "restore",
                "--aligned",
                str(tmp_path / "face.png"),
                "-o",
                str(out),
                "--model_path",
                str(tiny_checkpoint_128),
                "--device",
                "cpu",
                "--precision",
                precision,
            ]
        )
        == 0
    )
    got = np.asarray(Image.open(out))
    model = load_checkpoint(tiny_checkpoint_128).model
    x = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255 * 2 - 1
    with torch.no_grad():
        y = model(x)
    want = (
        torch.round(torch.clamp((y + 1) / 2, 0, 1) * 255)
        .to(torch.uint8)[0]
        .permute(1, 2, 0)
        .numpy()
    )
    assert got.shape == (128, 128, 3)
    assert np.abs(got.astype(int) - want).max() <= levels


def test_unknown_precision_is_refused(tmp_path, photos, tiny_checkpoint_128, capsys):
    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.pipeline import RestoreOptions

    with pytest.raises(SystemExit):
        main(["restore", str(photos / "astro.jpg"), "--precision", "int8"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(GpenError, match="precision"):
        RestoreOptions(model_path=str(tiny_checkpoint_128), precision="half").check()


def test_aligned_mode_resizes_and_writes_a_folder(tmp_path, astronaut, tiny_checkpoint_128):
    for i in range(2):
        Image.fromarray(astronaut[i * 10 : i * 10 + 200, 130:330]).save(tmp_path / f"f{i}.png")
    out = tmp_path / "out"
    assert (
        main(
            [
                "restore",
                "--aligned",
                str(tmp_path / "f0.png"),
                str(tmp_path / "f1.png"),
                "-o",
                str(out),
                "--model_path",
                str(tiny_checkpoint_128),
            ]
        )
        == 0
    )
    assert {p.name: Image.open(p).size for p in out.iterdir()} == {
        "f0_restored.png": (128, 128),
        "f1_restored.png": (128, 128),
    }


def test_save_faces_writes_crops_and_strips(tmp_path, photos, tiny_checkpoint_128):
    out = tmp_path / "o.png"
    assert (
        main(
            [
                "restore",
                str(photos / "astro.jpg"),
                "-o",
                str(out),
                "--model_path",
                str(tiny_checkpoint_128),
                "--save-faces",
            ]
        )
        == 0
    )
    names = sorted(p.name for p in (tmp_path / "faces").iterdir())
    assert names == ["o_face01_compare.png", "o_face01_input.png", "o_face01_restored.png"]
    assert Image.open(tmp_path / "faces" / "o_face01_compare.png").size == (128 * 2 + 8, 128)


def test_interrupted_run_leaves_no_output(tmp_path, photos, tiny_checkpoint_128, monkeypatch):
    from gpen_desktop.core import pipeline

    def boom(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.Restorer, "restore", boom)
    out = tmp_path / "o.png"
    code = main(
        [
            "restore",
            str(photos / "astro.jpg"),
            "-o",
            str(out),
            "--model_path",
            str(tiny_checkpoint_128),
        ]
    )
    assert code == 130 and not out.exists()
    assert list(tmp_path.glob("*.tmp*")) == []
