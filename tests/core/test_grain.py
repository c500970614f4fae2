"""Grain that matches (core/faces/grain.py and the paste step): the photo's grain is measured
around each face and the restored face gets the same, seeded; off changes nothing.

The noise inside a pasted face is measured here without the module's estimator: the photo is
a clean photo plus known grain, every run pastes the same clean "restored" crop (``reuse``),
so the output less the clean photo's output *is* the noise, whose standard deviation, pixel-
to-pixel correlation (grain size) and channel correlation (colour) are read directly.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from gpen_desktop.core.faces import grain as fg
from gpen_desktop.core.pipeline import RestoreOptions, Restorer, composite
from gpen_desktop.core.types import Photo


def _grain(shape, sigma, size, mono, seed=1, dtype=np.float32):
    """Known grain: white noise blurred to ``size`` px, ``sigma`` per channel, one field for
    all channels (mono) or one per channel (colour)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((*shape, 1 if mono else 3), dtype=np.float32)
    if size > 0.3:
        k = fg.grain_kernel(size).astype(np.float32)
        z = cv2.sepFilter2D(z, cv2.CV_32F, k, k).reshape(*shape, -1)
    return np.broadcast_to(z * sigma, (*shape, 3)).astype(dtype)


def _noise_stats(noise, region):
    """Noise standard deviation (mean over channels), neighbour correlation and the mean
    correlation between channels, over ``region``."""
    v = noise[region]
    sd = v.std(axis=0)
    both = region[:, 1:] & region[:, :-1]
    d = (noise[:, 1:] - noise[:, :-1])[both]
    with np.errstate(divide="ignore", invalid="ignore"):
        neighbour = 1 - (d.std(axis=0) ** 2 / (2 * sd**2)).mean()
    c = np.corrcoef(v.T) if sd.min() > 0 else np.zeros((3, 3))
    return float(sd.mean()), float(neighbour), float((c[0, 1] + c[0, 2] + c[1, 2]) / 3)


def _ring(weight, grow=40):
    ys, xs = np.nonzero(weight > 0)
    ring = np.zeros(weight.shape, bool)
    ring[max(0, ys.min() - grow) : ys.max() + grow, max(0, xs.min() - grow) : xs.max() + grow] = 1
    return ring & (weight == 0)


# --------------------------------------------------------------------------- the measure


@pytest.mark.parametrize("mono", [True, False])
def test_measure_finds_level_colour_and_size_of_known_grain(mono):
    flat = np.full((256, 256, 3), 120.0, np.float32)
    fine = fg.measure_grain(flat + _grain((256, 256), 6.0, 0.25, mono), np.ones((256, 256), bool))
    coarse = fg.measure_grain(flat + _grain((256, 256), 6.0, 1.6, mono), np.ones((256, 256), bool))
    luma_sd = 6.0 * (1.0 if mono else float(np.linalg.norm(fg.LUMA)))
    assert fine.level == pytest.approx(luma_sd, rel=0.1)
    assert coarse.level == pytest.approx(luma_sd, rel=0.15)
    assert fine.size < 0.5 < 1.2 < coarse.size
    if mono:
        assert fine.colour < 0.05 and coarse.colour < 0.05
    else:
        assert fine.colour == pytest.approx(2 / 3, abs=0.08)
    assert "luminance" in fine.describe() if mono else "colour" in fine.describe()


def test_measure_skips_edges_and_needs_enough_flat_pixels():
    flat = np.full((200, 200, 3), 100.0, np.float32) + _grain((200, 200), 5.0, 0.25, True)
    edges = flat.copy()
    edges[:, ::8] += 80.0  # stripes over a quarter of the photo's width: not flat there
    region = np.zeros((200, 200), bool)
    region[:, :] = True
    base = fg.measure_grain(flat, region)
    striped = fg.measure_grain(np.where(np.arange(200)[None, :, None] < 50, edges, flat), region)
    assert striped.level == pytest.approx(base.level, rel=0.1)
    assert fg.measure_grain(flat, np.zeros((200, 200), bool)) is None


def test_synthesis_is_seeded_and_has_the_asked_covariance():
    cov = np.array([[25.0, 20.0, 10.0], [20.0, 25.0, 10.0], [10.0, 10.0, 16.0]])
    sizes, parts = (fg.WHITE,), cov[None]
    a = fg.synthesize((300, 300), sizes, parts, fg.grain_rng("face", 1))
    b = fg.synthesize((300, 300), sizes, parts, fg.grain_rng("face", 1))
    c = fg.synthesize((300, 300), sizes, parts, fg.grain_rng("face", 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.allclose(np.cov(a.reshape(-1, 3).T), cov, rtol=0.1, atol=1.0)


# --------------------------------------------------------------------------- in the pipeline


@pytest.fixture(scope="module")
def scene(tiny_checkpoint_128, astronaut):
    """A restorer, the astronaut without clipped values, its face, and a clean restored crop
    (the aligned face, lightly smoothed: what a clean GPEN output is like)."""
    clean = np.round(astronaut.astype(np.float32) * 0.8 + 25).astype(np.uint8)
    restorer = Restorer(RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu"))
    first = restorer.restore(Photo(pixels=clean))
    fr = first.faces[0]
    crop = cv2.GaussianBlur(fr.aligned_input, (0, 0), 1.0)
    return restorer, clean, [fr.face], crop


def _run(restorer, pixels, faces, crop, match, alpha=None):
    restorer.set_options(dataclasses.replace(restorer.options, match_grain=match))
    try:
        return restorer.restore(Photo(pixels=pixels, alpha=alpha), faces, reuse={0: crop})
    finally:
        restorer.set_options(dataclasses.replace(restorer.options, match_grain=False))


@pytest.mark.parametrize(
    "sigma, size, mono", [(8.0, 0.25, True), (8.0, 0.25, False), (6.0, 1.2, True)]
)
def test_noise_inside_the_pasted_face_matches_the_ring(scene, sigma, size, mono):
    restorer, clean, faces, crop = scene
    noisy = np.clip(clean + _grain(clean.shape[:2], sigma, size, mono), 0, 255)
    noisy = np.round(noisy).astype(np.uint8)
    reference = _run(restorer, clean, faces, crop, False).image.pixels.astype(np.float32)
    off = _run(restorer, noisy, faces, crop, False)
    on = _run(restorer, noisy, faces, crop, True)
    inside, ring = on.weight >= 0.999, _ring(on.weight)
    assert inside.sum() > 3000 and ring.sum() > 3000
    sd_off, _, _ = _noise_stats(off.image.pixels - reference, inside)
    sd_on, nb_on, ch_on = _noise_stats(on.image.pixels - reference, inside)
    sd_ring, nb_ring, ch_ring = _noise_stats(on.image.pixels - reference, ring)
    assert sd_ring == pytest.approx(sigma, rel=0.05)
    assert sd_off < 0.1 * sd_ring  # unmatched: the face is clean
    assert 0.8 <= sd_on / sd_ring <= 1.2  # matched: within 20 %
    assert nb_on == pytest.approx(nb_ring, abs=0.1)  # the same grain size
    assert ch_on == pytest.approx(ch_ring, abs=0.15)  # luminance-only or coloured alike
    # outside the faces nothing changes; with the option off, nothing at all is added
    assert np.array_equal(on.image.pixels[on.weight == 0], noisy[on.weight == 0])
    assert not np.array_equal(on.image.pixels, off.image.pixels)


def test_off_is_the_paste_without_grain_and_on_is_deterministic(scene):
    from gpen_desktop.core.faces.paste import paste_faces

    restorer, clean, faces, crop = scene
    noisy = np.round(np.clip(clean + _grain(clean.shape[:2], 7.0, 0.25, False), 0, 255))
    noisy = noisy.astype(np.uint8)
    off = _run(restorer, noisy, faces, crop, False)
    fr = off.faces[0]
    size = [min(fr.face.width, fr.face.height)]
    plain, _ = paste_faces(noisy, [crop], [fr.matrix], [fr.mask], [1.0], face_sizes=size)
    assert np.array_equal(off.image.pixels, plain)  # off: the paste as it always was
    a = _run(restorer, noisy, faces, crop, True)
    b = _run(restorer, noisy, faces, crop, True)
    assert np.array_equal(a.image.pixels, b.image.pixels)  # seeded: the same grain each run
    # recompositing with the option turned on gives the restore's output, and off again
    # gives the unmatched output back byte for byte
    on = composite(off, faces, dataclasses.replace(restorer.options, match_grain=True))
    assert np.array_equal(on.image.pixels, a.image.pixels)
    back = composite(on, faces, restorer.options)
    assert np.array_equal(back.image.pixels, off.image.pixels)


def test_sixteen_bit_photo_gets_sixteen_bit_grain(scene):
    restorer, clean, faces, crop = scene
    clean16 = clean.astype(np.uint16) * 257
    grain = _grain(clean.shape[:2], 8.0 * 257, 0.25, True)
    noisy16 = np.round(np.clip(clean16 + grain, 0, 65535)).astype(np.uint16)
    reference = _run(restorer, clean16, faces, crop, False).image.pixels.astype(np.float32)
    on = _run(restorer, noisy16, faces, crop, True)
    assert on.image.pixels.dtype == np.uint16
    noise = on.image.pixels - reference
    sd_in, _, _ = _noise_stats(noise, on.weight >= 0.999)
    sd_ring, _, _ = _noise_stats(noise, _ring(on.weight))
    assert sd_ring == pytest.approx(8.0 * 257, rel=0.05)
    assert 0.8 <= sd_in / sd_ring <= 1.2


def test_transparent_areas_are_not_measured(scene):
    """Around the face, a flat grey area without grain that is transparent: it is not read as
    the photo's (absent) grain, and the alpha comes through."""
    restorer, clean, faces, crop = scene
    noisy = np.round(np.clip(clean + _grain(clean.shape[:2], 8.0, 0.25, True), 0, 255))
    noisy = noisy.astype(np.uint8)
    first = _run(restorer, noisy, faces, crop, False)
    ring = _ring(first.weight, 60)
    ys, _xs = np.nonzero(ring)
    hole = ring & (np.arange(noisy.shape[0])[:, None] < np.median(ys))  # the ring's top half
    noisy[hole] = 128
    alpha = np.full(noisy.shape[:2], 255, np.uint8)
    alpha[hole] = 0
    on = _run(restorer, noisy, faces, crop, True, alpha=alpha)
    assert np.array_equal(on.image.alpha, alpha)
    reference = _run(restorer, noisy, faces, crop, False).image.pixels.astype(np.float32)
    added = on.image.pixels - reference  # the grain put on the face alone
    sd_added, _, _ = _noise_stats(added, on.weight >= 0.999)
    assert sd_added == pytest.approx(8.0, rel=0.2)


def test_a_face_that_fills_the_photo_takes_the_whole_photos_grain():
    """No ring around it: the grain is measured on the whole photo instead."""
    from gpen_desktop.core.faces.paste import paste_faces

    noisy = np.round(np.clip(120 + _grain((160, 160), 6.0, 0.25, True), 0, 255))
    noisy = noisy.astype(np.uint8)
    crop = np.full((128, 128, 3), 140, np.uint8)
    s = 128 / 150  # the crop covers 150 of the photo's 160 px
    matrix = np.array([[s, 0, -5 * s], [0, s, -5 * s]])
    plain, weight = paste_faces(noisy, [crop], [matrix], face_sizes=[150])
    out, _ = paste_faces(noisy, [crop], [matrix], face_sizes=[150], match_grain=True)
    inside = weight >= 0.999
    assert inside.sum() > 5000
    assert plain[inside].std() < 0.5  # the clean face
    assert out[inside].astype(np.float32).std() == pytest.approx(6.0, rel=0.2)
