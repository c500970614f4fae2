"""Recovery copies on disk (core/recovery.py, no Qt): a round trip gives the same composite
byte for byte, a crash halfway through a write leaves the previous copy, the size cap drops
the oldest copies, and a changed or vanished photo is told apart."""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import pytest

from gpen_desktop.core import recovery
from gpen_desktop.core.errors import RecoveryError
from gpen_desktop.core.faces.paste import reference_mask
from gpen_desktop.core.options import RestoreOptions
from gpen_desktop.core.pipeline import FaceResult, PasteBase, RestoreResult, composite
from gpen_desktop.core.types import Face, Photo


def _face(x: float) -> Face:
    return Face(
        box=(x, 10.0, x + 20.0, 30.0),
        landmarks=((x + 6, 16.0), (x + 14, 16.0), (x + 10, 20.0), (x + 7, 25.0), (x + 13, 25.0)),
        score=0.9,
    )


@pytest.fixture
def work(tmp_path):
    """A photo file, its Photo, and a kept restore of two faces (random crops)."""
    import cv2

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 96, 3), np.uint8)
    path = tmp_path / "group.png"
    cv2.imwrite(str(path), pixels[:, :, ::-1])
    photo = Photo(pixels=pixels, path=path, format="PNG")
    faces = (_face(8.0), _face(60.0).with_(blend=0.5))
    results, matrices = [], []
    for i, f in enumerate(faces):
        m = np.array([[0.8, 0.05, -f.box[0] * 0.8], [-0.05, 0.8, -5.0]])
        results.append(
            FaceResult(
                i,
                f,
                rng.integers(0, 256, (16, 16, 3), np.uint8),
                rng.integers(0, 256, (16, 16, 3), np.uint8),
                m,
                reference_mask(16),
                "model.pth",
            )
        )
        matrices.append(m)
    base = PasteBase(pixels, matrices, 1, False, False, photo)
    options = RestoreOptions(blend=0.8)
    result = RestoreResult(image=photo, faces=results, paste_base=base, device="cpu")
    kept = recovery.KeptResult(result, faces, options, None, True)
    return path, photo, faces, kept


def _snap(path, faces, kept=None, **kw) -> recovery.Snapshot:
    values = dict(
        photo=str(path),
        name=path.name,
        faces=tuple(faces),
        numbers=tuple(range(1, len(faces) + 1)),
        options=RestoreOptions(blend=0.7),
        kept=kept,
        result_key=None if kept is None else 1,
        owner="gone",
    )
    values.update(kw)
    return recovery.Snapshot(**values)


def test_a_copy_read_back_composites_byte_for_byte(tmp_path, work):
    path, photo, faces, kept = work
    marks = np.zeros((48, 96), np.uint8)
    marks[5:9, 30:50] = 1
    edited = (faces[0].with_(blend=0.3), faces[1])
    folder = tmp_path / "rec" / "one"
    written = recovery.write_copy(
        folder, _snap(path, edited, kept, damage=marks, damage_key=1, numbers=(3, 4))
    )
    assert written.files["result"] and written.files["damage"] and written.bytes > 0
    [info] = recovery.list_copies(tmp_path / "rec")
    assert (info.name, info.faces, info.has_result, info.photo_state) == (
        "group.png", 2, True, "same",
    )  # fmt: skip
    got = recovery.read_copy(info, photo)
    assert got.notes == [] and got.numbers == (3, 4)
    assert tuple(got.session.faces) == edited
    assert got.session.options == RestoreOptions(blend=0.7)
    assert np.array_equal(got.damage, marks != 0)
    assert got.kept.faces == faces and got.kept.options == kept.options
    want = composite(kept.result, list(edited), got.session.options).image.pixels
    again = composite(got.kept.result, list(edited), got.session.options).image.pixels
    assert np.array_equal(want, again)
    for a, b in zip(kept.result.faces, got.kept.result.faces, strict=True):
        assert a.face == b.face and a.index == b.index and a.model == b.model
        assert np.array_equal(a.restored, b.restored) and np.array_equal(a.mask, b.mask)
    # the session file is a session sidecar: core.session reads it
    from gpen_desktop.core.session import load_session

    assert load_session(folder / written.files["session"]).faces == list(edited)


def test_unchanged_marks_and_result_are_named_again_not_written_again(tmp_path, work):
    path, _photo, faces, kept = work
    marks = np.ones((48, 96), np.uint8)
    folder = tmp_path / "rec" / "one"
    first = recovery.write_copy(folder, _snap(path, faces, kept, damage=marks, damage_key=7))
    result_file = folder / first.files["result"]
    stamp = result_file.stat().st_mtime_ns
    second = recovery.write_copy(folder, _snap(path, faces[:1], kept, damage=marks, damage_key=7))
    assert second.files["result"] == first.files["result"]
    assert second.files["damage"] == first.files["damage"]
    assert second.files["session"] != first.files["session"]
    assert result_file.stat().st_mtime_ns == stamp
    # the old session file went once the new manifest named the new one
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["manifest.json", *(f for f in second.files.values() if f)]
    )
    third = recovery.write_copy(folder, _snap(path, faces[:1], None))  # marks and result gone
    assert third.files == {"session": third.files["session"], "damage": None, "result": None}
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", third.files["session"]]


@pytest.mark.parametrize("stage", ["damage", "result", "session", "manifest"])
def test_a_crash_while_writing_leaves_the_previous_copy(tmp_path, work, monkeypatch, stage):
    path, photo, faces, kept = work
    folder = tmp_path / "rec" / "one"
    recovery.write_copy(folder, _snap(path, faces, kept))

    class Crash(Exception):
        pass

    def crash(at: str) -> None:
        if at == stage:
            raise Crash(at)

    monkeypatch.setattr(recovery, "write_hook", crash)
    marks = np.ones((48, 96), np.uint8)
    changed = _snap(path, faces[:1], kept, damage=marks, damage_key=2, result_key=2)
    with pytest.raises(Crash):
        recovery.write_copy(folder, changed)
    [info] = recovery.list_copies(tmp_path / "rec")
    got = recovery.read_copy(info, photo)
    assert tuple(got.session.faces) == faces and got.damage is None and got.kept is not None
    monkeypatch.setattr(recovery, "write_hook", None)
    recovery.write_copy(folder, changed)  # the next write cleans up what the crash left
    got = recovery.read_copy(recovery.list_copies(tmp_path / "rec")[0], photo)
    assert tuple(got.session.faces) == faces[:1] and got.damage.all()
    names = {p.name for p in folder.iterdir()}
    assert len([n for n in names if n.startswith("result-")]) == 1
    assert len([n for n in names if n.startswith("session-")]) == 1


def test_the_size_cap_drops_the_oldest_copies_first(tmp_path, work):
    path, _photo, faces, kept = work
    root = tmp_path / "rec"
    folders = [root / f"c{i}" for i in range(3)]
    for i, folder in enumerate(folders):
        recovery.write_copy(folder, _snap(path, faces, kept, result_key=i))
        time.sleep(0.01)
    sizes = [c.bytes for c in recovery.list_copies(root)]
    removed = recovery.enforce_cap(root, sizes[1] + sizes[2], keep=[folders[2]])
    assert removed == [folders[0]]
    assert [c.folder for c in recovery.list_copies(root)] == folders[1:]
    # the copy just written stays even when it alone is over the cap
    assert recovery.enforce_cap(root, 1, keep=[folders[1]]) == [folders[2]]
    assert [c.folder for c in recovery.list_copies(root)] == [folders[1]]


def test_a_changed_or_vanished_photo_is_told_and_its_kept_faces_left_out(tmp_path, work):
    path, photo, faces, kept = work
    root = tmp_path / "rec"
    recovery.write_copy(root / "one", _snap(path, faces, kept))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched, same bytes
    assert recovery.list_copies(root)[0].photo_state == "same"
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data) + b"\0")  # another file now
    [info] = recovery.list_copies(root)
    assert info.photo_state == "changed" and "group.png has changed" in info.note
    got = recovery.read_copy(info, dataclasses.replace(photo))
    assert got.kept is None and tuple(got.session.faces) == faces
    assert got.notes == ["its restored faces were made from another version of the photo"]
    path.unlink()
    [info] = recovery.list_copies(root)
    assert info.photo_state == "gone" and str(path) in info.note


def test_listing_skips_live_owners_and_clears_copies_that_never_got_a_manifest(tmp_path, work):
    path, _photo, faces, _kept = work
    root = tmp_path / "rec"
    recovery.write_copy(root / "mine", _snap(path, faces, owner="alive"))
    recovery.write_copy(root / "theirs", _snap(path, faces, owner="dead"))
    stub = root / "stub"
    stub.mkdir()
    (stub / "session-1.json").write_text("{}")
    old = time.time() - 3600
    os.utime(stub, (old, old))
    listed = recovery.list_copies(root, is_orphan=lambda owner: owner == "dead")
    assert [c.folder.name for c in listed] == ["theirs"]
    assert not stub.exists()
    recovery.remove_copy(root / "theirs")
    assert not (root / "theirs").exists()
    (root / "bad").mkdir()
    (root / "bad" / "manifest.json").write_text("{not json")
    with pytest.raises(RecoveryError, match="damaged"):
        recovery.read_manifest(root / "bad")
    assert [c.folder.name for c in recovery.list_copies(root)] == ["mine"]
