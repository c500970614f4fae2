"""Decoding a photo file into a :class:`~gpen_desktop.core.types.Photo` (see the package doc)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.fileio import os_error_message
from gpen_desktop.core.imageio.exif import (
    _TAG_ORIENTATION,
    _exif_from_tiff_tags,
    _exif_orientation,
    _orientation,
    _patch_tiff,
    _with_exif_header,
    patch_exif,
)
from gpen_desktop.core.imageio.sniff import (
    _NICE_FORMAT,
    DEFAULT_MAX_PIXELS,
    _check_pixels,
    _is_sixteen_bit,
    _open_pil,
    _reason,
    _stored_size,
)
from gpen_desktop.core.types import Photo

log = logging.getLogger(__name__)

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


#: The channel layouts a photo file can have, as :func:`load_photo` records them.
LAYOUTS = ("L", "LA", "RGB", "RGBA")


def _layout_of(arr: np.ndarray) -> str:
    """The channel layout of a decoded HxW[xC] array: "L", "LA", "RGB" or "RGBA"."""
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    return LAYOUTS[min(channels, 4) - 1]


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


def _decode_tifffile(path: Path) -> np.ndarray | None:
    """Decode an 8- or 16-bit grey or RGB TIFF with tifffile: HxW, HxWx2, x3 or x4 uint8 or
    uint16, as stored. tifffile ignores the Orientation tag, so :func:`_load` applies it once
    (Pillow's own turning scrambles uncompressed grey and RGBA files; OpenCV cannot read a
    16-bit RGB file with the tag at all). Tiled files, BigTIFF, both byte orders and
    premultiplied alpha are read here.

    None for what tifffile cannot decode without optional codecs (LZW or JPEG compression
    need ``imagecodecs``) and for layouts left to Pillow/libtiff (palette, CMYK, YCbCr,
    bilevel, 12- or 32-bit samples); the caller then uses those.
    """
    import tifffile
    from tifffile import PHOTOMETRIC, SAMPLEFORMAT, TIFF

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            photometric = page.photometric
            if photometric not in (PHOTOMETRIC.MINISBLACK, PHOTOMETRIC.MINISWHITE, PHOTOMETRIC.RGB):
                return None
            if page.sampleformat == SAMPLEFORMAT.IEEEFP:
                raise ImageError(
                    f"unsupported pixel type: {path} (floating-point images are not supported)"
                )
            if page.bitspersample not in (8, 16) or page.compression not in TIFF.DECOMPRESSORS:
                return None
            if page.predictor != 1 and page.predictor not in TIFF.UNPREDICTORS:
                return None
            arr = page.asarray()
            axes, extras = page.axes, tuple(page.extrasamples)
    except (ImageError, MemoryError):
        raise
    except Exception as exc:
        raise ImageError(f"corrupt or truncated TIFF image: {path} ({_reason(exc)})") from exc
    if "S" in axes:
        arr = np.moveaxis(arr, axes.index("S"), -1)  # samples last (planar files)
    while arr.ndim > (3 if "S" in axes else 2):
        arr = arr[0]  # a volume (depth axis): its first slice
    colour = 3 if photometric == PHOTOMETRIC.RGB else 1
    alpha = bool(extras) and extras[0] in (1, 2)  # associated or unassociated alpha
    if arr.ndim == 3 and arr.shape[2] > colour:
        arr = arr[:, :, : colour + alpha]  # other extra samples are dropped
    if arr.dtype.kind == "i":  # signed samples: negatives are black
        arr = np.clip(arr, 0, np.iinfo(arr.dtype).max)
    arr = arr.astype(np.uint16 if arr.dtype.itemsize == 2 else np.uint8)
    if photometric == PHOTOMETRIC.MINISWHITE:
        grey = arr if arr.ndim == 2 else arr[:, :, :1]
        np.subtract(np.iinfo(arr.dtype).max, grey, out=grey)
    if alpha and arr.ndim == 3 and arr.shape[2] == colour + 1 and extras[0] == 1:
        arr = _unpremultiply(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return np.ascontiguousarray(arr)


def _unpremultiply(arr: np.ndarray) -> np.ndarray:
    """Associated (premultiplied) alpha to straight alpha: HxWxC uint8/uint16, alpha last."""
    top = float(np.iinfo(arr.dtype).max)
    alpha = arr[:, :, -1:].astype(np.float64)
    colour = arr[:, :, :-1].astype(np.float64)
    straight = np.where(alpha > 0, colour * top / np.maximum(alpha, 1.0), 0.0)
    out = arr.copy()
    out[:, :, :-1] = np.clip(np.round(straight), 0, top).astype(arr.dtype)
    return out


def _decode_cv2(path: Path, fmt: str) -> np.ndarray:
    """Decode a 16-bit PNG (or a TIFF tifffile leaves alone) with OpenCV: HxW, HxWx3 or HxWx4
    RGB(A) uint16, unrotated."""
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
        arr = _decode_tifffile(path) if fmt == "TIFF" else None
        if arr is not None:
            icc = img.info.get("icc_profile") or None
            oriented = False
        elif _is_sixteen_bit(img, head):
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
    info["layout"] = _layout_of(arr)
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
