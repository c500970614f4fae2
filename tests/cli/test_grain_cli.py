"""``gpen restore --match-grain``: folder runs, sessions (saved, re-run, overridden), 16-bit and
alpha inputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core.imageio import load_photo, save_photo
from gpen_desktop.core.pipeline import RestoreOptions, Restorer
from gpen_desktop.core.session import load_session, make_session, save_session
from gpen_desktop.core.types import Photo


@pytest.fixture(scope="module")
def grainy(astronaut):
    """The astronaut with colour grain (sigma 7), no clipped values."""
    rng = np.random.default_rng(5)
    base = astronaut.astype(np.float32) * 0.8 + 25
    return np.round(np.clip(base + rng.normal(0, 7, base.shape), 0, 255)).astype(np.uint8)


def _args(model):
    return ["--model_path", str(model), "--device", "cpu"]


def _grain_sd(out, photo, inside):
    """Standard deviation of the high-pass of ``out`` (less the same of ``photo`` nowhere):
    a plain measure of how grainy ``inside`` is."""
    import cv2

    f = out.astype(np.float32)
    high = f - cv2.GaussianBlur(f, (0, 0), 1.5)
    return float(high[inside].std())


@pytest.mark.slow
def test_folder_run_matches_grain_and_off_is_the_plain_run(tmp_path, grainy, tiny_checkpoint):
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.fromarray(grainy).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(grainy[:, ::-1])).save(folder / "b.png")
    plain, matched = tmp_path / "plain", tmp_path / "matched"
    assert main(["restore", str(folder), "-o", str(plain), *_args(tiny_checkpoint)]) == 0
    assert (
        main(["restore", str(folder), "-o", str(matched), "--match-grain", *_args(tiny_checkpoint)])
        == 0
    )
    for name in ("a_restored.png", "b_restored.png"):
        p = np.asarray(Image.open(plain / name))
        m = np.asarray(Image.open(matched / name))
        changed = np.any(p != m, axis=2)
        assert changed.mean() > 0.02  # every face got grain ...
        # ... and only faces: the rest of the photo is the input, as without the option
        source = grainy if name == "a_restored.png" else grainy[:, ::-1]
        ys, xs = np.nonzero(np.any(p != source, axis=2))  # where the plain run pasted a face
        grow = (ys.max() - ys.min()) // 4  # (grain also lands where the mask is faint)
        outside = np.ones(changed.shape, bool)
        outside[
            max(0, ys.min() - grow) : ys.max() + grow, max(0, xs.min() - grow) : xs.max() + grow
        ] = False
        assert not np.any(changed & outside)
        assert _grain_sd(m, grainy, changed) > 1.5 * _grain_sd(p, grainy, changed)


@pytest.mark.slow
def test_sessions_keep_the_option_and_the_command_line_overrides_it(
    tmp_path, grainy, tiny_checkpoint, capsys
):
    photo = tmp_path / "scan.png"
    Image.fromarray(grainy).save(photo)
    direct = tmp_path / "direct.png"
    args = ["restore", str(photo), "-o", str(direct), "--match-grain", *_args(tiny_checkpoint)]
    assert main(args) == 0
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu", match_grain=True)
    faces = Restorer(opts).detect(load_photo(photo))
    sidecar = save_session(make_session(photo, faces, options=opts))
    assert load_session(sidecar).options.match_grain is True  # saved and read back
    again = tmp_path / "again.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(again)]) == 0
    assert again.read_bytes() == direct.read_bytes()  # seeded: the same grain
    # a session without it, re-run with --match-grain, gets it (and says so)
    sidecar = save_session(make_session(photo, faces, options=opts.replace(match_grain=False)))
    capsys.readouterr()
    over = tmp_path / "over.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(over), "--match-grain"]) == 0
    assert "match-grain False -> True" in capsys.readouterr().err
    assert over.read_bytes() == direct.read_bytes()


@pytest.mark.slow
def test_sixteen_bit_with_alpha_keeps_depth_and_alpha(tmp_path, grainy, tiny_checkpoint):
    rgb16 = grainy.astype(np.uint16) * 257
    alpha = np.full(grainy.shape[:2], 65535, np.uint16)
    alpha[:, :60] = 0  # a transparent strip at the left
    path = tmp_path / "scan16.png"
    save_photo(Photo(pixels=rgb16, alpha=alpha), path)
    out = tmp_path / "out16.png"
    plain = tmp_path / "plain16.png"
    assert (
        main(["restore", str(path), "-o", str(out), "--match-grain", *_args(tiny_checkpoint)]) == 0
    )
    assert main(["restore", str(path), "-o", str(plain), *_args(tiny_checkpoint)]) == 0
    got, ref = load_photo(out), load_photo(plain)
    assert got.pixels.dtype == np.uint16 and np.array_equal(got.alpha, alpha)
    changed = np.any(got.pixels != ref.pixels, axis=2)
    assert changed.mean() > 0.02
    # 16-bit grain: not steps of 257 (it was made at 16 bits, not at 8 and scaled)
    assert np.any(got.pixels[changed] % 257 != 0)
