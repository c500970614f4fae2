"""Encoding a :class:`~gpen_desktop.core.types.Photo` to a file (see the package doc)."""

from __future__ import annotations

import io
import logging
import os
import struct
import zlib
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.fileio import atomic_write, os_error_message
from gpen_desktop.core.imageio.exif import (
    _EXIF_HEADER,
    _TAG_EXIF_IFD,
    _TAG_GPS_IFD,
    _TAG_ORIENTATION,
    _tiff_tags_from_exif,
    _with_exif_header,
    patch_exif,
)
from gpen_desktop.core.imageio.read import _channels_equal, _split
from gpen_desktop.core.imageio.sniff import _NICE_FORMAT, EXTENSION_FORMATS, _reason
from gpen_desktop.core.types import Photo, luma, to_uint8

log = logging.getLogger(__name__)

_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_SIXTEEN_BIT_FORMATS = frozenset({"PNG", "TIFF"})

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
    """Write a 16-bit PNG: ``arr`` HxW (grey), HxWx2 (grey+alpha), x3 (RGB) or x4 (RGBA).

    OpenCV (libpng) encodes the pixels; the iCCP, pHYs and eXIf chunks, which its encoder
    does not take in every supported version, are put in right after IHDR. OpenCV has no
    grey+alpha PNG: that is written as RGBA with three equal channels (it loads grey again).
    """
    import cv2

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] == 2:
        log.info("16-bit grey+alpha PNG written as RGBA (OpenCV has no grey+alpha)")
        arr = arr[:, :, [0, 0, 0, 1]]
    if arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0, 3][: arr.shape[2]]]  # RGB(A) -> OpenCV's BGR(A)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 6]
    if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.10: libpng's Sub filter only, which
        # is 30 % faster than its adaptive choice on 16-bit photos, for 3 % more bytes
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr), params)
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    data = buf.tobytes()
    ihdr_end = 8 + 12 + 13  # signature, then IHDR: length, type, 13 bytes of data, CRC
    if data[12:16] != b"IHDR":
        raise ValueError("OpenCV wrote a PNG without IHDR first")
    chunks = []
    if icc:
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if dpi:
        ppm = [max(1, round(d / 0.0254)) for d in dpi]
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        chunks.append(_png_chunk(b"eXIf", exif[len(_EXIF_HEADER) :]))
    fp.write(data[:ihdr_end])
    fp.write(b"".join(chunks))
    fp.write(data[ihdr_end:])


# Tags tifffile cannot write (it has no Exif or GPS sub-IFDs): a LONG placeholder with the
# code just below is written in their place (so IFD0 stays sorted) and rewritten afterwards.
_SUB_IFD_PLACEHOLDERS = {_TAG_EXIF_IFD: _TAG_EXIF_IFD - 1, _TAG_GPS_IFD: _TAG_GPS_IFD - 1}
_ASCII_TAGS = frozenset({0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298})


def _encode_tiff(
    arr: np.ndarray,
    fp: IO[bytes],
    *,
    icc: bytes | None,
    exif: bytes | None,
    dpi: tuple[float, float] | None,
) -> None:
    """Write a TIFF with tifffile (Adobe Deflate + horizontal predictor, unassociated alpha).

    ``arr`` is uint8 or uint16, HxW (grey), HxWx2 (grey+alpha), x3 (RGB) or x4 (RGBA). The
    EXIF block's photo tags go to IFD0 and, for its Exif and GPS IFDs, to sub-IFDs that
    Pillow serialises and that are appended after tifffile's file.
    """
    import tifffile

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype == np.uint16 and arr.ndim == 3 and arr.shape[2] == 2:
        # 16-bit grey+alpha TIFF is unreadable for many readers (Pillow included): use RGBA.
        arr = arr[:, :, [0, 0, 0, 1]]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    tags = _tiff_tags_from_exif(exif) if exif else {}
    sub_ifds = {tag: tags.pop(tag) for tag in _SUB_IFD_PLACEHOLDERS if tag in tags}
    extratags: list[tuple[int, int, int | None, Any, bool]] = []
    for tag, value in sorted(tags.items()):
        if tag == _TAG_ORIENTATION:
            extratags.append((tag, 3, 1, int(value), True))
        elif tag in _ASCII_TAGS and isinstance(value, (str, bytes)):
            text = value.encode("utf-8", "replace") if isinstance(value, str) else value
            extratags.append((tag, 2, None, text.rstrip(b"\x00") + b"\x00", True))
    for tag in sub_ifds:
        extratags.append((_SUB_IFD_PLACEHOLDERS[tag], 4, 1, 0, True))

    buf = io.BytesIO()
    tifffile.imwrite(
        buf,
        np.ascontiguousarray(arr),
        byteorder="<",
        photometric="minisblack" if channels <= 2 else "rgb",
        planarconfig="contig" if channels > 1 else None,
        extrasamples=("unassalpha",) if channels in (2, 4) else None,
        compression="zlib",
        compressionargs={"level": 6},
        predictor=True,
        resolution=(float(dpi[0]), float(dpi[1])) if dpi else None,
        resolutionunit="INCH" if dpi else None,
        iccprofile=icc or None,
        metadata=None,
        software=False,
        extratags=extratags,
    )
    data = bytearray(buf.getvalue())
    if sub_ifds:
        _attach_sub_ifds(data, sub_ifds)
    fp.write(data)


def _attach_sub_ifds(data: bytearray, sub_ifds: dict[int, dict]) -> None:
    """Append each Exif/GPS IFD (Pillow's serialiser) to a little-endian TIFF in ``data`` and
    turn its placeholder entry in IFD0 into the pointer to it."""
    import tifffile
    from PIL import TiffImagePlugin

    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        entries = {tag.code: tag.offset for tag in tif.pages.first.tags}
    for tag, values in sub_ifds.items():
        if len(data) % 2:
            data += b"\x00"  # IFDs start on a word boundary
        ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II", group=tag)
        for sub_tag, value in values.items():
            ifd[sub_tag] = value
        at = len(data)
        data += ifd.tobytes(at)
        struct.pack_into("<HHII", data, entries[_SUB_IFD_PLACEHOLDERS[tag]], tag, 4, 1, at)


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
    differs from the pixels'). ``gray`` None keeps the source's channel layout
    (``photo.info["layout"]``, recorded by :func:`load_photo`): a grey file ("L", "LA") is
    written grey while ``photo.is_gray``, an RGB or RGBA file stays colour even when its
    channels are equal; a photo without a recorded layout (an array) is written grey when
    ``photo.is_gray``. Grey is written as one channel (WebP has none: RGB), the luma when the
    channels differ. ``quality`` (1..100)
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

    is_gray = _writes_gray(photo) if gray is None else bool(gray)
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


def _writes_gray(photo: Photo) -> bool:
    """Whether ``photo`` is written as one grey channel when the caller does not say."""
    layout = photo.info.get("layout") if isinstance(photo.info, dict) else None
    if layout in ("L", "LA"):
        return bool(photo.is_gray)  # a colourised grey photo is written in colour
    if layout in ("RGB", "RGBA"):
        return False
    return bool(photo.is_gray)


def save_restored(
    image: Photo | np.ndarray,
    path: str | os.PathLike[str],
    source: Photo | None = None,
    *,
    quality: int = 95,
    keep_metadata: bool = True,
    overwrite: bool = False,
) -> Path:
    """The one way a restored photo is written (``gpen restore`` and the app's export).

    The file keeps what the input had: its channel layout (grey stays grey, RGB stays RGB
    even when its channels are equal, RGBA stays RGBA, grey+alpha stays grey+alpha), its bit
    depth (16-bit in, 16-bit out where the format holds it) and, with ``keep_metadata``, its
    ICC profile, EXIF (orientation 1, new pixel size, no thumbnail) and dpi. ``image`` is the
    result (a :class:`Photo` from :meth:`Restorer.restore`, or an HxWx3 RGB array such as a
    recomposite); ``source`` is the photo as loaded — when given, layout, bit depth, alpha and
    metadata come from it (alpha resized when the result is upscaled), so a result that lost
    them on the way still comes out faithful; without it they come from ``image`` itself
    (``Restorer.restore`` copies them from its input). A grey source whose result is no longer
    grey (colourised, or ``keep_gray`` off) is written in colour, with alpha if it had any.
    ``quality``, ``overwrite``, atomicity and errors are those of :func:`save_photo`.
    """
    if isinstance(image, Photo):
        photo = image
    else:
        pixels = np.asarray(image)
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 RGB array, got shape {pixels.shape}")
        photo = Photo(pixels=pixels, is_gray=_channels_equal(pixels))
    if source is not None:
        info = dict(photo.info) if isinstance(photo.info, dict) else {}
        for key in ("layout", "dpi"):
            if key in source.info:
                info[key] = source.info[key]
        alpha = photo.alpha if photo.alpha is not None else source.alpha
        pixels = photo.pixels
        if source.pixels.dtype != pixels.dtype:
            pixels = to_uint8(pixels) if source.pixels.dtype == np.uint8 else _to_uint16(pixels)
        is_gray = photo.is_gray
        if source.is_gray and info.get("layout") in ("L", "LA"):
            is_gray = _channels_equal(pixels)  # grey while the result still is
        photo = replace(
            photo,
            pixels=pixels,
            alpha=alpha,
            is_gray=is_gray,
            exif=source.exif,
            icc=source.icc,
            info=info,
        )
    return save_photo(
        photo, path, quality=quality, keep_metadata=keep_metadata, overwrite=overwrite
    )


def _to_uint16(pixels: np.ndarray) -> np.ndarray:
    """uint16 unchanged; uint8 scaled to 16 bits exactly (255 -> 65535)."""
    if pixels.dtype == np.uint16:
        return pixels
    return pixels.astype(np.uint16) * 257


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
