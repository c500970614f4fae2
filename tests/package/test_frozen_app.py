"""Smoke tests of the frozen app (PyInstaller, packaging/gpen-desktop.spec), each a subprocess.

Skipped unless ``$GPEN_PACKAGE_DIST`` names a built ``dist/gpen-desktop`` folder: ``make
package-test`` builds the package and runs these. Every run must exit 0 and print no traceback;
the models are tiny random-weight files of each kind (restorer, inpainting, upscaler, ONNX).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DIST = os.environ.get("GPEN_PACKAGE_DIST", "")
EXE = ".exe" if sys.platform == "win32" else ""

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(
        not DIST, reason="the frozen app: make package-test (sets GPEN_PACKAGE_DIST)"
    ),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("frozen-home")


def _env(home: Path, weights: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_CORE"))}
    env.update(
        GPEN_WEIGHTS_DIR=str(weights),
        GPEN_DESKTOP_SETTINGS=str(home / "settings.ini"),
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def frozen(
    program: str,
    *args: object,
    home: Path,
    weights: Path,
    env: dict | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess:
    """Run ``program`` (``gpen`` or ``gpen-desktop``) of the package; assert exit 0 within
    ``timeout`` seconds and no traceback anywhere in its output."""
    exe = Path(DIST) / f"{program}{EXE}"
    assert exe.is_file(), f"{exe} is missing: build the package first (make package)"
    try:
        proc = subprocess.run(
            [str(exe), *map(str, args)],
            capture_output=True,
            text=True,
            errors="replace",
            env={**_env(home, weights), **(env or {})},
            cwd=home,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(
            errors="replace"
        )
        pytest.fail(f"{program} {args} did not finish in {timeout} s:\n{out[-4000:]}")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{program} {args} exited {proc.returncode}:\n{text[-4000:]}"
    assert "Traceback" not in text and "does not exist" not in text, text[-4000:]
    return proc


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A weights folder with one model of every kind but ONNX (made by the frozen exporter)."""
    from gpen_desktop.core.gpen import random_checkpoint
    from gpen_desktop.core.superres import random_sr_checkpoint

    folder = tmp_path_factory.mktemp("weights")
    random_checkpoint(folder / "GPEN-BFR-64.pth", 64, seed=1)
    random_checkpoint(folder / "GPEN-Inpainting-1024.pth", 64, seed=7)
    random_sr_checkpoint(folder / "realesrnet_x2.pth", 2)
    return folder


@pytest.fixture(scope="module")
def onnx_export(weights, home) -> tuple[subprocess.CompletedProcess, Path]:
    """``gpen models export-onnx`` of the frozen app (TorchScript/onnxscript need sources)."""
    out = weights / "gpen-64.onnx"
    proc = frozen(
        "gpen", "models", "export-onnx", weights / "GPEN-BFR-64.pth", "-o", out, "--json",
        home=home, weights=weights,
    )  # fmt: skip
    return proc, out


@pytest.fixture(scope="module")
def photo(home, astronaut) -> Path:
    path = home / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


def test_export_onnx(onnx_export):
    proc, out = onnx_export
    report = json.loads(proc.stdout)
    assert out.is_file() and report["max_diff_u8"] <= 2


def test_restore_plain_and_detect(photo, weights, home):
    out = home / "plain.png"
    frozen("gpen", "restore", photo, "-o", out, "-m", weights / "GPEN-BFR-64.pth",
           "--device", "cpu", "--overwrite", home=home, weights=weights)  # fmt: skip
    assert Image.open(out).size == (512, 512)
    proc = frozen("gpen", "detect", photo, "--json", home=home, weights=weights)
    assert "landmarks" in proc.stdout or "box" in proc.stdout


def test_restore_with_sr_model(photo, weights, home):
    out = home / "sr.png"
    frozen("gpen", "restore", photo, "-o", out, "-m", weights / "GPEN-BFR-64.pth",
           "--sr-model", weights / "realesrnet_x2.pth", "--device", "cpu", "--overwrite",
           home=home, weights=weights)  # fmt: skip
    assert Image.open(out).size == (1024, 1024)


def test_restore_with_damage_mask(photo, weights, home):
    mask = np.zeros((512, 512), np.uint8)
    mask[100:110, 150:350] = 255  # a scratch across the face
    Image.fromarray(mask).save(home / "mask.png")
    out = home / "damage.png"
    frozen("gpen", "restore", photo, "-o", out, "-m", weights / "GPEN-BFR-64.pth",
           "--damage-mask", home / "mask.png",
           "--inpaint-model", weights / "GPEN-Inpainting-1024.pth", "--device", "cpu",
           "--overwrite", home=home, weights=weights)  # fmt: skip
    assert Image.open(out).size == (512, 512)


def test_old_photo_tools(photo, weights, home, tmp_path):
    """This session's old-photo tools in the frozen app: Find Damage (`gpen damage`,
    `--auto-damage`), grain matching (SciPy's fit), the quality score (in the report) and the
    compact upscaler with its denoise blend (spandrel)."""
    from gpen_desktop.core.superres import random_compact_checkpoint

    sr = tmp_path / "sr"
    sr.mkdir()
    random_compact_checkpoint(sr / "realesr-general-x4v3.pth", seed=1)
    random_compact_checkpoint(sr / "realesr-general-wdn-x4v3.pth", seed=2)
    mask = home / "found.png"
    frozen("gpen", "damage", photo, "-o", mask, "--json", "--overwrite",
           home=home, weights=weights)  # fmt: skip
    assert Image.open(mask).size == (512, 512)
    out = home / "old.png"
    proc = frozen("gpen", "restore", photo, "-o", out, "-m", weights / "GPEN-BFR-64.pth",
                  "--auto-damage", "--match-grain",
                  "--sr-model", sr / "realesr-general-x4v3.pth", "-dn", "0.3",
                  "--upscale", "1", "--device", "cpu", "--overwrite", "--json",
                  home=home, weights=weights)  # fmt: skip
    assert Image.open(out).size == (512, 512)
    report = json.loads(proc.stdout)["results"][0]
    assert report["faces_restored"] == 1 and "score" in report["faces"][0]["quality"]
    assert report["superres"]["denoise_strength"] == 0.3


def test_restore_with_an_onnx_model(photo, weights, home, onnx_export):
    out = home / "onnx.png"
    frozen("gpen", "restore", photo, "-o", out, "-m", onnx_export[1], "--device", "cpu",
           "--overwrite", home=home, weights=weights)  # fmt: skip
    assert Image.open(out).size == (512, 512)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("GPEN-BFR-64.pth", "GPEN"),
        ("GPEN-Inpainting-1024.pth", "GPEN"),
        ("realesrnet_x2.pth", "superres"),
        ("gpen-64.onnx", "onnx"),
    ],
)
def test_models_info_for_every_kind(name, kind, weights, home, onnx_export):
    proc = frozen("gpen", "models", "info", weights / name, "--json", home=home, weights=weights)
    assert kind in proc.stdout, proc.stdout


def test_models_list(weights, home, onnx_export):
    proc = frozen("gpen", "models", "list", "--dir", weights, "--json", home=home, weights=weights)
    for name in ("GPEN-BFR-64", "GPEN-Inpainting-1024", "realesrnet_x2", "gpen-64"):
        assert name in proc.stdout


def test_gui_starts_and_lists_every_model(weights, home, onnx_export):
    """The frozen GUI, offscreen: its weights-folder scan lists the restorer, the inpainting
    model, the ONNX file and the upscaler, and no error reaches the status line."""
    proc = frozen("gpen-desktop", "--weights-dir", weights, home=home, weights=weights,
                  env={"GPEN_DESKTOP_SELF_CHECK": "1"}, timeout=120)  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if x.startswith("{"))
    report = json.loads(line)
    models = " | ".join(report["models"])
    assert "GPEN-64" in models and "gpen-64" in models, models
    assert "GPEN-Inpainting-1024 (for damage strokes)" in models, models
    assert "not usable" not in models, models
    assert any("RealESRNet" in b for b in report["backgrounds"]), report["backgrounds"]
    assert "Couldn't" not in report["status"], report["status"]
