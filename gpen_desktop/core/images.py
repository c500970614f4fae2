"""Photo decoding and encoding: EXIF orientation, grey, alpha, 16-bit, metadata, size guard.

Formats: JPEG, PNG, WebP, TIFF and BMP (:data:`SUPPORTED_EXTENSIONS`). Everything that can go
wrong with a user's file is raised as :class:`~gpen_desktop.core.errors.ImageError` with one
specific line (missing, empty, not an image, unsupported format, corrupt or truncated, too
many pixels, output exists, cannot write).

Loading (:func:`load_photo`) gives a :class:`~gpen_desktop.core.types.Photo`:

- ``pixels`` HxWx3 RGB uint8, or uint16 for 16-bit PNG/TIFF (full 0..65535 range kept);
- the EXIF orientation (all 8) already applied, and reset to 1 in ``Photo.exif``;
- ``is_gray`` for 1-channel sources (also grey + alpha, and RGB with three equal channels);
  ``pixels`` stays 3-channel;
- ``alpha`` HxW of the pixels' dtype, untouched, or None;
- ``exif`` (bytes starting ``b"Exif\\0\\0"``) and ``icc`` (the raw ICC profile) or None;
- ``format`` "JPEG", "PNG", "WEBP", "TIFF" or "BMP"; ``info`` holds ``mode`` (the source's
  Pillow mode), ``bits`` (8 or 16), ``orientation`` (the EXIF value applied) and, when known,
  ``dpi`` (x, y) and ``frames`` (multi-page/animated files: the first one is used).

The pixel count is checked from the header, before anything is decoded
(:data:`DEFAULT_MAX_PIXELS`), so a decompression bomb costs nothing. Because of that check
this module switches Pillow's own bomb check off (``PIL.Image.MAX_IMAGE_PIXELS = None``).

Saving (:func:`save_photo`) picks the format from the extension, writes atomically
(:func:`gpen_desktop.core.fileio.atomic_write`), keeps 16 bits in PNG and TIFF, alpha in PNG,
WebP and TIFF, single-channel grey where the format has it, and copies EXIF, ICC and dpi.
8-bit PNG, JPEG, WebP and BMP are encoded by Pillow; 16-bit PNG and all TIFF by the small
encoders here (Pillow has no 16-bit colour modes), TIFF as Adobe-Deflate with a predictor.

Pillow is imported at module import (cheap); OpenCV only when a 16-bit file is decoded.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.fileio import atomic_write, os_error_message
from gpen_desktop.core.types import Photo, luma, to_uint8

log = logging.getLogger(__name__)

# Our own guard (checked from the header before decoding) replaces Pillow's global one, which
# would refuse photos between ~179 MP and our limit and warn above ~89 MP.
Image.MAX_IMAGE_PIXELS = None

#: Default pixel-count limit of :func:`load_photo` (width * height), 250 megapixels.
DEFAULT_MAX_PIXELS = 250_000_000

#: Lower-case file extensions read and written, with the format each means.
EXTENSION_FORMATS: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(EXTENSION_FORMATS)
#: Pillow format names accepted on load.
SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")
_SUPPORTED_TEXT = "JPEG, PNG, WebP, TIFF, BMP"
_NICE_FORMAT = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "TIFF": "TIFF", "BMP": "BMP"}

_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_SIXTEEN_BIT_FORMATS = frozenset({"PNG", "TIFF"})
_RAW_EXTENSIONS = frozenset(
    {".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2"}
    | {".raf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mef", ".mos", ".mrw"}
    | {".rwl"}
)

_TAG_ORIENTATION = 0x0112
_TAG_EXIF_IFD = 0x8769
_TAG_GPS_IFD = 0x8825
_TAG_INTEROP_IFD = 0xA005
_TAG_PIXEL_X = 0xA002
_TAG_PIXEL_Y = 0xA003
_EXIF_HEADER = b"Exif\x00\x00"
# IFD0 tags that describe a photo (copied between containers; layout tags never are).
_DESCRIPTIVE_TAGS = (
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    0x0112,  # Orientation
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x8298,  # Copyright
)


# --------------------------------------------------------------------------- sniffing


def _sniff(head: bytes) -> str | None:
    """Name of the format whose signature starts ``head`` (supported or not), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM") and len(head) >= 18:
        return "BMP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"):
            return "HEIC"
        if brand in (b"jp2 ", b"jpx "):
            return "JPEG 2000"
        if brand in (b"crx ",):
            return "camera RAW (CR3)"
        return "video or ISO media"
    for signature, name in (
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
        (b"\xff\x4f\xff\x51", "JPEG 2000"),
        (b"\xff\x0a", "JPEG XL"),
        (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
        (b"8BPS", "Photoshop (PSD)"),
        (b"\x00\x00\x01\x00", "ICO"),
        (b"%PDF", "PDF"),
        (b"v/1\x01", "OpenEXR"),
        (b"qoif", "QOI"),
        (b"DDS ", "DDS"),
        (b"#?RADIANCE", "Radiance HDR"),
        (b"gimp xcf", "GIMP XCF"),
    ):
        if head.startswith(signature):
            return name
    if re.match(rb"P[1-7]\s", head):
        return "PNM"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "SVG"
    return None


def _describe_non_image(head: bytes) -> str:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head")):
        return "looks like an HTML page"
    if stripped.startswith((b"pk\x03\x04",)):
        return "looks like a ZIP archive"
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(
            text
        ):
            return "looks like a text file"
    return "unrecognised content"


# --------------------------------------------------------------------------- opening


def _check_file(path: Path) -> int:
    """Size of ``path`` in bytes, or the specific ImageError for why it cannot be read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError(f"file not found: {path}") from None
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {os_error_message(exc)}") from exc
    if path.is_dir():
        raise ImageError(f"not an image but a folder: {path}")
    if st.st_size == 0:
        raise ImageError(f"empty file (0 bytes): {path}")
    return st.st_size


def _read_head(path: Path, n: int = 64) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {os_error_message(exc)}") from exc


def _open_pil(path: Path) -> tuple[Image.Image, bytes]:
    """Open ``path`` with Pillow (header only) and return it with the first 64 bytes."""
    _check_file(path)
    head = _read_head(path)
    if path.suffix.lower() in _RAW_EXTENSIONS:
        raise ImageError(
            f"camera RAW files are not supported: {path} (convert it to TIFF or JPEG first)"
        )
    sniffed = _sniff(head)
    if sniffed is not None and sniffed not in SUPPORTED_FORMATS:
        raise ImageError(
            f"unsupported image format {sniffed}: {path} (supported: {_SUPPORTED_TEXT})"
        )
    try:
        img = Image.open(path, formats=SUPPORTED_FORMATS)
    except UnidentifiedImageError:
        if sniffed is not None:
            raise ImageError(
                f"corrupt {_NICE_FORMAT[sniffed]} image: {path} (its header cannot be read)"
            ) from None
        raise ImageError(f"not an image: {path} ({_describe_non_image(head)})") from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O problem, not Pillow's "truncated" OSError
            raise ImageError(f"cannot read {path}: {os_error_message(exc)}") from exc
        what = _NICE_FORMAT.get(sniffed or "", "image")
        raise ImageError(f"corrupt or truncated {what} image: {path} ({_reason(exc)})") from exc
    except Exception as exc:  # plugins raise SyntaxError, struct.error, ValueError, EOFError…
        what = _NICE_FORMAT.get(sniffed or "", "image")
        raise ImageError(f"corrupt {what} image: {path} ({_reason(exc)})") from exc
    return img, head


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"corrupt image: {path} (its header says {width}x{height} pixels)")
    if max_pixels and width * height > max_pixels:
        raise ImageError(
            f"image too large: {path} is {width}x{height} pixels "
            f"({_megapixels(width * height)} megapixels); the limit is "
            f"{_megapixels(max_pixels)} megapixels"
        )


def _megapixels(n: int) -> str:
    mp = n / 1e6
    return f"{mp:.0f}" if mp >= 100 else f"{mp:.1f}" if mp >= 1 else f"{mp:.2f}"


def _orientation(img: Image.Image) -> int:
    """EXIF orientation (1..8) from what the header gave, without decoding the pixels.

    (``Image.getexif()`` would decode a whole PNG to look for an eXIf chunk after the data.)
    """
    try:
        if img.format == "TIFF":
            value = img.tag_v2.get(_TAG_ORIENTATION, 1)
        else:
            return _exif_orientation(img.info.get("exif"))
    except Exception:  # a broken EXIF block must not stop the photo from loading
        return 1
    return _valid_orientation(value)


def _exif_orientation(blob: bytes | None) -> int:
    """The Orientation tag of an EXIF block (with or without the ``Exif\\0\\0`` header)."""
    if not blob:
        return 1
    try:
        exif = Image.Exif()
        exif.load(blob)
        return _valid_orientation(exif.get(_TAG_ORIENTATION, 1))
    except Exception:
        return 1


def _valid_orientation(value: Any) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _stored_size(img: Image.Image) -> tuple[int, int]:
    """(width, height) as stored, before EXIF orientation (Pillow reports TIFFs turned)."""
    if img.format == "TIFF":
        w, h = img.tag_v2.get(256), img.tag_v2.get(257)
        if isinstance(w, int) and isinstance(h, int):
            return w, h
    return img.size


def _is_sixteen_bit(img: Image.Image, head: bytes) -> bool:
    if img.format == "PNG":
        return len(head) > 24 and head[24] == 16
    if img.format == "TIFF":
        if img.mode.startswith("I;16"):
            return True
        bits = img.tag_v2.get(258)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return any(b == 16 for b in bits if isinstance(b, int))
    return False


# --------------------------------------------------------------------------- EXIF helpers


def _with_exif_header(blob: bytes | None) -> bytes | None:
    if not blob:
        return None
    if blob.startswith(_EXIF_HEADER):
        return blob
    if blob[:4] in (b"II*\x00", b"MM\x00*"):
        return _EXIF_HEADER + blob
    return None


def patch_exif(
    exif: bytes,
    *,
    orientation: int | None = None,
    size: tuple[int, int] | None = None,
    drop_thumbnail: bool = False,
) -> bytes:
    """A copy of an EXIF block (``b"Exif\\0\\0"`` + TIFF) edited in place, byte for byte.

    ``orientation`` sets the IFD0 Orientation tag (when present); ``size`` (width, height)
    sets PixelXDimension/PixelYDimension in the Exif IFD; ``drop_thumbnail`` unlinks IFD1
    (the embedded preview, which shows the old picture). Everything else, maker notes
    included, keeps its bytes. A block that cannot be parsed is returned unchanged.
    """
    if not exif.startswith(_EXIF_HEADER):
        return exif
    tiff = bytearray(exif[len(_EXIF_HEADER) :])
    done = _patch_tiff(tiff, orientation=orientation, size=size, drop_next_ifd=drop_thumbnail)
    if done is None:
        log.debug("Unparseable EXIF block (%d bytes) left as it is", len(exif))
        return exif
    if not done:
        return _pillow_set_orientation(exif, orientation or 1)
    return _EXIF_HEADER + bytes(tiff)


def _patch_tiff(
    tiff: bytearray | np.ndarray,
    *,
    orientation: int | None = None,
    size: tuple[int, int] | None = None,
    drop_next_ifd: bool = False,
) -> bool | None:
    """Edit classic-TIFF bytes (a TIFF file or an EXIF body) in place.

    Returns True when done, False when the Orientation tag has an unusual type (not SHORT or
    LONG with one value) and was left alone, None when the bytes cannot be parsed.
    """
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[:2]))
    if order is None or len(tiff) < 8 or struct.unpack_from(order + "H", tiff, 2)[0] != 42:
        return None  # not classic TIFF (BigTIFF is left alone)

    def entries(ifd: int) -> tuple[list[tuple[int, int, int, int]], int]:
        (n,) = struct.unpack_from(order + "H", tiff, ifd)
        found = []
        for i in range(n):
            at = ifd + 2 + 12 * i
            tag, typ, count = struct.unpack_from(order + "HHI", tiff, at)
            found.append((at, tag, typ, count))
        return found, ifd + 2 + 12 * n

    def set_value(at: int, typ: int, count: int, value: int) -> bool:
        if count != 1:
            return False
        if typ == 3 and 0 <= value <= 0xFFFF:
            struct.pack_into(order + "H", tiff, at + 8, value)
            return True
        if typ == 4 and 0 <= value <= 0xFFFFFFFF:
            struct.pack_into(order + "I", tiff, at + 8, value)
            return True
        return False

    done = True
    try:
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        ifd0_entries, next_at = entries(ifd0)
        struct.unpack_from(order + "I", tiff, next_at)  # the IFD must be complete
        for at, tag, typ, count in ifd0_entries:
            if tag == _TAG_ORIENTATION and orientation is not None:
                done = set_value(at, typ, count, orientation) and done
            if tag == _TAG_EXIF_IFD and size is not None and typ in (4, 13) and count == 1:
                (sub,) = struct.unpack_from(order + "I", tiff, at + 8)
                for sub_at, sub_tag, sub_typ, sub_count in entries(sub)[0]:
                    if sub_tag == _TAG_PIXEL_X:
                        set_value(sub_at, sub_typ, sub_count, size[0])
                    elif sub_tag == _TAG_PIXEL_Y:
                        set_value(sub_at, sub_typ, sub_count, size[1])
        if drop_next_ifd:
            struct.pack_into(order + "I", tiff, next_at, 0)
    except struct.error:
        return None
    return done


def _pillow_set_orientation(exif: bytes, orientation: int) -> bytes:
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        parsed[_TAG_ORIENTATION] = orientation
        return parsed.tobytes()
    except Exception:
        return exif


def _photo_tags(src: Image.Exif) -> dict[int, Any]:
    """The tags of ``src`` that describe the photo: descriptive IFD0 tags and the Exif and
    GPS IFDs as nested dicts. Layout tags (size, strips, compression…) and the Interop
    pointer (an offset that would dangle once re-serialised) are left out."""
    out: dict[int, Any] = {}
    for tag in _DESCRIPTIVE_TAGS:
        if tag in src:
            out[tag] = src[tag]
    for tag in (_TAG_EXIF_IFD, _TAG_GPS_IFD):
        sub = {k: v for k, v in src.get_ifd(tag).items() if k != _TAG_INTEROP_IFD}
        if sub:
            out[tag] = sub
    return out


def _exif_from_tiff_tags(img: Image.Image) -> bytes | None:
    """An EXIF block with a TIFF file's photo tags (see :func:`_photo_tags`), or None."""
    try:
        tags = _photo_tags(img.getexif())
        if not tags:
            return None
        out = Image.Exif()
        for tag, value in tags.items():
            out[tag] = value
        return out.tobytes()
    except Exception as exc:
        log.debug("Ignoring unreadable TIFF metadata: %s", exc)
        return None


def _tiff_tags_from_exif(exif: bytes) -> dict[int, Any]:
    """The photo tags of an EXIF block, to put into a TIFF's IFD0 ({} when unreadable)."""
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        return _photo_tags(parsed)
    except Exception as exc:
        log.warning("EXIF not copied to TIFF (unreadable): %s", exc)
        return {}


# --------------------------------------------------------------------------- pixels


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored HxW[xC] array into its display orientation (EXIF values 1..8)."""
    if orientation == 2:
        a = a[:, ::-1]
    elif orientation == 3:
        a = a[::-1, ::-1]
    elif orientation == 4:
        a = a[::-1]
    elif orientation == 5:
        a = a.swapaxes(0, 1)
    elif orientation == 6:
        a = a[::-1].swapaxes(0, 1)  # rotate 90° clockwise
    elif orientation == 7:
        a = a[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        a = a[:, ::-1].swapaxes(0, 1)  # rotate 90° counter-clockwise
    return np.ascontiguousarray(a)


def _channels_equal(rgb: np.ndarray) -> bool:
    """True when R == G == B everywhere (a sparse sample first, so colour photos exit fast)."""
    sample = rgb[::7, ::7]
    if not (
        np.array_equal(sample[..., 0], sample[..., 1])
        and np.array_equal(sample[..., 1], sample[..., 2])
    ):
        return False
    return bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    )


def _split(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(HxWx3 RGB, HxW alpha or None, is_gray) from HxW, HxWx2 (grey+alpha), x3 or x4 (RGBA)."""
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2), None, True
    channels = arr.shape[2]
    if channels == 1:
        return np.repeat(arr, 3, axis=2), None, True
    if channels == 2:
        gray = np.repeat(arr[:, :, :1], 3, axis=2)
        return gray, np.ascontiguousarray(arr[:, :, 1]), True
    rgb = np.ascontiguousarray(arr[:, :, :3])
    alpha = np.ascontiguousarray(arr[:, :, 3]) if channels >= 4 else None
    return rgb, alpha, _channels_equal(rgb)


def _decode_pil(img: Image.Image, path: Path) -> tuple[np.ndarray, bytes | None]:
    """Decode an 8-bit (or Pillow-native 16-bit grey) image to HxW[xC] and the ICC to keep."""
    fmt = _NICE_FORMAT.get(img.format or "", "image")
    try:
        img.load()
    except MemoryError:
        raise ImageError(
            f"not enough memory to decode {path} ({img.width}x{img.height} pixels)"
        ) from None
    except Exception as exc:
        raise ImageError(f"corrupt or truncated {fmt} image: {path} ({_reason(exc)})") from exc
    icc = img.info.get("icc_profile") or None
    mode = img.mode
    if mode == "1":
        img = img.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    elif mode == "CMYK":
        img, icc = _cmyk_to_rgb(img, icc), None
    elif mode == "La":  # premultiplied alpha
        img = img.convert("LA")
    elif mode == "RGBa":
        img = img.convert("RGBA")
    elif mode in ("RGBX", "YCbCr", "HSV"):
        img = img.convert("RGB")
    elif mode in ("F", "I;16F") or mode.startswith("F;"):
        raise ImageError(
            f"unsupported pixel type: {path} (floating-point images are not supported)"
        )
    elif mode == "I":
        arr = np.asarray(img)
        return np.clip(arr, 0, 65535).astype(np.uint16), icc
    elif mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16), icc
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        try:
            img = img.convert("RGB")
        except Exception:
            raise ImageError(f"unsupported colour mode {mode}: {path}") from None
    return np.array(img), icc


def _cmyk_to_rgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(
                img, src, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
        except Exception as exc:
            log.info("CMYK profile not usable (%s); converting naively", exc)
    return img.convert("RGB")


def _decode_cv2(path: Path, fmt: str) -> np.ndarray:
    """Decode a 16-bit PNG/TIFF with OpenCV: HxW, HxWx3 or HxWx4 RGB(A) uint16, unrotated."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {os_error_message(exc)}") from exc
    if data[:2].tobytes() in (b"II", b"MM"):
        # OpenCV applies a TIFF's Orientation tag itself (unlike PNG/JPEG EXIF with
        # IMREAD_UNCHANGED); neutralise it so every format is turned exactly once, by us.
        _patch_tiff(data, orientation=1)
    try:
        arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageError(f"corrupt or truncated {fmt} image: {path} ({_reason(exc)})") from exc
    if arr is None:
        raise ImageError(
            f"corrupt or truncated {fmt} image: {path} (16-bit data cannot be decoded)"
        )
    if arr.dtype.kind == "f":
        raise ImageError(
            f"unsupported pixel type: {path} (floating-point images are not supported)"
        )
    if arr.dtype == np.uint8:
        arr = arr.astype(np.uint16) * 257
    elif arr.dtype != np.uint16:
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    if arr.ndim == 3:
        if arr.shape[2] == 3:
            arr = arr[:, :, ::-1]
        elif arr.shape[2] == 4:
            arr = arr[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------- public: reading


def load_photo(path: str | os.PathLike[str], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode a photo file into a :class:`Photo` (see the module doc for every field).

    ``max_pixels`` (width * height; None or 0: no limit) is checked from the header before
    decoding. Raises :class:`ImageError` — and nothing else — for every unreadable file.
    """
    path = Path(path)
    try:
        return _load(path, max_pixels)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(f"not enough memory to decode {path}") from None
    except Exception as exc:  # last line of defence: a person sees one line, not a traceback
        log.debug("Unexpected error decoding %s", path, exc_info=True)
        raise ImageError(f"cannot read {path}: {_reason(exc)}") from exc


def _load(path: Path, max_pixels: int | None) -> Photo:
    img, head = _open_pil(path)
    with img:
        _check_pixels(path, img.width, img.height, max_pixels)
        orientation = _orientation(img)
        fmt = img.format or ""
        mode = img.mode
        info: dict[str, Any] = {"mode": mode, "orientation": orientation}
        frames = getattr(img, "n_frames", 1)
        if frames > 1:
            info["frames"] = frames
        dpi = img.info.get("dpi")
        if fmt == "TIFF" and 282 not in img.tag_v2:
            dpi = None  # Pillow reports (1, 1) for TIFFs without a resolution
        if _is_sixteen_bit(img, head):
            arr = _decode_cv2(path, _NICE_FORMAT.get(fmt, fmt))
            icc = img.info.get("icc_profile") or None
            oriented = False
        else:
            arr, icc = _decode_pil(img, path)
            # Pillow's TIFF loader applies (and removes) the Orientation tag itself.
            oriented = fmt == "TIFF" and _TAG_ORIENTATION not in img.tag_v2
        if fmt == "TIFF":
            exif = _exif_from_tiff_tags(img)
        else:
            # Decoding may have found an eXIf chunk after the PNG data: read it again.
            exif = _with_exif_header(img.info.get("exif"))
            if not oriented and orientation == 1 and exif:
                orientation = info["orientation"] = _exif_orientation(exif)

    rgb, alpha, is_gray = _split(arr)
    if orientation != 1 and not oriented:
        rgb = _apply_orientation(rgb, orientation)
        if alpha is not None:
            alpha = _apply_orientation(alpha, orientation)
    if exif and orientation != 1:
        exif = patch_exif(exif, orientation=1)
    if dpi and orientation >= 5:
        dpi = (dpi[1], dpi[0])
    if dpi:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            info["dpi"] = (float(dpi[0]), float(dpi[1]))
    info["bits"] = 16 if rgb.dtype == np.uint16 else 8
    return Photo(
        pixels=rgb,
        alpha=alpha,
        is_gray=is_gray,
        path=path,
        format=fmt,
        exif=exif,
        icc=icc,
        info=info,
    )


def probe_image(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Header facts without decoding: ``width``/``height`` as displayed (EXIF orientation
    applied), ``format`` ("JPEG", "PNG", "WEBP", "TIFF", "BMP"), ``mode`` (Pillow's, e.g.
    "RGB", "L", "RGBA", "I;16"), ``bits`` (8 or 16), ``orientation`` (1..8) and ``frames``.

    Same :class:`ImageError` messages as :func:`load_photo` for files that are missing, empty,
    not images or of unsupported formats; damage after the header is only found by loading.
    """
    path = Path(path)
    try:
        img, head = _open_pil(path)
        with img:
            orientation = _orientation(img)
            width, height = _stored_size(img)
            if orientation >= 5:
                width, height = height, width
            return {
                "width": width,
                "height": height,
                "format": img.format or "",
                "mode": img.mode,
                "bits": 16 if _is_sixteen_bit(img, head) else 8,
                "orientation": orientation,
                "frames": getattr(img, "n_frames", 1),
            }
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"cannot read {path}: {_reason(exc)}") from exc


def is_supported(path: str | os.PathLike[str]) -> bool:
    """True when the file name ends with one of :data:`SUPPORTED_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def _is_hidden(entry: os.DirEntry | Path) -> bool:
    if entry.name.startswith("."):
        return True
    if os.name != "nt":
        return False
    attrs = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    return bool(attrs & 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _natural_key(name: str) -> tuple:
    return tuple(
        (0, int(part), part) if part.isdigit() else (1, part.casefold(), part)
        for part in re.split(r"(\d+)", name)
        if part
    )


def _walk(folder: Path, recursive: bool) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise ImageError(f"cannot list folder {folder}: {os_error_message(exc)}") from exc
    files: list[Path] = []
    subfolders: list[Path] = []
    for entry in entries:
        try:
            if _is_hidden(entry):
                continue
            if entry.is_file() and is_supported(entry.name):
                files.append(Path(entry.path))
            elif recursive and entry.is_dir(follow_symlinks=False):
                subfolders.append(Path(entry.path))
        except OSError:
            continue
    found = sorted(files, key=lambda p: _natural_key(p.name))
    for sub in sorted(subfolders, key=lambda p: _natural_key(p.name)):
        found.extend(_walk(sub, recursive))
    return found


def iter_images(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], recursive: bool = False
) -> list[Path]:
    """Expand files and folders to a list of image files.

    Files named explicitly are kept as given, in the given order, whatever their extension
    (so a wrong file gets its specific error when loaded). Folders contribute their files with
    a supported extension, in natural order ("2.jpg" before "10.jpg", case-insensitive), then
    — with ``recursive`` — their subfolders' files, folder by folder in the same order;
    hidden files and folders (".name", Windows hidden attribute) are skipped, symlinked
    folders are not followed. Duplicates are dropped. A path that does not exist raises
    :class:`ImageError`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = _walk(p, recursive)
        elif p.exists():
            found = [p]
        else:
            raise ImageError(f"file or folder not found: {p}")
        for f in found:
            key = Path(os.path.normcase(os.path.abspath(f)))
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


# --------------------------------------------------------------------------- encoders


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode_png16(
    arr: np.ndarray,
    fp: IO[bytes],
    *,
    icc: bytes | None,
    exif: bytes | None,
    dpi: tuple[float, float] | None,
) -> None:
    """Write a 16-bit PNG: ``arr`` HxW (grey), HxWx2 (grey+alpha), x3 (RGB) or x4 (RGBA)."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    h, w, c = arr.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    fp.write(b"\x89PNG\r\n\x1a\n")
    fp.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)))
    if icc:
        fp.write(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if dpi:
        ppm = [max(1, round(d / 0.0254)) for d in dpi]
        fp.write(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        fp.write(_png_chunk(b"eXIf", exif[len(_EXIF_HEADER) :]))
    bpp = 2 * c
    compressor = zlib.compressobj(6)
    pending = bytearray()
    rows_per_block = max(1, (1 << 20) // (w * bpp + 1))
    for y0 in range(0, h, rows_per_block):
        block = arr[y0 : y0 + rows_per_block].astype(">u2").view(np.uint8).reshape(-1, w * bpp)
        filtered = np.empty((block.shape[0], w * bpp + 1), np.uint8)
        filtered[:, 0] = 1  # "Sub" filter: each byte minus the byte one pixel to the left
        filtered[:, 1 : bpp + 1] = block[:, :bpp]
        np.subtract(block[:, bpp:], block[:, :-bpp], out=filtered[:, bpp + 1 :])
        pending += compressor.compress(filtered.tobytes())
        while len(pending) >= 1 << 20:
            fp.write(_png_chunk(b"IDAT", bytes(pending[: 1 << 20])))
            del pending[: 1 << 20]
    pending += compressor.flush()
    fp.write(_png_chunk(b"IDAT", bytes(pending)))
    fp.write(_png_chunk(b"IEND", b""))


def _encode_tiff(
    arr: np.ndarray,
    fp: IO[bytes],
    *,
    icc: bytes | None,
    exif: bytes | None,
    dpi: tuple[float, float] | None,
) -> None:
    """Write a TIFF (Adobe Deflate + horizontal predictor, unassociated alpha).

    ``arr`` is uint8 or uint16, HxW (grey), HxWx2 (grey+alpha), x3 (RGB) or x4 (RGBA).
    """
    from PIL import TiffImagePlugin

    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype == np.uint16 and arr.shape[2] == 2:
        # 16-bit grey+alpha TIFF is unreadable for many readers (Pillow included): use RGBA.
        arr = arr[:, :, [0, 0, 0, 1]]
    h, w, c = arr.shape
    bits = 16 if arr.dtype == np.uint16 else 8
    data = np.ascontiguousarray(arr, dtype="<u2" if bits == 16 else np.uint8)
    diff = data.copy()
    np.subtract(data[:, 1:], data[:, :-1], out=diff[:, 1:])  # predictor 2, modulo 2**bits
    row_bytes = w * c * bits // 8
    rows_per_strip = max(1, min(h, (1 << 18) // max(1, row_bytes)))
    strips = [
        zlib.compress(diff[y : y + rows_per_strip].tobytes(), 6)
        for y in range(0, h, rows_per_strip)
    ]
    offsets, pos = [], 0
    for s in strips:
        offsets.append(pos)
        pos += len(s)

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        for tag, value in _tiff_tags_from_exif(exif).items():
            ifd[tag] = value
    ifd[256] = w
    ifd[257] = h
    ifd[258] = (bits,) * c
    ifd[259] = 8  # Adobe Deflate
    ifd[262] = 1 if c <= 2 else 2  # BlackIsZero / RGB
    ifd[273] = tuple(offsets)
    ifd.tagtype[273] = 4
    ifd[277] = c
    ifd[278] = rows_per_strip
    ifd[279] = tuple(len(s) for s in strips)
    ifd.tagtype[279] = 4
    ifd[284] = 1
    ifd[317] = 2
    if c in (2, 4):
        ifd[338] = (2,)  # unassociated alpha
    ifd[339] = (1,) * c
    if dpi:
        ifd[282] = float(dpi[0])
        ifd[283] = float(dpi[1])
        ifd[296] = 2
    if icc:
        ifd[34675] = icc
        ifd.tagtype[34675] = 7
    fp.write(b"II*\x00" + struct.pack("<I", 8))
    fp.write(ifd.tobytes(8))
    for s in strips:
        fp.write(s)


# --------------------------------------------------------------------------- public: writing


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    """HxW grey of an HxWx3 image: the channel itself when R == G == B, else BT.601 luma."""
    if _channels_equal(rgb):
        return np.ascontiguousarray(rgb[:, :, 0])
    return luma(rgb)


def _as_photo(photo_or_rgb: Photo | np.ndarray) -> Photo:
    if isinstance(photo_or_rgb, Photo):
        return photo_or_rgb
    arr = np.asarray(photo_or_rgb)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4)):
        rgb, alpha, _ = _split(arr)
        return Photo(pixels=rgb, alpha=alpha, is_gray=arr.ndim == 2 or arr.shape[2] <= 2)
    raise ValueError(f"expected an HxWx3 RGB (or HxW, HxWx4) array, got shape {arr.shape}")


def output_format(path: str | os.PathLike[str]) -> str:
    """The format :func:`save_photo` writes for ``path`` ("JPEG", "PNG", …), by extension."""
    suffix = Path(path).suffix.lower()
    try:
        return EXTENSION_FORMATS[suffix]
    except KeyError:
        shown = suffix or "(no extension)"
        raise ImageError(
            f"unsupported output format {shown}: {path} (use .png, .jpg, .webp, .tif or .bmp)"
        ) from None


def save_photo(
    photo_or_rgb: Photo | np.ndarray,
    path: str | os.PathLike[str],
    *,
    quality: int = 95,
    keep_metadata: bool = True,
    overwrite: bool = False,
    gray: bool | None = None,
) -> Path:
    """Write a photo (or an HxWx3 RGB uint8/uint16 array) to ``path``; returns ``path``.

    The format comes from the extension (:data:`SUPPORTED_EXTENSIONS`). uint16 pixels are
    written 16-bit to PNG and TIFF and rounded to 8 bits elsewhere. ``photo.alpha`` is written
    to PNG, WebP and TIFF (dropped, with a log line, for JPEG and BMP; resized if its size
    differs from the pixels'). ``gray`` None follows ``photo.is_gray``; grey is written as one
    channel (WebP has none: RGB), the luma when the channels differ. ``quality`` (1..100)
    is JPEG/WebP quality; WebP at 100 is lossless; JPEG from 90 up keeps full-resolution
    colour (4:4:4). ``keep_metadata`` copies EXIF (thumbnail dropped, pixel size updated),
    the ICC profile and dpi where the format holds them. The file appears atomically; an
    existing one is replaced only with ``overwrite``. Missing folders are created.
    """
    path = Path(path)
    fmt = output_format(path)
    if not 1 <= int(quality) <= 100:
        raise ImageError(f"quality must be between 1 and 100, not {quality}")
    photo = _as_photo(photo_or_rgb)
    rgb = np.asarray(photo.pixels)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Photo.pixels must be HxWx3, got shape {rgb.shape}")
    if rgb.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"Photo.pixels must be uint8 or uint16, got {rgb.dtype}")
    h, w = rgb.shape[:2]

    alpha = photo.alpha
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        log.info("%s has no alpha channel: transparency dropped for %s", fmt, path.name)
        alpha = None
    if alpha is not None:
        alpha = _fit_alpha(np.asarray(alpha), rgb.dtype, (h, w))

    if rgb.dtype == np.uint16 and fmt not in _SIXTEEN_BIT_FORMATS:
        rgb = to_uint8(rgb)
        alpha = None if alpha is None else to_uint8(alpha)

    is_gray = photo.is_gray if gray is None else bool(gray)
    if is_gray and fmt == "WEBP":
        is_gray = False
    if is_gray:
        g = _to_gray(rgb)
        arr = g if alpha is None else np.dstack([g, alpha])
    else:
        arr = rgb if alpha is None else np.dstack([rgb, alpha])

    exif = icc = dpi = None
    if keep_metadata:
        exif = _with_exif_header(photo.exif)
        if exif:
            exif = patch_exif(exif, orientation=1, size=(w, h), drop_thumbnail=True)
        icc = photo.icc or None
        dpi = photo.info.get("dpi") if isinstance(photo.info, dict) else None
    if icc and not _icc_fits(icc, gray=is_gray):
        log.info("ICC profile's colour space does not fit the output: not copied to %s", path.name)
        icc = None
    if fmt == "BMP" and (exif or icc):
        log.info("BMP holds no EXIF/ICC: metadata not written to %s", path.name)
    if fmt == "JPEG" and exif and len(exif) > 65533:
        log.warning("EXIF block too large for JPEG (%d bytes): not copied", len(exif))
        exif = None

    try:
        with (
            atomic_write(path, overwrite, parents=True, error=ImageError) as tmp,
            open(tmp, "wb") as fp,
        ):
            _encode(arr, fp, fmt, quality=int(quality), exif=exif, icc=icc, dpi=dpi)
    except ImageError:
        raise
    except OSError as exc:
        raise ImageError(f"cannot write {path}: {os_error_message(exc)}") from exc
    except MemoryError:
        raise ImageError(f"not enough memory to encode {path}") from None
    except Exception as exc:
        raise ImageError(f"cannot encode {path} as {_NICE_FORMAT[fmt]}: {_reason(exc)}") from exc
    return path


def _icc_fits(icc: bytes, *, gray: bool) -> bool:
    """Whether an ICC profile's data colour space (header bytes 16..20) suits the output."""
    space = icc[16:20]
    if space == b"GRAY":
        return gray
    if space == b"RGB ":
        return not gray
    return False  # CMYK, Lab… profiles would misdescribe RGB/grey pixels


def _fit_alpha(alpha: np.ndarray, dtype: np.dtype, size: tuple[int, int]) -> np.ndarray:
    if alpha.ndim == 3:
        alpha = alpha[:, :, 0]
    if alpha.dtype != dtype:
        if alpha.dtype == np.uint16 and dtype == np.uint8:
            alpha = to_uint8(alpha)
        elif alpha.dtype == np.uint8 and dtype == np.uint16:
            alpha = alpha.astype(np.uint16) * 257
        else:
            raise ValueError(f"alpha must be uint8 or uint16, got {alpha.dtype}")
    if alpha.shape != size:
        import cv2

        log.warning("Alpha %s resized to the pixels' %s", alpha.shape, size)
        alpha = cv2.resize(alpha, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(alpha)


def _encode(
    arr: np.ndarray,
    fp: IO[bytes],
    fmt: str,
    *,
    quality: int,
    exif: bytes | None,
    icc: bytes | None,
    dpi: tuple[float, float] | None,
) -> None:
    """Encode HxW / HxWx2 / x3 / x4 uint8 (uint16 for PNG/TIFF) ``arr`` as ``fmt`` into ``fp``."""
    if fmt == "TIFF":
        _encode_tiff(arr, fp, icc=icc, exif=exif, dpi=dpi)
        return
    if arr.dtype == np.uint16:
        _encode_png16(arr, fp, icc=icc, exif=exif, dpi=dpi)
        return
    img = Image.fromarray(arr)
    params: dict[str, Any] = {}
    if exif and fmt != "BMP":
        params["exif"] = exif
    if icc and fmt != "BMP":
        params["icc_profile"] = icc
    if dpi and fmt in ("JPEG", "PNG", "BMP"):
        params["dpi"] = tuple(float(d) for d in dpi)
    if fmt == "JPEG":
        params.update(quality=quality, subsampling=0 if quality >= 90 else 2, optimize=False)
    elif fmt == "WEBP":
        if quality >= 100:
            params.update(lossless=True, exact=True, quality=100, method=4)
        else:
            params.update(quality=quality, method=4)
    elif fmt == "PNG":
        params.update(compress_level=6)
    img.save(fp, format=fmt, **params)
