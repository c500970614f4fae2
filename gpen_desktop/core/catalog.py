"""The official GPEN checkpoints and where people get them: names, sizes, tasks, URLs.

A leaf module (standard library only), so anything — the CLI's ``--help``, the GUI, checkpoint
naming — can read the catalogue without importing torch or another core module. URLs are
from the official GPEN README (DESIGN §3) and, for Real-ESRGAN's compact general upscalers, the
Real-ESRGAN releases page (v0.2.5.0); no checksums are published (a download's SHA-256 is
recorded on first success).
"""

from __future__ import annotations

from dataclasses import dataclass

_OSS = "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/{}.pth"
_MODELSCOPE = (
    "https://www.modelscope.cn/api/v1/models/damo/cv_gpen_image-portrait-enhancement-hires/"
    "repo?Revision=master&FilePath={}"
)
_REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/{}.pth"
MODELSCOPE_PAGE = "https://modelscope.cn/models/damo/cv_gpen_image-portrait-enhancement-hires"

CHECKPOINT_EXTENSIONS = (".pth", ".pt", ".ckpt", ".bin", ".tar", ".safetensors", ".onnx")


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
    KnownModel(
        "realesr-general-x4v3",
        "realesr-general-x4v3.pth",
        0,
        0,
        0.0,
        "superres",
        _REAL_ESRGAN.format("realesr-general-x4v3"),
        4_900_000,
        "Background super-resolution x4, fast (Real-ESRGAN compact general model, "
        "SRVGGNetCompact; optional)",
        4,
    ),
    KnownModel(
        "realesr-general-wdn-x4v3",
        "realesr-general-wdn-x4v3.pth",
        0,
        0,
        0.0,
        "superres",
        _REAL_ESRGAN.format("realesr-general-wdn-x4v3"),
        4_900_000,
        "Weak-denoise partner of realesr-general-x4v3: with both, Denoise strength blends "
        "them (optional)",
        4,
    ),
)

#: The compact general upscaler and its weak-denoise partner (Real-ESRGAN's ``-dn`` pair).
GENERAL_X4V3 = "realesr-general-x4v3"
GENERAL_WDN_X4V3 = "realesr-general-wdn-x4v3"


def known_model(name: str) -> KnownModel:
    """The catalogue entry called ``name`` (any case); KeyError when there is none."""
    for m in KNOWN_MODELS:
        if m.name.lower() == name.lower():
            return m
    raise KeyError(name)
