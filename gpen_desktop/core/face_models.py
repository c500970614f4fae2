"""Which restoration model restores which face: the per-face model choice.

GPEN comes in several sizes (the official BFR files are 256, 512, 1024 and 2048 px). A face
that covers 60 photo pixels gains nothing from a 2048 px network (it is only enlarged 30 times
on the way in, and costs 60 times the work of a 256 px pass), while a face that covers 900 px
loses detail in a 512 px one. With several models at hand, each face therefore goes through
the model chosen by **one rule**, :func:`choose_model_size`:

    the smallest model size that is at least the face's size; the largest size when every
    size is smaller than the face.

"The face's size" is :func:`face_extent`: the side, in photo pixels, of the square the aligned
crop is cut from (what the network actually sees; with GPEN's alignment template it is about
twice the side of a dlib box: 193 px for the astronaut's 93 px box). The sizes chosen among are
the sizes of the models present (:attr:`RestoreOptions.models_by_size
<gpen_desktop.core.pipeline.RestoreOptions.models_by_size>`), so with the four official files
the rule is "the smallest official size >= the face, capped at 2048", and it works the same for
any other set of sizes (tiny test networks of 64 and 128 px included).

A face whose :attr:`Face.model <gpen_desktop.core.types.Face.model>` is set skips the rule:
that file restores it (a per-face override, saved in sessions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from gpen_desktop.core.errors import CheckpointError
from gpen_desktop.core.options import OFFICIAL_SIZES, check_models_by_size, choose_model_size
from gpen_desktop.core.types import Face


def face_extent(face: Face) -> float:
    """The face's size for :func:`choose_model_size`: the side, in photo pixels, of the square
    region its aligned crop is cut from (from the 5 landmarks; independent of the crop size).
    A face with a box only (no landmarks yet) uses the box's longer side."""
    lm = face.landmarks_array()
    if lm is None:
        return float(face.size)
    from gpen_desktop.core.faces.align import align_matrix, matrix_scale

    probe = 1024  # any crop size: the region's side is size / scale
    return probe / matrix_scale(align_matrix(lm, probe))


def model_for_face(face: Face, default: str, models_by_size: Sequence[tuple[int, str]] = ()) -> str:
    """The model file that restores ``face``: its own :attr:`Face.model` when set, else the
    :func:`choose_model_size` entry of ``models_by_size`` for its :func:`face_extent`, else
    ``default`` (no per-face choice: one model for every face)."""
    if face.model:
        return face.model
    if not models_by_size:
        return default
    table = dict(models_by_size)
    return table[choose_model_size(face_extent(face), table)]


def models_by_size_from_files(paths: Iterable[str | Path]) -> tuple[tuple[int, str], ...]:
    """``(size, path)`` for restoration model files, each under its own input size, smallest
    first. CheckpointError (one line) for a file that is no restorer, an inpainting model, or
    a second file of a size already given."""
    from gpen_desktop.core.models import inspect_model_file

    table: dict[int, str] = {}
    for path in paths:
        info = inspect_model_file(path)
        name = Path(path).name
        if info.arch != "GPEN":
            raise CheckpointError(f"{name} is not a GPEN restoration model ({info.arch})")
        if info.task == "inpainting":
            raise CheckpointError(f"{name} is GPEN's inpainting model, not a restorer")
        if info.in_size in table:
            raise CheckpointError(
                f"{name} and {Path(table[info.in_size]).name} are both {info.in_size} px "
                "models; give one per size"
            )
        table[info.in_size] = str(path)
    return tuple(sorted(table.items()))


def models_by_size_in_weights(
    folders: Iterable[str | Path] | None = None,
) -> tuple[tuple[int, str], ...]:
    """``(size, path)`` for the face restorers of a weights folder (default: ``weights/``), one
    per size, for the automatic per-face choice: blind face restoration models only (no
    inpainting, colourisation or seg2face); for two files of one size the official one, then
    the first by name. Empty when the folder holds none."""
    from gpen_desktop.core.models import scan_weights

    found = [
        f
        for f in scan_weights(list(folders) if folders is not None else None)
        if f.kind == "restorer"
        and f.info.task not in ("inpainting", "colorization", "seg2face")
        and (f.known is None or f.known.task == "bfr")
    ]
    found.sort(key=lambda f: (f.known is None, f.path.name))
    table: dict[int, str] = {}
    for f in found:
        table.setdefault(int(f.info.in_size), str(f.path))
    return tuple(sorted(table.items()))


__all__ = [
    "OFFICIAL_SIZES",
    "check_models_by_size",
    "choose_model_size",
    "face_extent",
    "model_for_face",
    "models_by_size_from_files",
    "models_by_size_in_weights",
]
