"""Damage masks: OpenCV fills the background, GPEN-Inpainting gets white strokes on faces."""

from __future__ import annotations

import numpy as np
import pytest

from gpen_desktop.core.errors import GpenError, ImageError
from gpen_desktop.core.inpaint import (
    as_damage_mask,
    fill_strokes,
    load_damage_mask,
    touches,
    warp_mask,
    whiten_strokes,
)
from gpen_desktop.core.pipeline import RestoreOptions, Restorer
from gpen_desktop.core.types import Photo


@pytest.fixture(scope="module")
def scene(astronaut):
    """The astronaut at 256 px, its face, and a damage mask: one stroke across the face, one
    in the background far from it; the photo has those strokes painted white (the damage)."""
    import cv2

    from gpen_desktop.core.faces import detect_faces

    face = detect_faces(astronaut, "dlib")[0]
    k = 0.5
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    lm = (np.asarray(face.landmarks) + 0.5) * k - 0.5
    face = face.with_(box=tuple(np.asarray(face.box) * k), landmarks=tuple(map(tuple, lm)))
    mask = np.zeros((256, 256), bool)
    mask[60:66, 95:130] = True  # across the forehead/eyes
    mask[220:226, 10:70] = True  # bottom-left background
    damaged = small.copy()
    damaged[mask] = 255
    return damaged, face, mask


@pytest.fixture(scope="module")
def inpaint_ckpt(tmp_path_factory):
    from gpen_desktop.core.gpen import random_checkpoint

    folder = tmp_path_factory.mktemp("inpaint")
    return random_checkpoint(folder / "GPEN-Inpainting-test.pth", 64, seed=7)


def test_mask_of_another_size_is_a_clear_error(tmp_path):
    with pytest.raises(ImageError, match="damage mask is 10x20 but the photo is 30x20"):
        as_damage_mask(np.zeros((20, 10), np.uint8), 30, 20)
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "m.png")
    with pytest.raises(ImageError, match="8x8 but the photo is 16x8"):
        load_damage_mask(tmp_path / "m.png", 16, 8)
    with pytest.raises(ImageError, match="damage mask"):
        load_damage_mask(tmp_path / "missing.png", 16, 8)


def test_mask_files_white_is_damaged_transparent_is_not(tmp_path):
    from PIL import Image

    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[1, 2] = (255, 255, 255, 255)
    rgba[2, 3] = (255, 255, 255, 0)  # white but transparent
    rgba[3, 4] = (40, 40, 40, 255)
    Image.fromarray(rgba).save(tmp_path / "m.png")
    m = load_damage_mask(tmp_path / "m.png", 6, 4)
    assert m.dtype == bool and m.sum() == 1 and m[1, 2]


@pytest.mark.parametrize("method", ["telea", "ns"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_fill_touches_only_the_strokes(method, dtype):
    yy, xx = np.mgrid[0:80, 0:120]
    top = 255 if dtype == np.uint8 else 65535
    img = np.dstack([xx * 2, yy * 3, xx + yy]).astype(np.float64) / 360 * top
    img = img.astype(dtype)
    mask = np.zeros((80, 120), bool)
    mask[30:36, 10:100] = True
    damaged = img.copy()
    damaged[mask] = top
    out = fill_strokes(damaged, mask, method)
    assert out.dtype == dtype
    assert np.array_equal(out[~mask], damaged[~mask])  # bit-identical away from strokes
    err = np.abs(out[mask].astype(float) - img[mask]).mean() / top
    assert err < 0.03  # a smooth gradient is filled from its surroundings


def test_stroke_pixels_turn_white_in_the_crop_only_under_the_stroke(scene):
    from gpen_desktop.core.faces.align import align_face

    damaged, face, mask = scene
    crop, matrix = align_face(damaged, face.landmarks_array(), 64)
    cm = warp_mask(mask, matrix, 64)
    assert 0 < cm.sum() < 64 * 64 * 0.2
    white = whiten_strokes(crop, cm)
    assert (white[cm] == 255).all()
    assert np.array_equal(white[~cm], crop[~cm])
    assert touches(mask, matrix, 64)
    far = np.zeros_like(mask)
    far[220:226, 10:70] = True
    assert not touches(far, matrix, 64)


def test_faces_under_strokes_go_through_the_inpainting_model(
    scene, inpaint_ckpt, tiny_checkpoint, monkeypatch
):
    from gpen_desktop.core.faces.align import align_face

    damaged, face, mask = scene
    clean = damaged.copy()
    clean[mask] = 90  # the original pixels under the strokes should not matter
    r = Restorer(
        RestoreOptions(
            model_path=str(tiny_checkpoint), device="cpu", inpaint_model=str(inpaint_ckpt)
        )
    )
    seen, restored_inputs = [], []
    real_inpaint = r.inpainter.restore_crops
    monkeypatch.setattr(
        r.inpainter, "restore_crops", lambda c, *a, **k: seen.extend(c) or real_inpaint(c, *a, **k)
    )
    real_restore = r.enhancer.restore_crops
    monkeypatch.setattr(
        r.enhancer,
        "restore_crops",
        lambda c, *a, **k: restored_inputs.extend(c) or real_restore(c, *a, **k),
    )
    res = r.restore(Photo(pixels=clean), [face], damage=mask)
    assert len(seen) == 1 and len(restored_inputs) == 1  # inpaint, then restore
    crop, matrix = align_face(clean, face.landmarks_array(), 64)
    cm = warp_mask(mask, matrix, 64)
    assert (seen[0][cm] == 255).all() and np.array_equal(seen[0][~cm], crop[~cm])
    assert res.inpainting == {
        "background": "OpenCV Telea",
        "faces_inpainted": 1,
        "faces": r.inpainter.info.name,
        "mode": "inpaint+restore",
    }
    out = res.image.pixels
    untouched = (res.weight == 0) & ~mask
    assert np.array_equal(out[untouched], clean[untouched])
    bg = mask.copy()
    bg[:200] = False  # the background stroke: filled by OpenCV from its surroundings
    assert (res.weight[bg] == 0).all()
    assert not np.array_equal(out[bg], clean[bg])


def test_inpaint_only_mode_skips_the_restorer_for_damaged_faces(
    scene, inpaint_ckpt, tiny_checkpoint, monkeypatch
):
    damaged, face, mask = scene
    r = Restorer(
        RestoreOptions(
            model_path=str(tiny_checkpoint),
            device="cpu",
            inpaint_model=str(inpaint_ckpt),
            inpaint_mode="inpaint",
        )
    )
    calls = []
    real = r.enhancer.restore_crops
    monkeypatch.setattr(r.enhancer, "restore_crops", lambda c, *a, **k: calls.append(1) or real(c))
    res = r.restore(Photo(pixels=damaged), [face], damage=mask)
    assert calls == [] and res.restored_count == 1
    assert res.faces[0].restored.shape == (64, 64, 3)
    assert (res.faces[0].aligned_input == 255).all(axis=2).any()  # shows the white strokes


def test_without_an_inpainting_model_opencv_fills_faces_too(scene, tiny_checkpoint, monkeypatch):
    damaged, face, mask = scene
    r = Restorer(RestoreOptions(model_path=str(tiny_checkpoint), device="cpu"))
    seen = []
    real = r.enhancer.restore_crops
    monkeypatch.setattr(r.enhancer, "restore_crops", lambda c, *a, **k: seen.extend(c) or real(c))
    res = r.restore(Photo(pixels=damaged), [face], damage=mask)
    assert res.inpainting["faces"] == "OpenCV Telea" and res.inpainting["faces_inpainted"] == 1
    assert not (seen[0] == 255).all(axis=2).any()  # the strokes were filled before the crop
    untouched = (res.weight == 0) & ~mask
    assert np.array_equal(res.image.pixels[untouched], damaged[untouched])
    bg = mask.copy()
    bg[:200] = False
    assert (res.image.pixels[bg] < 250).any()  # the white background stroke is gone


def test_the_inpainting_checkpoint_is_not_a_plain_restorer(inpaint_ckpt):
    r = Restorer(RestoreOptions(model_path=str(inpaint_ckpt), device="cpu"))
    with pytest.raises(GpenError, match="inpainting model"):
        r.enhancer  # noqa: B018


def test_bad_inpaint_options_are_clear():
    with pytest.raises(GpenError, match="inpaint method"):
        RestoreOptions(inpaint_method="magic").check()
    with pytest.raises(GpenError, match="inpaint mode"):
        RestoreOptions(inpaint_mode="both").check()
