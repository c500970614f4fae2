"""Training configuration: one dataclass, three presets, a TOML file per run (``RUN/config.toml``).

Fields left ``None`` are filled by :meth:`TrainConfig.resolved` from the preset and the size, so
the file written into a run holds every value the run used (and a run can be repeated from it).
Presets:

``seed``  the seed's objective: L1 1.0, VGG-19 relu2_2 perceptual 0.05, ArcFace identity 0.1,
          non-saturating adversarial 0.005 with lazy R1 (gamma 10 every 16 steps), LPIPS 0.1,
          and the colour term 1.0 (:func:`~.losses.chroma_loss`) with colour variants of half
          the pairs (``color_p``); Adam 2e-3 (2e-4 learned ten times slower: issue 21),
          betas (0.9, 0.99), dropping to 2e-4 after 80 % of the steps; EMA 0.999 with a
          warm-up (decay at most (1 + step) / (10 + step)); the seed's degradation
          (``core.degrade`` defaults).
``finetune``  small-data fine-tuning of a released model (``--init``): the seed's objective
          (perceptual, identity and LPIPS when their backbones are found) with the adversarial
          term only after ``adversarial_start`` 1000 steps; Adam 2e-5 (betas 0.9, 0.99, no
          drop); EMA 0.99 with the warm-up (a short horizon for runs of a few thousand
          steps); validation every 250 steps, ``keep_best`` (``model.pth`` is the g_ema of the
          best held-out PSNR) and a stop after ``patience`` 4 validations without a gain.
``gpen``  the official ``train_simple.py``: softplus adversarial 1.0 + smooth-L1 1.0 + identity
          1.0, R1 gamma 10 every 16, path length 2 every 4; Adam 0.002 scaled by the lazy ratio,
          betas (0, 0.99 ** ratio); EMA 0.5 ** (32 / 10000); GFPGAN's degradation (blur sigma
          0.1-10 with a 41-tap kernel, down-sampling 0.8-8x, noise 0-20, JPEG 60-100, gray 0.2).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpen_desktop.core.errors import TrainConfigError

PRESETS = ("seed", "gpen", "finetune")
LOSS_TERMS = ("l1", "smooth_l1", "perceptual", "identity", "adversarial", "lpips", "color")
OFFICIAL_WIDTHS = {256: (1, 0.5)}  # size -> (channel_multiplier, narrow); others (2, 1.0)

_PRESET_VALUES: dict[str, dict[str, Any]] = {
    "seed": {
        "l1": 1.0,
        "smooth_l1": 0.0,
        "perceptual": 0.05,
        "identity": 0.1,
        "adversarial": 0.005,
        "lpips": 0.1,
        "path_weight": 0.0,
        "lr": 2e-3,
        "beta1": 0.9,
        "beta2": 0.99,
        "lr_drop_at": 0.8,
        "lr_drop_to": 2e-4,
        "ema_decay": 0.999,
        "ema_warmup": True,
        "lazy_lr_scaling": False,
        "gray_p": 0.0,
        "color_p": 0.5,
        "color": 1.0,
        "adversarial_start": 0,
        "val_every": 1000,
        "keep_best": False,
        "patience": 0,
    },
    "gpen": {
        "l1": 0.0,
        "smooth_l1": 1.0,
        "perceptual": 0.0,
        "identity": 1.0,
        "adversarial": 1.0,
        "lpips": 0.0,
        "path_weight": 2.0,
        "lr": 0.002,
        "beta1": 0.0,
        "beta2": 0.99,
        "lr_drop_at": 1.0,  # the official script never drops it
        "lr_drop_to": 0.002,
        "ema_decay": 0.5 ** (32 / 10000),
        "ema_warmup": False,
        "lazy_lr_scaling": True,
        "gray_p": 0.2,
        "color_p": 0.0,
        "color": 0.0,
        "adversarial_start": 0,
        "val_every": 1000,
        "keep_best": False,
        "patience": 0,
    },
}
#: Fine-tuning a released model on a few hundred faces: the seed preset's objective, a lower
#: and constant lr, EMA for short runs, the adversarial term after a warm-up, validation
#: often with a stop at the best held-out score.
_PRESET_VALUES["finetune"] = {
    **_PRESET_VALUES["seed"],
    "lr": 2e-5,
    "lr_drop_at": 1.0,
    "lr_drop_to": 2e-5,
    "ema_decay": 0.99,
    "adversarial_start": 1000,
    "val_every": 250,
    "keep_best": True,
    "patience": 4,
}

#: GFPGAN's degradation as the official GPEN training code uses it (core.degrade options).
GPEN_DEGRADATION: dict[str, Any] = {
    "order": ["gaussian_blur", "downsample", "noise", "jpeg"],
    "gaussian_blur_p": 1.0,
    "gaussian_blur_sigma": [0.1, 10.0],
    "gaussian_blur_kernel": 41,
    "downsample_p": 1.0,
    "downsample_factor": [0.8, 8.0],
    "noise_p": 1.0,
    "noise_sigma": [0.0, 20.0],
    "noise_gray_p": 0.0,
    "jpeg_p": 1.0,
    "jpeg_quality": [60, 100],
}


@dataclass
class TrainConfig:
    """Every option of a training run. ``None`` means "from the preset / the size"."""

    data: str = ""
    out: str = ""
    val: str | None = None
    preset: str = "seed"
    # network
    size: int | None = None
    channel_multiplier: int | None = None
    narrow: float | None = None
    style_dim: int | None = None
    n_mlp: int | None = None
    # schedule
    steps: int = 100_000
    batch_size: int = 4
    accumulate: int = 1
    lr: float | None = None
    lr_drop_at: float | None = None
    lr_drop_to: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    lazy_lr_scaling: bool | None = None
    ema_decay: float | None = None
    ema_warmup: bool | None = None
    # objective
    l1: float | None = None
    smooth_l1: float | None = None
    perceptual: float | None = None
    identity: float | None = None
    adversarial: float | None = None
    lpips: float | None = None
    color: float | None = None
    adversarial_start: int | None = None
    r1_gamma: float = 10.0
    r1_every: int = 16
    path_weight: float | None = None
    path_every: int = 4
    vgg: str | None = None
    arcface: str | None = None
    lpips_net: str = "vgg"
    lpips_backbone: str | None = None
    weights_dir: str | None = None
    strict_losses: bool = False
    disabled_losses: list[str] = field(default_factory=list)
    # data
    degrade_config: str | None = None
    degradation: dict[str, Any] | None = None
    gray_p: float | None = None
    color_p: float | None = None
    flip_p: float = 0.5
    align: bool = False
    workers: int = 2
    # runtime
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    val_every: int | None = None
    val_limit: int = 8
    keep_best: bool | None = None
    patience: int | None = None
    val_identity: bool = True
    save_every: int = 1000
    log_every: int = 10
    keep: int = 3
    init: str | None = None
    init_d: str | None = None
    grow_from: str | None = None
    tensorboard: bool = True
    world_size: int = 1
    effective_batch: int | None = None

    # -- presets ------------------------------------------------------------------------------

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` filled from the preset and the size; validated."""
        if self.preset not in PRESETS:
            raise TrainConfigError(f"--preset must be one of {', '.join(PRESETS)}")
        c = dataclasses.replace(self, disabled_losses=list(self.disabled_losses))
        for key, value in _PRESET_VALUES[c.preset].items():
            if getattr(c, key) is None:
                setattr(c, key, value)
        if c.size is None:
            c.size = 512
        if c.style_dim is None:
            c.style_dim = 512
        if c.n_mlp is None:
            c.n_mlp = 8
        cm, narrow = OFFICIAL_WIDTHS.get(c.size, (2, 1.0))
        if c.channel_multiplier is None:
            c.channel_multiplier = cm
        if c.narrow is None:
            c.narrow = narrow
        if c.degradation is None and c.degrade_config:
            from gpen_desktop.core.degrade import DegradeConfig

            c.degradation = DegradeConfig.from_file(c.degrade_config).to_dict()
        elif c.degradation is None and c.preset == "gpen":
            c.degradation = dict(GPEN_DEGRADATION)
        c.effective_batch = c.batch_size * c.accumulate * c.world_size
        c.validate()
        return c

    def validate(self) -> None:
        """One-line :class:`TrainConfigError` for the first bad value."""
        if self.size not in (16, 32, 64, 128, 256, 512, 1024, 2048):
            raise TrainConfigError(
                f"--size must be a power of two from 16 to 2048, not {self.size}"
            )
        if self.narrow is not None and not 0 < self.narrow <= 4:
            raise TrainConfigError(f"--narrow must be in (0, 4], not {self.narrow}")
        if self.narrow is not None and int(512 * self.narrow) < 1:
            raise TrainConfigError("--narrow is too small: no channels left")
        if self.channel_multiplier is not None and self.channel_multiplier < 1:
            raise TrainConfigError("--channel-multiplier must be at least 1")
        for name in ("steps", "batch_size", "accumulate", "r1_every", "path_every", "keep"):
            if int(getattr(self, name)) < 1:
                raise TrainConfigError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("val_every", "save_every", "log_every", "val_limit"):
            if int(getattr(self, name)) < 1:
                raise TrainConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if self.workers < 0:
            raise TrainConfigError("--workers must be 0 or more")
        for name in ("adversarial_start", "patience"):
            value = getattr(self, name)
            if value is not None and int(value) < 0:
                raise TrainConfigError(f"--{name.replace('_', '-')} must be 0 or more")
        if self.preset == "finetune" and not (self.init or self.grow_from):
            raise TrainConfigError(
                "the finetune preset starts from a trained model: give --init FILE "
                "(e.g. weights/GPEN-BFR-512.pth); train from scratch with --preset seed"
            )
        if self.keep_best and not self.val:
            raise TrainConfigError(
                "--keep-best needs held-out faces to score: give --val DIR"
                + (
                    " (the finetune preset keeps the best model)"
                    if self.preset == "finetune"
                    else ""
                )
            )
        if self.seed < 0:
            raise TrainConfigError("--seed must be a non-negative integer")
        for name in (*LOSS_TERMS, "path_weight", "r1_gamma"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise TrainConfigError(f"loss weight {name} must be a finite number >= 0")
        if self.lr is not None and not self.lr > 0:
            raise TrainConfigError("--lr must be positive")
        if self.lr_drop_at is not None and not 0 < self.lr_drop_at <= 1:
            raise TrainConfigError("--lr-drop-at is a fraction of --steps in (0, 1]")
        for name in ("flip_p", "gray_p", "color_p"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise TrainConfigError(f"{name} must be a probability in [0, 1]")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise TrainConfigError("ema_decay must be in [0, 1)")
        if self.precision not in ("auto", "float32", "bfloat16", "float16"):
            raise TrainConfigError("--precision must be auto, float32, bfloat16 or float16")
        if self.lpips_net not in ("vgg", "alex"):
            raise TrainConfigError("lpips_net must be vgg or alex")

    # -- derived values -----------------------------------------------------------------------

    def lr_at(self, step: int) -> float:
        """The generator's and discriminator's base learning rate for ``step`` (0-based)."""
        assert self.lr is not None and self.lr_drop_at is not None and self.lr_drop_to is not None
        return self.lr_drop_to if step >= int(self.lr_drop_at * self.steps) else self.lr

    def ema_decay_at(self, step: int) -> float:
        """The EMA decay for ``step`` (0-based): ``ema_decay``, capped by ``(1 + step) / (10 +
        step)`` while warming up, so that ``g_ema`` does not keep the random start for long."""
        assert self.ema_decay is not None
        if not self.ema_warmup:
            return self.ema_decay
        return min(self.ema_decay, (1 + step) / (10 + step))

    def degrade_options(self) -> Any:
        """The :class:`~gpen_desktop.core.degrade.DegradeConfig` the data pipeline uses."""
        from gpen_desktop.core.degrade import DegradeConfig

        if self.degradation:
            return DegradeConfig.from_dict(self.degradation)
        return DegradeConfig()

    # -- files --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        flat: dict[str, Any] = {}
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in names:
                raise TrainConfigError(f"{source}: unknown option {key!r}")
            flat[name] = value
        try:
            return cls(**flat)
        except TypeError as exc:  # pragma: no cover - dataclass keywords are checked above
            raise TrainConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a ``.toml`` (or ``.json``) file; unknown keys are an error."""
        import tomllib

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TrainConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except ValueError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TrainConfigError(f"{path.name} is not valid: {first}") from None
        return cls.from_dict(data, path.name)

    def to_toml(self) -> str:
        """TOML text of every set option (``None`` values are left out; TOML has no null)."""
        lines = ["# gpen train: every option of this run (flags override it on --resume)"]
        tables: list[tuple[str, Mapping[str, Any]]] = []
        for key, value in self.to_dict().items():
            if value is None:
                continue
            if isinstance(value, Mapping):
                tables.append((key, value))
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        for name, table in tables:
            lines.append("")
            lines.append(f"[{name}]")
            for key, value in table.items():
                if value is not None:
                    lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> None:
        from gpen_desktop.core.fileio import atomic_open

        with atomic_open(path, "w", overwrite=True, parents=True) as fh:
            fh.write(self.to_toml())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TrainConfigError(f"cannot write {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TrainConfigError(f"cannot write a {type(value).__name__} to TOML")
