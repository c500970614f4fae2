"""Face alignment: the reference 5-point template and similarity warps.

Conventions: images are HxWx3 (or HxW) numpy arrays, pixel centres at integer coordinates
(OpenCV's convention); a *matrix* is a 2x3 float64 affine map ``[x', y'] = M @ [x, y, 1]``.
``align_face`` returns the matrix that maps **photo** pixels to **crop** pixels; its inverse
(:func:`invert_affine`) pastes a restored crop back.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from gpen_desktop.core.errors import FaceError

#: The reference GPEN template: the 5 landmarks (left eye, right eye, nose tip, left and right
#: mouth corner; left/right as seen in the image) as fractions of the crop side. Identical for
#: every crop size; the crop's pixel coordinates are ``TEMPLATE * size``.
TEMPLATE = np.array(
    [
        (0.394611, 0.474383),
        (0.604356, 0.473223),
        (0.500150, 0.593670),
        (0.413984, 0.716461),
        (0.587678, 0.715501),
    ],
    dtype=np.float64,
)

Border = Literal["reflect", "replicate", "constant"]

_BORDERS = {
    "reflect": 4,
    "replicate": 1,
    "constant": 0,
}  # cv2.BORDER_REFLECT_101/_REPLICATE/_CONSTANT

#: OpenCV interpolation flag used by the reference (``flags=3`` is INTER_AREA, which warpAffine
#: does not implement and runs as bilinear; INTER_LINEAR gives bit-identical output).
INTER_LINEAR = 1


def template_points(size: int) -> np.ndarray:
    """The template landmarks in pixels of an ``size``x``size`` crop, shape (5, 2) float64."""
    return TEMPLATE * float(size)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; Umeyama 1991).

    ``src`` and ``dst`` are (N, 2) point sets, N >= 2. Returns the 2x3 float64 matrix M that
    minimises ``sum |M @ [src, 1] - dst|^2``; reflections are excluded. Raises FaceError when
    ``src`` is degenerate (all points equal or not finite).
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise FaceError(f"alignment needs matching point sets, got {src.shape} and {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise FaceError("face landmarks contain NaN or infinite values")
    mu_s = src.mean(axis=0)
    mu_d = dst.mean(axis=0)
    xs = src - mu_s
    xd = dst - mu_d
    var_s = float((xs**2).sum() / len(src))
    if var_s < 1e-12:
        raise FaceError("face landmarks are degenerate (all points coincide)")
    cov = xd.T @ xs / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / var_s)
    t = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, t[:, None]])


def align_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """The 2x3 photo->crop matrix that maps the 5 ``landmarks`` (photo pixels, shape (5, 2)) onto
    the template of an ``size``x``size`` crop in the least-squares sense."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if pts.shape != (5, 2):
        raise FaceError(f"alignment needs 5 landmarks, got {pts.shape[0]}")
    return similarity_transform(pts, template_points(size))


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix (2x3 float64). Raises FaceError if it is singular."""
    m = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    a = m[:, :2]
    det = float(np.linalg.det(a))
    if not np.isfinite(det) or abs(det) < 1e-12:
        raise FaceError("alignment matrix is singular")
    a_inv = np.linalg.inv(a)
    return np.hstack([a_inv, -a_inv @ m[:, 2:]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of ``outer(inner(p))`` for 2x3 affine matrices."""
    o = np.vstack([np.asarray(outer, dtype=np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
    i = np.vstack([np.asarray(inner, dtype=np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
    return (o @ i)[:2]


def matrix_scale(matrix: np.ndarray) -> float:
    """The uniform scale of a similarity matrix (crop pixels per photo pixel for align_face's)."""
    m = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def matrix_rotation_deg(matrix: np.ndarray) -> float:
    """The rotation of a similarity matrix, ``atan2(m10, m00)`` in degrees (pixel coordinates,
    y down: a positive angle turns clockwise on screen)."""
    m = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    return float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))


def resize_crop_matrix(matrix: np.ndarray, from_size: int, to_size: int) -> np.ndarray:
    """Re-express a photo->crop matrix for the same crop resampled from ``from_size`` to
    ``to_size`` pixels (pixel-centre convention of ``cv2.resize``)."""
    f = to_size / from_size
    resize = np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5]])
    return compose_affine(resize, matrix)


def warp_crop(
    image: np.ndarray,
    matrix: np.ndarray,
    size: int,
    border: Border = "reflect",
) -> np.ndarray:
    """Sample an ``size``x``size`` crop of ``image`` through the photo->crop ``matrix``.

    Bilinear, as the reference (OpenCV ``warpAffine`` with ``flags=3``). Same dtype and channel
    count as ``image`` (uint8, uint16 or float32). ``border`` decides what the crop shows where it
    reaches outside the photo: ``"reflect"`` (default) mirrors the photo so the network sees
    plausible context instead of a hard black edge; ``"constant"`` is the reference's black
    (use it for bit-parity with the reference); ``"replicate"`` repeats the edge pixels. Those
    regions map outside the photo again on paste-back, so they never reach the output.
    """
    import cv2

    if border not in _BORDERS:
        raise ValueError(f"unknown border mode {border!r}")
    img = np.ascontiguousarray(image)
    m = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    return cv2.warpAffine(
        img,
        m,
        (int(size), int(size)),
        flags=INTER_LINEAR,
        borderMode=_BORDERS[border],
        borderValue=0,
    )


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    size: int,
    border: Border = "reflect",
) -> tuple[np.ndarray, np.ndarray]:
    """Align one face to the reference template.

    ``image``: HxWx3 RGB (uint8/uint16/float32); ``landmarks``: (5, 2) photo pixels in GPEN
    order. Returns ``(crop, matrix)``: the ``size``x``size``x3 crop (dtype of ``image``) and the
    2x3 float64 photo->crop matrix. See :func:`warp_crop` for ``border``.
    """
    matrix = align_matrix(landmarks, size)
    return warp_crop(image, matrix, size, border=border), matrix


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to (N, 2) points; returns (N, 2) float64."""
    m = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return p @ m[:, :2].T + m[:, 2]
