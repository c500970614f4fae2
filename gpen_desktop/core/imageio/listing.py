"""Expanding files and folders to the list of photos to work on."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from gpen_desktop.core.errors import ImageError
from gpen_desktop.core.fileio import os_error_message
from gpen_desktop.core.imageio.sniff import SUPPORTED_EXTENSIONS


def is_supported(path: str | os.PathLike[str]) -> bool:
    """True when the file name ends with one of :data:`SUPPORTED_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def _is_hidden(entry: os.DirEntry | Path) -> bool:
    if entry.name.startswith("."):
        return True
    if os.name != "nt":
        return False
    attrs = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    return bool(attrs & 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _natural_key(name: str) -> tuple:
    return tuple(
        (0, int(part), part) if part.isdigit() else (1, part.casefold(), part)
        for part in re.split(r"(\d+)", name)
        if part
    )


def _walk(folder: Path, recursive: bool) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise ImageError(f"cannot list folder {folder}: {os_error_message(exc)}") from exc
    files: list[Path] = []
    subfolders: list[Path] = []
    for entry in entries:
        try:
            if _is_hidden(entry):
                continue
            if entry.is_file() and is_supported(entry.name):
                files.append(Path(entry.path))
            elif recursive and entry.is_dir(follow_symlinks=False):
                subfolders.append(Path(entry.path))
        except OSError:
            continue
    found = sorted(files, key=lambda p: _natural_key(p.name))
    for sub in sorted(subfolders, key=lambda p: _natural_key(p.name)):
        found.extend(_walk(sub, recursive))
    return found


def iter_images(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], recursive: bool = False
) -> list[Path]:
    """Expand files and folders to a list of image files.

    Files named explicitly are kept as given, in the given order, whatever their extension
    (so a wrong file gets its specific error when loaded). Folders contribute their files with
    a supported extension, in natural order ("2.jpg" before "10.jpg", case-insensitive), then
    — with ``recursive`` — their subfolders' files, folder by folder in the same order;
    hidden files and folders (".name", Windows hidden attribute) are skipped, symlinked
    folders are not followed. Duplicates are dropped. A path that does not exist raises
    :class:`ImageError`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = _walk(p, recursive)
        elif p.exists():
            found = [p]
        else:
            raise ImageError(f"file or folder not found: {p}")
        for f in found:
            key = Path(os.path.normcase(os.path.abspath(f)))
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out
