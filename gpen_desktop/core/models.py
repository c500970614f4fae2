"""The official GPEN checkpoints, where people get them, and a content-based scan of weights/.

No network code runs here: downloading lives in :mod:`gpen_desktop.core.downloads`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gpen_desktop.core.errors import CheckpointError

log = logging.getLogger(__name__)

_OSS = "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/{}.pth"
_MODELSCOPE = (
    "https://www.modelscope.cn/api/v1/models/damo/cv_gpen_image-portrait-enhancement-hires/"
    "repo?Revision=master&FilePath={}"
)
MODELSCOPE_PAGE = "https://modelscope.cn/models/damo/cv_gpen_image-portrait-enhancement-hires"

CHECKPOINT_EXTENSIONS = (".pth", ".pt", ".ckpt", ".bin", ".tar", ".safetensors")


@dataclass(frozen=True)
class KnownModel:
    """An official checkpoint. ``task``: bfr, colorization, inpainting, seg2face, detector,
    parsing or superres (background super-resolution; ``scale`` is its output scale)."""

    name: str
    filename: str
    size: int
    channel_multiplier: int
    narrow: float
    task: str
    url: str
    approx_bytes: int
    note: str
    scale: int = 0

    @property
    def is_restorer(self) -> bool:
        return self.task in ("bfr", "colorization", "inpainting", "seg2face")


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        "GPEN-BFR-256",
        "GPEN-BFR-256.pth",
        256,
        1,
        0.5,
        "bfr",
        _OSS.format("GPEN-BFR-256"),
        76_000_000,
        "Blind face restoration, 256 px; fastest, good for small faces",
    ),
    KnownModel(
        "GPEN-BFR-512",
        "GPEN-BFR-512.pth",
        512,
        2,
        1.0,
        "bfr",
        _OSS.format("GPEN-BFR-512"),
        284_000_000,
        "Blind face restoration, 512 px; the usual choice",
    ),
    KnownModel(
        "GPEN-BFR-1024",
        "GPEN-BFR-1024.pth",
        1024,
        2,
        1.0,
        "bfr",
        _MODELSCOPE.format("pytorch_model.pt"),
        285_000_000,
        "Blind face restoration, 1024 px (ModelScope 'pytorch_model.pt')",
    ),
    KnownModel(
        "GPEN-BFR-2048",
        "GPEN-BFR-2048.pth",
        2048,
        2,
        1.0,
        "bfr",
        _MODELSCOPE.format("pytorch_model-2048.pt"),
        286_000_000,
        "Blind face restoration, 2048 px (ModelScope 'pytorch_model-2048.pt')",
    ),
    KnownModel(
        "GPEN-Colorization-1024",
        "GPEN-Colorization-1024.pth",
        1024,
        2,
        1.0,
        "colorization",
        _OSS.format("GPEN-Colorization-1024"),
        285_000_000,
        "Colourises grey face photos, 1024 px",
    ),
    KnownModel(
        "GPEN-Inpainting-1024",
        "GPEN-Inpainting-1024.pth",
        1024,
        2,
        1.0,
        "inpainting",
        _OSS.format("GPEN-Inpainting-1024"),
        285_000_000,
        "Fills in damaged or masked face regions, 1024 px",
    ),
    KnownModel(
        "GPEN-Seg2face-512",
        "GPEN-Seg2face-512.pth",
        512,
        2,
        1.0,
        "seg2face",
        _OSS.format("GPEN-Seg2face-512"),
        284_000_000,
        "Synthesises a face from a parsing map, 512 px",
    ),
    KnownModel(
        "RetinaFace-R50",
        "RetinaFace-R50.pth",
        0,
        0,
        0.0,
        "detector",
        _OSS.format("RetinaFace-R50"),
        109_000_000,
        "Face detector (facexlib RetinaFace ResNet-50); more robust than dlib",
    ),
    KnownModel(
        "ParseNet-latest",
        "ParseNet-latest.pth",
        0,
        0,
        0.0,
        "parsing",
        _OSS.format("ParseNet-latest"),
        85_000_000,
        "Face parsing for a tighter paste-back mask (facexlib ParseNet)",
    ),
    *(
        KnownModel(
            f"realesrnet_x{s}",
            f"realesrnet_x{s}.pth",
            0,
            0,
            0.0,
            "superres",
            _OSS.format(f"realesrnet_x{s}"),
            67_000_000,
            f"Background super-resolution x{s} (Real-ESRGAN RRDBNet; optional)",
            s,
        )
        for s in (4, 2, 1)
    ),
)

#: Tensor counts of the auxiliary models' state dicts (DESIGN §4).
_AUX_TENSORS = {"detector": 456, "parsing": 238}


def known_model(name: str) -> KnownModel:
    for m in KNOWN_MODELS:
        if m.name.lower() == name.lower():
            return m
    raise KeyError(name)


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
    from gpen_desktop.core.checkpoints import guess_architecture, read_state_dict

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
    from gpen_desktop.core.checkpoints import guess_architecture, read_state_dict
    from gpen_desktop.core.superres import INSTALL_HINT, inspect_sr_model, spandrel_available

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
    known = next((m for m in KNOWN_MODELS if m.name == info.name), None)
    return FoundModel(path, info, None, known, "superres")


def identify(path: str | Path) -> FoundModel:
    """What a single file is, by content (never by name)."""
    from gpen_desktop.core.checkpoints import inspect_checkpoint

    path = Path(path)
    try:
        info = inspect_checkpoint(path)
    except CheckpointError as exc:
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
