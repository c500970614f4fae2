"""Safe loading of GPEN checkpoints in every form they come in.

One entry point, :func:`load_checkpoint`, turns a path into a ready model plus a
:class:`CheckpointInfo`. Every hyperparameter is read from tensor shapes (never from the file
name). Files are read with ``torch.load(weights_only=True)`` and a minimal allow-list, so a
checkpoint that tries to run code is refused before anything runs.

Accepted forms: flat state dicts (official downloads); training checkpoints
``{'g', 'd', 'g_ema', …}`` (``g_ema`` preferred); wrappers ``state_dict`` / ``params_ema`` /
``params`` / ``model``; ``module.``-prefixed keys; bundles ``{'generator': sd, 'args': Namespace}``;
float16 tensors (upcast); legacy (non-zip) serialization.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import re
import time
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gpen_desktop.core.catalog import KNOWN_MODELS
from gpen_desktop.core.errors import CheckpointError

log = logging.getLogger(__name__)

#: The only non-tensor globals a checkpoint may reference.
SAFE_GLOBALS: tuple[type, ...] = (argparse.Namespace,)

_WRAPPER_KEYS = ("g_ema", "params_ema", "state_dict", "params", "model", "generator", "g")


@dataclass
class CheckpointInfo:
    """What a checkpoint file holds, read from its tensors."""

    arch: str  # "GPEN" (restorer) or "GPEN-Discriminator"
    name: str  # best known name, e.g. "GPEN-BFR-512"
    in_size: int
    out_size: int
    channel_multiplier: int
    narrow: float
    style_dim: int | None
    n_mlp: int | None
    n_params: int
    dtype: str  # dtype the tensors are stored in
    format: str  # how the file wraps the weights
    path: str = ""
    file_size: int = 0
    candidates: list[str] = field(default_factory=list)  # every known model with this layout
    task: str = "bfr"  # bfr, colorization, inpainting or seg2face (from name hints; same layout)
    hints: dict[str, Any] = field(default_factory=dict)  # from a bundle's args
    load_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        mp = self.n_params / 1e6
        return (
            f"{self.name}: {self.arch} {self.in_size}->{self.out_size}, "
            f"channel_multiplier {self.channel_multiplier}, narrow {self.narrow:g}, "
            f"{mp:.1f} M params, {self.dtype}, {self.format}"
        )


@dataclass
class LoadedCheckpoint:
    model: Any  # torch.nn.Module, eval mode
    info: CheckpointInfo


# --------------------------------------------------------------------------- reading the file


def _read_file(path: Path) -> Any:
    """torch.load with weights_only and the allow-list; every failure becomes CheckpointError."""
    import torch

    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"expected a checkpoint file, got a folder: {path}")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"checkpoint is empty (0 bytes): {path.name}")
    with open(path, "rb") as fh:
        head = fh.read(8)
    is_zip = head.startswith(b"PK")
    is_pickle = head[:1] == b"\x80" or head[:2] == b"\x8a\x0a"
    if not (is_zip or is_pickle):
        kind = _sniff_other(head)
        raise CheckpointError(f"not a PyTorch checkpoint{kind}: {path.name}")
    if is_zip and not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"checkpoint is truncated or corrupt (incomplete zip archive, {size} bytes): {path.name}"
        )
    try:
        with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as exc:
        msg = str(exc)
        m = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL|global) ([\w.]+)", msg)
        if m or "Weights only load failed" in msg:
            what = m.group(1) if m else "arbitrary Python objects"
            raise CheckpointError(
                f"refused to load {path.name}: it asks to run or import '{what}', which is not "
                "plain tensor data (a checkpoint that runs code could take over this machine)"
            ) from None
        raise CheckpointError(
            f"checkpoint is truncated or corrupt ({msg[:80]}): {path.name}"
        ) from None
    except (EOFError, RuntimeError, ValueError, OSError, KeyError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"checkpoint is truncated or corrupt ({first}): {path.name}"
        ) from None


def _sniff_other(head: bytes) -> str:
    signatures = {
        b"\x89PNG": " (it is a PNG image)",
        b"\xff\xd8\xff": " (it is a JPEG image)",
        b"GIF8": " (it is a GIF image)",
        b"ONNX": " (it looks like an ONNX model)",
        b"<": " (it looks like an HTML/XML page — a failed download?)",
        b"{": " (it looks like a JSON/text file)",
    }
    for sig, label in signatures.items():
        if head.startswith(sig):
            return label
    if len(head) >= 8 and int.from_bytes(head[:8], "little") < 10**9 and head[8:9] == b"{":
        return " (it looks like a safetensors file)"
    return ""


# --------------------------------------------------------------------------- unwrapping


def _is_tensor_dict(obj: Any) -> bool:
    import torch

    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(v, torch.Tensor) for v in obj.values())
    )


def _unwrap(obj: Any) -> tuple[dict, str, dict[str, Any]]:
    """Find the generator's state dict inside whatever the file holds.

    Returns (state_dict, format description, hints from a bundle's args)."""
    hints: dict[str, Any] = {}
    trail: list[str] = []
    for _ in range(4):
        if _is_tensor_dict(obj):
            break
        if not isinstance(obj, Mapping):
            raise CheckpointError(f"file holds a {type(obj).__name__}, not a state dict of tensors")
        args = obj.get("args")
        if isinstance(args, argparse.Namespace):
            hints.update({k: v for k, v in vars(args).items() if isinstance(v, (int, float, str))})
        elif isinstance(args, Mapping):
            hints.update({k: v for k, v in args.items() if isinstance(v, (int, float, str))})
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                trail.append(key)
                obj = obj[key]
                break
        else:
            if isinstance(obj.get("d"), Mapping):
                trail.append("d")
                obj = obj["d"]
                continue
            keys = ", ".join(list(map(str, obj.keys()))[:6])
            raise CheckpointError(f"no state dict found in the file (top-level keys: {keys})")
    if not _is_tensor_dict(obj):
        raise CheckpointError("no state dict of tensors found in the file")
    sd = dict(obj)
    prefixes = ("module.", "_orig_mod.")
    for prefix in prefixes:
        if all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
            trail.append(prefix.rstrip("."))
    fmt = "state_dict" if not trail else "+".join(trail)
    return sd, fmt, hints


def read_checkpoint_file(path: str | Path) -> Any:
    """The raw object a checkpoint file holds (dicts of tensors, numbers, strings), read with
    the same safety as everything here; CheckpointError with a one-line reason otherwise."""
    return _read_file(Path(path))


def read_state_dict(path: str | Path) -> tuple[dict, str, dict[str, Any]]:
    """Safely read any checkpoint file's state dict (any architecture), unwrapped and with
    ``module.`` prefixes stripped: (state_dict, file form, args hints). CheckpointError."""
    return _unwrap(_read_file(Path(path)))


# --------------------------------------------------------------------------- recognising


def guess_architecture(keys: list[str]) -> str | None:
    """Name the architecture a non-GPEN state dict looks like, if we can tell."""
    ks = set(keys)
    joined = "\n".join(keys)

    def has(*patterns: str) -> bool:
        return all(re.search(p, joined, re.M) for p in patterns)

    if has(r"^stylegan_decoder\.", r"^conv_body_first") or has(r"^stylegan_decoder\."):
        return "GFPGAN"
    if has(r"^quantize\.", r"^ft_layers\.") or has(r"^generator\.quantize"):
        return "CodeFormer"
    if has(r"^body\.conv1\.", r"ClassHead") or has(r"^ClassHead\.") or has(r"^bbox_head"):
        return "RetinaFace (a face detector)"
    if has(r"^encoder\.", r"^decoder\.") and any("parsing" in k or "out_mask" in k for k in ks):
        return "ParseNet (a face-parsing model)"
    if has(r"^conv_first\.", r"^body\.\d+\.rdb1") or has(r"^RRDB_trunk"):
        return "Real-ESRGAN / ESRGAN (an upscaler)"
    if has(r"^cp\.", r"^conv_out") and "bisenet" in joined.lower():
        return "BiSeNet (a face-parsing model)"
    if has(r"^style\.\d+\.weight", r"^convs\.\d+\.conv\.weight", r"^to_rgbs\."):
        return "a StyleGAN2 generator without GPEN's encoder"
    if has(r"^convs\.0\.0\.weight", r"^final_conv\.", r"^final_linear\.1\."):
        return "GPEN-Discriminator"
    if has(r"^conv1\.weight", r"^layer1\.0\.", r"^fc\.weight"):
        return "a ResNet classifier"
    return None


def _state_dtype(sd: Mapping) -> str:
    import torch

    dtypes = {v.dtype for v in sd.values() if v.is_floating_point()}
    if not dtypes:
        return "unknown"
    if dtypes == {torch.float32}:
        return "float32"
    return "+".join(sorted(str(d).replace("torch.", "") for d in dtypes))


def _expected_layout(model: Any) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith(".kernel")}


def _check_tensors(sd: Mapping, model: Any, what: str) -> None:
    expected = _expected_layout(model)
    have = {k: tuple(v.shape) for k, v in sd.items() if not k.endswith(".kernel")}
    missing = [k for k in expected if k not in have]
    wrong = [
        f"{k} {list(have[k])} != {list(s)}"
        for k, s in expected.items()
        if k in have and have[k] != s
    ]
    extra = [k for k in have if k not in expected]
    if missing:
        more = f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""
        raise CheckpointError(f"{what} is missing tensors: {', '.join(missing[:3])}{more}")
    if wrong:
        more = f" (+{len(wrong) - 3} more)" if len(wrong) > 3 else ""
        raise CheckpointError(f"{what} has mis-shaped tensors: {'; '.join(wrong[:3])}{more}")
    if extra:
        more = f" (+{len(extra) - 3} more)" if len(extra) > 3 else ""
        raise CheckpointError(f"{what} has unexpected tensors: {', '.join(extra[:3])}{more}")


def _check_hints(hints: Mapping[str, Any], size: int) -> None:
    claims = {}
    for key in ("in_size", "size", "out_size"):
        v = hints.get(key)
        if isinstance(v, int) and v > 0:
            claims[key] = v
    version = hints.get("version") or hints.get("model") or hints.get("name")
    if isinstance(version, str):
        m = re.search(r"(\d{3,4})\s*$", version)
        if m:
            claims["version"] = int(m.group(1))
    for key, v in claims.items():
        if v != size:
            raise CheckpointError(
                f"the checkpoint's args say {key}={v} but its tensors are a {size} model; "
                "the file is inconsistent (GPEN super-resolution variants are not supported)"
            )


def _known_names(info_size: int, cm: int, narrow: float) -> list[str]:
    return [
        m.name
        for m in KNOWN_MODELS
        if m.size == info_size and m.channel_multiplier == cm and abs(m.narrow - narrow) < 1e-9
    ]


_TASK_WORDS = (
    ("coloriz", "colorization"),
    ("colouriz", "colorization"),
    ("inpaint", "inpainting"),
    ("seg2face", "seg2face"),
)


def _task(hints: Mapping, path: Path) -> str:
    """What the restorer is for. The tensors cannot tell (the 1024 BFR, colorization and
    inpainting checkpoints share one layout), so this reads the bundle's args and file name."""
    text = (" ".join(str(v) for v in hints.values()) + " " + path.stem).lower()
    return next((task for word, task in _TASK_WORDS if word in text), "bfr")


def _pick_name(candidates: list[str], hints: Mapping, path: Path, size: int) -> str:
    if not candidates:
        return f"GPEN-{size} (custom)"
    hint_text = " ".join(str(v) for v in hints.values()) + " " + path.stem
    hint_text = hint_text.lower()
    for cand in candidates:
        task = cand.split("-")[1].lower()  # BFR / Colorization / Inpainting / Seg2face
        if task != "bfr" and task in hint_text:
            return cand
    return candidates[0]


# --------------------------------------------------------------------------- public API


def _analyse(path: Path) -> tuple[dict, CheckpointInfo, Any]:
    """Read and validate; returns (state dict, info, meta-device model)."""
    import torch

    from gpen_desktop.core.gpen import (
        ConfigError,
        Discriminator,
        FullGenerator,
        config_from_state_dict,
        discriminator_config_from_state_dict,
    )

    t0 = time.perf_counter()
    sd, fmt, hints = read_state_dict(path)
    keys = list(sd)
    is_gpen = any(k.startswith("ecd0.") for k in keys) or any(
        k.startswith("generator.style.") for k in keys
    )
    arch_guess = guess_architecture(keys)
    if not is_gpen and arch_guess != "GPEN-Discriminator":
        what = f"looks like {arch_guess}" if arch_guess else "is not a GPEN model"
        sample = ", ".join(keys[:3])
        raise CheckpointError(f"{path.name} {what} (keys like {sample}), not a GPEN restorer")
    try:
        config = config_from_state_dict(sd) if is_gpen else discriminator_config_from_state_dict(sd)
    except ConfigError as exc:
        raise CheckpointError(f"{path.name} is an incomplete GPEN checkpoint: {exc}") from None
    with torch.device("meta"):
        if is_gpen:
            model = FullGenerator.from_config(config)
        else:
            model = Discriminator(config.size, config.channel_multiplier, config.narrow)
    _check_tensors(sd, model, path.name)
    _check_hints(hints, config.size)
    candidates = (
        _known_names(config.size, config.channel_multiplier, config.narrow) if is_gpen else []
    )
    n_params = sum(p.numel() for p in model.parameters())
    info = CheckpointInfo(
        arch="GPEN" if is_gpen else "GPEN-Discriminator",
        name=_pick_name(candidates, hints, path, config.size)
        if is_gpen
        else f"GPEN-{config.size}-D (discriminator)",
        in_size=config.size,
        out_size=config.size if is_gpen else 0,
        channel_multiplier=config.channel_multiplier,
        narrow=config.narrow,
        style_dim=config.style_dim if is_gpen else None,
        n_mlp=config.n_mlp if is_gpen else None,
        n_params=n_params,
        dtype=_state_dtype(sd),
        format=fmt,
        path=str(path),
        file_size=path.stat().st_size,
        candidates=candidates,
        task=_task(hints, path) if is_gpen else "discriminator",
        hints=dict(hints),
        load_seconds=time.perf_counter() - t0,
    )
    return sd, info, model


def inspect_checkpoint(path: str | Path) -> CheckpointInfo:
    """Read and validate a checkpoint without building a usable model (memory-mapped; cheap)."""
    _, info, _ = _analyse(Path(path))
    return info


def load_checkpoint(path: str | Path, device: Any = "cpu") -> LoadedCheckpoint:
    """Load a GPEN restorer checkpoint as an eval-mode float32 ``FullGenerator`` on ``device``.

    The model is built on the meta device and the (memory-mapped) tensors are assigned to it, so
    no time goes into random initialisation. Blur kernels are regenerated, never read.
    Raises CheckpointError with a one-line reason for anything that is not a usable restorer.
    """
    import torch

    t0 = time.perf_counter()
    path = Path(path)
    sd, info, model = _analyse(path)
    if info.arch != "GPEN":
        raise CheckpointError(
            f"{path.name} is a GPEN discriminator (used only for training), not a restorer"
        )
    tensors = {}
    for k, v in sd.items():
        if k.endswith(".kernel"):
            continue
        tensors[k] = v.float() if v.dtype != torch.float32 else v
    model.load_state_dict(tensors, strict=False, assign=True)
    _rebuild_kernels(model)
    model.requires_grad_(False)
    model.eval()
    model = model.to(device)
    info.load_seconds = time.perf_counter() - t0
    log.info("loaded %s in %.2f s", info.summary(), info.load_seconds)
    return LoadedCheckpoint(model=model, info=info)


def _rebuild_kernels(model: Any) -> None:
    """Give every FIR module a real kernel buffer (they are on the meta device after assign)."""
    for module in model.modules():
        fresh = getattr(module, "fresh_kernel", None)
        if fresh is not None:
            module.kernel = fresh()
    leftovers = [
        n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta
    ]
    if leftovers:
        raise CheckpointError(f"checkpoint is missing tensors: {', '.join(leftovers[:3])}")
