"""Atomic writes and free-name finding (gpen_desktop.core.fileio)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gpen_desktop.core.errors import GpenError, ImageError
from gpen_desktop.core.fileio import atomic_open, atomic_write, is_temp_name, unique_path


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_success_renames_into_place(tmp_path):
    target = tmp_path / "out.png"
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".png"  # writers that choose the format by name see the real one
        assert tmp.name.startswith(".") and is_temp_name(tmp.name)
        assert tmp.exists() and not target.exists()
        tmp.write_bytes(b"payload")
    assert target.read_bytes() == b"payload"
    assert _leftovers(tmp_path) == ["out.png"]


def test_atomic_write_leaves_nothing_when_writer_raises(tmp_path):
    target = tmp_path / "out.bin"

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), atomic_write(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise Boom("writer crashed")
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_old_file_when_writer_raises_with_overwrite(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(ValueError), atomic_write(target, overwrite=True) as tmp:
        tmp.write_bytes(b"new but broken")
        raise ValueError("nope")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["out.bin"]


def test_atomic_write_refuses_existing_file_before_writing(tmp_path):
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"precious")
    ran = False
    with (
        pytest.raises(ImageError, match="already exists") as info,
        atomic_write(target, error=ImageError),
    ):
        ran = True
    assert not ran
    assert isinstance(info.value.__cause__, FileExistsError)
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"precious"


def test_atomic_write_does_not_clobber_file_created_meanwhile(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(GpenError, match="already exists"), atomic_write(target) as tmp:
        tmp.write_bytes(b"mine")
        target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's"
    assert _leftovers(tmp_path) == ["race.txt"]


def test_atomic_write_overwrite_replaces(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == ["out.txt"]


def test_atomic_write_missing_folder(tmp_path):
    target = tmp_path / "no" / "such" / "out.txt"
    with pytest.raises(GpenError, match="folder does not exist"), atomic_write(target):
        pass
    with atomic_write(target, parents=True) as tmp:
        tmp.write_text("ok")
    assert target.read_text() == "ok"


def test_atomic_write_target_is_a_folder(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(GpenError, match="folder"), atomic_write(tmp_path / "out.png", True):
        pass


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_write_uses_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "x.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.txt").stat().st_mode) == 0o644


def test_atomic_open_text_and_binary(tmp_path):
    with atomic_open(tmp_path / "a.json", "w") as f:
        f.write('{"name": "Zoë"}\n')
    assert (tmp_path / "a.json").read_text("utf-8") == '{"name": "Zoë"}\n'
    with atomic_open(tmp_path / "b.bin") as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(OSError), atomic_open(tmp_path / "c.bin") as f:
        f.write(b"partial")
        raise OSError("disk full")
    assert _leftovers(tmp_path) == ["a.json", "b.bin"]
    with pytest.raises(ValueError):
        atomic_open(tmp_path / "d", "a").__enter__()


def test_unique_path(tmp_path):
    p = tmp_path / "restored.png"
    assert unique_path(p) == p
    p.write_bytes(b"")
    assert unique_path(p) == tmp_path / "restored (1).png"
    (tmp_path / "restored (1).png").write_bytes(b"")
    (tmp_path / "restored (2).png").write_bytes(b"")
    assert unique_path(p) == tmp_path / "restored (3).png"
    assert unique_path(str(tmp_path / "noext")) == tmp_path / "noext"
    (tmp_path / "noext").write_bytes(b"")
    assert unique_path(tmp_path / "noext") == tmp_path / "noext (1)"


def test_atomic_copy_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import shutil

    from gpen_desktop.core.fileio import atomic_copy

    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 1000)

    def full(a, b, *args, **kwargs):
        Path(b).write_bytes(b"x" * 10)  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(GpenError) as info:
        atomic_copy(src, tmp_path / "out" / "dst.bin", parents=True)
    assert str(info.value) == f"cannot write {tmp_path / 'out' / 'dst.bin'}: disk full"
    assert isinstance(info.value.__cause__, OSError)
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_copy_copies_bytes(tmp_path):
    from gpen_desktop.core.fileio import atomic_copy

    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)))
    atomic_copy(src, tmp_path / "dst.bin")
    assert (tmp_path / "dst.bin").read_bytes() == bytes(range(256))
    with pytest.raises(GpenError, match="already exists"):
        atomic_copy(src, tmp_path / "dst.bin")


@pytest.mark.parametrize("parents", [True, False])
def test_a_file_where_a_folder_should_be_is_named(tmp_path, parents):
    blocker = tmp_path / "photo.jpg"
    blocker.write_bytes(b"jpeg")
    target = blocker / "restored" / "x.png"
    with pytest.raises(GpenError) as info, atomic_write(target, parents=parents):
        pass
    assert str(info.value) == f"cannot write {target}: {blocker} is a file, not a folder"
    assert blocker.read_bytes() == b"jpeg"


def test_move_into_place_replaces_or_refuses(tmp_path):
    from gpen_desktop.core.fileio import move_into_place

    part = tmp_path / "model.pth.part"
    part.write_bytes(b"new")
    dest = tmp_path / "model.pth"
    dest.write_bytes(b"old")
    with pytest.raises(ImageError, match="already exists"):
        move_into_place(part, dest, error=ImageError)
    assert dest.read_bytes() == b"old" and part.read_bytes() == b"new"  # both untouched
    move_into_place(part, dest, overwrite=True)
    assert dest.read_bytes() == b"new" and not part.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]


def test_move_into_place_failure_is_one_line_and_keeps_the_source(tmp_path, monkeypatch):
    import errno

    from gpen_desktop.core import fileio

    part = tmp_path / "model.pth.part"
    part.write_bytes(b"data")

    def refuse(src, dst):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fileio.os, "replace", refuse)
    with pytest.raises(ImageError) as info:
        fileio.move_into_place(part, tmp_path / "model.pth", overwrite=True, error=ImageError)
    assert str(info.value) == f"cannot write {tmp_path / 'model.pth'}: permission denied"
    assert part.read_bytes() == b"data" and not (tmp_path / "model.pth").exists()
