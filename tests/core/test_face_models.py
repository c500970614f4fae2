"""Per-face model choice: the size rule, faces sent to the models it picks, overrides, one
load per model, and sessions that keep the choice."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from gpen_desktop.core.errors import CheckpointError, GpenError
from gpen_desktop.core.face_models import (
    OFFICIAL_SIZES,
    choose_model_size,
    face_extent,
    models_by_size_from_files,
    models_by_size_in_weights,
)
from gpen_desktop.core.faces.align import TEMPLATE
from gpen_desktop.core.pipeline import RestoreOptions, Restorer
from gpen_desktop.core.types import Face, Photo


def face_of_extent(extent: float, x: float, y: float, **kw) -> Face:
    """A face whose aligned crop covers an ``extent`` px square with its corner at (x, y)."""
    lm = TEMPLATE * extent + (x, y)
    box = (x + 0.3 * extent, y + 0.35 * extent, x + 0.7 * extent, y + 0.8 * extent)
    return Face(box=box, landmarks=tuple(map(tuple, lm)), **kw)


@pytest.fixture(scope="module")
def photo() -> Photo:
    rng = np.random.default_rng(5)
    return Photo(pixels=rng.integers(0, 256, (360, 560, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def two_models(tiny_checkpoint, tiny_checkpoint_128):
    return ((64, str(tiny_checkpoint)), (128, str(tiny_checkpoint_128)))


@pytest.fixture()
def counted(monkeypatch):
    """Counts model loads per file and crops per model size."""
    import gpen_desktop.core.inference as inference
    import gpen_desktop.core.models as models

    loads: Counter = Counter()
    crops: Counter = Counter()
    real_load = models.load_model_file
    real_restore = inference.Enhancer.restore_crops

    def load(path, *a, **k):
        loads[str(path)] += 1
        return real_load(path, *a, **k)

    def restore_crops(self, batch, *a, **k):
        crops[self.size] += len(batch)
        assert all(c.shape == (self.size, self.size, 3) for c in batch)
        return real_restore(self, batch, *a, **k)

    monkeypatch.setattr(models, "load_model_file", load)
    monkeypatch.setattr(inference.Enhancer, "restore_crops", restore_crops)
    return loads, crops


def test_rule_smallest_size_at_least_the_face_capped_at_the_largest():
    assert [choose_model_size(px, OFFICIAL_SIZES) for px in (40, 256, 257, 700, 1024, 9000)] == [
        256,
        256,
        512,
        1024,
        1024,
        2048,
    ]
    # a 40 px face never goes through 2048 when smaller models exist; missing sizes go up
    assert choose_model_size(40, (2048, 512)) == 512
    assert choose_model_size(600, (256, 2048)) == 2048
    assert choose_model_size(600, (256, 512)) == 512  # capped at the largest present
    # tiny networks follow the same rule
    assert [choose_model_size(px, (128, 64)) for px in (10, 64, 65, 500)] == [64, 64, 128, 128]
    with pytest.raises(ValueError):
        choose_model_size(100, ())


def test_face_extent_is_the_side_of_the_aligned_region():
    assert face_extent(face_of_extent(90.0, 10, 20)) == pytest.approx(90.0)
    assert face_extent(face_of_extent(333.0, 0, 0)) == pytest.approx(333.0)
    assert face_extent(Face(box=(0, 0, 50, 80))) == 80.0  # no landmarks yet: the box


def test_faces_go_to_the_model_of_their_size(photo, two_models, counted):
    loads, crops = counted
    faces = [
        face_of_extent(40, 5, 5),  # -> 64
        face_of_extent(64, 60, 5),  # exactly 64 -> 64
        face_of_extent(100, 140, 5),  # -> 128
        face_of_extent(300, 250, 40),  # larger than all -> 128 (the largest)
        face_of_extent(50, 5, 200),  # -> 64
    ]
    r = Restorer(RestoreOptions(device="cpu", models_by_size=two_models, batch_size=2))
    result = r.restore(photo, faces)
    p64, p128 = two_models[0][1], two_models[1][1]
    assert [fr.model for fr in result.faces] == [p64, p64, p128, p128, p64]
    assert [fr.restored.shape[0] for fr in result.faces] == [64, 64, 128, 128, 64]
    assert [fr.mask.shape[0] for fr in result.faces] == [64, 64, 128, 128, 64]
    assert result.models == {p64: 3, p128: 2}
    assert crops == {64: 3, 128: 2}  # each group batched through its own model
    assert loads == {p64: 1, p128: 1}
    # pasted: every face changed the photo
    assert (result.weight > 0).sum() > 0
    # a second photo, the same Restorer: nothing is loaded again
    r.restore(photo, faces[:3])
    assert loads == {p64: 1, p128: 1} and crops == {64: 5, 128: 3}


def test_only_the_models_faces_need_are_loaded(photo, two_models, counted):
    loads, crops = counted
    r = Restorer(RestoreOptions(device="cpu", models_by_size=two_models))
    result = r.restore(photo, [face_of_extent(30, 5, 5), face_of_extent(45, 100, 5)])
    assert result.models == {two_models[0][1]: 2}
    assert loads == {two_models[0][1]: 1} and crops == {64: 2}
    assert result.device == "cpu"


def test_a_faces_own_model_wins(photo, two_models, counted):
    loads, crops = counted
    p64, p128 = two_models[0][1], two_models[1][1]
    faces = [face_of_extent(300, 5, 5, model=p64), face_of_extent(30, 320, 5, model=p128)]
    r = Restorer(RestoreOptions(device="cpu", models_by_size=two_models))
    assert [fr.model for fr in r.restore(photo, faces).faces] == [p64, p128]
    # the override also works with one model for the rest
    single = Restorer(RestoreOptions(device="cpu", model_path=p128))
    out = single.restore(photo, [face_of_extent(300, 5, 5, model=p64), face_of_extent(30, 320, 5)])
    assert [fr.model for fr in out.faces] == [p64, p128]
    assert loads == {p64: 2, p128: 2}  # one per Restorer and model


def test_without_models_by_size_every_face_takes_model_path(photo, two_models, counted):
    loads, crops = counted
    p64 = two_models[0][1]
    r = Restorer(RestoreOptions(device="cpu", model_path=p64))
    result = r.restore(photo, [face_of_extent(30, 5, 5), face_of_extent(300, 200, 5)])
    assert result.models == {p64: 2} and crops == {64: 2} and loads == {p64: 1}


def test_set_options_keeps_loaded_models(photo, two_models, counted):
    from dataclasses import replace

    loads, _ = counted
    options = RestoreOptions(device="cpu", models_by_size=two_models)
    r = Restorer(options)
    r.restore(photo, [face_of_extent(30, 5, 5), face_of_extent(300, 200, 5)])
    r.set_options(replace(options, blend=0.5))
    r.restore(photo, [face_of_extent(30, 5, 5), face_of_extent(300, 200, 5)])
    assert sum(loads.values()) == 2


def test_main_model_is_the_one_a_512_face_gets(two_models):
    assert RestoreOptions(models_by_size=two_models).main_model == two_models[1][1]
    assert RestoreOptions(model_path="x.pth", models_by_size=two_models).main_model == "x.pth"


@pytest.mark.parametrize(
    "pairs",
    [((64, "a.pth"), (64, "b.pth")), ((0, "a.pth"),), ((64, ""),), ((True, "a.pth"),)],
)
def test_bad_models_by_size_are_refused(pairs):
    with pytest.raises(GpenError):
        RestoreOptions(models_by_size=pairs).check()


def test_models_of_a_folder_one_per_size(tmp_path, tiny_checkpoint, tiny_checkpoint_128):
    import shutil

    from gpen_desktop.core.gpen import random_checkpoint

    shutil.copy(tiny_checkpoint, tmp_path / "small.pth")
    shutil.copy(tiny_checkpoint_128, tmp_path / "big.pth")
    random_checkpoint(tmp_path / "GPEN-Inpainting-1024.pth", 64, seed=3)  # never chosen
    got = models_by_size_in_weights([tmp_path])
    assert got == ((64, str(tmp_path / "small.pth")), (128, str(tmp_path / "big.pth")))
    assert models_by_size_in_weights([tmp_path / "missing"]) == ()
    files = [tmp_path / "big.pth", tmp_path / "small.pth"]
    assert models_by_size_from_files(files) == got
    with pytest.raises(CheckpointError, match="both 64 px"):
        models_by_size_from_files([tmp_path / "small.pth", tiny_checkpoint])
    with pytest.raises(CheckpointError, match="inpainting"):
        models_by_size_from_files([tmp_path / "GPEN-Inpainting-1024.pth"])


def test_sessions_keep_models_by_size_and_face_models(tmp_path, two_models):
    import shutil

    from gpen_desktop.core.session import load_session, make_session, save_session

    (tmp_path / "m").mkdir()
    local = tuple((n, shutil.copy(p, tmp_path / "m" / f"{n}.pth")) for n, p in two_models)
    local = tuple((n, str(p)) for n, p in local)
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"photo bytes")
    faces = [face_of_extent(90, 5, 5, model=local[0][1]), face_of_extent(40, 100, 5)]
    options = RestoreOptions(models_by_size=local, sr_model=str(tmp_path / "m" / "x2.pth"), tile=96)
    session = make_session(photo, faces, options=options)
    path = save_session(session)
    doc = json.loads(path.read_text())
    assert doc["options"]["models_by_size"] == {"64": "m/64.pth", "128": "m/128.pth"}
    assert doc["options"]["sr_model"] == "m/x2.pth"
    assert doc["faces"][0]["model"] == "m/64.pth" and doc["faces"][1]["model"] is None
    loaded = load_session(path)
    assert loaded.options.models_by_size == local
    assert loaded.faces[0].model == local[0][1]
    assert loaded.options.sr_model == str(tmp_path / "m" / "x2.pth") and loaded.options.tile == 96
    # a sidecar from before per-face models loads with one model for every face
    del doc["options"]["models_by_size"]
    for f in doc["faces"]:
        del f["model"]
    path.write_text(json.dumps(doc))
    old = load_session(path)
    assert old.options.models_by_size == () and old.faces[0].model is None
    # a broken entry is a one-line SessionError naming the field
    from gpen_desktop.core.errors import SessionError

    doc["options"]["models_by_size"] = {"big": "m/64.pth"}
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match="options.models_by_size"):
        load_session(path)


def test_switching_the_model_releases_the_old_one(photo, two_models, counted):
    from dataclasses import replace

    loads, _ = counted
    p64, p128 = two_models[0][1], two_models[1][1]
    options = RestoreOptions(device="cpu", model_path=p64)
    r = Restorer(options)
    r.restore(photo, [face_of_extent(30, 5, 5), face_of_extent(90, 200, 5, model=p128)])
    r.set_options(replace(options, model_path=p128))  # p128 is used: p64 goes, p128 stays
    assert [k[0] for k in r._enhancers] == [p128]
    r.restore(photo, [face_of_extent(30, 5, 5)])
    assert loads == {p64: 1, p128: 1}
