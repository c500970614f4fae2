"""GPEN as ONNX files (core/onnx_model.py): export, restore, ``models info``, bad files, a
missing onnxruntime, and the export's own check. Tiny random-weight GPENs, CPU."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core.errors import CheckpointError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from onnx import TensorProto, helper  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_checkpoint):
    """The tiny GPEN exported by ``gpen models export-onnx``, fixed and dynamic batch."""
    folder = tmp_path_factory.mktemp("onnx")
    files = {}
    for kind, extra in (("fixed", []), ("dynamic", ["--dynamic-batch"])):
        out = folder / f"gpen-64-{kind}.onnx"
        code = main(["models", "export-onnx", str(tiny_checkpoint), "-o", str(out), "--json",
                     *extra])  # fmt: skip
        assert code == 0
        files[kind] = out
    return files


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_an_exported_gpen_restores_within_2_levels_of_its_pth(
    kind, exported, tiny_checkpoint, astronaut_png, tmp_path, capsys
):
    outs = {}
    for name, model in (("pth", tiny_checkpoint), ("onnx", exported[kind])):
        out = tmp_path / f"{name}.png"
        assert main(["restore", str(astronaut_png), "-o", str(out), "-m", str(model),
                     "--device", "cpu", "--precision", "float32", "--json"]) == 0  # fmt: skip
        report = json.loads(capsys.readouterr().out)["results"][0]
        assert report["faces_restored"] >= 1, report
        outs[name] = np.asarray(Image.open(out)).astype(np.int16)
    assert np.abs(outs["pth"] - outs["onnx"]).max() <= 2
    assert not np.array_equal(outs["pth"], np.asarray(Image.open(astronaut_png)))  # restored


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_batches_of_any_size_match_pytorch(kind, exported, tiny_checkpoint):
    """A fixed-batch file loops (the last call padded), a dynamic one takes the whole batch."""
    import torch

    from gpen_desktop.core.checkpoints import load_checkpoint
    from gpen_desktop.core.inference import to_tensor, to_uint8
    from gpen_desktop.core.onnx_model import _sample_faces, load_onnx

    faces = _sample_faces(64, 3, seed=5)
    with torch.no_grad():
        want = to_uint8(load_checkpoint(tiny_checkpoint, device="cpu").model(to_tensor(faces)))
    loaded = load_onnx(exported[kind])
    runner = loaded.make_runner("cpu")
    got = runner.run_uint8(faces)
    assert got.shape == faces.shape and got.dtype == np.uint8
    assert np.abs(got.astype(np.int16) - want.astype(np.int16)).max() <= 2
    assert runner.calls == (3 if kind == "fixed" else 1)
    assert loaded.signature.batch == (1 if kind == "fixed" else None)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_models_info_json_reports_the_right_fields(kind, exported, capsys):
    path = exported[kind]
    assert main(["models", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"] == "GPEN" and info["format"] == "onnx"
    assert info["in_size"] == 64 and info["out_size"] == 64
    assert info["dtype"] == "float32" and info["task"] == "bfr"
    assert info["file_size"] == path.stat().st_size
    assert info["n_params"] > 1_000_000  # the initializers, counted with the onnx package
    assert info["hints"] == {
        "input": "input",
        "output": "output",
        "batch": 1 if kind == "fixed" else "dynamic",
    }
    assert main(["models", "info", str(path)]) == 0  # the table form too
    assert "onnx" in capsys.readouterr().out


# --------------------------------------------------------------------------- not GPENs


def _graph(path, inputs, outputs, nodes) -> None:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _vi(name, dims, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, dims)


def _identity(path, dims, elem=TensorProto.FLOAT) -> None:
    _graph(path, [_vi("x", dims, elem)], [_vi("y", dims, elem)],
           [helper.make_node("Identity", ["x"], ["y"])])  # fmt: skip


def _make_bad(kind: str, path, good) -> None:
    if kind == "one input channel":
        _identity(path, [1, 1, 64, 64])
    elif kind == "two inputs":
        _graph(path, [_vi("a", [1, 3, 64, 64]), _vi("b", [1, 3, 64, 64])],
               [_vi("y", [1, 3, 64, 64])], [helper.make_node("Add", ["a", "b"], ["y"])])  # fmt: skip
    elif kind == "non-square input":
        _identity(path, [1, 3, 64, 48])
    elif kind == "classifier output":
        _graph(path, [_vi("x", [1, 3, 64, 64])], [_vi("y", [1, 12288])],
               [helper.make_node("Flatten", ["x"], ["y"])])  # fmt: skip
    elif kind == "integer input":
        _identity(path, [1, 3, 64, 64], TensorProto.INT64)
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("this is not a model\n")
    elif kind == "empty":
        path.write_bytes(b"")


BAD = ["one input channel", "two inputs", "non-square input", "classifier output",
       "integer input", "truncated", "text", "empty"]  # fmt: skip
WORDS = {
    "one input channel": "not a GPEN face model",
    "two inputs": "2 input(s)",
    "non-square input": "fixed square face size",
    "classifier output": "its output is",
    "integer input": "expected N x 3 x S x S floats",
    "truncated": "not a readable ONNX model",
    "text": "not a readable ONNX model",
    "empty": "not a readable ONNX model",
}


@pytest.fixture(scope="module")
def small_good(tmp_path_factory):
    """A valid (non-GPEN) ONNX file big enough to truncate meaningfully."""
    path = tmp_path_factory.mktemp("good") / "good.onnx"
    weight = helper.make_tensor(
        "w", TensorProto.FLOAT, [3, 3, 3, 3], np.ones(81, np.float32).tolist()
    )
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
        "g",
        [_vi("x", [1, 3, 64, 64])],
        [_vi("y", [1, 3, 64, 64])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("kind", BAD)
def test_files_that_are_not_gpens_get_one_line(kind, tmp_path, small_good, capsys):
    from gpen_desktop.core.onnx_model import load_onnx

    path = tmp_path / f"{kind.replace(' ', '-')}.onnx"
    _make_bad(kind, path, small_good)
    with pytest.raises(CheckpointError) as exc:
        load_onnx(path)
    message = str(exc.value)
    assert "\n" not in message and WORDS[kind] in message, message
    assert main(["models", "info", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err
    assert WORDS[kind] in err


def test_the_small_good_file_is_a_gpen_shape(small_good):
    """The file the truncated case cuts is itself accepted (so truncation is what fails)."""
    from gpen_desktop.core.onnx_model import load_onnx

    assert load_onnx(small_good).signature.in_size == 64


def test_a_missing_file_is_one_line(tmp_path):
    from gpen_desktop.core.onnx_model import load_onnx

    with pytest.raises(CheckpointError, match="not found"):
        load_onnx(tmp_path / "nothing.onnx")


# --------------------------------------------------------------------------- no onnxruntime


def test_without_onnxruntime_an_onnx_file_says_install_the_extra(
    small_good, tiny_checkpoint, astronaut_png, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    assert main(["models", "info", str(small_good)]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'gpen-desktop[onnx]'" in err and "\n" not in err
    out = tmp_path / "o.png"
    assert main(["restore", str(astronaut_png), "-o", str(out), "-m", str(small_good),
                 "--device", "cpu"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert "pip install 'gpen-desktop[onnx]'" in err and "Traceback" not in err
    assert not out.exists()
    assert (
        main(["models", "export-onnx", str(tiny_checkpoint), "-o", str(tmp_path / "x.onnx")]) == 2
    )
    assert "gpen-desktop[onnx]" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_without_onnx_the_export_says_install_the_extra(
    tiny_checkpoint, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    assert (
        main(["models", "export-onnx", str(tiny_checkpoint), "-o", str(tmp_path / "x.onnx")]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert "exporting to ONNX needs onnxscript" in err and "\n" not in err


# --------------------------------------------------------------------------- the export's check


@pytest.mark.slow
def test_the_export_check_catches_a_broken_export(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    """A file whose output differs from PyTorch is not kept (nothing at the path, no temp)."""
    from gpen_desktop.core import onnx_model

    real = onnx_model.OnnxRunner.run_uint8

    def off_by_ten(self, batch):
        out = real(self, batch).astype(np.int16)
        return np.clip(out + 10, 0, 255).astype(np.uint8)

    monkeypatch.setattr(onnx_model.OnnxRunner, "run_uint8", off_by_ten)
    out = tmp_path / "broken.onnx"
    assert main(["models", "export-onnx", str(tiny_checkpoint), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "differs from PyTorch by up to 10 levels" in err and "not written" in err
    assert "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_bad_names(tiny_checkpoint, tmp_path, small_good, capsys):
    assert main(["models", "export-onnx", str(tiny_checkpoint), "-o", str(tmp_path / "x.pth")]) == 2
    assert "must be an .onnx file" in capsys.readouterr().err
    assert main(["models", "export-onnx", str(small_good), "-o", str(tmp_path / "y.onnx")]) == 2
    assert "already an ONNX file" in capsys.readouterr().err


def test_providers_always_end_with_the_cpu():
    from gpen_desktop.core.onnx_model import providers_for

    avail = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("cuda", avail) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("mps", avail) == ["CPUExecutionProvider"]
    assert providers_for("cpu", ["DmlExecutionProvider"]) == [
        "DmlExecutionProvider",
        "CPUExecutionProvider",
    ]
