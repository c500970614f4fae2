"""Outputs faithful to their inputs, through both front ends: ``gpen restore`` and the app's
export (:func:`gpen_desktop.gui.export_files.write_photo`). One save path in core
(:func:`gpen_desktop.core.imageio.save_restored`) keeps the input's channel layout (RGB stays
RGB even when grey in content, RGBA stays RGBA, grey stays grey), its bit depth and its ICC
profile and EXIF. The layout is read from the written file's own header (PNG IHDR, Pillow's
mode), not through our reader.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core.imageio import load_photo, save_restored
from gpen_desktop.core.pipeline import RestoreOptions, Restorer
from gpen_desktop.core.types import Photo

# name -> (what the output's header must say: layout, bits; whether it carries an ICC/EXIF)
LAYOUTS = {
    "gray.png": ("L", 8),
    "rgb.png": ("RGB", 8),
    "rgb_gray_content.png": ("RGB", 8),
    "rgba.png": ("RGBA", 8),
    "rgba_gray_content_icc.png": ("RGBA", 8),  # the reported bug: written grey+alpha, no ICC
    "gray_alpha.png": ("LA", 8),
    "rgb16.png": ("RGB", 16),
    "rgba16.png": ("RGBA", 16),
    "rgb_icc_exif.jpg": ("RGB", 8),
    "gray_content_icc.jpg": ("RGB", 8),
}
WITH_ICC = {"rgba_gray_content_icc.png", "rgb_icc_exif.jpg", "gray_content_icc.jpg", "rgb16.png"}
WITH_EXIF = {"rgb_icc_exif.jpg", "rgba_gray_content_icc.png"}
_PNG_TYPES = {0: "L", 2: "RGB", 4: "LA", 6: "RGBA"}


def _exif(make: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make  # Make
    return exif.tobytes()


def make_input(folder: Path, name: str, astronaut: np.ndarray, icc: bytes) -> Path:
    """Write the input photo ``name`` (see :data:`LAYOUTS`) into ``folder``."""
    import cv2

    rgb = astronaut
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    alpha = np.tile(np.linspace(40, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
    path = folder / name
    kwargs: dict = {}
    if name in WITH_ICC:
        kwargs["icc_profile"] = icc
    if name in WITH_EXIF:
        kwargs["exif"] = _exif("GPEN test camera")
    if name == "gray.png":
        Image.fromarray(grey, "L").save(path)
    elif name == "rgb.png":
        Image.fromarray(rgb).save(path)
    elif name in ("rgb_gray_content.png", "gray_content_icc.jpg"):
        Image.fromarray(np.dstack([grey] * 3)).save(path, quality=95, **kwargs)
    elif name == "rgba.png":
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    elif name == "rgba_gray_content_icc.png":
        Image.fromarray(np.dstack([grey, grey, grey, alpha]), "RGBA").save(path, **kwargs)
    elif name == "gray_alpha.png":
        Image.fromarray(np.dstack([grey, alpha]), "LA").save(path)
    elif name in ("rgb16.png", "rgba16.png"):
        wide = rgb.astype(np.uint16) * 257 + 3  # values no 8-bit file holds
        if name == "rgba16.png":
            wide = np.dstack([wide, alpha.astype(np.uint16) * 257])
            cv2.imwrite(str(path), wide[:, :, [2, 1, 0, 3]])
        else:
            cv2.imwrite(str(path), wide[:, :, ::-1])
            # add the ICC profile through our own writer's chunk insertion
            photo = load_photo(path)
            photo.icc = icc
            path.unlink()
            save_restored(photo, path)
    elif name == "rgb_icc_exif.jpg":
        Image.fromarray(rgb).save(path, quality=95, **kwargs)
    else:  # pragma: no cover
        raise AssertionError(name)
    return path


def header_layout(path: Path) -> tuple[str, int]:
    """(layout, bits) from the file's own header: PNG IHDR, else Pillow's mode."""
    data = path.read_bytes()
    if data.startswith(b"\x89PNG"):
        bits, colour_type = struct.unpack(">BB", data[24:26])
        return _PNG_TYPES[colour_type], bits
    with Image.open(path) as img:
        return img.mode, 8


def check_faithful(src: Path, out: Path, icc: bytes, full_depth: bool = True) -> None:
    """``full_depth``: a 16-bit output must hold values no 8-bit file could."""
    name = src.name
    assert header_layout(out) == LAYOUTS[name], name
    assert header_layout(src) == LAYOUTS[name], f"input {name} is not what the test wants"
    with Image.open(out) as img:
        got_icc = img.info.get("icc_profile")
        got_exif = img.getexif()
    if name in WITH_ICC:
        assert got_icc == icc, f"{name}: ICC profile lost"
    else:
        assert not got_icc
    if name in WITH_EXIF:
        assert got_exif.get(0x010F) == "GPEN test camera", f"{name}: EXIF lost"
    before, after = load_photo(src), load_photo(out)
    assert after.pixels.shape == before.pixels.shape
    if before.alpha is not None:
        np.testing.assert_array_equal(after.alpha, before.alpha)
    if LAYOUTS[name][1] == 16:
        assert after.pixels.dtype == np.uint16
        assert np.any(after.pixels % 257) == full_depth


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, astronaut, srgb_icc) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("faithful_in")
    return {name: make_input(folder, name, astronaut, srgb_icc) for name in LAYOUTS}


@pytest.fixture(scope="module")
def restorer(tiny_checkpoint) -> Restorer:
    return Restorer(RestoreOptions(model_path=str(tiny_checkpoint), device="cpu"))


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_cli_restore_keeps_the_input_layout(tmp_path, inputs, tiny_checkpoint, srgb_icc, name):
    src = inputs[name]
    out = tmp_path / f"out{src.suffix}"
    args = ["restore", str(src), "-o", str(out), "--model_path", str(tiny_checkpoint)]
    assert main([*args, "--device", "cpu", "--json"]) == 0
    assert load_photo(out).pixels.shape[:2] == (512, 512)
    check_faithful(src, out, srgb_icc)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_app_export_keeps_the_input_layout(tmp_path, inputs, restorer, srgb_icc, name):
    pytest.importorskip("PySide6")
    from gpen_desktop.gui import export_files as export

    src = inputs[name]
    result = restorer.restore(load_photo(src))
    assert result.restored_count >= 1  # the save path sees a real restored photo
    fmt = "JPEG" if src.suffix == ".jpg" else "PNG"
    settings = export.ExportSettings(format=fmt, keep_metadata=True)
    out = export.write_photo(result.image, tmp_path / f"out{src.suffix}", settings)
    check_faithful(src, out, srgb_icc)


def test_app_export_without_metadata_drops_profile_only(tmp_path, inputs, restorer):
    pytest.importorskip("PySide6")
    from gpen_desktop.gui import export_files as export

    src = inputs["rgba_gray_content_icc.png"]
    result = restorer.restore(load_photo(src))
    settings = export.ExportSettings(format="PNG", keep_metadata=False)
    out = export.write_photo(result.image, tmp_path / "out.png", settings)
    assert header_layout(out) == ("RGBA", 8)
    with Image.open(out) as img:
        assert "icc_profile" not in img.info and not img.getexif()


def test_source_restores_what_a_result_lost(tmp_path, inputs, srgb_icc):
    """A result that lost alpha, depth and metadata on the way (a bare recomposited array)
    is still written as its source was."""
    for name in ("rgba_gray_content_icc.png", "rgb16.png", "gray_alpha.png"):
        source = load_photo(inputs[name])
        bare = source.rgb8().copy()
        out = save_restored(bare, tmp_path / name, source)
        check_faithful(inputs[name], out, srgb_icc, full_depth=False)


def test_colourised_grey_photo_is_written_in_colour(tmp_path, inputs):
    source = load_photo(inputs["gray_alpha.png"])
    colour = source.pixels.copy()
    colour[:, :, 0] //= 2  # a colourisation model's output
    out = save_restored(Photo(pixels=colour, info=dict(source.info)), tmp_path / "c.png", source)
    assert header_layout(out) == ("RGBA", 8)
    np.testing.assert_array_equal(load_photo(out).pixels, colour)


def test_jpeg_output_of_an_rgba_input_says_why_alpha_went(tmp_path, inputs, caplog):
    source = load_photo(inputs["rgba.png"])
    with caplog.at_level("INFO"):
        out = save_restored(source, tmp_path / "o.jpg", source)
    assert header_layout(out) == ("RGB", 8)
    assert "transparency dropped" in caplog.text


def test_equal_channel_rgb_is_written_rgb(tmp_path, inputs):
    """A Photo made in memory from a loaded one keeps ``info['layout']``."""
    photo = load_photo(inputs["rgb_gray_content.png"])
    assert photo.is_gray and photo.info["layout"] == "RGB"
    out = save_restored(photo, tmp_path / "o.png")
    assert header_layout(out) == ("RGB", 8)
    buf = io.BytesIO(out.read_bytes())
    assert Image.open(buf).mode == "RGB"
