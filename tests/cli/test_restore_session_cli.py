"""``gpen restore --session``: re-runs a photo exactly as its session describes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from gpen_desktop.cli import main
from gpen_desktop.core.imageio import load_photo
from gpen_desktop.core.pipeline import RestoreOptions, Restorer
from gpen_desktop.core.session import load_session, make_session, save_session


@pytest.fixture(scope="module")
def detected(mirrored_pair_png, tiny_checkpoint):
    """The pipeline's own detection on the photo, left face first."""
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    faces = Restorer(opts).detect(load_photo(mirrored_pair_png))
    assert len(faces) == 2
    return sorted(faces, key=lambda f: f.box[0])


def _photo(tmp_path, mirrored_pair_png):
    folder = tmp_path / "album"
    folder.mkdir()
    return shutil.copy(mirrored_pair_png, folder / "pair.png")


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _box_region(face, pad: int = 0):
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    return slice(max(0, y0 - pad), y1 + pad), slice(max(0, x0 - pad), x1 + pad)


def test_session_gives_the_same_bytes_as_the_run_it_describes(
    tmp_path, mirrored_pair_png, detected, tiny_checkpoint, capsys
):
    photo = _photo(tmp_path, mirrored_pair_png)
    plain = tmp_path / "plain.png"
    args = ["--model_path", str(tiny_checkpoint), "--device", "cpu"]
    assert main(["restore", str(photo), "-o", str(plain), *args]) == 0
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    sidecar = save_session(make_session(photo, detected, options=opts))
    again = tmp_path / "again.png"
    capsys.readouterr()
    assert main(["restore", "--session", str(sidecar), "-o", str(again)]) == 0
    assert again.read_bytes() == plain.read_bytes()
    captured = capsys.readouterr()
    assert "2/2 faces (session)" in captured.out and "warning" not in captured.err


def test_excluded_face_untouched_and_per_face_blend_honoured(
    tmp_path, mirrored_pair_png, detected, tiny_checkpoint
):
    photo = _photo(tmp_path, mirrored_pair_png)
    left, right = detected
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    original = _pixels(photo)

    excluded = save_session(
        make_session(photo, [left, right.with_(include=False)], options=opts), tmp_path / "a.json"
    )
    out = tmp_path / "a.png"
    assert main(["restore", "--session", str(excluded), "-o", str(out)]) == 0
    got = _pixels(out)
    assert np.array_equal(got[:, 512:], original[:, 512:])  # the excluded (right) face
    assert not np.array_equal(got[_box_region(left)], original[_box_region(left)])

    half = save_session(
        make_session(photo, [left.with_(blend=0.0), right.with_(blend=0.5)], options=opts),
        tmp_path / "b.json",
    )
    out = tmp_path / "b.png"
    assert main(["restore", "--session", str(half), "-o", str(out)]) == 0
    got = _pixels(out)
    assert np.array_equal(got[:, :512], original[:, :512])  # blend 0: the original
    full = Restorer(opts).restore(load_photo(photo), [right]).image.pixels.astype(int)
    region = _box_region(right)
    # blend 0.5 lands halfway between the original and the fully restored face
    assert np.abs(got[region] - (original[region] + full[region]) / 2).max() <= 1
    assert np.abs(got[region] - original[region]).max() > 4


def test_command_line_options_override_and_are_named(
    tmp_path, mirrored_pair_png, detected, tiny_checkpoint, capsys
):
    photo = _photo(tmp_path, mirrored_pair_png)
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu", blend=0.6)
    sidecar = save_session(make_session(photo, detected, options=opts))
    out = tmp_path / "o.png"
    # --blend 1.0 is also the parser's default: given explicitly, it still overrides
    assert main(["restore", "--session", str(sidecar), "-o", str(out), "--blend", "0"]) == 0
    assert "overrides the session's blend 0.6 -> 0.0" in capsys.readouterr().err
    assert np.array_equal(_pixels(out), _pixels(photo))
    full = tmp_path / "full.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(full), "--blend", "1.0"]) == 0
    assert "blend 0.6 -> 1.0" in capsys.readouterr().err
    plain = tmp_path / "plain.png"
    assert (
        main(["restore", str(photo), "-o", str(plain), "--model_path", str(tiny_checkpoint)]) == 0
    )
    assert full.read_bytes() == plain.read_bytes()


def test_moved_model_is_found_by_content_and_a_missing_one_is_explained(
    tmp_path, mirrored_pair_png, detected, tiny_checkpoint, monkeypatch, capsys
):
    photo = _photo(tmp_path, mirrored_pair_png)
    old = tmp_path / "old" / "tiny.pth"
    old.parent.mkdir()
    shutil.copy(tiny_checkpoint, old)
    opts = RestoreOptions(model_path=str(old), device="cpu")
    sidecar = save_session(make_session(photo, detected, options=opts))
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setenv("GPEN_WEIGHTS_DIR", str(weights))
    shutil.move(old, weights / "renamed.pth")
    out = tmp_path / "o.png"
    assert main(["restore", "--session", str(sidecar), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["results"][0]
    assert report["model"] == str(weights / "renamed.pth")
    assert any("moved" in w for w in report["warnings"])

    (weights / "renamed.pth").unlink()
    out.unlink()
    assert main(["restore", "--session", str(sidecar), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "the session's model (tiny.pth, SHA-256" in err and "pass --model_path" in err
    assert not out.exists()


def test_a_batch_of_sessions_with_one_broken_file(
    tmp_path, mirrored_pair_png, detected, tiny_checkpoint
):
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    sidecars = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        photo = shutil.copy(mirrored_pair_png, folder / f"{name}.png")
        sidecars.append(str(save_session(make_session(photo, detected[:1], options=opts))))
    broken = tmp_path / "broken.gpen.json"
    broken.write_text('{"format": "gpen-desktop-session", "version": 1, "pho')
    out = tmp_path / "out"
    argv = ["restore", "-o", str(out), "--json"]
    for s in (sidecars[0], str(broken), sidecars[1]):
        argv += ["--session", s]
    assert main(argv) == 1
    assert sorted(p.name for p in out.iterdir()) == ["one_restored.png", "two_restored.png"]
    assert load_session(sidecars[0]).faces[0] == detected[0]


def test_session_with_photos_is_refused(tmp_path, mirrored_pair_png, capsys):
    assert main(["restore", str(mirrored_pair_png), "--session", "x.gpen.json"]) == 2
    assert "either photos or --session" in capsys.readouterr().err


def test_sessions_and_photos_share_one_report_and_skip_existing(
    tmp_path, mirrored_pair_png, detected, tiny_checkpoint, capsys
):
    photo = _photo(tmp_path, mirrored_pair_png)
    opts = RestoreOptions(model_path=str(tiny_checkpoint), device="cpu")
    sidecar = str(save_session(make_session(photo, detected[:1], options=opts)))
    out = tmp_path / "out"
    common = ["-o", str(out), "--json"]
    assert main(["restore", "--session", sidecar, *common]) == 0
    session_run = json.loads(capsys.readouterr().out)
    assert main(["restore", str(photo), *common, "--suffix", "_p", "-m", str(tiny_checkpoint)]) == 0
    photo_run = json.loads(capsys.readouterr().out)
    rep, photo_rep = session_run["results"][0], photo_run["results"][0]
    # one report: the photo's fields, and what a session adds
    assert set(photo_rep) - {"models"} <= set(rep)
    assert set(rep) - set(photo_rep) <= {"session", "warnings", "overrides", "model", "models"}
    assert (rep["faces_found"], rep["faces_restored"], rep["status"]) == (1, 1, "ok")
    assert set(photo_run["summary"]) - {"model", "model_size"} == set(session_run["summary"])
    # --skip-existing leaves the session's output as it is
    before = (out / "pair_restored.png").stat().st_mtime_ns
    assert main(["restore", "--session", sidecar, *common, "--skip-existing"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["results"][0]["status"] == "skipped" and again["summary"]["skipped"] == 1
    assert (out / "pair_restored.png").stat().st_mtime_ns == before


def test_the_restore_loop_is_shared():
    from gpen_desktop.commands import restore_session

    assert not hasattr(restore_session, "Tools") and not hasattr(restore_session, "run_sessions")
