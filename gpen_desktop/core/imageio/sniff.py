"""Recognising a photo file from its header: formats, signatures, the pixel guard.

Everything here reads at most the first bytes and Pillow's header parse; nothing decodes
pixels. Every problem is an :class:`~gpen_desktop.core.errors.ImageError` with one line.
Because the pixel count is checked from the header (:data:`DEFAULT_MAX_PIXELS`), this module
switches Pillow's own bomb check off (``PIL.Image.MAX_IMAGE_PIXELS = None``).
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.fileio import os_error_message

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

_RAW_EXTENSIONS = frozenset(
    {".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2"}
    | {".raf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mef", ".mos", ".mrw"}
    | {".rwl"}
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
