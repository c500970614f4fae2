"""Session sidecars: round trip, relative paths, clear messages for broken files, warnings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gpen_desktop.core.errors import GpenError, SessionError
from gpen_desktop.core.pipeline import RestoreOptions
from gpen_desktop.core.session import (
    SESSION_VERSION,
    SIDECAR_SUFFIX,
    Session,
    load_session,
    make_session,
    options_from_dict,
    options_to_dict,
    save_session,
    sidecar_path,
)
from gpen_desktop.core.types import Face

LANDMARKS = ((203.333333333, 101.5), (246.8, 103.5), (225.0, 127.0), (201.0, 139.0), (246.0, 141.1))


@pytest.fixture()
def folder(tmp_path) -> Path:
    d = tmp_path / "album"
    d.mkdir()
    (d / "photo.png").write_bytes(b"pretend these are photo bytes")
    (d / "out").mkdir()
    (d / "out" / "photo_restored.png").write_bytes(b"restored")
    return d


@pytest.fixture()
def model(tmp_path) -> Path:
    m = tmp_path / "models" / "GPEN-BFR-512.pth"
    m.parent.mkdir()
    m.write_bytes(b"pretend these are weights")
    return m


def _faces() -> list[Face]:
    return [
        Face((178.9, 83.3, 264.9, 169.3), LANDMARKS, 1.4039781727327223),
        Face(
            (10.0, 20.0, 60.5, 80.25), None, 1.0, blend=0.35, manual=True
        ),  # drawn by hand, own blend
        Face((300.0, 40.0, 350.0, 95.0), LANDMARKS, 0.2, include=False),  # excluded
    ]


def _session(folder: Path, model: Path) -> Session:
    options = RestoreOptions(
        model_path=str(model),
        blend=0.7,
        mask="parsing",
        upscale=2,
        color_match=True,
        min_face=12.5,
        max_faces=3,
        precision="float32",
    )
    return make_session(
        folder / "photo.png",
        _faces(),
        options=options,
        exports=[folder / "out" / "photo_restored.png"],
    )


def test_sidecar_sits_beside_the_photo(tmp_path):
    assert SIDECAR_SUFFIX == ".gpen.json"
    assert sidecar_path(tmp_path / "a" / "photo.jpg") == tmp_path / "a" / "photo.jpg.gpen.json"


def test_round_trip_gives_equal_faces_options_and_exports(folder, model):
    session = _session(folder, model)
    path = save_session(session)
    assert path == folder / "photo.png.gpen.json"
    loaded = load_session(path)
    assert loaded == session
    assert loaded.faces[1] == _faces()[1] and loaded.faces[1].manual
    assert loaded.faces[2].include is False
    assert loaded.faces[0].landmarks == LANDMARKS  # full precision, not rounded
    assert loaded.options.max_faces == 3 and loaded.options.mask == "parsing"
    assert loaded.exports == [str(folder / "out" / "photo_restored.png")]
    assert loaded.version == SESSION_VERSION
    assert loaded.load_warnings == []
    assert session.check() == []
    assert list(folder.glob(".*tmp*")) == []  # written atomically, no temp file left


def test_saving_again_replaces_the_sidecar(folder, model):
    session = _session(folder, model)
    save_session(session)
    session.faces[0] = session.faces[0].with_(blend=0.1)
    save_session(session)
    assert load_session(sidecar_path(folder / "photo.png")).faces[0].blend == 0.1


def test_paths_are_relative_to_the_sidecar_when_inside_its_folder(folder, model, tmp_path):
    session = _session(folder, model)
    doc = json.loads(save_session(session).read_text())
    assert doc["photo"] == "photo.png"
    assert doc["exports"] == ["out/photo_restored.png"]
    assert doc["options"]["model_path"] == str(model)  # outside the folder: absolute
    assert doc["model_sha256"] == session.model_sha256 and len(doc["photo_sha256"]) == 64

    moved = shutil.move(folder, tmp_path / "moved album")  # the whole folder moves
    loaded = load_session(Path(moved) / "photo.png.gpen.json")
    assert loaded.photo == str(Path(moved) / "photo.png")
    assert loaded.exports == [str(Path(moved) / "out" / "photo_restored.png")]
    assert loaded.check() == []  # photo found at its new place, unchanged


def test_a_changed_photo_or_model_is_reported_not_refused(folder, model, tmp_path):
    session = _session(folder, model)
    save_session(session)
    (folder / "photo.png").write_bytes(b"someone edited the photo")
    other = tmp_path / "other.pth"
    other.write_bytes(b"other weights")
    loaded = load_session(sidecar_path(folder / "photo.png"))
    warnings = loaded.check()
    assert len(warnings) == 1 and "photo.png has changed" in warnings[0]
    assert any("not the file the session was made with" in w for w in loaded.check(None, other))
    model.unlink()
    assert any("is not at" in w for w in loaded.check())
    (folder / "photo.png").unlink()
    assert any("missing" in w for w in loaded.check())


def test_model_found_by_content_when_moved(folder, model, tmp_path):
    session = _session(folder, model)
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "unrelated.pth").write_bytes(b"nope")
    renamed = weights / "renamed.pth"
    shutil.move(model, renamed)
    assert session.find_model([weights]) == renamed
    assert session.find_model([tmp_path / "nowhere"]) is None


def test_options_dict_declared_once_unknown_ignored_missing_default():
    opts = RestoreOptions(blend=0.25, upscale=3)
    d = options_to_dict(opts)
    assert set(d) == set(RestoreOptions.__dataclass_fields__)
    assert options_from_dict(d) == opts
    warnings: list[str] = []
    got = options_from_dict({"blend": 0.5, "sharpen_more": True}, warnings)
    assert got == RestoreOptions(blend=0.5)
    assert warnings == ["ignored unknown option 'sharpen_more' (from another version?)"]
    assert options_from_dict({"blend": 1}).blend == 1.0  # a whole number is a fine float
    with pytest.raises(SessionError, match=r"'options.upscale' must be a whole number"):
        options_from_dict({"upscale": 1.5})
    with pytest.raises(SessionError, match=r"'options.color_match' must be true/false"):
        options_from_dict({"color_match": 1})
    with pytest.raises(SessionError, match="blend must be between 0 and 1"):
        options_from_dict({"blend": 3.0})


def _doc(folder: Path, model: Path) -> dict:
    return json.loads(save_session(_session(folder, model)).read_text())


def _write(folder: Path, content) -> Path:
    path = folder / "photo.png.gpen.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _message(path: Path) -> str:
    with pytest.raises(SessionError) as info:
        load_session(path)
    text = str(info.value)
    assert "\n" not in text and isinstance(info.value, GpenError)
    return text


def test_broken_files_get_one_line_messages(folder, model):
    good = json.dumps(_doc(folder, model), indent=2)
    name = "photo.png.gpen.json"
    assert "truncated" in _message(_write(folder, good[: len(good) // 2]))
    assert "damaged" in _message(_write(folder, good.replace('"faces"', '"faces" oops', 1)))
    assert "not text" in _message(_write(folder, b"\x89PNG\r\n\x1a\n\xff\xfe\x00"))
    assert _message(_write(folder, "")).startswith(f"{name} is not a readable session")
    assert "not a GPEN Desktop session" in _message(_write(folder, {"photo": "x.jpg"}))
    assert "not a GPEN Desktop session" in _message(_write(folder, [1, 2, 3]))
    assert "cannot read" in _message(folder / "missing.gpen.json")


def test_newer_version_says_so(folder, model):
    doc = _doc(folder, model)
    doc["version"] = 7
    assert _message(_write(folder, doc)) == (
        "photo.png.gpen.json was made by a newer GPEN Desktop (version 7); this one reads up to 1"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("faces"), "missing field 'faces'"),
        (lambda d: d.pop("photo"), "missing field 'photo'"),
        (lambda d: d.update(version="1"), "'version' must be a whole number"),
        (lambda d: d.update(photo=12), "'photo' must be text"),
        (lambda d: d.update(faces={}), "'faces' must be a list"),
        (lambda d: d["faces"][0].update(box="wide"), "'faces[0].box' must be a list of 4"),
        (lambda d: d["faces"][1].update(box=[1, 2, 3]), "'faces[1].box' must be a list of 4"),
        (lambda d: d["faces"][0].update(box=[5, 5, 1, 1]), "'faces[0].box' must have x1 > x0"),
        (lambda d: d["faces"][0].pop("box"), "missing field 'faces[0].box'"),
        (lambda d: d["faces"][0].update(landmarks=[[1, 2]]), "'faces[0].landmarks' must be 5"),
        (lambda d: d["faces"][2].update(include="yes"), "'faces[2].include' must be true/false"),
        (lambda d: d["faces"][1].update(blend=True), "'faces[1].blend' must be a number"),
        (lambda d: d["faces"][1].update(blend=2.0), "'faces[1].blend' must be between 0 and 1"),
        (lambda d: d["options"].update(blend="high"), "'options.blend' must be a number"),
        (lambda d: d.update(options=[]), "'options' must be an object"),
        (lambda d: d.update(exports="out.png"), "'exports' must be a list of paths"),
        (lambda d: d.update(model_sha256=5), "'model_sha256' must be text or null"),
    ],
)
def test_missing_or_wrong_typed_fields_are_named(folder, model, change, expected):
    doc = _doc(folder, model)
    change(doc)
    message = _message(_write(folder, doc))
    assert message.startswith("photo.png.gpen.json: ") and expected in message


def test_unknown_fields_and_options_load_with_warnings(folder, model):
    doc = _doc(folder, model)
    doc["brush_strokes"] = []
    doc["options"]["future_knob"] = 3
    del doc["options"]["mask"]  # missing: takes the default
    loaded = load_session(_write(folder, doc))
    assert loaded.options.mask == RestoreOptions().mask
    assert len(loaded.load_warnings) == 2
    assert any("brush_strokes" in w for w in loaded.load_warnings)
    assert any("future_knob" in w for w in loaded.load_warnings)


def test_no_mutation_of_a_valid_file_escapes_as_another_exception(folder, model):
    doc = _doc(folder, model)
    odd = [None, 0, -1, 1.5, "", "x", [], {}, True, [None] * 5, {"box": None}]
    paths = [(k,) for k in doc] + [("options", k) for k in doc["options"]]
    paths += [("faces", 0, k) for k in doc["faces"][0]] + [("faces", 0)]
    tried = 0
    for path in paths:
        for value in odd:
            mutated = json.loads(json.dumps(doc))
            target = mutated
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            try:
                load_session(_write(folder, mutated))
            except SessionError as exc:
                assert "\n" not in str(exc)
            tried += 1
    assert tried == len(paths) * len(odd)


def test_unwritable_place_is_a_session_error(folder, model, tmp_path):
    session = _session(folder, model)
    with pytest.raises(SessionError, match="cannot write"):
        save_session(session, tmp_path / "no such folder" / "s.gpen.json")


def test_make_session_needs_a_readable_photo(tmp_path):
    with pytest.raises(SessionError, match="cannot read the photo"):
        make_session(tmp_path / "gone.jpg", [])
    (tmp_path / "p.jpg").write_bytes(b"x")
    s = make_session(tmp_path / "p.jpg", [])
    assert s.model_sha256 is None and s.faces == [] and s.options == RestoreOptions()
