"""Recovery copies: unsaved work kept on disk so that a crash, a kill or a power cut loses
nothing (the GUI writes them a few seconds after each change; see ``gui/recovery.py``).

One copy per photo, in its own folder under the recovery root::

    <root>/<copy id>/manifest.json      what the copy is: the photo (path, size, mtime, SHA-256),
                                        when it was written, its owner (the app instance),
                                        and the files below that make it up
    <root>/<copy id>/session-N.json     the faces, options and exports: a session sidecar
                                        (core/session.py's format, readable by load_session)
    <root>/<copy id>/damage-N.png       the damage marks (white = damaged), when there are any
    <root>/<copy id>/result-N.npz       the kept restore: every restored crop with its aligned
                                        input, matrices and paste mask, the paste background
                                        when it is not the photo itself, and what the restore
                                        was given (faces, options, damage), so the result shows
                                        again without the network

A copy changes by writing new files under new names (each atomically), then replacing
``manifest.json`` atomically, and only then removing the files the new manifest no longer
names: a crash at any moment leaves the previous manifest and every file it names intact. A
folder without a readable manifest is no copy (a crash before the first manifest); it is
removed when the copies are listed. Files that did not change since the last copy (the kept
restore, the marks) are named again rather than written again.

This module never imports Qt; OpenCV loads only to write and read the marks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.errors import GpenError, RecoveryError, SessionError
from gpen_desktop.core.options import RestoreOptions
from gpen_desktop.core.types import Face

log = logging.getLogger(__name__)

FORMAT = "gpen-desktop-recovery"
VERSION = 1
MANIFEST = "manifest.json"
#: The default cap on all copies together (bytes); the oldest copies go first beyond it.
DEFAULT_CAP = 500 * 1024 * 1024

#: Test hook: called by :func:`write_copy` with a stage name ("session", "damage", "result",
#: "manifest"; "manifest" while half of the new manifest is in its temp file). None normally.
write_hook: Callable[[str], None] | None = None


def _hook(stage: str) -> None:
    if write_hook is not None:
        write_hook(stage)


# --------------------------------------------------------------------------- what is written


@dataclass(frozen=True, eq=False)
class KeptResult:
    """A photo's kept restore, as the GUI holds it: ``result`` (core.pipeline.RestoreResult
    with its ``paste_base``), the faces and options it was made with and the damage marks it
    filled; ``base_is_photo``: the paste background is the photo's own pixels (not written)."""

    result: Any
    faces: tuple[Face, ...]
    options: RestoreOptions
    damage: np.ndarray | None = None
    base_is_photo: bool = True


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One photo's unsaved work at one moment (taken on the GUI thread: references to frozen
    values and a copy of the marks). ``damage``: HxW, nonzero = damaged, or None;
    ``damage_key`` and ``result_key`` identify the marks and the kept result, so a copy
    whose marks or result did not change names the files already written."""

    photo: str
    name: str
    faces: tuple[Face, ...]
    numbers: tuple[int, ...]
    options: RestoreOptions
    exports: tuple[str, ...] = ()
    saved_path: str | None = None
    damage: np.ndarray | None = None
    damage_key: Any = None
    kept: KeptResult | None = None
    result_key: Any = None
    owner: str = ""


@dataclass
class CopyInfo:
    """A recovery copy as listed: its folder, photo, when it was written, its size on disk,
    its owner, the manifest itself, and how the photo compares with what the copy was made
    from: "same", "changed" or "gone" (``note``: that in plain words; "" when the same)."""

    folder: Path
    photo: str
    name: str
    saved_at: float
    bytes: int
    owner: str
    faces: int
    has_result: bool
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)
    photo_state: str = "same"
    note: str = ""


@dataclass
class Recovered:
    """A copy read back: its session (faces, options, exports), the face numbers, the marks
    (HxW bool or None) and the kept restore (a :class:`KeptResult` with a RestoreResult ready
    for :func:`~gpen_desktop.core.pipeline.composite`), or None; ``notes``: what could not be
    taken back, in plain words."""

    info: CopyInfo
    session: Any  # core.session.Session
    numbers: tuple[int, ...]
    damage: np.ndarray | None
    kept: KeptResult | None
    saved_path: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    """What :func:`write_copy` did: the files the manifest now names, the copy's bytes on
    disk, the seconds it took."""

    files: dict[str, str | None]
    bytes: int
    seconds: float


# --------------------------------------------------------------------------- photo identity

_sha_cache: dict[tuple[str, int, int], str] = {}


def photo_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"photo_size", "photo_mtime_ns", "photo_sha256"}`` of a file (the hash is computed
    once per size and modification time). OSError when it cannot be read."""
    from gpen_desktop.core.downloads import sha256_file

    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _sha_cache.get(key)
    if digest is None:
        digest = sha256_file(path)
        _sha_cache.clear()  # one photo at a time is plenty
        _sha_cache[key] = digest
    return {"photo_size": st.st_size, "photo_mtime_ns": st.st_mtime_ns, "photo_sha256": digest}


def photo_state(manifest: dict[str, Any]) -> tuple[str, str]:
    """("same" | "changed" | "gone", plain words) for the photo a manifest was made from: the
    same size and modification time, or else the same SHA-256, is "same"."""
    from gpen_desktop.core.downloads import sha256_file

    path = Path(str(manifest.get("photo", "")))
    name = path.name
    try:
        st = path.stat()
    except OSError:
        return "gone", f"the photo is no longer at {path}"
    if not path.is_file():
        return "gone", f"the photo is no longer at {path}"
    same_stat = st.st_size == manifest.get("photo_size") and st.st_mtime_ns == manifest.get(
        "photo_mtime_ns"
    )
    if same_stat:
        return "same", ""
    try:
        same = sha256_file(path) == manifest.get("photo_sha256")
    except OSError:
        return "gone", f"the photo {name} can no longer be read"
    if same:
        return "same", ""
    return "changed", (
        f"the photo {name} has changed since this copy was made: its faces and marks may no "
        "longer fit, "
        "and its restored faces are left out"
    )


# --------------------------------------------------------------------------- writing


def _next_number(folder: Path) -> int:
    numbers = [0]
    for p in folder.iterdir():
        stem = p.name.split(".", 1)[0]
        if "-" in stem:
            tail = stem.rsplit("-", 1)[1]
            if tail.isdigit():
                numbers.append(int(tail))
    return max(numbers) + 1


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a copy folder; RecoveryError when it is missing or unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecoveryError(f"no recovery copy in {Path(folder).name}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecoveryError(f"the recovery copy {Path(folder).name} is damaged") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecoveryError(f"{path} is not a GPEN Desktop recovery copy")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise RecoveryError(f"the recovery copy {Path(folder).name} is from a newer GPEN Desktop")
    return data


def _write_damage(folder: Path, name: str, mask: np.ndarray) -> None:
    import cv2

    from gpen_desktop.core.fileio import atomic_write

    ok, data = cv2.imencode(".png", np.where(np.asarray(mask) != 0, 255, 0).astype(np.uint8))
    if not ok:
        raise RecoveryError("cannot encode the damage marks as PNG")
    with atomic_write(folder / name, overwrite=True, error=RecoveryError) as tmp:
        tmp.write_bytes(data.tobytes())


def _faces_dicts(faces: Iterable[Face], folder: Path) -> list[dict[str, Any]]:
    from gpen_desktop.core.session import Session, session_to_dict

    session = Session(photo="", photo_sha256="", faces=list(faces), options=RestoreOptions())
    return session_to_dict(session, folder)["faces"]


def _result_arrays(kept: KeptResult, folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and the JSON description of a kept restore (paste masks stored once each)."""
    from gpen_desktop.core.session import options_to_dict

    result = kept.result
    base = result.paste_base
    if base is None:
        raise RecoveryError("this result keeps no paste base")
    arrays: dict[str, np.ndarray] = {}
    masks: list[np.ndarray] = []
    faces = []
    for k, fr in enumerate(result.faces):
        arrays[f"aligned_{k}"] = np.ascontiguousarray(fr.aligned_input)
        arrays[f"restored_{k}"] = np.ascontiguousarray(fr.restored)
        arrays[f"matrix_{k}"] = np.asarray(fr.matrix, np.float64)
        mask = np.asarray(fr.mask)
        at = next(
            (i for i, m in enumerate(masks) if m.shape == mask.shape and np.array_equal(m, mask)),
            None,
        )
        if at is None:
            at = len(masks)
            masks.append(mask)
            arrays[f"mask_{at}"] = np.ascontiguousarray(mask)
        faces.append({"index": int(fr.index), "model": fr.model, "mask": at})
    for k, m in enumerate(base.matrices):
        arrays[f"paste_matrix_{k}"] = np.asarray(m, np.float64)
    if not kept.base_is_photo:
        arrays["base_pixels"] = np.ascontiguousarray(base.pixels)
    if kept.damage is not None:
        arrays["damage"] = np.asarray(kept.damage, bool)
    options = options_to_dict(kept.options)
    options["engine"] = kept.options.engine
    options["models_by_size"] = [[s, p] for s, p in kept.options.models_by_size]
    meta = {
        "faces": faces,
        "face_data": _faces_dicts([fr.face for fr in result.faces], folder),
        "sent": _faces_dicts(kept.faces, folder),
        "options": options,
        "paste": {
            "upscale": int(base.upscale),
            "gray": bool(base.gray),
            "superres": bool(base.superres),
            "matrices": len(base.matrices),
            "base_is_photo": bool(kept.base_is_photo),
        },
        "device": result.device,
        "precision": result.precision,
        "fallback_note": result.fallback_note,
        "detected": int(result.detected),
        "superres": result.superres,
        "inpainting": result.inpainting,
        "models": result.models,
    }
    return arrays, meta


def _write_result(folder: Path, name: str, kept: KeptResult) -> None:
    from gpen_desktop.core.fileio import atomic_open

    arrays, meta = _result_arrays(kept, folder)
    arrays["meta"] = np.array(json.dumps(meta, default=str))
    with atomic_open(folder / name, "wb", overwrite=True, error=RecoveryError) as fh:
        np.savez(fh, **arrays)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    from gpen_desktop.core.fileio import atomic_open

    text = json.dumps(manifest, indent=1) + "\n"
    half = len(text) // 2
    with atomic_open(folder / MANIFEST, "w", overwrite=True, error=RecoveryError) as fh:
        fh.write(text[:half])
        fh.flush()
        _hook("manifest")  # a crash here leaves half a temp file, never half a manifest
        fh.write(text[half:])


def _size(folder: Path, names: Iterable[str | None]) -> int:
    total = 0
    for name in names:
        if name:
            with contextlib.suppress(OSError):
                total += (folder / name).stat().st_size
    return total


def write_copy(folder: str | os.PathLike[str], snap: Snapshot) -> Written:
    """Write ``snap`` as the copy in ``folder`` (created if needed), replacing the one there
    only once every new file is complete (see the module docstring). Unchanged marks and kept
    results (same ``damage_key`` / ``result_key`` as the previous copy) are not written again.
    RecoveryError (one line) when the photo cannot be read or a file cannot be written."""
    from gpen_desktop.core.fileio import is_temp_name
    from gpen_desktop.core.session import Session, save_session

    t0 = time.perf_counter()
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        identity = photo_identity(snap.photo)
    except OSError as exc:
        raise RecoveryError(f"cannot keep a recovery copy of {snap.name}: {exc.strerror}") from exc
    try:
        old = read_manifest(folder)
    except RecoveryError:
        old = {}
    old_files = old.get("files", {}) if isinstance(old.get("files"), dict) else {}
    n = _next_number(folder)
    files: dict[str, str | None] = {"session": f"session-{n}.json", "damage": None, "result": None}

    def keep(kind: str, data: Any, key: Any, name: str, write: Callable) -> None:
        """Point to the previous copy's file of ``kind`` when ``key`` is unchanged and the file
        is there; else write ``data`` under the new ``name``."""
        if data is None:
            return
        previous = old_files.get(kind)
        if previous and old.get(f"{kind}_key") == repr(key) and (folder / previous).is_file():
            files[kind] = previous
            return
        files[kind] = name
        write(folder, name, data)
        _hook(kind)

    keep("damage", snap.damage, snap.damage_key, f"damage-{n}.png", _write_damage)
    keep("result", snap.kept, snap.result_key, f"result-{n}.npz", _write_result)

    session = Session(
        photo=str(Path(snap.photo).absolute()),
        photo_sha256=identity["photo_sha256"],
        faces=list(snap.faces),
        options=snap.options,
        exports=list(snap.exports),
        damage_mask=files["damage"],
    )
    try:
        save_session(session, folder / files["session"])
    except SessionError as exc:
        raise RecoveryError(str(exc)) from exc
    _hook("session")

    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "photo": session.photo,
        "name": snap.name,
        "saved_at": time.time(),
        "owner": snap.owner,
        **identity,
        "files": files,
        "faces": len(snap.faces),
        "numbers": list(snap.numbers),
        "saved_path": snap.saved_path,
        "damage_key": repr(snap.damage_key),
        "result_key": repr(snap.result_key),
    }
    manifest["bytes"] = _size(folder, files.values())
    _write_manifest(folder, manifest)
    keep = {MANIFEST, *(f for f in files.values() if f)}
    for p in folder.iterdir():  # only now: the files the new manifest no longer names
        if p.name not in keep and not is_temp_name(p.name):
            _remove(p)
    return Written(files, manifest["bytes"], time.perf_counter() - t0)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def set_owner(folder: str | os.PathLike[str], owner: str, **keys: Any) -> None:
    """Make ``owner`` the copy's owner (an app instance that took it over), atomically;
    ``damage_key`` / ``result_key``: what the new owner calls the marks and kept restore the
    copy holds (so its next copy names those files again instead of writing them again)."""
    manifest = read_manifest(folder)
    manifest["owner"] = owner
    for name in ("damage_key", "result_key"):
        if name in keys:
            manifest[name] = repr(keys[name])
    _write_manifest(Path(folder), manifest)


def remove_copy(folder: str | os.PathLike[str]) -> None:
    """Remove a copy (its manifest first, so a crash halfway leaves no half copy behind)."""
    folder = Path(folder)
    if not folder.exists():
        return
    _remove(folder / MANIFEST)
    _remove(folder)


# --------------------------------------------------------------------------- listing


def list_copies(
    root: str | os.PathLike[str],
    is_orphan: Callable[[str], bool] = lambda _owner: True,
    check_photos: bool = True,
) -> list[CopyInfo]:
    """The copies under ``root`` whose owner ``is_orphan`` (an app instance that is gone),
    oldest first, each with its photo's state (``check_photos``). Folders with no manifest
    whose owner is gone (a crash before the first manifest) are removed; an unreadable
    manifest is logged and skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.name.startswith((".", "owners")):
            continue
        try:
            manifest = read_manifest(folder)
        except RecoveryError as exc:
            if not (folder / MANIFEST).exists():
                if time.time() - folder.stat().st_mtime > 60:  # not one being written now
                    _remove(folder)
            else:
                log.warning("%s", exc)
            continue
        owner = str(manifest.get("owner", ""))
        if not is_orphan(owner):
            continue
        files = manifest.get("files") or {}
        info = CopyInfo(
            folder=folder,
            photo=str(manifest.get("photo", "")),
            name=str(manifest.get("name") or Path(str(manifest.get("photo", "?"))).name),
            saved_at=float(manifest.get("saved_at", 0.0)),
            bytes=_size(folder, [MANIFEST, *files.values()]),
            owner=owner,
            faces=int(manifest.get("faces", 0)),
            has_result=bool(files.get("result")),
            manifest=manifest,
        )
        if check_photos:
            info.photo_state, info.note = photo_state(manifest)
        out.append(info)
    out.sort(key=lambda c: c.saved_at)
    return out


def enforce_cap(root: str | os.PathLike[str], cap: int, keep: Iterable[Path] = ()) -> list[Path]:
    """Remove the oldest copies under ``root`` until all of them together take at most
    ``cap`` bytes; never those in ``keep`` (e.g. the copy just written). Returns the folders
    removed."""
    keep_set = {Path(k) for k in keep}
    copies = list_copies(root, check_photos=False)
    total = sum(c.bytes for c in copies)
    removed = []
    for c in copies:  # oldest first
        if total <= cap:
            break
        if c.folder in keep_set:
            continue
        remove_copy(c.folder)
        total -= c.bytes
        removed.append(c.folder)
        log.info("recovery copy of %s dropped: over the %d MB cap", c.name, cap >> 20)
    return removed


# --------------------------------------------------------------------------- reading


def _faces_from(data: list, folder: Path, what: str) -> list[Face]:
    from gpen_desktop.core.session import _face_from_dict

    if not isinstance(data, list):
        raise RecoveryError(f"the recovery copy's {what} are damaged")
    return [_face_from_dict(d, i, folder) for i, d in enumerate(data)]


def _read_result(path: Path, photo: Any) -> KeptResult:
    """The kept restore in ``path`` for ``photo`` (the photo as loaded now, the same file)."""
    from gpen_desktop.core.pipeline import FaceResult, PasteBase, RestoreResult
    from gpen_desktop.core.session import options_from_dict

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    folder = path.parent
    options_data = dict(meta["options"])
    engine = options_data.pop("engine", "fast")
    options = dataclasses.replace(options_from_dict(options_data), engine=engine)
    face_data = _faces_from(meta["face_data"], folder, "restored faces")
    sent = tuple(_faces_from(meta["sent"], folder, "faces"))
    results = []
    for k, (f, face) in enumerate(zip(meta["faces"], face_data, strict=True)):
        results.append(
            FaceResult(
                index=int(f["index"]),
                face=face,
                aligned_input=arrays[f"aligned_{k}"],
                restored=arrays[f"restored_{k}"],
                matrix=arrays[f"matrix_{k}"],
                mask=arrays[f"mask_{f['mask']}"],
                model=str(f.get("model") or ""),
            )
        )
    paste = meta["paste"]
    base_is_photo = bool(paste["base_is_photo"])
    pixels = photo.pixels if base_is_photo else arrays["base_pixels"]
    base = PasteBase(
        pixels=pixels,
        matrices=[arrays[f"paste_matrix_{k}"] for k in range(int(paste["matrices"]))],
        upscale=int(paste["upscale"]),
        gray=bool(paste["gray"]),
        superres=bool(paste["superres"]),
        photo=photo,
    )
    result = RestoreResult(
        image=photo,
        faces=results,
        device=str(meta.get("device", "cpu")),
        precision=str(meta.get("precision", "")),
        fallback_note=meta.get("fallback_note"),
        detected=int(meta.get("detected", 0)),
        superres=dict(meta.get("superres") or {}),
        inpainting=dict(meta.get("inpainting") or {}),
        models=dict(meta.get("models") or {}),
        paste_base=base,
    )
    damage = arrays.get("damage")
    return KeptResult(result, sent, options, damage, base_is_photo)


def read_copy(info: CopyInfo, photo: Any = None) -> Recovered:
    """Read a listed copy back. ``photo`` is the photo as loaded now (core Photo); the kept
    restore is taken only when the photo is the same file the copy was made from and
    ``photo`` is given, and the marks only when their size fits it. RecoveryError (one line)
    when the copy itself cannot be read."""
    from gpen_desktop.core.session import load_session, load_session_damage

    folder = info.folder
    manifest = read_manifest(folder)
    files = manifest.get("files") or {}
    try:
        session = load_session(folder / str(files.get("session")))
    except SessionError as exc:
        raise RecoveryError(f"the recovery copy of {info.name} cannot be read: {exc}") from exc
    notes: list[str] = []
    state, _words = photo_state(manifest)
    damage = None
    if photo is not None and session.damage_mask:
        try:
            damage = load_session_damage(session, folder, photo.width, photo.height)
        except GpenError as exc:
            notes.append(f"its damage marks could not be taken back ({exc})")
    kept = None
    if files.get("result"):
        if state != "same" or photo is None:
            notes.append("its restored faces were made from another version of the photo")
        else:
            try:
                kept = _read_result(folder / str(files["result"]), photo)
            except (OSError, ValueError, KeyError, TypeError, GpenError) as exc:
                log.warning("recovery copy %s: kept result unreadable: %s", folder, exc)
                notes.append("its restored faces could not be read back")
    numbers = manifest.get("numbers") or []
    if not (isinstance(numbers, list) and len(numbers) == len(session.faces)):
        numbers = list(range(1, len(session.faces) + 1))
    return Recovered(
        info=info,
        session=session,
        numbers=tuple(int(n) for n in numbers),
        damage=damage,
        kept=kept,
        saved_path=manifest.get("saved_path"),
        notes=notes,
    )


__all__ = [
    "DEFAULT_CAP",
    "CopyInfo",
    "KeptResult",
    "Recovered",
    "Snapshot",
    "Written",
    "enforce_cap",
    "list_copies",
    "photo_identity",
    "photo_state",
    "read_copy",
    "read_manifest",
    "remove_copy",
    "set_owner",
    "write_copy",
]
