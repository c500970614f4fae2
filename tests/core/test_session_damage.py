"""A session's damage mask beside the photo: written atomically as a grey PNG, read back the
same, removed when nothing is marked, and a clear error when missing or of another size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gpen_desktop.core.errors import SessionError
from gpen_desktop.core.session import (
    damage_mask_path,
    load_session,
    load_session_damage,
    make_session,
    save_damage_mask,
    save_session,
)


@pytest.fixture
def photo(tmp_path, astronaut_png):
    import shutil

    path = tmp_path / "old photo.png"
    shutil.copy(astronaut_png, path)
    return path


def test_a_mask_round_trips_beside_the_photo(photo, tmp_path):
    mask = np.zeros((512, 512), bool)
    mask[100:110, 20:300] = True
    name = save_damage_mask(mask, photo)
    assert name == "old photo.png.damage.png" and damage_mask_path(photo).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    session = make_session(photo, [], damage_mask=name)
    sidecar = save_session(session)
    assert json.loads(sidecar.read_text())["damage_mask"] == name
    again = load_session(sidecar)
    assert np.array_equal(load_session_damage(again, photo.parent, 512, 512), mask)


def test_an_empty_mask_writes_no_file_and_removes_the_old_one(photo):
    mask = np.zeros((512, 512), np.uint8)
    mask[5, 5] = 1
    save_damage_mask(mask, photo)
    assert save_damage_mask(np.zeros_like(mask), photo) is None
    assert not damage_mask_path(photo).exists()
    assert save_damage_mask(None, photo) is None
    assert load_session_damage(make_session(photo, []), photo.parent, 512, 512) is None


def test_a_missing_or_mis_sized_mask_is_a_session_error(photo):
    session = make_session(photo, [], damage_mask="old photo.png.damage.png")
    with pytest.raises(SessionError, match="is missing"):
        load_session_damage(session, photo.parent, 512, 512)
    save_damage_mask(np.ones((10, 20), bool), photo)
    with pytest.raises(SessionError, match="20x10 but the photo is 512x512"):
        load_session_damage(session, photo.parent, 512, 512)
    with pytest.raises(SessionError, match="one channel"):
        save_damage_mask(np.ones((4, 4, 3), bool), photo)
