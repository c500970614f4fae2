"""Training data: reproducible per-sample degradation, the stream sampler, bad-data messages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from gpen_desktop.core.degrade import DegradeConfig
from gpen_desktop.core.training.data import (
    DataError,
    FaceDataset,
    StreamSampler,
    align_photos,
    make_loader,
    sample_pair,
    scan_faces,
)


def test_a_sample_depends_only_on_seed_epoch_and_index(astronaut_face):
    cfg = DegradeConfig()
    a = sample_pair(astronaut_face, (0, 3), 7, cfg, 0.5, 0.3)
    b = sample_pair(astronaut_face, (0, 3), 7, cfg, 0.5, 0.3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    others = [sample_pair(astronaut_face, key, 7, cfg, 0.5, 0.3)[1] for key in ((1, 3), (0, 4))]
    assert not any(np.array_equal(a[1], o) for o in others)
    flipped = [sample_pair(astronaut_face, (e, 0), 0, cfg, 0.5, 0.0)[0] for e in range(12)]
    assert any(np.array_equal(f, astronaut_face[:, ::-1]) for f in flipped)
    assert any(np.array_equal(f, astronaut_face) for f in flipped)


def test_gray_probability_one_makes_the_input_grey(astronaut_face):
    _hq, lq = sample_pair(astronaut_face, (0, 0), 0, DegradeConfig.only("jpeg"), 0.0, 1.0)
    assert np.array_equal(lq[..., 0], lq[..., 1]) and np.array_equal(lq[..., 1], lq[..., 2])


def test_workers_do_not_change_the_batches(faces_dir):
    report = scan_faces(faces_dir, 64)
    ds = FaceDataset(report.paths, 64, DegradeConfig(), seed=5)
    batches = []
    for workers in (0, 1):
        it = iter(make_loader(ds, 2, workers, rank=0, world_size=1, seed=5))
        batches.append([next(it) for _ in range(4)])  # 8 samples: crosses an epoch
        del it
    for (hq0, lq0), (hq1, lq1) in zip(*batches, strict=True):
        assert torch.equal(hq0, hq1) and torch.equal(lq0, lq1)
    assert batches[0][0][0].shape == (2, 3, 64, 64) and -1 <= batches[0][0][1].min() <= 1


def test_the_stream_starts_anywhere_and_ranks_get_disjoint_shards():
    def take(sampler, n):
        it = iter(sampler)
        return [next(it) for _ in range(n)]

    full = take(StreamSampler(5, 0, 1, seed=1), 12)
    assert take(StreamSampler(5, 0, 1, seed=1, start=7), 5) == full[7:]
    assert [e for e, _ in full] == [0] * 5 + [1] * 5 + [2] * 2
    assert sorted(i for _, i in full[:5]) == list(range(5))
    r0, r1 = take(StreamSampler(6, 0, 2, seed=1), 3), take(StreamSampler(6, 1, 2, seed=1), 3)
    assert not {i for _, i in r0} & {i for _, i in r1}


def test_empty_and_missing_folders_have_their_messages(tmp_path):
    with pytest.raises(DataError, match="folder not found"):
        scan_faces(tmp_path / "nope", 64)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no images"):
        scan_faces(tmp_path / "empty", 64)


def test_no_readable_image_is_an_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"not a png at all")
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="no readable image"):
        scan_faces(tmp_path, 64)


def test_images_below_a_quarter_of_the_size_are_listed(tmp_path, astronaut_face):
    cv2.imwrite(str(tmp_path / "big.png"), astronaut_face)
    for name in ("tiny1.png", "tiny2.png"):
        cv2.imwrite(str(tmp_path / name), cv2.resize(astronaut_face, (20, 20)))
    with pytest.raises(DataError) as err:
        scan_faces(tmp_path, 128)
    text = str(err.value)
    assert "2 image(s)" in text and "tiny1.png (20x20)" in text and "tiny2.png" in text
    assert "big.png" not in text and "\n" not in text


def test_unreadable_files_among_good_ones_are_skipped_and_counted(faces_dir, tmp_path):
    import shutil

    shutil.copytree(faces_dir, tmp_path / "faces")
    (tmp_path / "faces" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    report = scan_faces(tmp_path / "faces", 64)
    assert len(report.paths) == 6 and len(report.unreadable) == 1
    assert "skipped 1 unreadable" in report.notes()[0]


def test_align_detects_once_skips_photos_without_a_face_and_caches(tmp_path, astronaut):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.png"), astronaut[:, :, ::-1])
    cv2.imwrite(str(photos / "gravel.png"), data.gravel())
    report = align_photos(photos, 64, tmp_path / "cache")
    assert len(report.paths) == 1 and report.no_face == [photos / "gravel.png"]
    assert "1 of 2 photo(s) without a face" in report.notes()[0]
    crop = cv2.imread(str(report.paths[0]))
    assert crop.shape == (64, 64, 3)
    import gpen_desktop.core.faces as faces

    calls = []
    original = faces.detect_faces
    faces.detect_faces = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        again = align_photos(photos, 64, tmp_path / "cache")
    finally:
        faces.detect_faces = original
    assert again.paths == report.paths and again.no_face == report.no_face
    assert calls == []  # the second epoch / run does not detect again


def test_align_without_any_face_is_an_error(tmp_path):
    from skimage import data

    (tmp_path / "p").mkdir()
    cv2.imwrite(str(tmp_path / "p" / "gravel.png"), data.gravel())
    with pytest.raises(DataError, match="no face found in any of the 1 photo"):
        align_photos(tmp_path / "p", 64, tmp_path / "cache")
