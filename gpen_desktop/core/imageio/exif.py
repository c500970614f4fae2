"""EXIF and TIFF-tag handling: orientation, byte-exact patching, copying between containers."""

from __future__ import annotations

import logging
import struct
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

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
