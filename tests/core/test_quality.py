"""The face quality score (core/faces/quality.py) and restoring only where it helps
(``RestoreOptions.skip_sharp`` / ``sharp_fade`` in core/pipeline.py)."""

from __future__ import annotations

import numpy as np
import pytest

from gpen_desktop.core.degrade import apply_steps
from gpen_desktop.core.faces.quality import FADE_WIDTH, SHARP, blend_factor, face_quality
from gpen_desktop.core.pipeline import RestoreOptions, Restorer, composite
from gpen_desktop.core.types import Face, Photo


@pytest.fixture(scope="module")
def face(astronaut) -> Face:
    """The astronaut's face as dlib finds it."""
    from gpen_desktop.core.faces.detect import detect_faces

    return detect_faces(astronaut, "dlib")[0]


def _mirror(face: Face, width: int, shift: float = 0.0) -> Face:
    """``face`` in the mirror image of a ``width`` px photo, moved right by ``shift``."""
    x0, y0, x1, y1 = face.box
    pts = [(width - 1 - x + shift, y) for x, y in face.landmarks]
    pts = [pts[1], pts[0], pts[2], pts[4], pts[3]]  # left and right swap in a mirror
    box = (width - 1 - x1 + shift, y0, width - 1 - x0 + shift, y1)
    return Face(box=box, landmarks=tuple(pts))


def _score(image, face) -> float:
    return face_quality(image, face.landmarks_array()).score


LADDERS = {
    "blur": [{"step": "gaussian_blur", "sigma": s} for s in (0.7, 2.0)],
    "noise": [{"step": "noise", "sigma": s, "gray": False, "noise_seed": 3} for s in (4.0, 12.0)],
    "jpeg": [{"step": "jpeg", "quality": q} for q in (45, 12)],
    "enlarged": [
        {"step": "downsample", "factor": f, "down": "area", "up": u}
        for f, u in ((2.0, "cubic"), (5.0, "nearest"))
    ],
}


@pytest.mark.parametrize("kind", sorted(LADDERS))
def test_score_orders_a_face_and_its_degraded_copies(astronaut, face, kind):
    """Clean > mild > strong, for each kind of damage; the clean face reads sharp."""
    clean = face_quality(astronaut, face.landmarks_array())
    mild, strong = (_score(apply_steps(astronaut, [s]), face) for s in LADDERS[kind])
    assert clean.score >= SHARP and clean.sharp and clean.words() == "sharp already"
    assert clean.score > mild > strong, (kind, clean.score, mild, strong)
    assert strong < 0.2


def test_parts_name_the_defect(astronaut, face):
    pts = face.landmarks_array()
    blurred = face_quality(apply_steps(astronaut, [LADDERS["blur"][1]]), pts)
    noisy = face_quality(apply_steps(astronaut, [LADDERS["noise"][1]]), pts)
    blocky = face_quality(apply_steps(astronaut, [LADDERS["jpeg"][1]]), pts)
    assert blurred.words() == "blurry" and blurred.sharpness < 0.3 < blurred.noise
    assert noisy.words() == "noisy" and 9 < noisy.noise_sigma < 15
    assert blocky.words() == "blocky" and blocky.jpeg > 0.6
    doc = blocky.to_json()
    assert set(doc) == {"score", "words", "sharpness", "noise", "blockiness", "measures"}
    assert set(doc["measures"]) == {"detail", "noise_sigma", "jpeg", "pixels", "measured_px"}
    assert "blocks strong" in blocky.parts_text()


def test_sixteen_bit_and_small_and_outside_faces(astronaut, face):
    pts = face.landmarks_array()
    eight = face_quality(astronaut, pts)
    sixteen = face_quality(astronaut.astype(np.uint16) * 257, pts)
    assert sixteen == eight  # measured as 8-bit
    # a face too small to hold detail reads soft: the same face at a third of the size
    import cv2

    small = cv2.resize(astronaut, (170, 170), interpolation=cv2.INTER_AREA)
    tiny = face_quality(small, (pts + 0.5) * 170 / 512 - 0.5)
    assert tiny.measured_px == 128 and tiny.score < 0.5 < eight.score
    assert face_quality(astronaut, pts + 5000) is None  # off the photo


def test_blend_factor_leaves_above_the_threshold_and_fades_under_it():
    assert blend_factor(0.99, 0.0) == 1.0  # off
    assert blend_factor(None, 0.8) == 1.0  # not measured: restored
    assert blend_factor(0.81, 0.8) == 0.0 and blend_factor(0.8, 0.8) == 1.0
    assert blend_factor(1.0, 1.0) == 1.0  # 1 leaves none
    assert blend_factor(0.7, 0.8, fade=True) == pytest.approx(0.1 / FADE_WIDTH)
    assert blend_factor(0.5, 0.8, fade=True) == 1.0
    assert blend_factor(0.9, 0.8, fade=True) == 0.0


# --------------------------------------------------------------------------- the pipeline


@pytest.fixture(scope="module")
def pair(astronaut, face):
    """The sharp astronaut beside a blurred mirror image, and the two faces."""
    blurred = apply_steps(astronaut[:, ::-1].copy(), [{"step": "gaussian_blur", "sigma": 2.5}])
    photo = np.ascontiguousarray(np.concatenate([astronaut, blurred], axis=1))
    return photo, [face, _mirror(face, 512, 512)]


@pytest.fixture
def counted(monkeypatch):
    """Every crop that goes through a network, counted."""
    from gpen_desktop.core.inference import Enhancer

    seen: list[int] = []
    real = Enhancer.restore_crops

    def restore_crops(self, crops, *args, **kwargs):
        seen.append(len(crops))
        return real(self, crops, *args, **kwargs)

    monkeypatch.setattr(Enhancer, "restore_crops", restore_crops)
    return seen


def _options(ckpt, **changes) -> RestoreOptions:
    return RestoreOptions(model_path=str(ckpt), device="cpu", precision="float32", **changes)


def test_skip_sharp_leaves_the_sharp_face_untouched_and_runs_no_network_for_it(
    pair, tiny_checkpoint, counted
):
    pixels, faces = pair
    result = Restorer(_options(tiny_checkpoint, skip_sharp=SHARP)).restore(
        Photo(pixels=pixels), faces
    )
    assert sum(counted) == 1  # only the blurred face went through the network
    assert result.left_sharp == (0,) and [fr.index for fr in result.faces] == [1]
    assert result.qualities[0].score > SHARP > result.qualities[1].score
    out = result.image.pixels
    assert np.array_equal(out[:, :512], pixels[:, :512])  # the sharp half, byte for byte
    assert not np.array_equal(out[:, 512:], pixels[:, 512:])  # the blurred face restored
    # recompositing keeps it so; with the threshold at 1 it would be restored again
    again = composite(result, faces, _options(tiny_checkpoint, skip_sharp=SHARP, blend=0.5))
    assert np.array_equal(again.image.pixels[:, :512], pixels[:, :512])
    assert again.left_sharp == (0,)


@pytest.mark.slow
def test_fade_lowers_the_blend_of_faces_just_under_the_threshold(pair, tiny_checkpoint):
    pixels, faces = pair
    r = Restorer(_options(tiny_checkpoint))
    score = _score(pixels, faces[1])
    threshold = min(1.0, score + FADE_WIDTH / 2)  # half-way into the fade
    full = r.restore(Photo(pixels=pixels), faces[1:])
    r.set_options(_options(tiny_checkpoint, skip_sharp=threshold, sharp_fade=True))
    faded = r.restore(Photo(pixels=pixels), faces[1:])
    assert full.restored_count == faded.restored_count == 1
    factor = blend_factor(score, threshold, True)
    assert 0.4 < factor < 0.6
    diff_faded = np.abs(faded.image.pixels.astype(int) - pixels).sum()
    diff_full = np.abs(full.image.pixels.astype(int) - pixels).sum()
    assert 0.3 * diff_full < diff_faded < 0.7 * diff_full


def test_option_off_the_score_changes_nothing(pair, tiny_checkpoint, monkeypatch):
    """Off (the default), the output is the same bytes whatever the faces score."""
    from gpen_desktop.core.faces import quality

    pixels, faces = pair
    r = Restorer(_options(tiny_checkpoint))
    before = r.restore(Photo(pixels=pixels), faces)
    perfect = quality.FaceQuality(1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 256)
    monkeypatch.setattr(quality, "face_quality", lambda *_a, **_k: perfect)
    after = r.restore(Photo(pixels=pixels), faces)
    assert before.left_sharp == after.left_sharp == ()
    assert np.array_equal(before.image.pixels, after.image.pixels)
    assert after.restored_count == 2


def test_sixteen_bit_photo_with_alpha_keeps_the_sharp_face(pair, tiny_checkpoint):
    pixels, faces = pair
    deep = pixels.astype(np.uint16) * 257
    alpha = np.full(pixels.shape[:2], 40000, np.uint16)
    result = Restorer(_options(tiny_checkpoint, skip_sharp=SHARP)).restore(
        Photo(pixels=deep, alpha=alpha), faces
    )
    assert result.image.pixels.dtype == np.uint16 and result.left_sharp == (0,)
    assert np.array_equal(result.image.pixels[:, :512], deep[:, :512])
    assert np.array_equal(result.image.alpha, alpha)


def test_a_sharp_face_under_damage_marks_is_restored(pair, tiny_checkpoint):
    pixels, faces = pair
    damage = np.zeros(pixels.shape[:2], bool)
    x0, y0, x1, y1 = (int(v) for v in faces[0].box)
    damage[(y0 + y1) // 2, x0:x1] = True  # a scratch across the sharp face
    result = Restorer(_options(tiny_checkpoint, skip_sharp=SHARP)).restore(
        Photo(pixels=pixels), faces, damage=damage
    )
    assert result.left_sharp == () and result.restored_count == 2
