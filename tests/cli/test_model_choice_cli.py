"""``gpen restore --model auto`` / ``--model-for-size SIZE=PATH``: per-face models from the
command line, and their errors."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main


@pytest.fixture()
def crops(tmp_path):
    """A folder of 'aligned' crops of 50, 64 and 100 px (noise; the network runs as is)."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "crops"
    folder.mkdir()
    for n in (50, 64, 100):
        Image.fromarray(rng.integers(0, 256, (n, n, 3), dtype=np.uint8)).save(folder / f"c{n}.png")
    return folder


@pytest.fixture()
def loads(monkeypatch):
    import gpen_desktop.core.models as models

    seen: Counter = Counter()
    real = models.load_model_file

    def load(path, *a, **k):
        seen[str(path)] += 1
        return real(path, *a, **k)

    monkeypatch.setattr(models, "load_model_file", load)
    return seen


def _run(capsys, *argv):
    code = main(["restore", *map(str, argv)])
    out = capsys.readouterr()
    return code, out


def test_model_for_size_sends_each_crop_to_its_model(
    crops, tmp_path, tiny_checkpoint, tiny_checkpoint_128, loads, capsys
):
    p64, p128 = str(tiny_checkpoint), str(tiny_checkpoint_128)
    code, out = _run(
        capsys,
        crops,
        "--aligned",
        "-o",
        tmp_path / "out",
        "--model-for-size",
        f"64={p64}",
        "--model-for-size",
        f"128={p128}",
        "--device",
        "cpu",
        "--json",
    )
    assert code == 0, out.err
    doc = json.loads(out.out)
    by_input = {r["input"].split("/")[-1]: r["models"] for r in doc["results"]}
    assert by_input == {"c50.png": {p64: 1}, "c64.png": {p64: 1}, "c100.png": {p128: 1}}
    assert doc["summary"]["models"] == {p64: 2, p128: 1}
    assert doc["summary"]["model"] == "auto"
    assert doc["summary"]["models_by_size"] == {"64": p64, "128": p128}
    assert loads == {p64: 1, p128: 1}  # one load per model for the whole run
    sizes = sorted(Image.open(p).size[0] for p in (tmp_path / "out").glob("*.png"))
    assert sizes == [64, 64, 128]


def test_model_auto_uses_the_weights_folder(
    crops, tmp_path, tiny_checkpoint, tiny_checkpoint_128, monkeypatch, capsys
):
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(tiny_checkpoint, weights / "small.pth")
    shutil.copy(tiny_checkpoint_128, weights / "large.pth")
    monkeypatch.setenv("GPEN_WEIGHTS_DIR", str(weights))
    code, out = _run(
        capsys, crops, "--aligned", "-o", tmp_path / "out", "--model", "auto", "--device", "cpu"
    )
    assert code == 0, out.err
    assert "small.pth x1" in out.out and "large.pth x1" in out.out
    # --model-for-size with auto replaces that size's weights/ model
    code, out = _run(
        capsys,
        crops,
        "--aligned",
        "-o",
        tmp_path / "out2",
        "-m",
        "auto",
        "--model-for-size",
        f"128={tiny_checkpoint}",
        "--device",
        "cpu",
        "--json",
    )
    assert code == 0, out.err
    summary = json.loads(out.out)["summary"]
    assert summary["models_by_size"] == {
        "64": str(weights / "small.pth"),
        "128": str(tiny_checkpoint),
    }


def test_model_path_still_means_exactly_that_model(crops, tmp_path, tiny_checkpoint, capsys):
    code, out = _run(
        capsys, crops, "--aligned", "-o", tmp_path / "out", "-m", tiny_checkpoint, "--json"
    )
    assert code == 0, out.err
    doc = json.loads(out.out)
    assert doc["summary"]["model"] == str(tiny_checkpoint) and "models" not in doc["summary"]
    assert all("models" not in r for r in doc["results"])
    sizes = {Image.open(p).size[0] for p in (tmp_path / "out").glob("*.png")}
    assert sizes == {64}


def test_whole_photo_faces_pick_by_size(
    astronaut_png, tmp_path, tiny_checkpoint, tiny_checkpoint_128, capsys
):
    from gpen_desktop.core.face_models import choose_model_size, face_extent
    from gpen_desktop.core.faces import detect_faces
    from gpen_desktop.core.imageio import load_photo

    face = detect_faces(load_photo(astronaut_png).rgb8(), "auto")[0]
    want = {64: str(tiny_checkpoint), 128: str(tiny_checkpoint_128)}[
        choose_model_size(face_extent(face), (64, 128))
    ]
    code, out = _run(
        capsys,
        astronaut_png,
        "-o",
        tmp_path / "a.png",
        "--model-for-size",
        f"64={tiny_checkpoint}",
        "--model-for-size",
        f"128={tiny_checkpoint_128}",
        "--json",
    )
    assert code == 0, out.err
    assert json.loads(out.out)["results"][0]["models"] == {want: 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("256", "expected SIZE=PATH"),
        ("=x.pth", "SIZE must be a positive whole number"),
        ("big=x.pth", "SIZE must be a positive whole number"),
        ("-5=x.pth", "SIZE must be a positive whole number"),
        ("256=", "expected SIZE=PATH"),
        ("256=missing.pth", "no such file"),
    ],
)
def test_bad_model_for_size_values_are_one_line_errors(crops, tmp_path, value, message, capsys):
    code, out = _run(capsys, crops, "--aligned", "-o", tmp_path / "o", f"--model-for-size={value}")
    err = out.err.strip()
    assert code == 2 and message in err and "\n" not in err


def test_conflicts_and_wrong_files_are_refused(
    crops, tmp_path, tiny_checkpoint, capsys, monkeypatch
):
    from gpen_desktop.core.gpen import random_checkpoint

    common = (crops, "--aligned", "-o", tmp_path / "o")
    code, out = _run(
        capsys,
        *common,
        "--model-for-size",
        f"64={tiny_checkpoint}",
        "--model-for-size",
        f"64={tiny_checkpoint}",
    )
    assert code == 2 and "size 64 twice" in out.err
    code, out = _run(
        capsys, *common, "-m", tiny_checkpoint, "--model-for-size", f"64={tiny_checkpoint}"
    )
    assert code == 2 and "one or the other" in out.err
    code, out = _run(capsys, *common, "--model-for-size", f"64={tiny_checkpoint}", "--size", "64")
    assert code == 2 and "--size" in out.err
    inpaint = random_checkpoint(tmp_path / "GPEN-Inpainting-1024.pth", 64, seed=3)
    code, out = _run(capsys, *common, "--model-for-size", f"64={inpaint}")
    assert code == 2 and "inpainting" in out.err
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GPEN_WEIGHTS_DIR", str(empty))
    code, out = _run(capsys, *common, "--model", "auto")
    assert code == 2 and "--model auto found no face restoration model" in out.err
    assert not (tmp_path / "o").exists()


def test_session_re_runs_per_face_models_sr_and_damage(
    tmp_path, tiny_checkpoint, tiny_checkpoint_128, capsys
):
    from gpen_desktop.core.faces.align import TEMPLATE
    from gpen_desktop.core.pipeline import RestoreOptions
    from gpen_desktop.core.session import make_session, save_session
    from gpen_desktop.core.superres import random_sr_checkpoint
    from gpen_desktop.core.types import Face

    rng = np.random.default_rng(11)
    photo = tmp_path / "old.png"
    Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)).save(photo)
    mask = np.zeros((120, 200), np.uint8)
    mask[10:14, :] = 255  # a scratch across the print
    Image.fromarray(mask).save(tmp_path / "old.png.damage.png")

    def face(extent, x, y, **kw):
        lm = tuple(map(tuple, TEMPLATE * extent + (x, y)))
        return Face(box=(x + 20, y + 20, x + extent - 20, y + extent - 10), landmarks=lm, **kw)

    p64, p128 = str(tiny_checkpoint), str(tiny_checkpoint_128)
    sr = random_sr_checkpoint(tmp_path / "x2.pth", 2)
    options = RestoreOptions(
        models_by_size=((64, p64), (128, p128)),
        sr_model=str(sr),
        upscale=0,
        tile=64,
        device="cpu",
    )
    faces = [face(50, 5, 5), face(110, 80, 5), face(50, 140, 60, model=p128)]
    session = make_session(photo, faces, options=options)
    session.damage_mask = "old.png.damage.png"
    path = save_session(session)
    code, out = _run(capsys, "--session", path, "-o", tmp_path / "out.png", "--json")
    assert code == 0, out.err
    rep = json.loads(out.out)["results"][0]
    assert rep["models"] == {p64: 1, p128: 2}
    assert rep["superres"]["scale"] == 2 and rep["superres"]["tile"] == 64
    assert rep["inpainting"]["background"]
    assert Image.open(tmp_path / "out.png").size == (400, 240)
    # options on the command line still override the session's
    code, out = _run(
        capsys,
        "--session",
        path,
        "-o",
        tmp_path / "out2.png",
        "--model-for-size",
        f"64={p64}",
        "--tile",
        "80",
        "--json",
    )
    assert code == 0, out.err
    rep = json.loads(out.out)["results"][0]
    assert rep["models"] == {p64: 2, p128: 1} and rep["superres"]["tile"] == 80
    assert any("per-face models" in o for o in rep["overrides"])
