"""Alignment: template, Umeyama similarity, warps and their inverse, tilted faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gpen_desktop.core.errors import FaceError
from gpen_desktop.core.faces.align import (
    TEMPLATE,
    align_face,
    align_matrix,
    compose_affine,
    invert_affine,
    matrix_rotation_deg,
    matrix_scale,
    resize_crop_matrix,
    similarity_transform,
    template_points,
    transform_points,
    warp_crop,
)
from gpen_desktop.core.faces.detect import detect_faces


@pytest.fixture(scope="module")
def astro_landmarks(astronaut) -> np.ndarray:
    faces = detect_faces(astronaut, "dlib")
    assert len(faces) == 1
    return faces[0].landmarks_array()


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.radians(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    return np.array([[c, -s, tx], [s, c, ty]])


def test_template_is_the_reference():
    assert TEMPLATE.shape == (5, 2)
    assert TEMPLATE[0] == pytest.approx((0.394611, 0.474383))
    assert TEMPLATE[4] == pytest.approx((0.587678, 0.715501))
    assert np.allclose(template_points(512), TEMPLATE * 512)


@pytest.mark.parametrize("size", [256, 512, 1024])
def test_template_landmarks_map_to_template(size):
    m = align_matrix(TEMPLATE * size, size)
    assert np.allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    # any similarity image of the template is mapped back exactly
    known = _similarity(-23.0, 0.37, 140.0, 61.0)
    pts = transform_points(known, TEMPLATE * size)
    m = align_matrix(pts, size)
    assert np.allclose(transform_points(m, pts), TEMPLATE * size, atol=1e-6)
    assert np.allclose(m, invert_affine(known), atol=1e-9)


def test_umeyama_least_squares_and_no_reflection():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, (5, 2))
    truth = _similarity(40.0, 1.7, 12.0, -5.0)
    dst = transform_points(truth, src) + rng.normal(0, 0.5, (5, 2))
    m = similarity_transform(src, dst)
    assert matrix_scale(m) == pytest.approx(1.7, rel=0.02)
    assert matrix_rotation_deg(m) == pytest.approx(40.0, abs=1.0)
    # least squares over similarities: nudging any of (a, b, tx, ty) in
    # [[a, -b, tx], [b, a, ty]] increases the error
    err = np.sum((transform_points(m, src) - dst) ** 2)
    basis = [
        [[1, 0, 0], [0, 1, 0]],
        [[0, -1, 0], [1, 0, 0]],
        [[0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1]],
    ]
    for d in np.array(basis, dtype=float) * 1e-3:
        for sign in (1, -1):
            assert np.sum((transform_points(m + sign * d, src) - dst) ** 2) > err
    mirrored = src * [-1, 1]
    m2 = similarity_transform(src, mirrored)
    assert np.linalg.det(m2[:, :2]) > 0  # rotation, never a reflection


def test_degenerate_landmarks():
    with pytest.raises(FaceError):
        align_matrix(np.ones((5, 2)), 512)
    with pytest.raises(FaceError):
        align_matrix(np.full((5, 2), np.nan), 512)
    with pytest.raises(FaceError):
        align_matrix(np.zeros((4, 2)), 512)
    with pytest.raises(FaceError):
        invert_affine(np.zeros((2, 3)))


def test_invert_and_compose():
    m = _similarity(17.0, 2.5, -30.0, 12.0)
    inv = invert_affine(m)
    assert np.allclose(compose_affine(m, inv), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    assert np.allclose(compose_affine(inv, m), [[1, 0, 0], [0, 1, 0]], atol=1e-12)


def test_warp_is_reference_bilinear(astronaut, astro_landmarks):
    m = align_matrix(astro_landmarks, 512)
    ours = warp_crop(astronaut, m, 512, border="constant")
    ref = cv2.warpAffine(astronaut, m, (512, 512), flags=3)
    assert np.array_equal(ours, ref)


def test_aligned_crop_puts_landmarks_on_template(astronaut, astro_landmarks):
    crop, m = align_face(astronaut, astro_landmarks, 512)
    assert crop.shape == (512, 512, 3) and crop.dtype == np.uint8
    mapped = transform_points(m, astro_landmarks)
    residual = np.linalg.norm(mapped - TEMPLATE * 512, axis=1)  # 5 points, 4 dof
    assert residual.mean() < 16 and residual.max() < 25  # under 5 % of the crop
    # the crop is a plausible face: eyes darker than the cheeks below them
    ey = int(TEMPLATE[0, 1] * 512)
    ex = int(TEMPLATE[0, 0] * 512)
    assert (
        crop[ey - 5 : ey + 5, ex - 5 : ex + 5].mean() < crop[ey + 60 : ey + 70, ex : ex + 10].mean()
    )


def test_align_then_inverse_warp_round_trips(astronaut, astro_landmarks):
    size = 1024  # upsampled crop: warping back is close to lossless
    crop, m = align_face(astronaut, astro_landmarks, size)
    back = cv2.warpAffine(crop, invert_affine(m), (512, 512), flags=cv2.INTER_LINEAR)
    # compare inside the face box, well within the crop
    region = (slice(90, 170), slice(185, 265))
    diff = np.abs(back[region].astype(int) - astronaut[region].astype(int))
    assert diff.mean() < 2.0 and np.percentile(diff, 99) < 16


@pytest.mark.parametrize("angle", [30.0, -30.0])
def test_tilted_face_rotation_recovered(astronaut, astro_landmarks, angle):
    center = tuple(astro_landmarks.mean(axis=0))
    rot = cv2.getRotationMatrix2D(center, angle, 1.0)  # positive: counter-clockwise on screen
    tilted = cv2.warpAffine(astronaut, rot, (512, 512), borderMode=cv2.BORDER_REFLECT_101)
    upright_m = align_matrix(astro_landmarks, 512)

    # exact landmarks: the crop matrix absorbs exactly the rotation
    lms = transform_points(rot, astro_landmarks)
    crop_t, m_t = align_face(tilted, lms, 512)
    assert matrix_rotation_deg(m_t) - matrix_rotation_deg(upright_m) == pytest.approx(
        angle, abs=1e-6
    )
    crop_u, _ = align_face(astronaut, astro_landmarks, 512)
    inner = (slice(150, 400), slice(150, 360))
    diff = np.abs(crop_t[inner].astype(int) - crop_u[inner].astype(int))
    assert diff.mean() < 6

    # detected landmarks on the tilted photo: rotation recovered within a few degrees
    faces = detect_faces(tilted, "dlib")
    assert len(faces) == 1
    m_d = align_matrix(faces[0].landmarks_array(), 512)
    got = matrix_rotation_deg(m_d) - matrix_rotation_deg(upright_m)
    assert got == pytest.approx(angle, abs=8)


def test_border_modes_for_faces_at_the_edge(astronaut, astro_landmarks):
    # shift the photo so the face hangs over the left edge
    shifted = np.ascontiguousarray(astronaut[:, 150:])
    lms = astro_landmarks - [150, 0]
    black, m = align_face(shifted, lms, 256, border="constant")
    mirror, m2 = align_face(shifted, lms, 256, border="reflect")
    assert np.array_equal(m, m2)
    assert (black[:, :10] == 0).all()  # outside the photo: reference black
    # reflected content instead: the same as cropping a mirror-padded photo
    pad = 400
    padded = cv2.copyMakeBorder(shifted, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    m_pad = compose_affine(m, [[1, 0, -pad], [0, 1, -pad]])
    expected = warp_crop(padded, m_pad, 256, border="constant")
    assert np.abs(mirror.astype(int) - expected).max() <= 1  # OpenCV's fixed-point rounding
    assert not np.array_equal(mirror[:, :10], black[:, :10])
    # where the crop samples only photo pixels (source 2 px inside: cubic support) both agree
    ys, xs = np.mgrid[0:256, 0:256]
    inv = invert_affine(m)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    h, w = shifted.shape[:2]
    inside = (sx >= 2) & (sx <= w - 3) & (sy >= 2) & (sy <= h - 3)
    assert inside.mean() > 0.5
    gap = np.abs(black.astype(int) - mirror)[inside]
    assert gap.max() <= 1 and (gap == 0).mean() > 0.999  # OpenCV's border path rounds apart
    with pytest.raises(ValueError):
        warp_crop(shifted, m, 64, border="wrap")  # type: ignore[arg-type]


def test_uint16_and_resize_matrix(astronaut, astro_landmarks):
    u16 = astronaut.astype(np.uint16) * 257
    crop16, m = align_face(u16, astro_landmarks, 256)
    crop8, _ = align_face(astronaut, astro_landmarks, 256)
    assert crop16.dtype == np.uint16
    assert np.abs(crop16.astype(float) / 257 - crop8).max() <= 1.0
    m512 = resize_crop_matrix(m, 256, 512)
    assert matrix_scale(m512) == pytest.approx(2 * matrix_scale(m))
    # a landmark lands where cv2.resize would put it
    p256 = transform_points(m, astro_landmarks[:1])[0]
    p512 = transform_points(m512, astro_landmarks[:1])[0]
    assert np.allclose(p512, (p256 + 0.5) * 2 - 0.5)
