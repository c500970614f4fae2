"""Whole-photo restoration through core.pipeline with a tiny random-weight GPEN."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.core.errors import Cancelled, GpenError
from gpen_desktop.core.imageio import load_photo, save_photo
from gpen_desktop.core.pipeline import RestoreOptions, Restorer
from gpen_desktop.core.types import Face, Photo


@pytest.fixture(scope="module")
def restorer(tiny_checkpoint_128):
    return Restorer(RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu", batch_size=2))


@pytest.fixture(scope="module")
def astro_result(restorer, astronaut):
    return restorer.restore(Photo(pixels=astronaut))


def test_restore_changes_pixels_only_inside_the_mask(astro_result, astronaut):
    r = astro_result
    assert r.detected == 1 and r.restored_count == 1
    out = r.image.pixels
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    outside = r.weight == 0
    assert outside.mean() > 0.5
    assert np.array_equal(out[outside], astronaut[outside])
    inside = r.weight > 0.5
    assert np.abs(out[inside].astype(int) - astronaut[inside]).mean() > 5
    # the mask sits on the face: the detected box centre is restored
    x0, y0, x1, y1 = r.faces[0].face.box
    assert r.weight[int((y0 + y1) / 2), int((x0 + x1) / 2)] > 0.9


def test_face_results_carry_crops_matrix_mask_and_timings(astro_result):
    fr = astro_result.faces[0]
    assert fr.aligned_input.shape == fr.restored.shape == (128, 128, 3)
    assert fr.matrix.shape == (2, 3) and fr.mask.shape == (128, 128)
    for key in ("detect", "align", "network", "paste", "total"):
        assert key in astro_result.timings
    assert astro_result.device == "cpu"


def test_given_faces_excluded_faces_and_drawn_boxes(restorer, astronaut, astro_result):
    face = astro_result.faces[0].face
    skipped = restorer.restore(Photo(pixels=astronaut), [face.with_(include=False)])
    assert skipped.restored_count == 0 and np.array_equal(skipped.image.pixels, astronaut)
    drawn = restorer.restore(Photo(pixels=astronaut), [Face(box=face.box)])
    assert drawn.restored_count == 1
    lm = np.asarray(drawn.faces[0].face.landmarks)
    assert np.abs(lm - np.asarray(face.landmarks)).max() < 8


def test_face_indices_are_positions_in_the_callers_list(restorer, astronaut, astro_result):
    face = astro_result.faces[0].face
    seen = []
    out = restorer.restore(
        Photo(pixels=astronaut),
        [face.with_(include=False), face],
        on_face=lambda i, a, r: seen.append(i),
    )
    assert [fr.index for fr in out.faces] == [1] and seen == [1]


def test_per_face_blend_zero_returns_the_original(restorer, astronaut, astro_result):
    face = astro_result.faces[0].face
    out = restorer.restore(Photo(pixels=astronaut), [face.with_(blend=0.0)])
    assert np.array_equal(out.image.pixels, astronaut)


def test_batches_give_the_same_result(tiny_checkpoint_128, astronaut):
    collage = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    results = []
    for bs in (1, 3):
        r = Restorer(
            RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu", batch_size=bs)
        )
        results.append(r.restore(Photo(pixels=collage)))
    assert results[0].restored_count == 2
    assert np.abs(results[0].image.pixels.astype(int) - results[1].image.pixels).max() <= 1


def test_cancel_raises_and_returns_nothing(restorer, astronaut):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        restorer.restore(Photo(pixels=astronaut), cancel=cancel)


def test_cancel_during_a_batch_stops_within_one_face(tiny_checkpoint_128, astronaut, astro_result):
    """Four faces in one batch of 4: a cancel asked while the first face runs stops the run
    before the second (a CPU runs them one per call when there is a cancel to honour)."""
    r = Restorer(RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu", batch_size=4))
    face = astro_result.faces[0].face
    enhancer = r.enhancer
    ran = []
    real = enhancer.forward

    def forward(batch):
        ran.append(len(batch))
        stop.append(True)  # the cancel is asked while this face runs
        return real(batch)

    enhancer.forward = forward
    stop: list[bool] = []
    with pytest.raises(Cancelled):
        r.restore(Photo(pixels=astronaut), [face] * 4, cancel=lambda: bool(stop))
    assert ran == [1]  # one face ran, not the batch of four
    ran.clear()
    res = r.restore(Photo(pixels=astronaut), [face] * 4)  # no cancel: the batch as asked
    assert ran == [4] and res.restored_count == 4


def test_progress_and_first_face_callbacks(restorer, astronaut):
    progress, faces = [], []
    restorer.restore(
        Photo(pixels=astronaut),
        progress=lambda d, t, m: progress.append((d, t)),
        on_face=lambda i, a, r: faces.append((i, r.shape)),
    )
    assert progress[-1] == (1, 1) and faces == [(0, (128, 128, 3))]


def test_upscale_doubles_the_photo(tiny_checkpoint_128, astronaut):
    r = Restorer(RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu", upscale=2))
    out = r.restore(Photo(pixels=astronaut, alpha=np.full(astronaut.shape[:2], 200, np.uint8)))
    assert out.image.pixels.shape == (1024, 1024, 3) and out.image.alpha.shape == (1024, 1024)


def test_bad_options_are_clear():
    with pytest.raises(GpenError, match="blend"):
        Restorer(RestoreOptions(model_path="x", blend=2))
    with pytest.raises(GpenError, match="upscale"):
        Restorer(RestoreOptions(model_path="x", upscale=0))
    with pytest.raises(GpenError, match="no model"):
        Restorer(RestoreOptions()).restore(Photo(pixels=np.zeros((8, 8, 3), np.uint8)))


# --------------------------------------------------------------------------- special photos


def test_exif_rotated_photo_is_restored_upright(tmp_path, restorer, astronaut):
    path = tmp_path / "rotated.jpg"
    stored = np.ascontiguousarray(np.rot90(astronaut, 1))  # stored sideways ...
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6  # ... displayed rotated 90° clockwise = upright
    img.save(path, exif=exif.tobytes(), quality=95)
    photo = load_photo(path)
    assert photo.pixels.shape == astronaut.shape
    out = restorer.restore(photo)
    assert out.restored_count == 1
    saved = load_photo(save_photo(out.image, tmp_path / "out.jpg"))
    assert saved.pixels.shape == astronaut.shape


def test_alpha_is_carried_through_untouched(tmp_path, restorer, astronaut):
    alpha = np.tile(np.linspace(0, 255, 512).astype(np.uint8), (512, 1))
    Image.fromarray(np.dstack([astronaut, alpha])).save(tmp_path / "a.png")
    out = restorer.restore(load_photo(tmp_path / "a.png"))
    save_photo(out.image, tmp_path / "o.png")
    back = np.asarray(Image.open(tmp_path / "o.png"))
    assert back.shape == (512, 512, 4) and np.array_equal(back[:, :, 3], alpha)


def test_gray_photo_comes_back_gray(tmp_path, restorer, astronaut):
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    Image.fromarray(gray).save(tmp_path / "g.png")
    photo = load_photo(tmp_path / "g.png")
    assert photo.is_gray
    out = restorer.restore(photo)
    assert out.restored_count == 1
    save_photo(out.image, tmp_path / "o.png")
    back = Image.open(tmp_path / "o.png")
    assert back.mode == "L"
    diff = np.abs(np.asarray(back).astype(int) - gray)
    assert diff.max() > 5 and (diff == 0).mean() > 0.5


def test_sixteen_bit_keeps_its_depth_outside_faces(tmp_path, restorer, astronaut):
    import cv2

    deep = astronaut.astype(np.uint16) * 257 + 100  # values that 8 bits cannot hold
    cv2.imwrite(str(tmp_path / "d.png"), deep[:, :, ::-1])
    photo = load_photo(tmp_path / "d.png")
    assert photo.pixels.dtype == np.uint16
    out = restorer.restore(photo)
    save_photo(out.image, tmp_path / "o.png")
    back = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert back.dtype == np.uint16
    outside = out.weight == 0
    assert np.array_equal(back[outside], deep[outside])


def test_colorization_model_gets_grey_faces_and_returns_colour(tmp_path, astronaut):
    from gpen_desktop.core.gpen import random_checkpoint

    ckpt = random_checkpoint(tmp_path / "GPEN-Colorization-test.pth", 64, seed=5)
    r = Restorer(RestoreOptions(model_path=str(ckpt), device="cpu"))
    gray = np.repeat(astronaut.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    out = r.restore(Photo(pixels=gray, is_gray=True))
    assert r.enhancer.info.task == "colorization"
    crop = out.faces[0].aligned_input
    assert np.array_equal(crop[:, :, 0], crop[:, :, 1])  # the network saw a grey face
    assert not out.image.is_gray


def test_reused_crops_skip_the_network_and_paste_the_same(
    tiny_checkpoint_128, astronaut, monkeypatch
):
    collage = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    r = Restorer(RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu"))
    first = r.restore(Photo(pixels=collage))
    faces = [fr.face for fr in first.faces]
    assert len(faces) == 2
    seen = []
    real = r.enhancer.restore_crops

    def counting(crops, *a, **k):
        seen.append(len(crops))
        return real(crops, *a, **k)

    monkeypatch.setattr(r.enhancer, "restore_crops", counting)
    again = r.restore(Photo(pixels=collage), faces, reuse={0: first.faces[0].restored})
    assert seen == [1]  # only the second face went through the network
    assert np.array_equal(again.image.pixels, first.image.pixels)
    both = r.restore(
        Photo(pixels=collage), faces, reuse={i: f.restored for i, f in enumerate(first.faces)}
    )
    assert seen == [1] and np.array_equal(both.image.pixels, first.image.pixels)


def test_changing_precision_keeps_the_loaded_model(tiny_checkpoint_128, monkeypatch):
    import dataclasses

    import gpen_desktop.core.checkpoints as checkpoints

    loads = []
    real = checkpoints.load_checkpoint
    monkeypatch.setattr(
        checkpoints, "load_checkpoint", lambda *a, **k: loads.append(a) or real(*a, **k)
    )
    opts = RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu", precision="float32")
    r = Restorer(opts)
    crop = np.full((128, 128, 3), 120, np.uint8)
    enh = r.enhancer
    enh.restore_crops([crop])
    assert enh.precision == "float32"
    r.set_options(dataclasses.replace(opts, precision="bfloat16"))
    assert r.enhancer is enh and len(loads) == 1  # same weights, no second read
    enh.restore_crops([crop])
    assert enh.precision == "bfloat16"


# --------------------------------------------------------------------------- overlapped runs


def _stages(log, fail_at=None, slow=0.0):
    import time

    def decode(item, _):
        log.append(("decode", item))
        if item == fail_at:
            raise GpenError(f"{item} is not a photo")
        time.sleep(slow)
        return [item]

    def network(item, value):
        log.append(("network", item))
        time.sleep(slow)
        return value + ["restored"]

    return [decode, network]


@pytest.mark.parametrize("bound", [1, 2, 3])
def test_overlapped_keeps_order_and_its_bound(bound):
    from gpen_desktop.core.overlap import overlapped

    log, counts, out = [], [], []
    for item, value in overlapped(range(12), _stages(log, slow=0.002), bound, None, counts.append):
        out.append((item, value))
    assert out == [(i, [i, "restored"]) for i in range(12)]
    assert max(counts) == bound and counts[-1] == 0  # never more in flight, counted
    if bound > 1:  # decoding ran ahead of the hand-backs
        assert log.index(("decode", 1)) < log.index(("network", 1))


def test_overlapped_reports_a_bad_item_and_goes_on():
    from gpen_desktop.core.overlap import Failed, overlapped

    log = []
    got = dict(overlapped(["a", "bad", "c"], _stages(log, fail_at="bad")))
    assert got["a"] == ["a", "restored"] and got["c"] == ["c", "restored"]
    assert isinstance(got["bad"], Failed) and got["bad"].stage == 0
    assert "not a photo" in str(got["bad"].error) and ("network", "bad") not in log


def test_overlapped_cancel_stops_cleanly():
    import threading

    from gpen_desktop.core.overlap import overlapped

    log, handed = [], []
    flag = threading.Event()
    with pytest.raises(Cancelled):
        for item, _value in overlapped(range(20), _stages(log, slow=0.002), 2, flag.is_set):
            handed.append(item)
            if item == 2:
                flag.set()
    assert handed == [0, 1, 2]
    assert len({i for _s, i in log}) <= 2 + 3  # nothing started after the cancel but the bound

    # a stage that raises Cancelled stops the run too
    def cancelling(item, _):
        if item == 1:
            raise Cancelled("cancelled")
        return item

    with pytest.raises(Cancelled):
        assert [i for i, _ in overlapped(range(5), [cancelling])] == [0]


def test_overlapped_restores_photos_like_the_serial_loop(restorer, astronaut, astro_result):
    """The CLI's two stages on a Restorer: detection in one thread, network in the other,
    the same results as one restore() each."""
    from gpen_desktop.core.overlap import overlapped

    photos = [Photo(pixels=astronaut), Photo(pixels=np.ascontiguousarray(astronaut[:, ::-1]))]
    stages = [
        lambda photo, _: restorer.detect(photo),
        lambda photo, faces: restorer.restore(photo, faces),
    ]
    results = [res for _p, res in overlapped(photos, stages)]
    assert np.array_equal(results[0].image.pixels, astro_result.image.pixels)
    serial = restorer.restore(photos[1])
    assert np.array_equal(results[1].image.pixels, serial.image.pixels)
