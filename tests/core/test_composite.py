"""core.pipeline.composite: blend, exclusion and colour match pasted again from kept crops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpen_desktop.core.pipeline import RestoreOptions, Restorer, composite, pasted_crop
from gpen_desktop.core.types import Photo


@pytest.fixture(scope="module")
def setup(tiny_checkpoint_128, astronaut):
    restorer = Restorer(RestoreOptions(model_path=str(tiny_checkpoint_128), device="cpu"))
    face = restorer.restore(Photo(pixels=astronaut)).faces[0].face
    faces = [face, face.with_(box=tuple(v + 3 for v in face.box))]
    return restorer, Photo(pixels=astronaut), faces


def test_composite_equals_a_restore_with_the_new_settings_and_runs_no_network(setup, monkeypatch):
    restorer, photo, faces = setup
    first = restorer.restore(photo, faces)
    runs = []
    real = restorer.enhancer.restore_crops
    monkeypatch.setattr(
        restorer.enhancer,
        "restore_crops",
        lambda c, *a, **k: runs.append(len(c)) or real(c, *a, **k),
    )
    edited = [faces[0].with_(blend=0.4), faces[1].with_(include=False)]
    options = dataclasses.replace(restorer.options, blend=0.7, color_match=True)
    again = composite(first, edited, options)
    assert runs == []
    assert [fr.index for fr in again.faces] == [0]
    restorer.set_options(options)
    try:
        direct = restorer.restore(photo, edited)
    finally:
        restorer.set_options(dataclasses.replace(options, blend=1.0, color_match=False))
    assert np.array_equal(again.image.pixels, direct.image.pixels)
    # the full result with the first settings pastes back to the first output
    same = composite(first, faces, restorer.options)
    assert np.array_equal(same.image.pixels, first.image.pixels)


def test_pasted_crop_shows_the_blend(setup):
    restorer, photo, faces = setup
    result = restorer.restore(photo, faces[:1])
    fr = result.faces[0]
    shown = pasted_crop(result, fr).astype(int)
    inner = slice(32, 96)  # where the mask is 1
    assert np.abs(shown[inner, inner] - fr.restored[inner, inner]).mean() < 3
    original = composite(result, [faces[0].with_(blend=0.0)], restorer.options)
    back = pasted_crop(original, fr).astype(int)
    assert np.abs(back[inner, inner] - fr.aligned_input[inner, inner]).mean() < 3
