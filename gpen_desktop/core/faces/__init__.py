"""Faces: detection (:mod:`.detect`), alignment (:mod:`.align`) and paste-back (:mod:`.paste`).

Submodules import their heavy dependencies (cv2, dlib, torch, facexlib) lazily, so importing
this package is cheap.
"""

from __future__ import annotations

from gpen_desktop.core.faces.align import TEMPLATE, align_face, invert_affine, warp_crop
from gpen_desktop.core.faces.detect import (
    DETECTORS,
    available_detectors,
    detect_faces,
    landmarks_for_box,
)
from gpen_desktop.core.faces.paste import (
    parsing_available,
    parsing_mask,
    paste_faces,
    reference_mask,
)

__all__ = [
    "DETECTORS",
    "TEMPLATE",
    "align_face",
    "available_detectors",
    "detect_faces",
    "invert_affine",
    "landmarks_for_box",
    "parsing_available",
    "parsing_mask",
    "paste_faces",
    "reference_mask",
    "warp_crop",
]
