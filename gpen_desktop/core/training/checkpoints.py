"""Training checkpoints, the run's inference export and ``gpen train export``.

``RUN/checkpoints/step_NNNNNN.pth`` holds the official training layout ``{'g', 'd', 'g_ema',
'g_optim', 'd_optim'}`` (state dicts in GPEN's key layout) plus ``step`` (optimisation steps
done), ``config`` (the run's options as a dict), ``rng`` (torch / numpy / Python random states)
and ``extra`` (running means, GradScaler states). Everything is plain tensors, numbers and
strings, so ``torch.load(weights_only=True)`` and :mod:`gpen_desktop.core.checkpoints` read it.
Files are written atomically (a temp file renamed into place); the newest ``keep`` are kept.

``RUN/model.pth`` is the flat ``g_ema`` state dict - the form of the official downloads - and is
refreshed at every save. The ``bundle`` export is the seed's form ``{'generator': g_ema,
'args': Namespace(in_size, out_size, channel_multiplier, narrow, version)}``.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gpen_desktop.core.errors import CheckpointError

_STEP_RE = re.compile(r"^step_(\d+)\.pth$")
EXPORT_FORMATS = ("flat", "bundle")


def checkpoint_dir(run: str | Path) -> Path:
    return Path(run) / "checkpoints"


def checkpoint_path(run: str | Path, step: int) -> Path:
    return checkpoint_dir(run) / f"step_{step:06d}.pth"


def list_checkpoints(run: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the run's checkpoints, oldest first."""
    folder = checkpoint_dir(run)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_RE.match(p.name))]
    return sorted(found)


def latest_checkpoint(run: str | Path) -> Path | None:
    found = list_checkpoints(run)
    return found[-1][1] if found else None


def _save(obj: Any, path: Path) -> None:
    from gpen_desktop.core.fileio import atomic_write

    with atomic_write(path, overwrite=True, parents=True, error=CheckpointError) as tmp:
        torch.save(obj, tmp)


def save_checkpoint(run: str | Path, step: int, payload: Mapping[str, Any], keep: int) -> Path:
    """Write ``step_NNNNNN.pth`` atomically, then delete all but the newest ``keep``."""
    path = checkpoint_path(run, step)
    _save(dict(payload), path)
    for _, old in list_checkpoints(run)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def save_flat(state_dict: Mapping[str, torch.Tensor], path: str | Path) -> Path:
    """A flat generator state dict (the official download form), written atomically."""
    path = Path(path)
    _save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, path)
    return path


def load_flat(path: str | Path) -> dict[str, torch.Tensor]:
    """A flat state dict written by :func:`save_flat`."""
    try:
        obj = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every reason becomes one line
        raise CheckpointError(f"cannot read {Path(path).name}: {exc}") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{Path(path).name} is not a state dict")
    return dict(obj)


def save_bundle(state_dict: Mapping[str, torch.Tensor], path: str | Path) -> Path:
    """The seed's bundle ``{'generator': ..., 'args': Namespace(...)}``, written atomically."""
    from gpen_desktop.core.gpen import config_from_state_dict

    cfg = config_from_state_dict(state_dict)
    args = argparse.Namespace(
        in_size=cfg.size,
        out_size=cfg.size,
        channel_multiplier=cfg.channel_multiplier,
        narrow=cfg.narrow,
        version=f"GPEN-BFR-v2.0-{cfg.size}",
    )
    generator = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    path = Path(path)
    _save({"generator": generator, "args": args}, path)
    return path


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read one of our checkpoints into memory (not memory-mapped: optimiser states are
    updated in place after loading). CheckpointError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every reason becomes one line
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read checkpoint {path.name}: {first}") from None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("g_ema"), Mapping):
        raise CheckpointError(f"{path.name} is not a training checkpoint (no 'g_ema')")
    return dict(obj)


def is_training_checkpoint(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and any(isinstance(obj.get(k), Mapping) for k in ("g", "g_ema", "d"))
        and not isinstance(obj.get("generator"), Mapping)
    )


def export(source: str | Path, out: str | Path, fmt: str = "flat") -> tuple[Path, int | None]:
    """Export the ``g_ema`` of a run folder (its newest checkpoint, else its ``model.pth``) or
    of any checkpoint file the app loads. Returns (written path, step or None)."""
    from gpen_desktop.core.checkpoints import read_state_dict

    if fmt not in EXPORT_FORMATS:
        raise CheckpointError(f"--format must be flat or bundle, not {fmt!r}")
    source, out = Path(source), Path(out)
    if out.exists():
        raise CheckpointError(f"{out} exists (choose another -o; nothing is overwritten)")
    step = None
    if source.is_dir():
        ckpt = latest_checkpoint(source)
        if ckpt is None and (source / "model.pth").is_file():
            ckpt = source / "model.pth"
        if ckpt is None:
            raise CheckpointError(f"{source} has no checkpoints (and no model.pth) to export")
        source = ckpt
        m = _STEP_RE.match(ckpt.name)
        step = int(m.group(1)) if m else None
    sd, _fmt, _hints = read_state_dict(source)  # picks g_ema in a training checkpoint
    if not any(k.startswith("ecd0.") for k in sd):
        raise CheckpointError(f"{source.name} holds no GPEN generator to export")
    sd = {k: v for k, v in sd.items()}
    writer = save_flat if fmt == "flat" else save_bundle
    return writer(sd, out), step


# --------------------------------------------------------------------------- random states


def rng_state() -> dict[str, Any]:
    """The process's random states as plain tensors and numbers."""
    np_state = np.random.get_state()
    out: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_pos": [int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [list(random.getstate()[1]), int(random.getstate()[0])],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: Mapping[str, Any]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "numpy" in state:
        pos, has_gauss, gauss = state["numpy_pos"]
        keys = state["numpy"].numpy().astype(np.uint32)
        np.random.set_state(("MT19937", keys, int(pos), int(has_gauss), float(gauss)))
    if "python" in state:
        internal, version = state["python"]
        random.setstate((int(version), tuple(int(v) for v in internal), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))
