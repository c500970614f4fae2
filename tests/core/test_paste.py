"""Paste-back: the reference mask, untouched pixels, blending, overlaps, 16-bit, upscaling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gpen_desktop.core.errors import FaceError
from gpen_desktop.core.faces.align import align_face, compose_affine
from gpen_desktop.core.faces.detect import detect_faces
from gpen_desktop.core.faces.paste import (
    match_color,
    parsing_available,
    parsing_mask,
    paste_faces,
    reference_mask,
)

SIZE = 256


@pytest.fixture(scope="module")
def aligned(astronaut):
    """(crop SIZE x SIZE x 3 uint8, photo->crop matrix) of the astronaut's face."""
    faces = detect_faces(astronaut, "dlib")
    assert len(faces) == 1
    return align_face(astronaut, faces[0].landmarks_array(), SIZE)


def _restored(crop: np.ndarray) -> np.ndarray:
    """A stand-in for a network output that differs visibly from the input crop."""
    return (255 - crop).astype(np.uint8)


def test_reference_mask_matches_the_reference_recipe():
    m = reference_mask(512)
    ref = np.zeros((512, 512), np.float32)
    cv2.rectangle(ref, (26, 26), (486, 486), (1, 1, 1), -1, cv2.LINE_AA)
    ref = cv2.GaussianBlur(ref, (101, 101), 4)
    ref = cv2.GaussianBlur(ref, (101, 101), 4)
    assert m.dtype == np.float32 and m.shape == (512, 512)
    assert np.allclose(m, np.clip(ref, 0, 1), atol=1e-7)
    assert m[256, 256] == pytest.approx(1.0, abs=1e-5)
    assert m[0, 0] < 1e-6 and m[26, 256] == pytest.approx(0.5, abs=0.05)
    small = reference_mask(SIZE)
    assert small.shape == (SIZE, SIZE) and small.min() >= 0 and small.max() <= 1
    assert reference_mask(SIZE) is small  # cached
    assert not small.flags.writeable


def test_pixels_outside_the_mask_are_bit_identical(astronaut, aligned):
    crop, m = aligned
    out, weight = paste_faces(astronaut, [_restored(crop)], [m])
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert weight.shape == astronaut.shape[:2] and weight.dtype == np.float32
    untouched = weight == 0
    assert untouched.mean() > 0.7  # the face is a small part of the photo
    assert np.array_equal(out[untouched], astronaut[untouched])
    changed = (out != astronaut).any(axis=2)
    assert changed.sum() > 3000 and not (changed & untouched).any()
    # in the middle of the face the restored crop shows through completely
    (lx, ly), (rx, ry) = (184, 100), (255, 104)
    assert weight[ly, lx] > 0.99 and weight[ry, rx] > 0.99


def test_blend_zero_returns_the_original(astronaut, aligned):
    crop, m = aligned
    out, weight = paste_faces(astronaut, [_restored(crop)], [m], blends=[0.0])
    assert np.array_equal(out, astronaut) and not weight.any()


def test_blend_half_is_halfway(astronaut, aligned):
    crop, m = aligned
    full, w1 = paste_faces(astronaut, [_restored(crop)], [m], blends=[1.0])
    half, wh = paste_faces(astronaut, [_restored(crop)], [m], blends=[0.5])
    assert np.allclose(wh, w1 * 0.5)
    inner = w1 > 0.99
    expected = (astronaut[inner].astype(float) + full[inner]) / 2
    assert np.abs(half[inner] - expected).max() <= 1.0


def test_identity_paste_is_close_to_the_photo(astronaut, aligned):
    crop, m = aligned
    out, weight = paste_faces(astronaut, [crop], [m], face_sizes=[200])
    inner = weight > 0.99
    assert np.abs(out[inner].astype(int) - astronaut[inner]).mean() < 4


def test_overlapping_faces_larger_mask_wins(astronaut, aligned):
    crop, m = aligned
    shift = compose_affine(m, [[1, 0, -40], [0, 1, -25]])  # a second face 40 px right, 25 down
    bright = np.full_like(crop, 230)
    dark = np.full_like(crop, 20)
    out_a, w_a = paste_faces(astronaut, [bright], [m])
    out_b, w_b = paste_faces(astronaut, [dark], [shift])
    both, w = paste_faces(astronaut, [bright, dark], [m, shift])
    a_wins = (w_a >= w_b) & (w_a > 0)
    b_wins = (w_b > w_a) & (w_b > 0)
    assert a_wins.sum() > 1000 and b_wins.sum() > 1000
    assert np.array_equal(both[a_wins], out_a[a_wins])
    assert np.array_equal(both[b_wins], out_b[b_wins])
    assert np.allclose(w, np.maximum(w_a, w_b))
    neither = (w_a == 0) & (w_b == 0)
    assert np.array_equal(both[neither], astronaut[neither])


def test_sixteen_bit(astronaut, aligned):
    crop, m = aligned
    rng = np.random.default_rng(0)
    photo16 = astronaut.astype(np.uint16) * 257 + rng.integers(0, 200, astronaut.shape).astype(
        np.uint16
    )
    out16, w16 = paste_faces(photo16, [_restored(crop)], [m])
    out8, w8 = paste_faces(astronaut, [_restored(crop)], [m])
    assert out16.dtype == np.uint16 and np.array_equal(w16, w8)
    untouched = w16 == 0
    assert np.array_equal(out16[untouched], photo16[untouched])
    inner = w16 > 0.999
    assert np.abs(out16[inner].astype(float) / 257 - out8[inner]).max() <= 1.5


def test_upscale_two(astronaut, aligned):
    crop, m = aligned
    out, weight = paste_faces(astronaut, [_restored(crop)], [m], upscale=2)
    assert out.shape == (1024, 1024, 3) and weight.shape == (1024, 1024)
    _, w1 = paste_faces(astronaut, [_restored(crop)], [m])
    ys, xs = np.nonzero(w1 > 0.5)
    ys2, xs2 = np.nonzero(weight > 0.5)
    assert xs2.mean() == pytest.approx(2 * xs.mean() + 0.5, abs=1.5)
    assert ys2.mean() == pytest.approx(2 * ys.mean() + 0.5, abs=1.5)
    # outside the faces the background is the Lanczos enlargement
    bg = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_LANCZOS4)
    assert np.array_equal(out[weight == 0], bg[weight == 0])
    with pytest.raises(FaceError):
        paste_faces(astronaut, [crop], [m], upscale=1.5)


def test_small_face_smoothing_and_face_size(astronaut, aligned):
    crop, m = aligned
    noisy = np.random.default_rng(1).integers(0, 256, crop.shape).astype(np.uint8)
    smooth, _ = paste_faces(astronaut, [noisy], [m], face_sizes=[60], antialias=False)
    sharp, _ = paste_faces(astronaut, [noisy], [m], face_sizes=[160], antialias=False)
    region = (slice(95, 140), slice(190, 250))
    assert smooth[region].astype(float).std() < sharp[region].astype(float).std()


def test_color_match(astronaut, aligned):
    crop, m = aligned
    tinted = crop.astype(int)
    tinted[..., 2] += 70  # the "network" turned the face blue
    tinted = np.clip(tinted, 0, 255).astype(np.uint8)
    plain, w = paste_faces(astronaut, [tinted], [m])
    matched, _ = paste_faces(astronaut, [tinted], [m], color_match=True)
    inner = w > 0.99
    blue = astronaut[inner][:, 2].astype(float).mean()
    assert abs(matched[inner][:, 2].mean() - blue) < abs(plain[inner][:, 2].mean() - blue) / 3
    out = match_color(crop.astype(np.float32), crop.astype(np.float32), 255.0)
    assert np.abs(out - crop).max() < 2.0  # matching a face to itself changes nothing


def test_custom_masks_and_errors(astronaut, aligned):
    crop, m = aligned
    zero = np.zeros((64, 64), np.float32)
    out, w = paste_faces(astronaut, [_restored(crop)], [m], masks=[zero])
    assert np.array_equal(out, astronaut) and not w.any()
    out, w = paste_faces(astronaut, [], [])
    assert np.array_equal(out, astronaut)
    with pytest.raises(FaceError):
        paste_faces(astronaut, [crop], [])
    with pytest.raises(FaceError):
        paste_faces(astronaut.astype(np.float32), [crop], [m])
    with pytest.raises(FaceError):
        paste_faces(astronaut, [crop[:, :100]], [m])


def test_parsing_mask_without_weights(tmp_path, aligned):
    assert not parsing_available(tmp_path)
    with pytest.raises(FaceError, match="ParseNet-latest.pth"):
        parsing_mask(aligned[0], weights_dir=tmp_path)


class _StubParseNet:
    """Stands in for ParseNet: labels a centre square skin (1), a top stripe hat (14), the
    rest background (0), and records the input it was given."""

    def __init__(self):
        self.inputs = []

    def __call__(self, t):
        import torch

        self.inputs.append((tuple(t.shape), float(t.min()), float(t.max())))
        logits = torch.zeros((1, 19, 512, 512))
        logits[0, 0] = 1.0
        logits[0, 1, 128:384, 128:384] = 2.0
        logits[0, 14, 0:100, :] = 3.0
        return logits, None


def test_parsing_mask_with_a_stubbed_model(tmp_path, aligned, monkeypatch):
    """The mask keeps the face classes, drops hat and background, zeroes the border and comes
    back at the crop's size; the network sees the crop at 512 px in [-1, 1]."""
    import threading

    from gpen_desktop.core.faces import paste

    (tmp_path / "ParseNet-latest.pth").write_bytes(b"stub")
    stub = _StubParseNet()
    monkeypatch.setattr(paste, "_parsenet", lambda path, device: (stub, threading.Lock()))
    mask = parsing_mask(aligned[0], weights_dir=tmp_path)
    ((shape, lo, hi),) = stub.inputs
    assert shape == (1, 3, 512, 512) and -1 <= lo < 0 < hi <= 1
    assert mask.shape == (SIZE, SIZE) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1
    c = SIZE // 2
    assert mask[c, c] > 0.95  # skin
    assert mask[5, c] < 0.05  # hat and border
    assert mask[c, 5] < 0.05 and mask[c, -5] < 0.05  # background and border


@pytest.mark.slow
def test_parsenet_weights_in_gpen_layout_load(tmp_path):
    """facexlib's ParseNet layout saved from DDP under GPEN's file name loads strictly."""
    torch = pytest.importorskip("torch")
    from facexlib.parsing.parsenet import ParseNet

    from gpen_desktop.core.faces import paste

    torch.manual_seed(0)
    net = ParseNet(in_size=512, out_size=512, parsing_ch=19)
    path = tmp_path / "ParseNet-latest.pth"
    torch.save({"module." + k: v for k, v in net.state_dict().items()}, path)
    assert parsing_available(tmp_path)
    model, _lock = paste._parsenet(path, "cpu")
    theirs, ours = net.state_dict(), model.state_dict()
    assert theirs.keys() == ours.keys()
    assert all(torch.equal(theirs[k], ours[k]) for k in theirs)
