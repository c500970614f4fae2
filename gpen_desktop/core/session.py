"""Sessions: a photo as a document, saved in a small JSON sidecar beside it.

A session records what a person did to one photo in the app so the same restoration can be
run again (``gpen restore --session FILE``) or reopened later: the faces with their boxes and
landmarks as edited (included or excluded, per-face blend, drawn by hand or detected), the
:class:`~gpen_desktop.core.pipeline.RestoreOptions`, the model's identity (SHA-256 of its
file, so a moved or renamed checkpoint is still found) and the paths of exported results.

The sidecar of ``photo.jpg`` is ``photo.jpg.gpen.json`` in the same folder. Its format::

    {"format": "gpen-desktop-session", "version": 1,
     "photo": "photo.jpg", "photo_sha256": "…",
     "model_sha256": "…" | null,
     "options": {<RestoreOptions fields>, "models_by_size": {"256": "GPEN-BFR-256.pth", …}},
     "faces": [{"box": [x0, y0, x1, y1], "landmarks": [[x, y] × 5] | null, "score": s,
                "blend": b | null, "include": true, "manual": false, "model": null}, …],
     "exports": ["photo_restored.jpg", …],
     "damage_mask": "photo.jpg.damage.png" | null}

A face's ``"model"`` is its own restoration model file (``Face.model``; null = the run's
choice). Sidecars written before per-face models existed load unchanged (no
``models_by_size``: one model for every face).

Paths (photo, exports, the model files in ``options`` and in faces, ``options.weights_dir``,
``options.sr_model``, ``options.inpaint_model``) are stored relative to the sidecar's folder when the file lies in that folder or below it, absolute otherwise; in
memory they are always absolute. Coordinates are photo pixels after EXIF orientation, stored
at full float precision (a round trip gives equal faces).

:func:`load_session` raises only :class:`~gpen_desktop.core.errors.SessionError`, with a
one-line message, for anything wrong with the file itself. A photo or model that changed since
the session was saved is not an error: :meth:`Session.check` lists plain-words warnings.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpen_desktop.core.errors import GpenError, SessionError
from gpen_desktop.core.options import OPTIONS, RENAMED, RestoreOptions
from gpen_desktop.core.types import Face

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".gpen.json"
SESSION_VERSION = 1
SESSION_FORMAT = "gpen-desktop-session"

#: RestoreOptions fields that hold file or folder paths (stored relative where possible).
_PATH_OPTIONS = ("model_path", "weights_dir", "sr_model", "inpaint_model")


def sidecar_path(photo_path: str | os.PathLike[str]) -> Path:
    """The session file of a photo: ``photo.jpg`` -> ``photo.jpg.gpen.json`` beside it."""
    p = Path(photo_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


DAMAGE_SUFFIX = ".damage.png"


def damage_mask_path(photo_path: str | os.PathLike[str]) -> Path:
    """The damage mask file of a photo's session: ``photo.jpg`` -> ``photo.jpg.damage.png``."""
    p = Path(photo_path)
    return p.with_name(p.name + DAMAGE_SUFFIX)


def save_damage_mask(mask: Any, photo_path: str | os.PathLike[str]) -> str | None:
    """Write a damage mask (HxW, nonzero = damaged) beside the photo as an 8-bit grey PNG
    (white = damaged), atomically, and return its file name for :attr:`Session.damage_mask`.
    A mask that is None or marks nothing writes no file (and removes this app's own earlier
    mask file of the photo) and returns None. SessionError when it cannot be written."""
    import cv2
    import numpy as np

    from gpen_desktop.core.fileio import atomic_write

    target = damage_mask_path(photo_path)
    m = None if mask is None else np.asarray(mask)
    if m is None or not m.any():
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the old damage mask %s: %s", target, exc)
        return None
    if m.ndim != 2:
        raise SessionError(f"a damage mask must be one channel, got shape {m.shape}")
    ok, data = cv2.imencode(".png", np.where(m != 0, 255, 0).astype(np.uint8))
    if not ok:
        raise SessionError("cannot encode the damage mask as PNG")
    with atomic_write(target, overwrite=True, error=SessionError) as tmp:
        tmp.write_bytes(data.tobytes())
    return target.name


def load_session_damage(session: Session, folder: str | os.PathLike[str], width: int, height: int):
    """The session's damage mask (HxW bool, True = damaged) for a width x height photo, read
    from ``folder`` (the sidecar's), or None when the session has none. SessionError when the
    file is missing, unreadable or of another size."""
    from gpen_desktop.core.inpaint import load_damage_mask

    if not session.damage_mask:
        return None
    path = Path(folder) / session.damage_mask
    if not path.is_file():
        raise SessionError(f"the session's damage mask {path} is missing")
    try:
        return load_damage_mask(path, width, height)
    except GpenError as exc:
        raise SessionError(f"the session's damage mask {path.name}: {exc}") from None


@dataclass
class Session:
    """Everything needed to redo the restoration of one photo.

    ``photo`` and ``exports`` are absolute paths in memory. ``model_sha256`` identifies the
    checkpoint of ``options.model_path`` by content (None when none was chosen or it was not
    readable). ``damage_mask`` is the file name of a PNG beside the sidecar (white = damaged),
    or None. ``load_warnings`` (not saved, not compared) collects what :func:`load_session`
    ignored, e.g. unknown option names from another version.
    """

    photo: str
    photo_sha256: str
    faces: list[Face]
    options: RestoreOptions
    model_sha256: str | None = None
    exports: list[str] = field(default_factory=list)
    version: int = SESSION_VERSION
    damage_mask: str | None = None
    load_warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def restore_faces(self) -> list[Face]:
        """The faces as :meth:`Restorer.restore` takes them (excluded ones included, marked)."""
        return list(self.faces)

    def check(
        self,
        photo_path: str | os.PathLike[str] | None = None,
        model_path: str | os.PathLike[str] | None = None,
    ) -> list[str]:
        """Plain-words warnings about what changed since the session was saved.

        ``photo_path`` defaults to :attr:`photo`, ``model_path`` to ``options.model_path``.
        Reports a missing photo, a photo whose contents differ (SHA-256), a missing model
        file and a model file other than the one the session was made with. Empty when all
        is as it was. Never raises for missing or unreadable files.
        """
        from gpen_desktop.core.downloads import sha256_file

        warnings: list[str] = []
        photo = Path(photo_path if photo_path is not None else self.photo)
        try:
            digest = sha256_file(photo)
        except OSError:
            warnings.append(f"the photo {photo} is missing or unreadable")
        else:
            if digest != self.photo_sha256:
                warnings.append(
                    f"the photo {photo.name} has changed since the session was saved: "
                    "faces may no longer be where the session puts them"
                )
        model = model_path if model_path is not None else self.options.model_path
        if self.model_sha256 is not None:
            if not model:
                warnings.append("no model file given; the session was made with another one")
            else:
                try:
                    digest = sha256_file(model)
                except OSError:
                    warnings.append(f"the session's model {Path(model).name} is not at {model}")
                else:
                    if digest != self.model_sha256:
                        warnings.append(
                            f"the model {Path(model).name} is not the file the session was "
                            "made with: results will differ"
                        )
        return warnings

    def find_model(self, folders: Iterable[str | os.PathLike[str]] | None = None) -> Path | None:
        """The checkpoint whose SHA-256 is :attr:`model_sha256`, or None if nowhere to be found.

        Tries ``options.model_path`` first, then every checkpoint-like file in ``folders``
        (default: ``options.weights_dir`` and the default weights folder), so a model that was
        moved or renamed is found by content. Without a recorded SHA-256 it returns
        ``options.model_path`` when that file exists.
        """
        from gpen_desktop.core.catalog import CHECKPOINT_EXTENSIONS
        from gpen_desktop.core.downloads import sha256_file
        from gpen_desktop.core.models import default_weights_dir

        first = Path(self.options.model_path) if self.options.model_path else None
        if self.model_sha256 is None:
            return first if first is not None and first.is_file() else None
        candidates: list[Path] = [first] if first is not None else []
        if folders is None:
            folders = [f for f in (self.options.weights_dir, default_weights_dir()) if f]
        extensions = CHECKPOINT_EXTENSIONS
        for folder in folders:
            folder = Path(folder)
            if folder.is_dir():
                candidates += sorted(
                    p
                    for p in folder.iterdir()
                    if p.suffix.lower() in extensions and not p.name.startswith(".")
                )
        seen: set[Path] = set()
        for path in candidates:
            try:
                key = path.resolve()
                if key in seen or not path.is_file():
                    continue
                seen.add(key)
                if sha256_file(path) == self.model_sha256:
                    return path
            except OSError as exc:
                log.debug("cannot hash %s: %s", path, exc)
        return None


# --------------------------------------------------------------------------- building


def make_session(
    photo_path: str | os.PathLike[str],
    faces: Sequence[Face],
    options: RestoreOptions = RestoreOptions(),  # noqa: B008 - frozen dataclass, never mutated
    exports: Iterable[str | os.PathLike[str]] = (),
    damage_mask: str | None = None,
) -> Session:
    """A session for ``photo_path`` with ``faces`` as edited (``Face.manual`` for a face drawn
    by hand), the run's ``options``, the exported files so far and the file name of
    its damage mask beside the photo (:func:`save_damage_mask`; None: no damage marked).

    Computes the photo's SHA-256 (:class:`SessionError` if it cannot be read) and the model's
    (None when ``options.model_path`` is empty or unreadable).
    """
    from gpen_desktop.core.downloads import sha256_file

    photo = Path(photo_path).absolute()
    try:
        photo_sha = sha256_file(photo)
    except OSError as exc:
        raise SessionError(f"cannot read the photo {photo}: {exc.strerror or exc}") from exc
    model_sha = None
    if options.model_path:
        options = dataclasses.replace(options, model_path=str(Path(options.model_path).absolute()))
        try:
            model_sha = sha256_file(options.model_path)
        except OSError as exc:
            log.warning(
                "session without model identity: cannot read %s: %s", options.model_path, exc
            )
    return Session(
        photo=str(photo),
        photo_sha256=photo_sha,
        faces=list(faces),
        options=options,
        model_sha256=model_sha,
        exports=[str(Path(e).absolute()) for e in exports],
        damage_mask=damage_mask,
    )


# --------------------------------------------------------------------------- options <-> dict


def options_to_dict(options: RestoreOptions) -> dict[str, Any]:
    """Every session field of ``options`` (the option table's) by name (JSON-ready values; ``models_by_size`` as an object
    ``{"256": path, …}``)."""
    data = {o.name: getattr(options, o.name) for o in OPTIONS if o.session}
    data["models_by_size"] = {str(size): path for size, path in options.models_by_size}
    return data


def _models_by_size_from(value: Any, where: str) -> tuple[tuple[int, str], ...]:
    """``{"256": path, …}`` (or a list of [size, path] pairs) -> sorted (size, path) pairs."""
    name = f"{where}.models_by_size"
    pairs = value.items() if isinstance(value, dict) else value
    if not isinstance(pairs, (list, type({}.items()))):
        raise SessionError(f"'{name}' must be an object of size: model file, got {_short(value)}")
    out: dict[int, str] = {}
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise SessionError(f"'{name}' must map sizes to model files, got {_short(value)}")
        size, path = pair
        try:
            size_n = int(size) if not isinstance(size, (bool, float)) else None
        except ValueError:
            size_n = None
        if size_n is None or size_n < 1 or not isinstance(path, str) or not path:
            raise SessionError(
                f"'{name}' must map positive whole sizes to model files, got {_short([size, path])}"
            )
        out[size_n] = path
    return tuple(sorted(out.items()))


def _option_types() -> dict[str, Any]:
    return typing.get_type_hints(RestoreOptions)


def _type_ok(value: Any, hint: Any) -> bool:
    """Is a JSON value acceptable for a field annotated ``hint`` (int, float, str, bool,
    ``X | None``)? bool is not a number here; an int is a fine float."""
    args = typing.get_args(hint)
    if args:  # a union such as ``int | None``
        return any(_type_ok(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True


def _type_name(hint: Any) -> str:
    args = typing.get_args(hint)
    if args:
        return " or ".join(_type_name(a) for a in args)
    return {type(None): "null", bool: "true/false", int: "a whole number", float: "a number"}.get(
        hint, "text" if hint is str else getattr(hint, "__name__", str(hint))
    )


def options_from_dict(
    data: dict[str, Any], warnings: list[str] | None = None, where: str = "options"
) -> RestoreOptions:
    """:class:`RestoreOptions` from a dict: missing fields take their defaults, unknown ones
    are ignored (each noted in ``warnings`` and logged), a value of the wrong type or out of
    range raises :class:`SessionError` naming the field."""
    if not isinstance(data, dict):
        raise SessionError(f"'{where}' must be an object")
    hints = _option_types()
    known = {o.name for o in OPTIONS if o.session}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "models_by_size":
            values[key] = _models_by_size_from(value, where)
            continue
        if key in RENAMED and RENAMED[key] not in data:
            key = RENAMED[key]  # a file from before the field was renamed
        if key not in known:
            note = f"ignored unknown option '{key}' (from another version?)"
            log.warning("%s", note)
            if warnings is not None:
                warnings.append(note)
            continue
        if not _type_ok(value, hints[key]):
            raise SessionError(f"'{where}.{key}' must be {_type_name(hints[key])}, got {value!r}")
        if hints[key] is float and isinstance(value, int):
            value = float(value)
        values[key] = value
    options = RestoreOptions(**values)
    try:
        options.check()
    except GpenError as exc:
        raise SessionError(f"'{where}': {exc}") from exc
    return options


# --------------------------------------------------------------------------- paths


def _store_path(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` (POSIX separators) when it lies inside it, else absolute."""
    p = Path(path).absolute()
    try:
        return p.relative_to(folder.absolute()).as_posix()
    except ValueError:
        return str(p)


def _load_path(stored: str, folder: Path) -> str:
    p = Path(stored)
    return os.path.normpath(p if p.is_absolute() else folder.absolute() / p)


# --------------------------------------------------------------------------- JSON


def session_to_dict(session: Session, folder: Path) -> dict[str, Any]:
    """The JSON document of ``session`` for a sidecar in ``folder``."""
    options = options_to_dict(session.options)
    for key in _PATH_OPTIONS:
        if options.get(key):
            options[key] = _store_path(options[key], folder)
    options["models_by_size"] = {
        size: _store_path(path, folder) for size, path in options["models_by_size"].items()
    }
    faces = []
    for f in session.faces:
        faces.append(
            {
                "box": [float(v) for v in f.box],
                "landmarks": None
                if f.landmarks is None
                else [[float(x), float(y)] for x, y in f.landmarks],
                "score": float(f.score),
                "blend": None if f.blend is None else float(f.blend),
                "include": bool(f.include),
                "manual": bool(f.manual),
                "model": None if not f.model else _store_path(f.model, folder),
            }
        )
    return {
        "format": SESSION_FORMAT,
        "version": session.version,
        "photo": _store_path(session.photo, folder),
        "photo_sha256": session.photo_sha256,
        "model_sha256": session.model_sha256,
        "options": options,
        "faces": faces,
        "exports": [_store_path(e, folder) for e in session.exports],
        "damage_mask": session.damage_mask,
    }


def save_session(session: Session, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``session`` as JSON to ``path`` (default: :func:`sidecar_path` of its photo),
    atomically (a crash never leaves half a file; an existing sidecar is replaced). Returns the
    path written; :class:`SessionError` with a one-line message when it cannot be written."""
    from gpen_desktop.core.fileio import atomic_open

    target = Path(path) if path is not None else sidecar_path(session.photo)
    try:
        text = json.dumps(session_to_dict(session, target.parent), indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"cannot save the session: {exc}") from exc
    try:
        with atomic_open(target, "w", overwrite=True, error=SessionError) as fh:
            fh.write(text + "\n")
    except OSError as exc:
        raise SessionError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target


def _require(
    data: dict, key: str, kind: type | tuple[type, ...], what: str, where: str = ""
) -> Any:
    name = f"{where}.{key}" if where else key
    if key not in data:
        raise SessionError(f"missing field '{name}'")
    value = data[key]
    bad_bool = isinstance(value, bool) and bool not in (
        kind if isinstance(kind, tuple) else (kind,)
    )
    if not isinstance(value, kind) or bad_bool:
        raise SessionError(f"'{name}' must be {what}, got {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SessionError(f"'{name}' must be a number, got {_short(value)}")
    return float(value)


def _optional(data: dict, key: str, kind: type, what: str, where: str = "") -> Any:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        name = f"{where}.{key}" if where else key
        raise SessionError(f"'{name}' must be {what} or null, got {_short(value)}")
    return value


def _face_from_dict(data: Any, i: int, folder: Path) -> Face:
    where = f"faces[{i}]"
    if not isinstance(data, dict):
        raise SessionError(f"'{where}' must be an object")
    box = _require(data, "box", list, "a list of 4 numbers", where)
    if len(box) != 4:
        raise SessionError(f"'{where}.box' must be a list of 4 numbers, got {_short(box)}")
    box = tuple(_number(v, f"{where}.box") for v in box)
    if not (box[2] > box[0] and box[3] > box[1]):
        raise SessionError(f"'{where}.box' must have x1 > x0 and y1 > y0, got {list(box)}")
    landmarks = data.get("landmarks")
    if landmarks is not None:
        ok = isinstance(landmarks, list) and len(landmarks) == 5
        ok = ok and all(isinstance(p, list) and len(p) == 2 for p in landmarks)
        if not ok:
            raise SessionError(
                f"'{where}.landmarks' must be 5 [x, y] points or null, got {_short(landmarks)}"
            )
        landmarks = tuple(
            (_number(x, f"{where}.landmarks"), _number(y, f"{where}.landmarks"))
            for x, y in landmarks
        )
    score = data.get("score", 1.0)
    score = _number(score, f"{where}.score")
    blend = data.get("blend")
    if blend is not None:
        blend = _number(blend, f"{where}.blend")
        if not 0.0 <= blend <= 1.0:
            raise SessionError(f"'{where}.blend' must be between 0 and 1, got {blend}")
    include = data.get("include", True)
    if not isinstance(include, bool):
        raise SessionError(f"'{where}.include' must be true/false, got {_short(include)}")
    manual = data.get("manual", False)
    if not isinstance(manual, bool):
        raise SessionError(f"'{where}.manual' must be true/false, got {_short(manual)}")
    model = _optional(data, "model", str, "text", where)
    model = _load_path(model, folder) if model else None
    return Face(
        box=box,
        landmarks=landmarks,
        score=score,
        blend=blend,
        include=include,
        model=model,
        manual=manual,
    )


def session_from_dict(data: Any, folder: Path, name: str = "session") -> Session:
    """Parse a sidecar's JSON document (paths resolved against ``folder``); SessionError."""
    if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
        raise SessionError(f"{name} is not a GPEN Desktop session file")
    version = _require(data, "version", int, "a whole number")
    if version > SESSION_VERSION:
        raise SessionError(
            f"{name} was made by a newer GPEN Desktop (version {version}); "
            f"this one reads up to {SESSION_VERSION}"
        )
    if version < 1:
        raise SessionError(f"'version' must be 1 or more, got {version}")
    warnings: list[str] = []
    photo = _require(data, "photo", str, "text")
    photo_sha = _require(data, "photo_sha256", str, "text")
    model_sha = _optional(data, "model_sha256", str, "text")
    options_data = dict(_require(data, "options", dict, "an object"))
    for key in _PATH_OPTIONS:
        if isinstance(options_data.get(key), str) and options_data[key]:
            options_data[key] = _load_path(options_data[key], folder)
    options = options_from_dict(options_data, warnings)
    options = dataclasses.replace(
        options,
        models_by_size=tuple((s, _load_path(p, folder)) for s, p in options.models_by_size),
    )
    faces_data = _require(data, "faces", list, "a list")
    faces = [_face_from_dict(f, i, folder) for i, f in enumerate(faces_data)]
    exports = data.get("exports", [])
    if not isinstance(exports, list) or not all(isinstance(e, str) for e in exports):
        raise SessionError(f"'exports' must be a list of paths, got {_short(exports)}")
    damage = data.get("damage_mask")
    if damage is not None and not isinstance(damage, str):
        raise SessionError(f"'damage_mask' must be a file name or null, got {_short(damage)}")
    for key in sorted(set(data) - _TOP_KEYS):
        warnings.append(f"ignored unknown field '{key}' (from another version?)")
        log.warning("%s: ignored unknown field '%s'", name, key)
    return Session(
        photo=_load_path(photo, folder),
        photo_sha256=photo_sha,
        faces=faces,
        options=options,
        model_sha256=model_sha,
        exports=[_load_path(e, folder) for e in exports],
        version=version,
        damage_mask=damage,
        load_warnings=warnings,
    )


_TOP_KEYS = {
    "format",
    "version",
    "photo",
    "photo_sha256",
    "model_sha256",
    "options",
    "faces",
    "exports",
    "damage_mask",
}


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session sidecar. Raises :class:`SessionError` (never anything else) with a
    one-line message when the file is missing, not JSON (or truncated), not a GPEN session,
    from a newer version, or has a missing or wrongly typed field (named)."""
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise SessionError(f"{name} is not a GPEN Desktop session file (not text)") from exc
    except json.JSONDecodeError as exc:
        what = "truncated" if exc.pos >= len(text.rstrip()) else "damaged"
        raise SessionError(
            f"{name} is not a readable session: the JSON is {what} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise SessionError(
            f"{name} is not a GPEN Desktop session file (nested too deeply)"
        ) from exc
    try:
        return session_from_dict(data, path.parent, name)
    except SessionError as exc:
        if str(exc).startswith(name):
            raise
        raise SessionError(f"{name}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the contract: SessionError only, never a crash
        log.debug("unexpected error reading %s", path, exc_info=True)
        raise SessionError(
            f"{name} is not a readable session: {type(exc).__name__}: {exc}"
        ) from exc


__all__ = [
    "SESSION_FORMAT",
    "SESSION_VERSION",
    "SIDECAR_SUFFIX",
    "Session",
    "load_session",
    "make_session",
    "options_from_dict",
    "options_to_dict",
    "save_session",
    "sidecar_path",
]
