"""The training loop: GPEN generator + discriminator, Adam, EMA, lazy R1 / path length, autocast,
gradient accumulation, checkpoints, logging, validation, clean stops on SIGINT / SIGTERM.

One optimisation step (0-based index ``i``) takes ``accumulate`` micro-batches of
``batch_size`` (HQ, degraded) pairs from this rank's stream and, with the same pairs:

1. when the adversarial term is on: a discriminator step (softplus logistic loss); if
   ``i % r1_every == 0`` also an R1 step (``r1_gamma / 2 * r1_every * |grad|^2``, float32);
2. a generator step on the weighted objective (:class:`~.losses.Objective`); if the path-length
   weight is on and ``i % path_every == 0``, a path-length step through the wrapped forward;
3. ``g_ema <- decay * g_ema + (1 - decay) * g`` (decay: :meth:`TrainConfig.ema_decay_at`).

Randomness inside a step comes only from a generator seeded with (seed, rank, step), and the data
from :mod:`.data`'s per-sample seeds, so a resumed run repeats an uninterrupted one exactly
(CPU, float32). The log (``RUN/log.jsonl``) gets one JSON line per ``log_every`` steps:
``{"step": steps done, "lr", "losses": {...}, "data_wait": share of the time spent waiting for
data, "steps_per_s"}``; validation lines are ``{"step", "val": {...}}``; events (start, stop,
end) are ``{"event": ..., "step"}``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gpen_desktop.core.errors import CheckpointError
from gpen_desktop.core.training import checkpoints as ck
from gpen_desktop.core.training import distributed as dd
from gpen_desktop.core.training.config import TrainConfig, TrainConfigError
from gpen_desktop.core.training.losses import (
    build_objective,
    discriminator_loss,
    path_length_penalty,
    r1_penalty,
)
from gpen_desktop.core.types import TrainProgressFn

log = logging.getLogger(__name__)


class GeneratorForward(nn.Module):
    """What DDP wraps for the generator: ``forward(x, with_w)`` returns the restored image (and
    the mapped latent ``w`` for path-length regularisation). ``g`` is the FullGenerator."""

    def __init__(self, g: nn.Module) -> None:
        super().__init__()
        self.g = g

    def forward(self, x: torch.Tensor, with_w: bool = False) -> Any:
        latent, features = self.g.encode(x)
        w = self.g.generator.style(latent)
        image = self.g.generator.synthesize(w, features)
        return (image, w) if with_w else image


def _shape_of(config: Any) -> dict[str, Any]:
    return {
        "size": config.size,
        "channel_multiplier": config.channel_multiplier,
        "narrow": config.narrow,
        "style_dim": config.style_dim,
        "n_mlp": config.n_mlp,
    }


def _describe(shape: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in shape.items())


def read_init(path: str | Path) -> dict[str, Any]:
    """What ``--init`` offers: ``{'g', 'g_ema', ['d', 'g_optim', 'd_optim']}`` state dicts from a
    training checkpoint, or G and g_ema both from any generator file the app loads."""
    from gpen_desktop.core.checkpoints import _unwrap, read_checkpoint_file

    raw = read_checkpoint_file(path)
    if ck.is_training_checkpoint(raw):
        out = {k: raw[k] for k in ("g", "g_ema", "d", "g_optim", "d_optim") if k in raw}
        out.setdefault("g", out.get("g_ema"))
        out.setdefault("g_ema", out.get("g"))
        if out.get("g") is None:
            raise CheckpointError(f"{Path(path).name} has no generator ('g' / 'g_ema')")
        return out
    sd, _fmt, _hints = _unwrap(raw)
    if not any(k.startswith("ecd0.") for k in sd):
        raise CheckpointError(f"{Path(path).name} is not a GPEN generator")
    return {"g": sd, "g_ema": sd}


def prepare_config(config: TrainConfig) -> TrainConfig:
    """Resolve the config; with ``--init`` the network's shape comes from the file when it is
    not given, and a given shape that differs is a one-line error naming the difference."""
    from gpen_desktop.core.gpen import ConfigError, config_from_state_dict

    if config.init and config.grow_from:
        raise TrainConfigError("--init and --grow-from cannot be used together")
    if config.grow_from:
        from gpen_desktop.core.checkpoints import read_state_dict

        try:
            found = config_from_state_dict(read_state_dict(config.grow_from)[0])
        except ConfigError as exc:
            raise TrainConfigError(f"--grow-from {Path(config.grow_from).name}: {exc}") from None
        for key in ("channel_multiplier", "narrow", "style_dim", "n_mlp"):
            if getattr(config, key) is None:
                setattr(config, key, getattr(found, key))
        if config.size is None:
            config.size = 2 * found.size
    if config.init:
        sd = read_init(config.init)["g"]
        try:
            found = config_from_state_dict(sd)
        except ConfigError as exc:
            raise TrainConfigError(f"--init {Path(config.init).name}: {exc}") from None
        file_shape = {k: getattr(found, k) for k in _shape_of(config)}
        diffs = []
        for key, value in file_shape.items():
            mine = getattr(config, key)
            if mine is None:
                setattr(config, key, value)
            elif (mine != value) if not isinstance(value, float) else abs(mine - value) > 1e-9:
                diffs.append(f"{key} {value:g} (this run: {mine:g})")
        if diffs:
            raise TrainConfigError(
                f"--init {Path(config.init).name} does not fit this run: it has {', '.join(diffs)}"
            )
    return config.resolved()


def _precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None: plain float32)."""
    from gpen_desktop.core.inference import cpu_has_native_bfloat16

    if name == "float32":
        return None
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bfloat16() else None
    if name == "float16" and device.type != "cuda":
        raise TrainConfigError("--precision float16 needs a CUDA device (use bfloat16 on CPU)")
    return torch.bfloat16 if name == "bfloat16" else torch.float16


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for every parameter (buffers copied)."""
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.mul_(decay).add_(p.detach(), alpha=1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)


@dataclass
class RunResult:
    step: int
    stopped: str | None = None  # the signal name when a signal ended the run
    checkpoint: Path | None = None
    notes: list[str] = field(default_factory=list)
    early_stop: bool = False  # --keep-best with --patience ended the run
    best: dict[str, Any] | None = None  # {"step", "psnr"} of the model kept (--keep-best)


class Trainer:
    """Build everything for a resolved config; :meth:`run` trains until ``config.steps``.

    ``resume``: continue from the newest checkpoint in ``config.out``. ``random_backbones``:
    random-weight loss networks (tests). ``progress(record)`` hears every step's record.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        resume: bool = False,
        random_backbones: bool = False,
        progress: TrainProgressFn | None = None,
        notes: Callable[[str], None] | None = None,
    ) -> None:
        from gpen_desktop.core.devices import resolve_device
        from gpen_desktop.core.gpen import Discriminator, FullGenerator
        from gpen_desktop.core.training.data import FaceDataset, align_photos, scan_faces

        self.dist = dd.from_environment()
        config = dataclasses_replace(config, world_size=self.dist.world_size)
        config = prepare_config(config) if not resume else config.resolved()
        self.config = c = config
        self.run_dir = Path(c.out)
        self.progress = progress
        self.say = notes or (lambda line: log.info("%s", line))
        self.device = dd.device_for(self.dist, resolve_device(c.device))
        self.amp_dtype = _precision(c.precision, self.device)

        # data first: bad data is reported before anything heavy happens
        dd.init(self.dist, self.device)
        if c.align:  # rank 0 detects and fills the cache; the others then read it
            if self.dist.is_main:
                report = align_photos(c.data, c.size, self.run_dir / "aligned")
            dd.barrier(self.dist)
            if not self.dist.is_main:
                report = align_photos(c.data, c.size, self.run_dir / "aligned")
        else:
            report = scan_faces(c.data, c.size)
        self.data_notes = report.notes()
        self.dataset = FaceDataset(
            report.paths,
            c.size,
            c.degrade_options(),
            c.seed,
            c.flip_p,
            c.gray_p or 0.0,
            c.color_p or 0.0,
        )
        self.validator = None
        if c.val and self.dist.is_main:
            from gpen_desktop.core.training.validate import Validator

            val_paths = scan_faces(c.val, c.size, what="--val").paths
            self.validator = Validator(val_paths, c.size, c.degrade_options(), c.seed, c.val_limit)

        torch.manual_seed(c.seed)
        self.g = FullGenerator(c.size, c.style_dim, c.n_mlp, c.channel_multiplier, c.narrow)
        self.d = Discriminator(c.size, c.channel_multiplier, c.narrow)
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False)
        self.objective = build_objective(c, random_backbones=random_backbones)
        self.use_adv = self.objective.active("adversarial")
        self.use_path = (c.path_weight or 0) > 0

        g_ratio = c.path_every / (c.path_every + 1) if self.use_path else 1.0
        d_ratio = c.r1_every / (c.r1_every + 1) if c.r1_gamma > 0 else 1.0
        if not c.lazy_lr_scaling:
            g_ratio = d_ratio = 1.0
        self.ratios = (g_ratio, d_ratio)
        self.g_optim = torch.optim.Adam(
            self.g.parameters(),
            lr=c.lr * g_ratio,
            betas=(c.beta1**g_ratio, c.beta2**g_ratio),
        )
        self.d_optim = torch.optim.Adam(
            self.d.parameters(),
            lr=c.lr * d_ratio,
            betas=(c.beta1**d_ratio, c.beta2**d_ratio),
        )
        self.step = 0
        self.mean_path = torch.zeros(())
        scaler_on = self.amp_dtype == torch.float16
        self.g_scaler = torch.amp.GradScaler("cuda", enabled=scaler_on)
        self.d_scaler = torch.amp.GradScaler("cuda", enabled=scaler_on)

        if resume:
            self._resume()
        else:
            self._initialise()
        for module in (self.g, self.d, self.g_ema):
            module.to(self.device)
        self.objective.to(self.device)
        self.mean_path = self.mean_path.to(self.device)
        for optim in (self.g_optim, self.d_optim):
            for state in optim.state.values():
                for k, v in state.items():
                    if isinstance(v, torch.Tensor) and k != "step":
                        state[k] = v.to(self.device)
        self.forward_g = GeneratorForward(self.g)
        self.g_ddp = dd.wrap(self.forward_g, self.dist, self.device)
        self.d_ddp = dd.wrap(self.d, self.dist, self.device)
        self._stop: str | None = None
        self._writer: Any = None
        self.best: dict[str, Any] | None = None  # {"step", "psnr"} of the best validation
        self.best_state: dict[str, torch.Tensor] | None = None
        self.since_best = 0  # validations since the best one

    # -- setup ------------------------------------------------------------------------------

    def _initialise(self) -> None:
        c = self.config
        if c.grow_from:
            from gpen_desktop.core.training.grow import grow_into

            report = grow_into(self.g, c.grow_from)
            self.g_ema.load_state_dict(self.g.state_dict())
            self.say(
                f"grown from {Path(c.grow_from).name}: {len(report['copied'])} tensors copied, "
                f"{len(report['duplicated'])} duplicated from the previous resolution, "
                f"{len(report['fresh'])} new ({', '.join(sorted({n.split('.')[0] for n in report['fresh']}))})"
            )
        if c.init:
            got = read_init(c.init)
            self.g.load_state_dict(_without_kernels(got["g"]), strict=False)
            self.g_ema.load_state_dict(_without_kernels(got["g_ema"]), strict=False)
            if "d" in got:
                self._load_d(got["d"], c.init)
            for name in ("g_optim", "d_optim"):
                if name in got:
                    try:
                        getattr(self, name).load_state_dict(got[name])
                    except (ValueError, KeyError) as exc:
                        self.say(f"--init: optimiser state {name} not used ({exc})")
        if c.init_d:
            from gpen_desktop.core.checkpoints import _unwrap, read_checkpoint_file

            raw = read_checkpoint_file(c.init_d)
            if ck.is_training_checkpoint(raw) and isinstance(raw.get("d"), dict):
                sd = raw["d"]
            else:
                sd = _unwrap(raw)[0]
            self._load_d(sd, c.init_d)

    def _load_d(self, sd: dict, source: str) -> None:
        from gpen_desktop.core.gpen import ConfigError, discriminator_config_from_state_dict

        name = Path(source).name
        if not any(k.startswith("convs.0.") for k in sd):
            raise TrainConfigError(f"--init-d {name} is not a GPEN discriminator")
        try:
            found = discriminator_config_from_state_dict(sd)
        except ConfigError as exc:
            raise TrainConfigError(f"--init-d {name}: {exc}") from None
        c = self.config
        diffs = [
            f"{k} {getattr(found, k):g} (this run: {getattr(c, k):g})"
            for k in ("size", "channel_multiplier", "narrow")
            if abs(getattr(found, k) - getattr(c, k)) > 1e-9
        ]
        if diffs:
            raise TrainConfigError(
                f"discriminator {name} does not fit this run: {', '.join(diffs)}"
            )
        self.d.load_state_dict(_without_kernels(sd), strict=False)

    def _resume(self) -> None:
        path = ck.latest_checkpoint(self.run_dir)
        if path is None:
            raise CheckpointError(f"--resume: no checkpoint in {ck.checkpoint_dir(self.run_dir)}")
        state = ck.load_training_checkpoint(path)
        self.g.load_state_dict(state["g"])
        self.g_ema.load_state_dict(state["g_ema"])
        self.d.load_state_dict(state["d"])
        self.g_optim.load_state_dict(state["g_optim"])
        self.d_optim.load_state_dict(state["d_optim"])
        self.step = int(state["step"])
        extra = state.get("extra", {})
        if "mean_path" in extra:
            self.mean_path = extra["mean_path"].clone()
        for name in ("g_scaler", "d_scaler"):
            if name in extra and getattr(self, name).is_enabled():
                getattr(self, name).load_state_dict(extra[name])
        if "best" in extra:
            self.best = {"step": int(extra["best"][0]), "psnr": float(extra["best"][1])}
            self.since_best = int(extra["best"][2])
            best_file = self.run_dir / "best.pth"
            if best_file.is_file():
                self.best_state = ck.load_flat(best_file)
        if "rng" in state:
            ck.set_rng_state(state["rng"])
        _truncate_log(self.run_dir / "log.jsonl", self.step)
        self.say(f"resumed from {path.name} (step {self.step})")

    # -- one step ---------------------------------------------------------------------------

    def _autocast(self) -> Any:
        return torch.autocast(
            self.device.type,
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        )

    def _micro(self, ddp: nn.Module, i: int, n: int) -> Any:
        import contextlib

        if isinstance(ddp, nn.parallel.DistributedDataParallel) and i < n - 1:
            return ddp.no_sync()
        return contextlib.nullcontext()

    def train_step(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """One optimisation step on ``accumulate`` micro-batches; returns the logged losses."""
        c, i, n = self.config, self.step, len(batches)
        lr = c.lr_at(i)
        for optim, ratio in zip((self.g_optim, self.d_optim), self.ratios, strict=True):
            for group in optim.param_groups:
                group["lr"] = lr * ratio
        gen = torch.Generator(self.device).manual_seed(
            (c.seed * 1_000_003 + self.dist.rank * 7919 + i) % (2**63)
        )
        logged: dict[str, float] = {}

        def add(key: str, value: torch.Tensor) -> None:
            logged[key] = logged.get(key, 0.0) + float(value.detach()) / n

        use_adv = self.use_adv and i >= (c.adversarial_start or 0)
        if use_adv:
            self.g.requires_grad_(False)
            self.d.requires_grad_(True)
            self.d_optim.zero_grad(set_to_none=True)
            for k, (hq, lq) in enumerate(batches):
                with self._micro(self.d_ddp, k, n):
                    with torch.no_grad(), self._autocast():
                        fake = self.forward_g(lq)
                    with self._autocast():
                        loss = discriminator_loss(self.d_ddp(hq), self.d_ddp(fake.detach()))
                    self.d_scaler.scale(loss / n).backward()
                add("d", loss)
            self.d_scaler.step(self.d_optim)
            self.d_scaler.update()
            if c.r1_gamma > 0 and i % c.r1_every == 0:
                self.d_optim.zero_grad(set_to_none=True)
                for k, (hq, _lq) in enumerate(batches):
                    with self._micro(self.d_ddp, k, n):
                        penalty = r1_penalty(self.d_ddp, hq)
                        (c.r1_gamma / 2 * penalty * c.r1_every / n).backward()
                    add("r1", penalty)
                self.d_optim.step()

        self.g.requires_grad_(True)
        self.d.requires_grad_(False)
        self.g_optim.zero_grad(set_to_none=True)
        for k, (hq, lq) in enumerate(batches):
            with self._micro(self.g_ddp, k, n):
                with self._autocast():
                    fake = self.g_ddp(lq)
                    logits = self.d(fake) if use_adv else None
                    terms = self.objective.generator_terms(fake, hq, logits)
                self.g_scaler.scale(terms["total"] / n).backward()
            for key, value in terms.items():
                add(key, value)
        self.g_scaler.step(self.g_optim)
        self.g_scaler.update()

        if self.use_path and i % c.path_every == 0:
            self.g_optim.zero_grad(set_to_none=True)
            for k, (_hq, lq) in enumerate(batches):
                with self._micro(self.g_ddp, k, n):
                    image, w = self.g_ddp(lq, with_w=True)
                    penalty, self.mean_path = path_length_penalty(
                        image, w, self.mean_path, generator=gen
                    )
                    loss = c.path_weight * c.path_every * penalty + 0 * image[0, 0, 0, 0]
                    (loss / n).backward()
                add("path", penalty)
            self.g_optim.step()
        self.d.requires_grad_(True)
        ema_update(self.g_ema, self.g, c.ema_decay_at(i))
        self.step += 1
        for key, value in logged.items():
            if not math.isfinite(value):
                raise FloatingPointError(f"step {self.step}: loss {key} is {value}")
        return logged

    # -- the loop ---------------------------------------------------------------------------

    def run(self, until: int | None = None) -> RunResult:
        """Train until ``config.steps`` (or ``until``) steps are done, or a signal stops it.
        Rank 0 writes the config, log, checkpoints, ``model.pth`` and validation sheets."""
        from gpen_desktop.core.training.data import make_loader

        c = self.config
        target = min(c.steps, until) if until is not None else c.steps
        main = self.dist.is_main
        if main:
            c.write(self.run_dir / "config.toml")
            for line in self.objective.notes + self.data_notes:
                self.say(line)
            self._log(
                {
                    "event": "start",
                    "step": self.step,
                    "world_size": self.dist.world_size,
                    "disabled_losses": c.disabled_losses,
                    "device": str(self.device),
                }
            )
            self._open_tensorboard()
        per_step = c.batch_size * c.accumulate
        loader = make_loader(
            self.dataset,
            c.batch_size,
            c.workers,
            self.dist.rank,
            self.dist.world_size,
            c.seed,
            start=self.step * per_step,
            pin_memory=self.device.type == "cuda",
        )
        batches_iter = iter(loader)
        if main and self.validator and c.keep_best and self.step == 0 and c.init:
            # the released model is the first candidate: a fine-tune that only makes the
            # held-out faces worse keeps it
            scores = self.validate()
            self._log({"step": 0, "val": scores})
            self._keep_best(scores)
        restore = self._install_signals()
        result = RunResult(step=self.step, notes=self.objective.notes + self.data_notes)
        wait = busy = 0.0
        window_start, window_steps = time.perf_counter(), 0
        try:
            while self.step < target:
                t0 = time.perf_counter()
                batches = []
                for _ in range(c.accumulate):
                    hq, lq = next(batches_iter)
                    batches.append(
                        (
                            hq.to(self.device, non_blocking=True),
                            lq.to(self.device, non_blocking=True),
                        )
                    )
                t1 = time.perf_counter()
                losses = self.train_step(batches)
                t2 = time.perf_counter()
                wait += t1 - t0
                busy += t2 - t1
                window_steps += 1
                record = {"step": self.step, "lr": c.lr_at(self.step - 1), "losses": losses}
                if self.progress and main:
                    rate = window_steps / max(t2 - window_start, 1e-9)
                    self.progress({**record, "steps_per_s": rate, "total": target})
                if main and (self.step % c.log_every == 0 or self.step == target):
                    record["data_wait"] = wait / max(wait + busy, 1e-12)
                    record["steps_per_s"] = window_steps / max(t2 - window_start, 1e-9)
                    self._log(record)
                    wait = busy = 0.0
                    window_start, window_steps = time.perf_counter(), 0
                if (
                    main
                    and self.validator
                    and (self.step % c.val_every == 0 or self.step == c.steps)
                ):
                    scores = self.validate()
                    self._log({"step": self.step, "val": scores})
                    if self._keep_best(scores) and self._stop is None:
                        self._stop = "patience"
                        self.say(
                            f"stopping at step {self.step}: {c.patience} validations without a "
                            f"gain; the best was step {self.best['step']} "
                            f"(PSNR {self.best['psnr']:.2f} dB)"
                        )
                stop = dd.any_rank(self._stop is not None, self.dist, self.device)
                if main and (stop or self.step % c.save_every == 0 or self.step == target):
                    result.checkpoint = self.save()
                if stop:
                    if self._stop == "patience":
                        result.early_stop = True
                    else:
                        result.stopped = self._stop or "signal"
                    break
            if self.step >= c.steps and self.dist.enabled:
                sums = dd.digests(list(self.g.parameters()), self.dist, self.device)
                if main:
                    self._log({"event": "ranks", "step": self.step, "g_digests": sums})
        finally:
            restore()
            del batches_iter, loader
            if self._writer is not None:
                self._writer.close()
        result.step = self.step
        result.best = self.best
        if main:
            self._log({"event": "stop" if result.stopped else "end", "step": self.step})
        dd.shutdown(self.dist)
        return result

    def validate(self) -> dict[str, Any]:
        assert self.validator is not None
        scores = self.validator.run(
            self.g_ema, self.device, self.step, self.run_dir / "val", self.config.val_identity
        )
        if self._writer is not None:
            for key, variants in scores.items():
                if isinstance(variants, dict) and "restored" in variants:
                    self._writer.add_scalar(f"val/{key}", variants["restored"], self.step)
        return scores

    def save(self) -> Path:
        """Write the checkpoint for the current step and refresh ``RUN/model.pth``."""
        c = self.config
        extra: dict[str, Any] = {"mean_path": self.mean_path.detach().cpu()}
        if self.best is not None:
            extra["best"] = [self.best["step"], self.best["psnr"], self.since_best]
        if self.g_scaler.is_enabled():
            extra["g_scaler"] = self.g_scaler.state_dict()
            extra["d_scaler"] = self.d_scaler.state_dict()
        payload = {
            "g": _cpu(self.g.state_dict()),
            "d": _cpu(self.d.state_dict()),
            "g_ema": _cpu(self.g_ema.state_dict()),
            "g_optim": self.g_optim.state_dict(),
            "d_optim": self.d_optim.state_dict(),
            "step": self.step,
            "config": _plain(c.to_dict()),
            "rng": ck.rng_state(),
            "extra": extra,
        }
        path = ck.save_checkpoint(self.run_dir, self.step, payload, c.keep)
        model = self.best_state if c.keep_best and self.best_state is not None else None
        ck.save_flat(model or self.g_ema.state_dict(), self.run_dir / "model.pth")
        return path

    def _keep_best(self, scores: dict[str, Any]) -> bool:
        """Remember the g_ema of the best held-out PSNR (``RUN/best.pth``); True when
        ``patience`` validations in a row brought no gain (the run should stop)."""
        c = self.config
        psnr = scores.get("psnr", {}).get("restored")
        if psnr is None or not c.keep_best:
            return False
        if self.best is None or psnr > self.best["psnr"]:
            self.best = {"step": self.step, "psnr": float(psnr)}
            self.best_state = {
                k: v.detach().cpu().clone() for k, v in self.g_ema.state_dict().items()
            }
            self.since_best = 0
            ck.save_flat(self.best_state, self.run_dir / "best.pth")
            self._log({"event": "best", "step": self.step, "psnr": float(psnr)})
            return False
        self.since_best += 1
        return bool(c.patience) and self.since_best >= c.patience

    # -- helpers ----------------------------------------------------------------------------

    def _log(self, record: dict[str, Any]) -> None:
        record = {"time": round(time.time(), 3), **record}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "log.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(_plain(record)) + "\n")
        if self._writer is not None and "losses" in record:
            for key, value in record["losses"].items():
                self._writer.add_scalar(f"loss/{key}", value, record["step"])
            self._writer.add_scalar("lr", record["lr"], record["step"])

    def _open_tensorboard(self) -> None:
        if not self.config.tensorboard:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self._writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum: int, _frame: Any) -> None:
            self._stop = signal.Signals(signum).name

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

        def restore() -> None:
            for s, h in old.items():
                signal.signal(s, h)

        return restore


def _without_kernels(sd: dict) -> dict:
    return {k: v for k, v in sd.items() if not k.endswith(".kernel")}


def _cpu(sd: dict) -> dict:
    return {k: v.detach().cpu() for k, v in sd.items()}


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (from a crash after the last checkpoint), atomically."""
    if not path.is_file():
        return
    from gpen_desktop.core.fileio import atomic_open

    kept = []
    for line in path.read_text("utf-8").splitlines():
        try:
            if int(json.loads(line).get("step", 0)) > step:
                continue
        except (ValueError, AttributeError):
            continue
        kept.append(line)
    with atomic_open(path, "w", overwrite=True) as fh:
        fh.write("".join(line + "\n" for line in kept))


def dataclasses_replace(config: TrainConfig, **changes: Any) -> TrainConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)
