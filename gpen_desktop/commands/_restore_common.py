"""Pieces shared by ``gpen restore`` over photos and over sessions: model choice, output
names, the job of one photo, the per-face debug files and the copy-through of a photo."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: ``--model auto``: every face through the weights/ model of its size.
AUTO = "auto"


def _is_auto(args: argparse.Namespace) -> bool:
    return (getattr(args, "model_path", None) or "").lower() == AUTO


def _parse_model_for_size(values: list[str] | None) -> dict[int, str]:
    """``--model-for-size SIZE=PATH`` values -> {SIZE: PATH}; GpenError (one line) for a bad
    form, a size that is not a positive whole number, a missing file or a repeated size."""
    from gpen_desktop.core.errors import GpenError

    table: dict[int, str] = {}
    for value in values or ():
        size, eq, path = value.partition("=")
        if not eq or not path.strip():
            raise GpenError(
                f"--model-for-size {value!r}: expected SIZE=PATH, e.g. 256=weights/GPEN-BFR-256.pth"
            )
        try:
            n = int(size.strip())
        except ValueError:
            n = 0
        if n < 1:
            raise GpenError(
                f"--model-for-size {value!r}: SIZE must be a positive whole number of pixels"
            )
        if n in table:
            raise GpenError(f"--model-for-size gives size {n} twice; give one model per size")
        path = path.strip()
        if not Path(path).is_file():
            raise GpenError(f"--model-for-size {n}={path}: no such file")
        table[n] = path
    return table


def _pick_models_by_size(args: argparse.Namespace) -> tuple[tuple[int, str], ...]:
    """The per-face choice of ``--model auto`` and ``--model-for-size``: (size, path) pairs, or
    () for one model (``--model_path X`` means exactly that file)."""
    from gpen_desktop.core.errors import CheckpointError, GpenError
    from gpen_desktop.core.face_models import models_by_size_in_weights
    from gpen_desktop.core.models import default_weights_dir, inspect_model_file

    given = _parse_model_for_size(getattr(args, "model_for_size", None))
    auto = _is_auto(args)
    if not (auto or given):
        return ()
    if given and args.model_path and not auto:
        raise GpenError(
            "--model_path runs exactly one model and --model-for-size chooses one per face: "
            "give one or the other (--model auto --model-for-size … adds the weights/ models)"
        )
    if getattr(args, "size", None):
        raise GpenError("--size checks one model; with per-face models each face picks its size")
    for n, path in given.items():  # fail fast, before any photo: restorers only
        info = inspect_model_file(path)
        if info.arch != "GPEN" or info.task == "inpainting":
            what = "GPEN's inpainting model" if info.arch == "GPEN" else info.arch
            raise CheckpointError(f"--model-for-size {n}={path}: {what}, not a face restorer")
    table = dict(models_by_size_in_weights()) if auto else {}
    table.update(given)
    if not table:
        raise CheckpointError(
            f"--model auto found no face restoration model in {default_weights_dir()}; put "
            "GPEN-BFR files there (see `gpen models known`) or use --model-for-size SIZE=PATH"
        )
    return tuple(sorted(table.items()))


def _pick_model(args: argparse.Namespace) -> str:
    """The run's main model file: ``--model_path``, else a weights/ restorer (512 px preferred);
    "" with ``--model auto`` or ``--model-for-size`` (the per-face choice decides)."""
    from gpen_desktop.core.errors import CheckpointError
    from gpen_desktop.core.models import default_weights_dir, scan_weights

    if _is_auto(args) or getattr(args, "model_for_size", None):
        return ""
    if args.model_path:
        return args.model_path
    restorers = [f for f in scan_weights() if f.kind == "restorer" and f.info.task != "inpainting"]
    if args.size:
        restorers = [f for f in restorers if f.info.in_size == args.size]
    bfr = [f for f in restorers if f.known is None or f.known.task == "bfr"] or restorers
    if not bfr:
        raise CheckpointError(
            f"no GPEN checkpoint found in {default_weights_dir()}; pass --model_path "
            "(see `gpen models known` for the official files)"
        )
    bfr.sort(key=lambda f: (f.info.in_size != 512, f.info.in_size))
    return str(bfr[0].path)


def _output_for(
    src: Path, root: Path | None, args: argparse.Namespace, single: bool, aligned: bool
) -> Path:
    ext = args.ext or (".png" if aligned else src.suffix)
    if not ext.startswith("."):
        ext = "." + ext
    if args.output and single and Path(args.output).suffix and not Path(args.output).is_dir():
        return Path(args.output)
    name = f"{src.stem}{args.suffix}{ext}"
    if args.output:
        rel = src.relative_to(root).parent if root is not None else Path()
        return Path(args.output) / rel / name
    return src.with_name(name)


@dataclass
class Job:
    """One photo of a ``gpen restore`` run, as the one loop (``restore.py``) restores it: a
    photo given on the command line, or a session file's photo (pre-filled: its options,
    faces and damage)."""

    src: Path
    out: Path
    options: Any = None  # RestoreOptions; None: the run's own
    faces: list | None = None  # None: detect them
    faces_found: int | None = None  # None: as many as detected
    damage: Callable[[Any], Any] | None = None  # photo -> damage mask (or None)
    check_size: bool = False  # --size is checked against this job's model


def _save_faces(result, out_path: Path, overwrite: bool) -> None:
    import numpy as np

    from gpen_desktop.core.imageio import save_photo

    folder = out_path.parent / "faces"
    for fr in result.faces:
        stem = f"{out_path.stem}_face{fr.index + 1:02d}"  # numbered from 1, as in the app
        save_photo(fr.aligned_input, folder / f"{stem}_input.png", overwrite=overwrite)
        save_photo(fr.restored, folder / f"{stem}_restored.png", overwrite=overwrite)
        gap = np.full((fr.restored.shape[0], 8, 3), 255, np.uint8)
        strip = np.concatenate([fr.aligned_input, gap, fr.restored], axis=1)
        save_photo(strip, folder / f"{stem}_compare.png", overwrite=overwrite)


def _copy_atomic(src: Path, out: Path, overwrite: bool) -> None:
    from gpen_desktop.core.errors import ImageError
    from gpen_desktop.core.fileio import atomic_copy

    atomic_copy(src, out, overwrite=overwrite, parents=True, error=ImageError)
