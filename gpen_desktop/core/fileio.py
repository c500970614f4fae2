"""Safe file output: write-to-temp-then-rename, and free "name (1).ext" names (stdlib only).

Every file the app produces (exported photos, reports, sessions) goes through
:func:`atomic_write`, :func:`atomic_open` or :func:`atomic_copy` (a finished download through
:func:`move_into_place`), so a crash, a full disk or an exception in the
writer never leaves a half-written file under the final name: the bytes go to a hidden temp
file in the same folder, are flushed to disk (``fsync``) and only then renamed into place.

Temp files are named ``.<name>.<random>.tmp<suffix>``: hidden (listings such as
:func:`gpen_desktop.core.imageio.iter_images` skip them) and ending with the real suffix, so a
writer that picks the format from the file name (OpenCV, Pillow) sees the right one.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from gpen_desktop.core.errors import GpenError

log = logging.getLogger(__name__)

_TEMP_MARK = ".tmp"
_MAX_TEMP_TRIES = 100


def is_temp_name(name: str) -> bool:
    """True for names made by :func:`atomic_write` (``.<name>.<8 hex>.tmp<suffix>``)."""
    return name.startswith(".") and _TEMP_MARK in name


def os_error_message(exc: OSError) -> str:
    """A short reason for an OS error, e.g. ``"disk full"`` or ``"permission denied"``."""
    reasons = {
        errno.ENOSPC: "disk full",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
        errno.ENOENT: "folder does not exist",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EISDIR: "a folder has that name",
        errno.ENAMETOOLONG: "file name too long",
        errno.EEXIST: "file already exists",
    }
    if exc.errno in reasons:
        return reasons[exc.errno]
    return exc.strerror or str(exc) or type(exc).__name__


def _temp_name(path: Path) -> str:
    return f".{path.stem}.{secrets.token_hex(4)}{_TEMP_MARK}{path.suffix}"


def _create_temp(path: Path) -> Path:
    """Create an empty, new temp file beside ``path`` with the usual permissions (umask)."""
    for _ in range(_MAX_TEMP_TRIES):
        tmp = path.parent / _temp_name(path)
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "could not find a free temporary name", str(path))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); best effort, a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _file_in_the_way(path: Path) -> Path | None:
    """The first folder of ``path``'s parents that exists as a file (not a folder), or None."""
    for parent in reversed(path.parents):
        if os.path.lexists(parent) and not parent.is_dir():
            return parent
    return None


def write_error(path: Path, exc: OSError, error: type[GpenError] = GpenError) -> GpenError:
    """A one-line ``error`` for an OS error while writing ``path`` (cause set), naming the real
    problem: "disk full", or "X is a file, not a folder" when a parent is a file."""
    blocker = _file_in_the_way(path)
    if blocker is not None and exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.ENOENT):
        out = error(f"cannot write {path}: {blocker} is a file, not a folder")
    else:
        out = error(f"cannot write {path}: {os_error_message(exc)}")
    out.__cause__ = exc
    return out


def _exists_error(path: Path, error: type[GpenError]) -> GpenError:
    exc = error(f"output file already exists: {path} (choose another name or allow overwriting)")
    exc.__cause__ = FileExistsError(errno.EEXIST, "file exists", str(path))
    return exc


def _commit(tmp: Path, path: Path, overwrite: bool, error: type[GpenError]) -> None:
    """Move the finished temp file to ``path``; never replaces a file when not ``overwrite``."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        # A hard link fails when the name exists, so a file created meanwhile is not clobbered.
        os.link(tmp, path)
    except FileExistsError:
        raise _exists_error(path, error)  # noqa: B904 - cause set inside
    except (OSError, NotImplementedError, AttributeError):
        # No hard links here (FAT, some network shares): check, then rename.
        if os.path.lexists(path):
            raise _exists_error(path, error)  # noqa: B904 - cause set inside
        os.replace(tmp, path)
        return
    with contextlib.suppress(OSError):
        os.unlink(tmp)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    parents: bool = False,
    error: type[GpenError] = GpenError,
) -> Iterator[Path]:
    """Yield a temp file path beside ``path``; on success it becomes ``path`` atomically.

    The temp file exists (empty) when yielded; the body writes it by name (``open(tmp, "wb")``,
    ``Image.save(tmp)``, ``cv2.imwrite(str(tmp), …)``) and closes it. When the body returns,
    the temp file is fsynced and renamed to ``path`` (then the folder is fsynced); when the
    body raises, the temp file is deleted and the exception propagates unchanged.

    ``overwrite=False`` refuses an existing ``path`` before the body runs and again at the
    rename (a hard link, so a file that appeared meanwhile is kept too). ``parents=True``
    creates missing folders. Problems found here (file exists, folder missing or read-only,
    disk full at the rename) are raised as ``error`` (a :class:`GpenError` subclass such as
    ``ImageError``) with a one-line message; for "exists" its ``__cause__`` is a
    ``FileExistsError``.
    """
    path = Path(path)
    blocker = _file_in_the_way(path)
    if blocker is not None:
        raise error(f"cannot write {path}: {blocker} is a file, not a folder")
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path, error)
    if path.is_dir():
        raise error(f"cannot write {path}: a folder has that name")
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(path)
    except OSError as exc:
        raise write_error(path, exc, error) from exc

    try:
        yield tmp
        try:
            _fsync_file(tmp)
            _commit(tmp, path, overwrite, error)
        except OSError as exc:
            raise write_error(path, exc, error) from exc
    finally:
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError as exc:  # pragma: no cover - e.g. a file still open on Windows
                log.warning("Could not remove temporary file %s: %s", tmp, exc)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "wb",
    overwrite: bool = False,
    *,
    parents: bool = False,
    error: type[GpenError] = GpenError,
    encoding: str | None = None,
) -> Iterator[IO]:
    """Like :func:`atomic_write`, but yields the open temp file (``mode`` "wb" or "w").

    Text mode defaults to UTF-8. Write errors inside the body (``OSError``, e.g. disk full)
    propagate as they are, after the temp file is removed.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with (
        atomic_write(path, overwrite, parents=parents, error=error) as tmp,
        open(tmp, mode, encoding=encoding) as f,
    ):
        yield f


def atomic_copy(
    src: str | os.PathLike[str],
    path: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    parents: bool = False,
    error: type[GpenError] = GpenError,
) -> None:
    """Copy the bytes of ``src`` to ``path`` through :func:`atomic_write`. Every ``OSError``
    (disk full while copying, ``src`` unreadable) becomes ``error`` with a one-line message;
    ``path`` is then untouched and no temp file is left."""
    import shutil

    path = Path(path)
    with atomic_write(path, overwrite, parents=parents, error=error) as tmp:
        try:
            shutil.copyfile(src, tmp)
        except OSError as exc:
            raise write_error(path, exc, error) from exc


def move_into_place(
    src: str | os.PathLike[str],
    path: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    error: type[GpenError] = GpenError,
) -> None:
    """Give a finished file ``src`` (in ``path``'s folder, e.g. a ``.part`` download) the name
    ``path``, durably: ``src`` is fsynced, renamed (an existing ``path`` is replaced only with
    ``overwrite``, else refused as in :func:`atomic_write`), then the folder is fsynced.
    OS errors become ``error`` with a one-line message; ``src`` is then left where it was."""
    src, path = Path(src), Path(path)
    try:
        _fsync_file(src)
        _commit(src, path, overwrite, error)
    except OSError as exc:
        raise write_error(path, exc, error) from exc
    _fsync_dir(path.parent)


def unique_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if nothing has that name, else the first free ``name (1).ext``, ``name (2).ext``…

    Only a snapshot: write with ``overwrite=False`` to be sure nobody took the name meanwhile.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return path
    n = 1
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
        n += 1
