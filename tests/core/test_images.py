"""Photo decoding/encoding (gpen_desktop.core.imageio): formats, orientation, grey, alpha,
16-bit, metadata, bad inputs, the pixel guard, atomic and non-overwriting saves."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from gpen_desktop.core import imageio
from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.imageio import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    iter_images,
    load_photo,
    patch_exif,
    probe_image,
    save_photo,
)
from gpen_desktop.core.imageio import read as imageio_read
from gpen_desktop.core.imageio import write as imageio_write
from gpen_desktop.core.types import Photo

LOSSLESS = ["png", "tif", "bmp", "webp"]  # WebP at quality 100 is lossless


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """A non-square crop of the astronaut (asymmetric, so every turn/flip is visible)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[20:84, 180:228])  # 64 x 48 x 3


def _exif(orientation: int | None = None, **extra) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "GPEN Test Camera"  # Make
    exif[0x0110] = "Model 7"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    sub = {0x9003: "2024:05:06 07:08:09"}  # DateTimeOriginal, in the Exif IFD
    sub.update(extra)
    exif[0x8769] = sub
    return exif.tobytes()


def _tags(exif_bytes: bytes) -> tuple[dict, dict]:
    exif = Image.Exif()
    exif.load(exif_bytes)
    return dict(exif), exif.get_ifd(0x8769)


def _err(path, **kw) -> str:
    with pytest.raises(ImageError) as info:
        load_photo(path, **kw)
    assert type(info.value) is ImageError
    return str(info.value)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", ["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp"])
def test_round_trip_each_format(tmp_path, astronaut, ext):
    path = save_photo(astronaut, tmp_path / f"astronaut.{ext}", quality=100)
    assert path == tmp_path / f"astronaut.{ext}"
    photo = load_photo(path)
    assert photo.pixels.shape == (512, 512, 3) and photo.pixels.dtype == np.uint8
    assert photo.alpha is None and not photo.is_gray
    assert photo.format == imageio.EXTENSION_FORMATS[f".{ext}"]
    assert photo.path == path and photo.info["bits"] == 8
    if ext in ("jpg", "jpeg"):
        diff = np.abs(photo.pixels.astype(int) - astronaut)
        assert diff.mean() < 1.5 and diff.max() < 40
    else:
        np.testing.assert_array_equal(photo.pixels, astronaut)
    info = probe_image(path)
    assert (info["width"], info["height"], info["format"]) == (512, 512, photo.format)
    assert info["mode"] == "RGB" and info["bits"] == 8


def test_supported_extensions():
    assert {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"} <= SUPPORTED_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in SUPPORTED_EXTENSIONS)


def test_jpeg_quality_is_honoured(tmp_path, astronaut):
    low = load_photo(save_photo(astronaut, tmp_path / "q30.jpg", quality=30))
    high = load_photo(save_photo(astronaut, tmp_path / "q95.jpg", quality=95))
    assert (tmp_path / "q30.jpg").stat().st_size < 0.5 * (tmp_path / "q95.jpg").stat().st_size
    err_low = np.abs(low.pixels.astype(int) - astronaut).mean()
    err_high = np.abs(high.pixels.astype(int) - astronaut).mean()
    assert err_high < err_low
    with pytest.raises(ImageError, match="quality"):
        save_photo(astronaut, tmp_path / "q0.jpg", quality=0)


def test_unsupported_output_extension(tmp_path, astronaut):
    with pytest.raises(ImageError, match=r"unsupported output format \.gif"):
        save_photo(astronaut, tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


def _count_decodes(monkeypatch) -> dict[str, int]:
    """Count pixel decodes: Pillow's decoders (one per tile) and the 16-bit OpenCV path."""
    from PIL import Image as PILImage

    counts = {"pil": 0, "cv2": 0}
    real_decoder, real_cv2 = PILImage._getdecoder, imageio_read._decode_cv2

    def getdecoder(*args, **kwargs):
        counts["pil"] += 1
        return real_decoder(*args, **kwargs)

    def decode_cv2(*args, **kwargs):
        counts["cv2"] += 1
        return real_cv2(*args, **kwargs)

    monkeypatch.setattr(PILImage, "_getdecoder", getdecoder)
    monkeypatch.setattr(imageio_read, "_decode_cv2", decode_cv2)
    return counts


def test_twelve_megapixel_jpeg_is_decoded_once(tmp_path, astronaut, monkeypatch):
    big = np.tile(astronaut, (6, 8, 1))[:3000, :4000]
    Image.fromarray(big).save(tmp_path / "12mp.jpg", quality=90)
    counts = _count_decodes(monkeypatch)
    photo = load_photo(tmp_path / "12mp.jpg")
    assert photo.pixels.shape == (3000, 4000, 3)
    assert counts == {"pil": 1, "cv2": 0}  # one decode, no second pass over the pixels


# --------------------------------------------------------------------------- orientation

# What a viewer shows for each EXIF orientation of the stored pixels ``a`` (EXIF 2.3, 4.6.4).
DISPLAY = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: np.transpose(a, (1, 0, 2)),  # transpose
    6: lambda a: np.rot90(a, -1),  # needs a 90° clockwise turn
    7: lambda a: np.transpose(np.rot90(a, 2), (1, 0, 2)),  # transverse
    8: lambda a: np.rot90(a, 1),  # needs a 90° counter-clockwise turn
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_exif_orientation_applied(tmp_path, portrait, fmt, orientation):
    path = tmp_path / f"o{orientation}.{fmt.lower()}"
    extra = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(portrait).save(path, fmt, exif=_exif(orientation), **extra)

    photo = load_photo(path)
    stored = np.asarray(Image.open(path).convert("RGB")) if fmt == "JPEG" else portrait
    if fmt == "TIFF":
        stored = portrait  # Pillow turns TIFFs itself on load; compare with what was written
    expected = DISPLAY[orientation](stored)
    assert photo.pixels.shape == expected.shape
    np.testing.assert_array_equal(photo.pixels, expected)
    # Pillow's own exif_transpose agrees.
    np.testing.assert_array_equal(
        photo.pixels, np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    )
    assert photo.info["orientation"] == orientation
    ifd0, exif_ifd = _tags(photo.exif)
    assert ifd0.get(0x0112, 1) == 1  # reset, so a viewer does not turn it again
    assert ifd0[0x010F] == "GPEN Test Camera"
    assert exif_ifd[0x9003] == "2024:05:06 07:08:09"
    info = probe_image(path)
    assert (info["height"], info["width"]) == expected.shape[:2]
    assert info["orientation"] == orientation


@pytest.mark.parametrize("orientation", [2, 6, 7, 8])
@pytest.mark.parametrize("ext", ["png", "tif"])
def test_exif_orientation_applied_16bit(tmp_path, portrait, ext, orientation):
    pixels = portrait.astype(np.uint16) * 257 + 1
    alpha = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 20
    stored = np.dstack([pixels, alpha])
    path = tmp_path / f"o{orientation}.{ext}"
    encoder = imageio_write._encode_tiff if ext == "tif" else imageio_write._encode_png16
    with open(path, "wb") as fp:
        encoder(stored, fp, icc=None, exif=_exif(orientation), dpi=None)
    photo = load_photo(path)
    assert photo.pixels.dtype == np.uint16
    np.testing.assert_array_equal(photo.pixels, DISPLAY[orientation](pixels))
    np.testing.assert_array_equal(photo.alpha, DISPLAY[orientation](alpha[:, :, None])[:, :, 0])
    assert _tags(photo.exif)[0][0x0112] == 1


def test_png_exif_after_image_data(tmp_path, portrait):
    buf = io.BytesIO()
    Image.fromarray(portrait).save(buf, "PNG", exif=_exif(8))
    data = buf.getvalue()
    at = data.index(b"eXIf") - 4
    (length,) = struct.unpack(">I", data[at : at + 4])
    chunk = data[at : at + 12 + length]
    data = data.replace(chunk, b"")
    end = data.index(b"IEND") - 4
    (tmp_path / "late.png").write_bytes(data[:end] + chunk + data[end:])  # eXIf after IDAT
    photo = load_photo(tmp_path / "late.png")
    np.testing.assert_array_equal(photo.pixels, DISPLAY[8](portrait))
    assert _tags(photo.exif)[0][0x0112] == 1


def test_probe_does_not_decode(tmp_path, portrait, monkeypatch):
    from PIL import ImageFile

    for ext in ("png", "jpg", "tif", "webp"):
        Image.fromarray(portrait).save(tmp_path / f"p.{ext}", exif=_exif(6))

    def no_decoding(self):
        raise AssertionError("probe_image decoded pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    from PIL import PngImagePlugin, TiffImagePlugin, WebPImagePlugin

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding, raising=False)
    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "load", no_decoding)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", no_decoding)
    for ext in ("png", "jpg", "tif", "webp"):
        info = probe_image(tmp_path / f"p.{ext}")
        assert (info["width"], info["height"], info["orientation"]) == (64, 48, 6), ext


def test_saved_photo_is_upright(tmp_path, portrait):
    Image.fromarray(portrait).save(tmp_path / "in.png", exif=_exif(6))
    photo = load_photo(tmp_path / "in.png")
    for ext in ("jpg", "png", "webp", "tif"):
        out = save_photo(photo, tmp_path / f"out.{ext}", quality=100)
        again = load_photo(out)
        assert again.info["orientation"] == 1
        assert again.pixels.shape == (48, 64, 3)
        assert np.abs(again.pixels.astype(int) - photo.pixels).mean() < 2.0


# --------------------------------------------------------------------------- alpha, grey


def _rgba(portrait: np.ndarray) -> np.ndarray:
    h, w = portrait.shape[:2]
    alpha = (np.arange(h * w).reshape(h, w) * 7 % 256).astype(np.uint8)
    alpha[:8] = 0  # fully transparent rows: their colour must survive too
    return np.dstack([portrait, alpha])


@pytest.mark.parametrize("ext", ["png", "tif", "webp"])
def test_alpha_round_trip_untouched(tmp_path, portrait, ext):
    rgba = _rgba(portrait)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    photo = load_photo(tmp_path / "in.png")
    assert photo.alpha is not None and photo.alpha.dtype == np.uint8
    np.testing.assert_array_equal(photo.alpha, rgba[:, :, 3])
    np.testing.assert_array_equal(photo.pixels, portrait)
    out = save_photo(photo, tmp_path / f"out.{ext}", quality=100)
    with Image.open(out) as img:
        assert img.mode == "RGBA"
    again = load_photo(out)
    np.testing.assert_array_equal(again.alpha, rgba[:, :, 3])
    np.testing.assert_array_equal(again.pixels, portrait)


@pytest.mark.parametrize("ext", ["jpg", "bmp"])
def test_alpha_dropped_where_format_has_none(tmp_path, portrait, ext):
    out = save_photo(_rgba(portrait), tmp_path / f"out.{ext}", quality=100)
    photo = load_photo(out)
    assert photo.alpha is None
    assert np.abs(photo.pixels.astype(int) - portrait).mean() < 2.0


def test_palette_with_transparency_gives_alpha(tmp_path, portrait):
    img = Image.fromarray(portrait).quantize(16)
    img.info["transparency"] = 0
    img.save(tmp_path / "p.png", transparency=0)
    photo = load_photo(tmp_path / "p.png")
    assert photo.alpha is not None
    assert set(np.unique(photo.alpha)) <= {0, 255} and (photo.alpha == 0).any()


def test_gray_sources_detected(tmp_path, portrait):
    gray = portrait[:, :, 1].copy()
    Image.fromarray(gray, "L").save(tmp_path / "l.png")
    Image.fromarray(gray, "L").save(tmp_path / "l.jpg", quality=95)
    Image.fromarray(np.dstack([gray] * 3)).save(tmp_path / "rgb_gray.png")
    Image.fromarray(np.dstack([gray, 255 - gray]), "LA").save(tmp_path / "la.png")
    Image.fromarray(gray > 128).save(tmp_path / "bilevel.png")

    for name in ("l.png", "rgb_gray.png", "la.png"):
        photo = load_photo(tmp_path / name)
        assert photo.is_gray, name
        assert photo.pixels.shape == (64, 48, 3)
        for c in range(3):
            np.testing.assert_array_equal(photo.pixels[:, :, c], gray)
    assert load_photo(tmp_path / "l.jpg").is_gray
    la = load_photo(tmp_path / "la.png")
    np.testing.assert_array_equal(la.alpha, 255 - gray)
    bilevel = load_photo(tmp_path / "bilevel.png")
    assert bilevel.is_gray and set(np.unique(bilevel.pixels)) == {0, 255}
    assert not load_photo(save_photo(portrait, tmp_path / "colour.png")).is_gray


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "bmp"])
def test_gray_written_single_channel(tmp_path, portrait, ext):
    gray = portrait[:, :, 1].copy()
    Image.fromarray(gray, "L").save(tmp_path / "in.png")
    photo = load_photo(tmp_path / "in.png")
    out = save_photo(photo, tmp_path / f"out.{ext}", quality=100)
    with Image.open(out) as img:
        assert img.mode == "L"
    again = load_photo(out)
    assert again.is_gray
    tolerance = 2 if ext == "jpg" else 0
    assert np.abs(again.pixels[:, :, 0].astype(int) - gray).max() <= tolerance


def test_gray_alpha_written_as_la(tmp_path, portrait):
    gray = portrait[:, :, 0].copy()
    Image.fromarray(np.dstack([gray, gray // 2]), "LA").save(tmp_path / "in.png")
    out = save_photo(load_photo(tmp_path / "in.png"), tmp_path / "out.png")
    with Image.open(out) as img:
        assert img.mode == "LA"
        np.testing.assert_array_equal(np.asarray(img), np.dstack([gray, gray // 2]))


def test_gray_flag_overrides(tmp_path, portrait):
    out = save_photo(portrait, tmp_path / "forced.png", gray=True)
    with Image.open(out) as img:
        assert img.mode == "L"
        expected = np.asarray(Image.fromarray(portrait).convert("L")).astype(int)
        assert np.abs(np.asarray(img).astype(int) - expected).max() <= 1  # BT.601 luma
    gray_photo = Photo(pixels=np.dstack([portrait[:, :, 0]] * 3), is_gray=True)
    out = save_photo(gray_photo, tmp_path / "colour.png", gray=False)
    with Image.open(out) as img:
        assert img.mode == "RGB"


# --------------------------------------------------------------------------- 16-bit


def _rgb16(portrait: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 257, size=portrait.shape)
    return (portrait.astype(np.int64) * 257 - noise).clip(0, 65535).astype(np.uint16)


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("kind", ["rgb", "rgba", "gray", "gray_alpha"])
def test_16bit_round_trip_exact(tmp_path, portrait, ext, kind):
    import cv2

    rgb = _rgb16(portrait)
    if kind.startswith("gray"):
        rgb = np.dstack([rgb[:, :, 1]] * 3)
    alpha = None
    if kind in ("rgba", "gray_alpha"):
        alpha = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 21
    photo = Photo(pixels=rgb, alpha=alpha, is_gray=kind.startswith("gray"))
    out = save_photo(photo, tmp_path / f"{kind}.{ext}")

    again = load_photo(out)
    assert again.pixels.dtype == np.uint16 and again.info["bits"] == 16
    assert again.pixels.max() > 255  # not squeezed into 8 bits
    np.testing.assert_array_equal(again.pixels, rgb)
    assert again.is_gray == kind.startswith("gray")
    if alpha is None:
        assert again.alpha is None
    else:
        assert again.alpha.dtype == np.uint16
        np.testing.assert_array_equal(again.alpha, alpha)

    # An independent decoder (OpenCV/libpng/libtiff) reads the same numbers.
    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    if raw.ndim == 2:
        np.testing.assert_array_equal(raw, rgb[:, :, 0])
    else:
        np.testing.assert_array_equal(raw[:, :, 2::-1], rgb)
    if kind == "gray" and ext == "png":
        with Image.open(out) as img:
            assert img.mode == "I;16"
            np.testing.assert_array_equal(np.asarray(img).astype(np.uint16), rgb[:, :, 0])
    assert probe_image(out)["bits"] == 16


@pytest.mark.parametrize("ext", ["jpg", "webp", "bmp"])
def test_16bit_scaled_to_8bit_elsewhere(tmp_path, portrait, ext):
    photo = Photo(pixels=_rgb16(portrait))
    again = load_photo(save_photo(photo, tmp_path / f"out.{ext}", quality=100))
    assert again.pixels.dtype == np.uint8
    assert np.abs(again.pixels.astype(int) - photo.rgb8()).mean() < 2.0


def test_16bit_gray_png_written_by_pillow_loads(tmp_path, portrait):
    values = portrait[:, :, 0].astype(np.uint16) * 250 + 7
    Image.fromarray(values).save(tmp_path / "g16.png")  # Pillow writes I;16 grey
    photo = load_photo(tmp_path / "g16.png")
    assert photo.is_gray and photo.pixels.dtype == np.uint16
    np.testing.assert_array_equal(photo.pixels[:, :, 2], values)


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif"])
def test_icc_and_exif_copied(tmp_path, portrait, srgb_icc, ext):
    Image.fromarray(portrait).save(
        tmp_path / "in.jpg", quality=95, exif=_exif(), icc_profile=srgb_icc, dpi=(300, 300)
    )
    photo = load_photo(tmp_path / "in.jpg")
    assert photo.icc == srgb_icc
    assert photo.exif.startswith(b"Exif\x00\x00")
    assert photo.info["dpi"] == pytest.approx((300, 300))

    out = save_photo(photo, tmp_path / f"out.{ext}", quality=100)
    again = load_photo(out)
    assert again.icc == srgb_icc
    ifd0, exif_ifd = _tags(again.exif)
    assert ifd0[0x010F] == "GPEN Test Camera" and ifd0[0x0110] == "Model 7"
    assert exif_ifd[0x9003] == "2024:05:06 07:08:09"
    if ext != "webp":
        assert again.info["dpi"] == pytest.approx((300, 300), abs=0.05)

    bare = load_photo(save_photo(photo, tmp_path / f"bare.{ext}", keep_metadata=False))
    assert bare.icc is None and bare.exif is None


def test_icc_dropped_when_colour_space_does_not_fit(tmp_path, portrait, srgb_icc):
    lab_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert lab_icc[16:20] == b"Lab "
    photo = Photo(pixels=portrait, icc=srgb_icc, is_gray=True)  # an RGB profile on grey
    assert load_photo(save_photo(photo, tmp_path / "g.png")).icc is None
    assert load_photo(save_photo(photo, tmp_path / "c.png", gray=False)).icc == srgb_icc
    lab = Photo(pixels=portrait, icc=lab_icc)
    assert load_photo(save_photo(lab, tmp_path / "lab.jpg")).icc is None


def test_16bit_metadata_copied(tmp_path, portrait, srgb_icc):
    photo = Photo(pixels=_rgb16(portrait), exif=_exif(), icc=srgb_icc, info={"dpi": (150, 150)})
    for ext in ("png", "tif"):
        again = load_photo(save_photo(photo, tmp_path / f"m.{ext}"))
        assert again.icc == srgb_icc
        assert _tags(again.exif)[1][0x9003] == "2024:05:06 07:08:09"
        assert again.info["dpi"] == pytest.approx((150, 150), abs=0.05)


def test_exif_from_tiff_excludes_layout_tags(tmp_path, portrait):
    Image.fromarray(portrait).save(tmp_path / "in.tif", exif=_exif())
    photo = load_photo(tmp_path / "in.tif")
    ifd0, exif_ifd = _tags(photo.exif)
    assert ifd0[0x010F] == "GPEN Test Camera"
    assert exif_ifd[0x9003] == "2024:05:06 07:08:09"
    assert not {256, 257, 273, 279} & set(ifd0)  # width/height/strips never travel


def test_patch_exif_byte_level():
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x8769] = {0xA002: 4000, 0xA003: 3000, 0x927C: b"maker-note-bytes"}
    blob = exif.tobytes()
    patched = patch_exif(blob, orientation=1, size=(800, 600), drop_thumbnail=True)
    assert len(patched) == len(blob)  # edited in place: nothing moved
    ifd0, sub = _tags(patched)
    assert ifd0[0x0112] == 1
    assert (sub[0xA002], sub[0xA003]) == (800, 600)
    assert sub[0x927C] == b"maker-note-bytes"
    assert patch_exif(b"Exif\x00\x00garbage", orientation=1) == b"Exif\x00\x00garbage"


def test_cmyk_jpeg_becomes_rgb(tmp_path, portrait):
    Image.fromarray(portrait).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    photo = load_photo(tmp_path / "cmyk.jpg")
    assert photo.pixels.shape == (64, 48, 3) and photo.icc is None
    assert photo.info["mode"] == "CMYK"
    assert np.abs(photo.pixels.astype(int) - portrait).mean() < 6


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, astronaut) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("encoded")
    out = {}
    for ext in ("jpg", "png", "webp", "tif", "bmp"):
        out[ext] = save_photo(astronaut, folder / f"a.{ext}").read_bytes()
    out["png16"] = save_photo(astronaut.astype(np.uint16) * 257, folder / "a16.png").read_bytes()
    out["tif16"] = save_photo(astronaut.astype(np.uint16) * 257, folder / "a16.tif").read_bytes()
    return out


def test_missing_file(tmp_path):
    assert _err(tmp_path / "nope.jpg") == f"file not found: {tmp_path / 'nope.jpg'}"


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    assert _err(tmp_path / "empty.png").startswith("empty file (0 bytes):")


def test_folder(tmp_path):
    assert "folder" in _err(tmp_path)


def test_text_file(tmp_path):
    (tmp_path / "notes.jpg").write_text("Dear diary,\nno photo here.\n")
    msg = _err(tmp_path / "notes.jpg")
    assert msg.startswith("not an image:") and "text file" in msg
    (tmp_path / "page.png").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>")
    assert "HTML page" in _err(tmp_path / "page.png")
    (tmp_path / "noise.png").write_bytes(bytes(range(256)) * 4)
    assert _err(tmp_path / "noise.png").startswith("not an image:")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize("kind", ["jpg", "png", "webp", "tif", "bmp", "png16", "tif16"])
def test_truncated_image(tmp_path, encoded, kind):
    data = encoded[kind]
    ext = kind[:-2] if kind.endswith("16") else kind
    (tmp_path / f"half.{ext}").write_bytes(data[: len(data) // 2])
    msg = _err(tmp_path / f"half.{ext}")
    assert msg.startswith("corrupt or truncated"), msg
    (tmp_path / f"head.{ext}").write_bytes(data[:30])
    assert _err(tmp_path / f"head.{ext}").startswith("corrupt"), msg


def test_unsupported_formats(tmp_path, portrait):
    Image.fromarray(portrait).save(tmp_path / "anim.gif")
    Image.fromarray(portrait).save(tmp_path / "x.ppm")
    msg = _err(tmp_path / "anim.gif")
    assert msg.startswith("unsupported image format GIF:") and "supported: JPEG" in msg
    assert _err(tmp_path / "x.ppm").startswith("unsupported image format PNM")
    (tmp_path / "x.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    assert _err(tmp_path / "x.heic").startswith("unsupported image format HEIC")
    (tmp_path / "IMG_1.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00")
    assert _err(tmp_path / "IMG_1.CR2").startswith("camera RAW files are not supported")
    Image.fromarray(portrait[:, :, 0].astype(np.float32)).save(tmp_path / "float.tif")
    assert "floating-point" in _err(tmp_path / "float.tif")


def _png_header_only(width: int, height: int, bit_depth: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_pixel_guard_checks_header_before_decoding(tmp_path, bit_depth, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(100_000, 100_000, bit_depth))
    assert bomb.stat().st_size < 100
    counts = _count_decodes(monkeypatch)
    msg = _err(bomb)  # 30 GB if decoded; must fail from the header alone
    assert counts == {"pil": 0, "cv2": 0}
    assert msg.startswith("image too large:") and "100000x100000" in msg
    assert "(10000 megapixels)" in msg
    assert f"the limit is {DEFAULT_MAX_PIXELS // 1_000_000} megapixels" in msg
    info = probe_image(bomb)  # the header is still readable
    assert (info["width"], info["height"]) == (100_000, 100_000)


def test_pixel_guard_is_overridable(tmp_path, astronaut):
    path = save_photo(astronaut, tmp_path / "a.png")
    msg = _err(path, max_pixels=512 * 511)
    assert "512x512 pixels (0.26 megapixels); the limit is 0.26 megapixels" in msg
    assert load_photo(path, max_pixels=512 * 512).width == 512
    assert load_photo(path, max_pixels=None).width == 512


def test_unexpected_errors_become_image_errors(tmp_path, astronaut, monkeypatch):
    path = save_photo(astronaut, tmp_path / "a.png")

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(imageio_read, "_split", broken)
    assert _err(path).startswith(f"cannot read {path}:")


# --------------------------------------------------------------------------- saving safely


def test_overwrite_refused_unless_asked(tmp_path, astronaut):
    path = save_photo(astronaut, tmp_path / "out.png")
    before = path.read_bytes()
    with pytest.raises(ImageError, match="already exists"):
        save_photo(astronaut[::-1], path)
    assert path.read_bytes() == before
    save_photo(astronaut[::-1], path, overwrite=True)
    np.testing.assert_array_equal(load_photo(path).pixels, astronaut[::-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_failed_encode_leaves_no_file(tmp_path, astronaut, monkeypatch):
    def half_then_crash(arr, fp, fmt, **kwargs):
        fp.write(b"\x89PNG\r\n\x1a\n half of a photo")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imageio_write, "_encode", half_then_crash)
    with pytest.raises(ImageError, match="disk full"):
        save_photo(astronaut, tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_failed_encode_keeps_previous_file(tmp_path, astronaut, monkeypatch):
    path = save_photo(astronaut, tmp_path / "out.jpg")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("encoder bug")

    monkeypatch.setattr(imageio_write, "_encode", crash)
    with pytest.raises(ImageError, match="cannot encode"):
        save_photo(astronaut, path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_save_creates_folders_and_accepts_arrays(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full((512, 512), 200, np.uint8)])
    out = save_photo(rgba, tmp_path / "new" / "dir" / "x.png")
    photo = load_photo(out)
    assert (photo.alpha == 200).all()
    gray = save_photo(astronaut[:, :, 0], tmp_path / "g.png")
    assert load_photo(gray).is_gray
    with pytest.raises(ValueError):
        save_photo(astronaut.astype(np.float32), tmp_path / "f.png")


def test_alpha_of_other_size_is_resized(tmp_path, astronaut):
    photo = Photo(pixels=astronaut, alpha=np.full((256, 256), 255, np.uint8))
    out = load_photo(save_photo(photo, tmp_path / "x.png"))
    assert out.alpha.shape == (512, 512) and (out.alpha == 255).all()


# --------------------------------------------------------------------------- listing


def test_iter_images(tmp_path):
    for name in ("b.png", "10.jpg", "2.JPG", "a.webp", ".hidden.png", "notes.txt", "c.tiff"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z.bmp").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "y.png").write_bytes(b"x")
    (tmp_path / "sub" / ".x.tmp.png").write_bytes(b"x")

    names = [p.name for p in iter_images(tmp_path)]
    assert names == ["2.JPG", "10.jpg", "a.webp", "b.png", "c.tiff"]
    deep = [p.relative_to(tmp_path).as_posix() for p in iter_images([tmp_path], recursive=True)]
    assert deep == ["2.JPG", "10.jpg", "a.webp", "b.png", "c.tiff", "sub/z.bmp"]

    explicit = iter_images([tmp_path / "notes.txt", tmp_path / "b.png", tmp_path])
    assert [p.name for p in explicit][:3] == ["notes.txt", "b.png", "2.JPG"]
    assert len(explicit) == 6  # b.png only once
    with pytest.raises(ImageError, match="not found"):
        iter_images([tmp_path / "missing"])


def test_probe_is_cheap_and_reports_mode(tmp_path, portrait):
    Image.fromarray(portrait[:, :, 0], "L").save(tmp_path / "g.png")
    info = probe_image(tmp_path / "g.png")
    assert info == {
        "width": 48,
        "height": 64,
        "format": "PNG",
        "mode": "L",
        "bits": 8,
        "orientation": 1,
        "frames": 1,
    }
    (tmp_path / "bad.jpg").write_text("text")
    with pytest.raises(ImageError, match="not an image"):
        probe_image(tmp_path / "bad.jpg")


def test_photo_from_bytes_of_other_pillow_modes(tmp_path, portrait):
    # YCbCr-free sanity: an RGBX TIFF (extra sample unspecified) loads as plain RGB
    buf = io.BytesIO()
    Image.fromarray(portrait).convert("RGBX").save(buf, "TIFF")
    (tmp_path / "x.tif").write_bytes(buf.getvalue())
    photo = load_photo(tmp_path / "x.tif")
    assert photo.alpha is None
    np.testing.assert_array_equal(photo.pixels, portrait)
