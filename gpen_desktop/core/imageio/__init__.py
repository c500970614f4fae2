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
  ``dpi`` (x, y) and ``frames`` (multi-page/animated files: the first one is used), and
  ``layout``, the file's channel layout ("L", "LA", "RGB" or "RGBA", :data:`LAYOUTS`).

The pixel count is checked from the header, before anything is decoded
(:data:`DEFAULT_MAX_PIXELS`), so a decompression bomb costs nothing. Because of that check
the package switches Pillow's own bomb check off (``PIL.Image.MAX_IMAGE_PIXELS = None``).

Saving (:func:`save_photo`; :func:`save_restored` for a restored photo, the one path the CLI
and the app share) keeps the source's channel layout, picks the format from the extension, writes atomically
(:func:`gpen_desktop.core.fileio.atomic_write`), keeps 16 bits in PNG and TIFF, alpha in PNG,
WebP and TIFF, single-channel grey where the format has it, and copies EXIF, ICC and dpi.
8-bit PNG, JPEG, WebP and BMP are encoded by Pillow (it has no 16-bit colour modes); 16-bit
PNG by OpenCV, with the iCCP, pHYs and eXIf chunks put in after IHDR (OpenCV has no 16-bit
grey+alpha: written RGBA); TIFF by tifffile, as Adobe Deflate with a predictor, the EXIF
block's Exif and GPS IFDs appended as sub-IFDs (which tifffile does not write).

TIFF is decoded by tifffile (8 and 16 bits, grey and RGB(A); tifffile never turns the pixels,
so the Orientation tag is applied once, here, as for every format); what tifffile cannot
decode without ``imagecodecs`` (LZW, JPEG compression) or leaves to libtiff (palette, CMYK,
YCbCr, bilevel) goes to Pillow, or OpenCV for 16 bits. 16-bit PNG is decoded by OpenCV.

Pillow is imported at module import (cheap); OpenCV and tifffile only when used.
"""

from gpen_desktop.core.imageio.exif import patch_exif
from gpen_desktop.core.imageio.listing import is_supported, iter_images
from gpen_desktop.core.imageio.read import LAYOUTS, load_photo, probe_image
from gpen_desktop.core.imageio.sniff import (
    DEFAULT_MAX_PIXELS,
    EXTENSION_FORMATS,
    SUPPORTED_EXTENSIONS,
    SUPPORTED_FORMATS,
)
from gpen_desktop.core.imageio.write import output_format, save_photo, save_restored

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "EXTENSION_FORMATS",
    "LAYOUTS",
    "SUPPORTED_EXTENSIONS",
    "SUPPORTED_FORMATS",
    "is_supported",
    "iter_images",
    "load_photo",
    "output_format",
    "patch_exif",
    "probe_image",
    "save_photo",
    "save_restored",
]
