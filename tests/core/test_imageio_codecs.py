"""TIFF through tifffile and 16-bit PNG through OpenCV (gpen_desktop.core.imageio): inputs
written with tifffile itself (16-bit RGB with an Orientation tag, 8-bit, grey, RGBA, planar
and tiled layouts, BigTIFF, big-endian), read -> write round trips that keep channel layout,
bit depth and the ICC profile, and the PNG chunks checked byte by byte."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from gpen_desktop.core.imageio import load_photo, save_photo, save_restored
from gpen_desktop.core.types import Photo

# What load_photo must give for each EXIF orientation, from the array as stored.
DISPLAY = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(np.rot90(a, 2), 0, 1),
    8: lambda a: np.rot90(a, 1),
}


@pytest.fixture(scope="module")
def gray_icc() -> bytes:
    """A minimal grey ICC profile (header + empty tag table), colour space ``GRAY``."""
    body = bytearray(132)
    struct.pack_into(">I", body, 0, len(body))
    body[12:16], body[16:20], body[20:24], body[36:40] = b"mntr", b"GRAY", b"XYZ ", b"acsp"
    return bytes(body)


def _rgb16(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """Noise over the full 16-bit range (an 8-bit round trip would change it)."""
    return np.random.default_rng(seed).integers(0, 65536, (h, w, 3), dtype=np.uint16)


def _tiff_page(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        tags = {t.code: t.value for t in page.tags}
        return page.asarray(), page.axes, tags


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_16bit_rgb_tiff_with_orientation_tag(tmp_path, orientation):
    """The file OpenCV's imread refuses ("Internal imread issue") whenever the tag is not 1."""
    rgb = _rgb16()
    path = tmp_path / f"o{orientation}.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    photo = load_photo(path)
    assert photo.pixels.dtype == np.uint16 and photo.info["bits"] == 16
    np.testing.assert_array_equal(photo.pixels, DISPLAY[orientation](rgb))
    assert photo.info["orientation"] == orientation and photo.info["layout"] == "RGB"
    assert not photo.is_gray and photo.alpha is None


@pytest.mark.parametrize(
    "layout",
    [
        {"byteorder": ">"},
        {"tile": (16, 16)},
        {"bigtiff": True},
        {"compression": "zlib", "predictor": True},
        {"rowsperstrip": 3},
    ],
    ids=["big-endian", "tiled", "bigtiff", "deflate-predictor", "strips"],
)
def test_16bit_tiff_layouts_read_by_tifffile(tmp_path, layout):
    rgb = _rgb16()
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", extratags=[(274, 3, 1, 6, True)], **layout)
    np.testing.assert_array_equal(load_photo(path).pixels, np.rot90(rgb, -1))


def test_8bit_lzw_tiff_read_by_pillow(tmp_path):
    """LZW without imagecodecs: Pillow (libtiff) decodes and turns it."""
    grey = (_rgb16()[:, :, 0] >> 8).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(grey).save(tmp_path / "lzw.tif", compression="tiff_lzw", exif=exif.tobytes())
    photo = load_photo(tmp_path / "lzw.tif")
    assert photo.is_gray and photo.info["orientation"] == 8
    np.testing.assert_array_equal(photo.pixels[:, :, 0], np.rot90(grey, 1))


def test_16bit_tiff_with_lzw_still_reads(tmp_path):
    """LZW needs imagecodecs in tifffile; OpenCV (libtiff) reads such files instead."""
    import cv2

    rgb = _rgb16()
    path = tmp_path / "lzw.tif"
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])  # OpenCV writes LZW TIFFs
    with tifffile.TiffFile(path) as tif:
        assert tif.pages.first.compression == 5
    np.testing.assert_array_equal(load_photo(path).pixels, rgb)


def test_16bit_rgba_and_grey_tiffs(tmp_path):
    rgb = _rgb16()
    alpha = np.arange(40 * 56, dtype=np.uint16).reshape(40, 56) * 29
    tifffile.imwrite(
        tmp_path / "rgba.tif",
        np.dstack([rgb, alpha]),
        photometric="rgb",
        extrasamples=["unassalpha"],
        extratags=[(274, 3, 1, 8, True)],
    )
    photo = load_photo(tmp_path / "rgba.tif")
    np.testing.assert_array_equal(photo.pixels, np.rot90(rgb, 1))
    np.testing.assert_array_equal(photo.alpha, np.rot90(alpha, 1))
    assert photo.info["layout"] == "RGBA"

    grey = rgb[:, :, 0]
    tifffile.imwrite(tmp_path / "grey.tif", grey, photometric="minisblack")
    photo = load_photo(tmp_path / "grey.tif")
    assert photo.is_gray and photo.info["layout"] == "L" and photo.pixels.dtype == np.uint16
    np.testing.assert_array_equal(photo.pixels, np.dstack([grey] * 3))

    tifffile.imwrite(tmp_path / "white.tif", grey, photometric="miniswhite")
    np.testing.assert_array_equal(load_photo(tmp_path / "white.tif").pixels[:, :, 0], 65535 - grey)


def test_16bit_premultiplied_alpha_is_made_straight(tmp_path):
    colour = np.full((8, 8, 3), 40000, np.uint16)
    alpha = np.full((8, 8), 32768, np.uint16)
    stored = (colour.astype(np.float64) * alpha[:, :, None] / 65535).round().astype(np.uint16)
    tifffile.imwrite(
        tmp_path / "assoc.tif",
        np.dstack([stored, alpha]),
        photometric="rgb",
        extrasamples=["assocalpha"],
    )
    photo = load_photo(tmp_path / "assoc.tif")
    assert np.abs(photo.pixels.astype(int) - 40000).max() <= 2
    np.testing.assert_array_equal(photo.alpha, alpha)


@pytest.mark.parametrize("orientation", [2, 5, 6, 7, 8])
@pytest.mark.parametrize("kind", ["rgb8", "grey8", "rgba8"])
def test_8bit_tiffs_written_by_tifffile(tmp_path, kind, orientation):
    """Pillow 13's own turning scrambled uncompressed grey and RGBA TIFFs with orientations
    5 to 8 (the ones that swap width and height)."""
    rgb = (_rgb16() >> 8).astype(np.uint8)
    arr = {"rgb8": rgb, "grey8": rgb[:, :, 1], "rgba8": np.dstack([rgb, rgb[:, :, 2]])}[kind]
    extra = {"extrasamples": ["unassalpha"]} if kind == "rgba8" else {}
    tifffile.imwrite(
        tmp_path / "in.tif",
        arr,
        photometric="minisblack" if kind == "grey8" else "rgb",
        extratags=[(274, 3, 1, orientation, True)],
        **extra,
    )
    photo = load_photo(tmp_path / "in.tif")
    assert photo.pixels.dtype == np.uint8
    colour = np.dstack([arr] * 3) if kind == "grey8" else arr[:, :, :3]
    np.testing.assert_array_equal(photo.pixels, DISPLAY[orientation](colour))
    assert photo.info["layout"] == {"rgb8": "RGB", "grey8": "L", "rgba8": "RGBA"}[kind]
    if kind == "rgba8":
        np.testing.assert_array_equal(photo.alpha, DISPLAY[orientation](arr[:, :, 3]))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    ("kind", "samples", "photometric"),
    [
        ("rgb16", 3, 2),
        ("rgba16", 4, 2),
        ("grey16", 1, 1),
        ("rgb8", 3, 2),
        ("rgba8", 4, 2),
        ("grey8", 1, 1),
        ("greyalpha8", 2, 1),
    ],
)
def test_tiff_read_write_round_trip_keeps_layout_depth_icc(
    tmp_path, srgb_icc, gray_icc, kind, samples, photometric
):
    rgb = _rgb16()
    if kind.endswith("8"):
        rgb = (rgb >> 8).astype(np.uint8)
    grey = rgb[:, :, 0]
    alpha = rgb[:, :, 1]
    arr = {
        "rgb": rgb,
        "rgba": np.dstack([rgb, alpha]),
        "grey": grey,
        "greyalpha": np.dstack([grey, alpha]),
    }[kind[:-2] if kind.endswith("16") else kind[:-1]]
    icc = gray_icc if kind.startswith("grey") else srgb_icc
    tifffile.imwrite(
        tmp_path / "in.tif",
        arr,
        photometric="rgb" if photometric == 2 else "minisblack",
        extrasamples=["unassalpha"] if samples in (2, 4) else None,
        iccprofile=icc,
        extratags=[(274, 3, 1, 6, True)],
        resolution=(300, 300),
        resolutionunit="INCH",
    )
    photo = load_photo(tmp_path / "in.tif")
    assert photo.icc == icc
    out = save_restored(photo, tmp_path / "out.tif", photo)

    stored, axes, tags = _tiff_page(out)
    np.testing.assert_array_equal(stored, np.rot90(arr, -1))  # upright now
    assert stored.dtype == arr.dtype
    assert tags[277] == samples and tags[262] == photometric
    assert tags[259] == 8 and tags[317] == 2  # Adobe Deflate, horizontal predictor
    assert tags[34675] == icc
    assert tags.get(274, 1) == 1
    if samples in (2, 4):
        assert tags[338] == (2,)  # unassociated alpha
    assert tags[296] == 2 and tags[282] == (300, 1)
    again = load_photo(out)
    assert again.info["layout"] == photo.info["layout"] and again.bit_depth == photo.bit_depth
    if arr.dtype == np.uint8:  # another decoder (Pillow/libtiff) reads the same pixels
        with Image.open(out) as img:
            np.testing.assert_array_equal(np.asarray(img), np.rot90(arr, -1))


def test_tiff_exif_reaches_other_readers(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "GPEN Camera Ltd"
    exif[0x0110] = "Model 7"
    exif[0x0112] = 6
    exif[0x8769] = {0x9003: "2024:05:06 07:08:09", 0xA002: 4000, 0xA003: 3000}
    exif[0x8825] = {0x0001: "N", 0x0002: (51.0, 30.0, 0.0)}
    photo = Photo(pixels=_rgb16(), exif=exif.tobytes())
    out = save_photo(photo, tmp_path / "out.tif")

    _, _, tags = _tiff_page(out)
    assert tags[271] == "GPEN Camera Ltd" and tags[272] == "Model 7" and tags[274] == 1
    assert tags[34665]["DateTimeOriginal"] == "2024:05:06 07:08:09"
    assert (tags[34665]["PixelXDimension"], tags[34665]["PixelYDimension"]) == (56, 40)
    assert tags[34853]["GPSLatitudeRef"] == "N"
    with Image.open(out) as img:  # Pillow follows the pointers too
        sub = img.getexif().get_ifd(0x8769)
        assert sub[0x9003] == "2024:05:06 07:08:09"
        assert img.getexif().get_ifd(0x8825)[0x0001] == "N"
    assert not {34664, 34852} & set(tags)  # no placeholder left


# --------------------------------------------------------------------------- 16-bit PNG


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(data):
        (n,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + n]
        (crc,) = struct.unpack(">I", data[at + 8 + n : at + 12 + n])
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        at += 12 + n
    assert at == len(data)
    return out


def test_png16_chunks_and_pixels(tmp_path, srgb_icc):
    import cv2

    exif = Image.Exif()
    exif[0x010F] = "GPEN Test Camera"
    exif[0x8769] = {0x9003: "2024:05:06 07:08:09"}
    rgb = _rgb16()
    alpha = np.arange(40 * 56, dtype=np.uint16).reshape(40, 56) * 23
    photo = Photo(
        pixels=rgb, alpha=alpha, exif=exif.tobytes(), icc=srgb_icc, info={"dpi": (300, 300)}
    )
    out = save_photo(photo, tmp_path / "out.png")
    chunks = _chunks(out.read_bytes())
    kinds = [k for k, _ in chunks]
    assert kinds[:4] == [b"IHDR", b"iCCP", b"pHYs", b"eXIf"]
    assert kinds[-1] == b"IEND" and set(kinds[4:-1]) == {b"IDAT"}
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (width, height, depth, colour_type) == (56, 40, 16, 6)  # RGBA, 16 bits
    name, rest = chunks[1][1].split(b"\x00", 1)
    assert rest[0] == 0 and zlib.decompress(rest[1:]) == srgb_icc
    assert struct.unpack(">IIB", chunks[2][1]) == (11811, 11811, 1)  # 300 dpi in px/m
    saved_exif = load_photo(out).exif
    assert chunks[3][1] == saved_exif[6:]

    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)  # libpng reads the same numbers
    np.testing.assert_array_equal(raw[:, :, [2, 1, 0]], rgb)
    np.testing.assert_array_equal(raw[:, :, 3], alpha)
    again = load_photo(out)
    np.testing.assert_array_equal(again.pixels, rgb)
    np.testing.assert_array_equal(again.alpha, alpha)
    assert again.icc == srgb_icc and again.info["dpi"] == pytest.approx((300, 300), abs=0.05)
    with Image.open(out) as img:
        assert img.info["icc_profile"] == srgb_icc


def test_png16_grey_and_grey_alpha(tmp_path):
    grey = _rgb16()[:, :, 0]
    out = save_photo(Photo(pixels=np.dstack([grey] * 3), is_gray=True), tmp_path / "g.png")
    chunks = _chunks(out.read_bytes())
    assert chunks[0][1][8:10] == bytes([16, 0])  # 16-bit, colour type 0: one grey channel
    with Image.open(out) as img:
        assert img.mode == "I;16"
        np.testing.assert_array_equal(np.asarray(img).astype(np.uint16), grey)

    alpha = grey[::-1].copy()
    photo = Photo(pixels=np.dstack([grey] * 3), alpha=alpha, is_gray=True)
    out = save_photo(photo, tmp_path / "ga.png")
    assert _chunks(out.read_bytes())[0][1][8:10] == bytes([16, 6])  # OpenCV has no grey+alpha
    again = load_photo(out)
    assert again.is_gray
    np.testing.assert_array_equal(again.pixels[:, :, 0], grey)
    np.testing.assert_array_equal(again.alpha, alpha)
