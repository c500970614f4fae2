"""Files the window writes: formats, target names and the writers.

The writers (``write_*``) are plain blocking functions meant for the I/O pool
(:meth:`InferenceWorker.run_io`); they go through :func:`gpen_desktop.core.imageio.save_photo`,
which writes atomically. The questions before replacing a file are in
:class:`gpen_desktop.gui.questions.Questions`; the controller that asks them is
:class:`gpen_desktop.gui.exporter.Exporter`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.types import Photo

log = logging.getLogger(__name__)

#: Display name -> file extension.
FORMATS: dict[str, str] = {"PNG": ".png", "JPEG": ".jpg", "WebP": ".webp", "TIFF": ".tif"}
_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class ExportSettings:
    """How to write files. ``quality`` 1..100 is used for JPEG and WebP."""

    format: str = "PNG"
    quality: int = 95
    keep_metadata: bool = True
    suffix: str = "_restored"

    @property
    def extension(self) -> str:
        return FORMATS.get(self.format, ".png")


def file_filter() -> str:
    """A QFileDialog filter listing every export format."""
    parts = [
        "PNG image (*.png)",
        "JPEG image (*.jpg *.jpeg)",
        "WebP image (*.webp)",
        "TIFF image (*.tif *.tiff)",
    ]
    return ";;".join(parts)


def filter_for(fmt: str) -> str:
    return next((f for f in file_filter().split(";;") if f.upper().startswith(fmt.upper())), "")


def with_extension(path: Path, settings: ExportSettings) -> Path:
    """``path`` with the settings' extension unless it already has a supported one."""
    if path.suffix.lower() in _EXTENSIONS:
        return path
    return path.with_name(path.name + settings.extension)


def suggested_path(source: Path | None, name: str, settings: ExportSettings, folder: Path) -> Path:
    """``<folder>/<stem><suffix><ext>``; the stem comes from the source file or ``name``."""
    stem = source.stem if source is not None else Path(name).stem.replace(" ", "_")
    return folder / f"{stem}{settings.suffix}{settings.extension}"


def same_file(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


# --------------------------------------------------------------------------- writers (I/O pool)


def write_photo(photo: Photo, path: Path, settings: ExportSettings) -> Path:
    """Write a restored photo as its input was (layout, bit depth; EXIF/ICC kept when
    ``settings.keep_metadata``) through core's one save path; atomic."""
    from gpen_desktop.core.imageio import save_restored

    return save_restored(
        photo,
        Path(path),
        quality=settings.quality,
        keep_metadata=settings.keep_metadata,
        overwrite=True,
    )


def _as_photo(pixels: np.ndarray) -> Photo:
    return Photo(pixels=np.ascontiguousarray(pixels), format="PNG")


def before_after_strip(face_results: list[tuple[int, Any]], gap: int = 8) -> np.ndarray:
    """One row per restored face: aligned input | restored crop, on a white background.

    ``face_results``: (face index, FaceResult) pairs. Inputs are scaled to the restored crop
    size S; the strip is (n·S + (n-1)·gap) × (2·S + gap) RGB uint8.
    """
    rows = []
    for _index, fr in face_results:
        after = np.asarray(fr.restored)
        before = np.asarray(fr.aligned_input)
        s = after.shape[0]
        if before.shape[0] != s:
            before = _resized(before, s, s)
        spacer = np.full((s, gap, 3), 255, np.uint8)
        rows.append(np.concatenate([before, spacer, after], axis=1))
    if not rows:
        raise ValueError("no restored faces")
    width = max(r.shape[1] for r in rows)
    out = []
    for i, row in enumerate(rows):
        if row.shape[1] < width:
            pad = np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)
            row = np.concatenate([row, pad], axis=1)
        if i:
            out.append(np.full((gap, width, 3), 255, np.uint8))
        out.append(row)
    return np.concatenate(out, axis=0)


def face_targets(stem: str, face_results: list[tuple[int, Any]], folder: Path) -> list[Path]:
    """Files :func:`write_faces` writes: ``<stem>_faceNN.png`` per restored face (NN is the
    face's number in the window), then ``<stem>_faces_before_after.png``."""
    paths = [folder / f"{stem}_face{index + 1:02d}.png" for index, _fr in face_results]
    return [*paths, folder / f"{stem}_faces_before_after.png"]


def write_faces(
    stem: str, face_results: list[tuple[int, Any]], folder: Path, skip_existing: bool = False
) -> list[Path]:
    """Write every restored face crop and the before|after strip; returns what was written."""
    from gpen_desktop.core.imageio import save_photo

    folder = Path(folder)
    targets = face_targets(stem, face_results, folder)
    images = [np.asarray(fr.restored) for _i, fr in face_results]
    images.append(before_after_strip(face_results))
    written = []
    for path, pixels in zip(targets, images, strict=True):
        if skip_existing and path.exists():
            continue
        save_photo(_as_photo(pixels), path, overwrite=True)
        written.append(path)
    return written


def _resized(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """``pixels`` at ``width`` x ``height`` (area average when shrinking, bicubic when growing)."""
    import cv2  # lazily: the window opens before OpenCV is imported

    shrink = width * height < pixels.shape[0] * pixels.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(pixels), (width, height), interpolation=interp)


def side_by_side(before: np.ndarray, after: np.ndarray, gap: int = 8) -> np.ndarray:
    """Original | restored photo as one image (the original scaled to the result's height)."""
    h = after.shape[0]
    if before.shape[0] != h:
        before = _resized(before, max(1, round(before.shape[1] * h / before.shape[0])), h)
    spacer = np.full((h, gap, 3), 255, np.uint8)
    return np.concatenate([before[:, :, :3], spacer, after[:, :, :3]], axis=1)


def write_side_by_side(before: Photo, after: Photo, path: Path, settings: ExportSettings) -> Path:
    from gpen_desktop.core.imageio import save_photo

    pixels = side_by_side(before.rgb8(), after.rgb8())
    save_photo(_as_photo(pixels), Path(path), quality=settings.quality, overwrite=True)
    return Path(path)
