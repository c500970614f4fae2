"""A content-based scan of weights/: what each checkpoint file is, and download checks.

The list of official models is :mod:`gpen_desktop.core.catalog`; downloading lives in
:mod:`gpen_desktop.core.downloads`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gpen_desktop.core.catalog import CHECKPOINT_EXTENSIONS, KNOWN_MODELS, KnownModel
from gpen_desktop.core.checkpoints import guess_architecture, inspect_checkpoint, read_state_dict
from gpen_desktop.core.errors import CheckpointError

log = logging.getLogger(__name__)

#: Tensor counts of the auxiliary models' state dicts (DESIGN §4).
_AUX_TENSORS = {"detector": 456, "parsing": 238}


def default_weights_dir() -> Path:
    """``$GPEN_WEIGHTS_DIR`` if set, else ``weights/`` beside the package (the repository root)."""
    env = os.environ.get("GPEN_WEIGHTS_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "weights"


@dataclass
class FoundModel:
    """A file in a weights folder and what its contents turned out to be."""

    path: Path
    info: object | None  # CheckpointInfo for GPEN files
    error: str | None
    known: KnownModel | None
    kind: str  # "restorer", "discriminator", "detector", "parsing", "superres", "invalid"

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "name": self.known.name if self.known else getattr(self.info, "name", None),
            "size_bytes": self.path.stat().st_size if self.path.exists() else None,
            "info": self.info.to_json() if self.info is not None else None,
            "error": self.error,
        }


def _aux_kind(path: Path) -> str | None:
    """Recognise facexlib-compatible detector/parsing weights by their tensors."""
    try:
        sd, _, _ = read_state_dict(path)
    except CheckpointError:
        return None
    guess = guess_architecture(list(sd)) or ""
    if guess.startswith("RetinaFace"):
        return "detector"
    if guess.startswith("ParseNet") or len(sd) == _AUX_TENSORS["parsing"]:
        return "parsing"
    return None


def _superres(path: Path) -> FoundModel | None:
    """A super-resolution model spandrel recognises (info: SRInfo, with its scale), or None.
    A file that looks like an upscaler while spandrel is missing is reported as invalid with
    the install hint."""
    from gpen_desktop.core.superres import (
        INSTALL_HINT,
        inspect_sr_model,
        is_official_layout,
        spandrel_available,
    )

    if not spandrel_available():
        try:
            sd, _, _ = read_state_dict(path)
        except CheckpointError:
            return None
        if "upscaler" in (guess_architecture(list(sd)) or ""):
            return FoundModel(path, None, INSTALL_HINT, None, "invalid")
        return None
    try:
        info = inspect_sr_model(path)
    except CheckpointError:
        return None
    # official only when the tensors say so (RealESRNet: 64 features, 23 blocks, its scale;
    # the compact general x4: 64 features, 32 convs), never from the file name alone: a small
    # upscaler called realesrnet_x2.pth is not it (the name only tells the compact x4v3 from
    # its weak-denoise partner, whose layouts are the same)
    official = is_official_layout(info.arch, info.scale, info.tags)
    known = next(
        (
            m
            for m in KNOWN_MODELS
            if official and m.task == "superres" and m.name == info.name and m.scale == info.scale
        ),
        None,
    )
    return FoundModel(path, info, None, known, "superres")


def inspect_model_file(path: str | Path):
    """The CheckpointInfo of a model file: a PyTorch checkpoint, or an ``.onnx`` file
    (:mod:`gpen_desktop.core.onnx_model`, ``format`` "onnx"). CheckpointError otherwise."""
    if Path(path).suffix.lower() == ".onnx":
        from gpen_desktop.core.onnx_model import inspect_onnx

        return inspect_onnx(path)
    return inspect_checkpoint(path)


def load_model_file(path: str | Path, device: object = "cpu"):
    """A loaded restorer for :class:`~gpen_desktop.core.inference.Enhancer`: a
    ``LoadedCheckpoint`` (PyTorch) or, for an ``.onnx`` file, a ``LoadedOnnx`` (same ``info``,
    runs through onnxruntime). CheckpointError with a one-line reason otherwise."""
    if Path(path).suffix.lower() == ".onnx":
        from gpen_desktop.core.onnx_model import load_onnx

        return load_onnx(path)
    from gpen_desktop.core.checkpoints import load_checkpoint

    return load_checkpoint(path, device=device)


def identify(path: str | Path) -> FoundModel:
    """What a single file is, by content (never by name; ``.onnx`` files through
    onnxruntime)."""
    path = Path(path)
    try:
        info = inspect_model_file(path)
    except CheckpointError as exc:
        if path.suffix.lower() == ".onnx":
            return FoundModel(path, None, str(exc), None, "invalid")
        kind = _aux_kind(path)
        if kind:
            known = next(m for m in KNOWN_MODELS if m.task == kind)
            return FoundModel(path, None, None, known, kind)
        sr = _superres(path)
        if sr is not None:
            return sr
        return FoundModel(path, None, str(exc), None, "invalid")
    if info.arch != "GPEN":
        return FoundModel(path, info, None, None, "discriminator")
    known = next((m for m in KNOWN_MODELS if m.name == info.name), None)
    return FoundModel(path, info, None, known, "restorer")


def scan_weights(folders: list[str | Path] | None = None) -> list[FoundModel]:
    """Identify every checkpoint-like file in ``folders`` (default: the weights folder)."""
    folders = [Path(f) for f in (folders or [default_weights_dir()])]
    found: list[FoundModel] = []
    seen: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in CHECKPOINT_EXTENSIONS or not path.is_file():
                continue
            if path.name.startswith(".") or path.resolve() in seen:
                continue
            seen.add(path.resolve())
            found.append(identify(path))
    return found


def verify_download(path: str | Path, expected: KnownModel) -> FoundModel:
    """Check that a downloaded file is the model it claims to be; CheckpointError otherwise."""
    found = identify(path)
    if found.kind == "invalid":
        raise CheckpointError(f"downloaded file is not usable: {found.error}")
    if expected.is_restorer:
        info = found.info
        if found.kind != "restorer" or info is None:
            raise CheckpointError(f"downloaded file is a {found.kind}, expected {expected.name}")
        got = (info.in_size, info.channel_multiplier, info.narrow)
        want = (expected.size, expected.channel_multiplier, expected.narrow)
        if got != want:
            raise CheckpointError(
                f"downloaded file is a {info.in_size} px GPEN (channel_multiplier "
                f"{info.channel_multiplier}, narrow {info.narrow:g}), not {expected.name}"
            )
    elif found.kind != expected.task:
        raise CheckpointError(f"downloaded file is not a {expected.task} model ({found.kind})")
    elif expected.scale and getattr(found.info, "scale", expected.scale) != expected.scale:
        raise CheckpointError(
            f"downloaded file is a x{found.info.scale} upscaler, not {expected.name}"
        )
    return found
