"""``gpen train``: train or fine-tune a GPEN model; ``gpen train status RUN``; ``gpen train export``."""

from __future__ import annotations

import argparse

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.commands._progress import Progress
from gpen_desktop.core.precision import PRECISIONS

_DESCRIPTION = """\
Train or fine-tune a GPEN face restorer on a folder of face images.

  gpen train DATA --out RUN [options]      train (DATA: a folder of aligned faces, recursive)
  gpen train --resume --out RUN            continue from RUN's newest checkpoint
  gpen train status RUN                    step, losses and the best validation so far
  gpen train export RUN|CKPT -o OUT [--format flat|bundle]

Every option is written to RUN/config.toml (--config FILE reads one; flags override it).
RUN/checkpoints/step_NNNNNN.pth are training checkpoints (the last --keep are kept),
RUN/model.pth the flat g_ema file that gpen restore and the app load, RUN/log.jsonl the
losses, RUN/val/step_NNNNNN.png the validation sheets (HQ | degraded | restored).
Which preset: --preset seed (the default) trains from scratch on tens of thousands of
faces for 100k+ steps. To adapt a released model to a few hundred faces, use
--preset finetune --init weights/GPEN-BFR-512.pth --val heldout/: lr 2e-5, a short EMA,
the adversarial term after a warm-up, validation every 250 steps and model.pth = the best
held-out step (--keep-best).
Ctrl+C saves a checkpoint and stops. Several processes or machines: torchrun --nproc-per-node N
-m gpen_desktop train ... (RANK / LOCAL_RANK / WORLD_SIZE from the environment)."""

_FLAGS = (
    # (flag, config field, type, help)
    ("--config", None, str, "TOML file with options (flags override it)"),
    (
        "--preset",
        "preset",
        str,
        "seed (default: full-scale training from scratch), finetune (a few hundred to a few "
        "thousand faces on top of a released model: needs --init and --val) or gpen (the "
        "official training code)",
    ),
    ("--size", "size", int, "face size in px (default 512, or the --init model's)"),
    (
        "--channel-multiplier",
        "channel_multiplier",
        int,
        "network width factor (official: 2; 1 at 256)",
    ),
    (
        "--narrow",
        "narrow",
        float,
        "network width scale (official: 1; 0.5 at 256; e.g. 0.25 for a tiny model)",
    ),
    ("--style-dim", "style_dim", int, "latent size (official 512)"),
    ("--n-mlp", "n_mlp", int, "mapping network layers (official 8)"),
    ("--steps", "steps", int, "optimisation steps in total (default 100000)"),
    ("--batch-size", "batch_size", int, "faces per step and process (default 4)"),
    (
        "--accumulate",
        "accumulate",
        int,
        "micro-batches per step (gradient accumulation, default 1)",
    ),
    ("--lr", "lr", float, "learning rate (seed 2e-3, finetune 2e-5, gpen 0.002)"),
    (
        "--lr-drop-at",
        "lr_drop_at",
        float,
        "fraction of --steps after which the lr drops (seed 0.8)",
    ),
    ("--lr-drop-to", "lr_drop_to", float, "the lr after the drop (seed 2e-4)"),
    (
        "--ema-decay",
        "ema_decay",
        float,
        "g_ema decay per step (seed 0.999 with a warm-up, gpen 0.5**(32/10000))",
    ),
    ("--l1", "l1", float, "pixel L1 weight (seed 1.0)"),
    ("--smooth-l1", "smooth_l1", float, "smooth-L1 weight (gpen 1.0)"),
    ("--perceptual", "perceptual", float, "VGG-19 relu2_2 L1 weight (seed 0.05)"),
    ("--identity", "identity", float, "ArcFace 1 - cosine weight (seed 0.1, gpen 1.0)"),
    ("--adversarial", "adversarial", float, "adversarial weight (seed 0.005, gpen 1.0)"),
    ("--lpips", "lpips", float, "LPIPS weight (seed 0.1)"),
    (
        "--color",
        "color",
        float,
        "colour-keeping weight: L1 of the chroma (Cb, Cr) on an 8 x 8 grid (seed 1.0)",
    ),
    (
        "--adversarial-start",
        "adversarial_start",
        int,
        "steps of the other terms before the adversarial one starts (finetune 1000)",
    ),
    ("--r1-gamma", "r1_gamma", float, "R1 gamma (10)"),
    ("--r1-every", "r1_every", int, "R1 every N steps (16)"),
    ("--path-weight", "path_weight", float, "path-length weight (gpen 2)"),
    ("--path-every", "path_every", int, "path length every N steps (4)"),
    ("--vgg", "vgg", str, "VGG-19 file (torchvision's vgg19-dcbb9e9d.pth)"),
    ("--arcface", "arcface", str, "ArcFace IR-SE50 file (model_ir_se50.pth)"),
    ("--lpips-backbone", "lpips_backbone", str, "VGG-16 / AlexNet file for LPIPS"),
    ("--lpips-net", "lpips_net", str, "LPIPS backbone: vgg (default) or alex"),
    ("--weights-dir", "weights_dir", str, "where backbones are looked for by content (weights/)"),
    ("--val", "val", str, "folder of held-out aligned faces for validation"),
    ("--val-every", "val_every", int, "validate every N steps (1000; finetune 250)"),
    ("--val-limit", "val_limit", int, "faces validated (8)"),
    (
        "--patience",
        "patience",
        int,
        "with --keep-best: stop after N validations without a gain (finetune 4; 0 never)",
    ),
    ("--save-every", "save_every", int, "checkpoint every N steps (1000)"),
    ("--log-every", "log_every", int, "log losses every N steps (10)"),
    ("--keep", "keep", int, "checkpoints kept (3)"),
    ("--init", "init", str, "start from this model (a released file = fine-tuning) or checkpoint"),
    ("--init-d", "init_d", str, "start the discriminator from this file (e.g. GPEN-BFR-512-D.pth)"),
    ("--grow-from", "grow_from", str, "grow from a trained model of half the size (see README)"),
    ("--degrade-config", "degrade_config", str, "degradation file (as gpen degrade --config)"),
    ("--gray-p", "gray_p", float, "probability the degraded input is made grey"),
    (
        "--color-p",
        "color_p",
        float,
        "probability a training pair is recoloured (white balance, saturation, brightness; "
        "the same on both sides) so colours come from the input, not from the training faces "
        "(seed 0.5)",
    ),
    ("--device", "device", str, "auto, cpu, cuda, cuda:N or mps"),
    (
        "--precision",
        "precision",
        str,
        "auto, float32, bfloat16 or float16 (CUDA, with a GradScaler)",
    ),
    ("--workers", "workers", int, "data-loading processes (2)"),
    ("--seed", "seed", int, "random seed (0)"),
)


_METAVARS = {"--val": "DIR", "--weights-dir": "DIR", "--device": "DEVICE"}

#: The range of every numeric flag, checked at the parser and said in --help (the same limits
#: as TrainConfig.validate, which also checks values from a --config file).
_AT_LEAST_1 = {"low": 1}
_WEIGHT = {"low": 0}
_RANGES: dict[str, dict] = {
    "--channel-multiplier": _AT_LEAST_1,
    "--narrow": {"low": 0, "high": 4, "open_low": True},
    "--style-dim": _AT_LEAST_1,
    "--n-mlp": _AT_LEAST_1,
    "--steps": _AT_LEAST_1,
    "--batch-size": _AT_LEAST_1,
    "--accumulate": _AT_LEAST_1,
    "--lr": {"low": 0, "open_low": True},
    "--lr-drop-at": {"low": 0, "high": 1, "open_low": True},
    "--lr-drop-to": _WEIGHT,
    "--ema-decay": {"low": 0, "high": 1, "open_high": True},
    "--l1": _WEIGHT,
    "--smooth-l1": _WEIGHT,
    "--perceptual": _WEIGHT,
    "--identity": _WEIGHT,
    "--adversarial": _WEIGHT,
    "--lpips": _WEIGHT,
    "--r1-gamma": _WEIGHT,
    "--color": _WEIGHT,
    "--color-p": {"low": 0, "high": 1},
    "--adversarial-start": {"low": 0},
    "--patience": {"low": 0},
    "--r1-every": _AT_LEAST_1,
    "--path-weight": _WEIGHT,
    "--path-every": _AT_LEAST_1,
    "--val-every": _AT_LEAST_1,
    "--val-limit": _AT_LEAST_1,
    "--save-every": _AT_LEAST_1,
    "--log-every": _AT_LEAST_1,
    "--keep": _AT_LEAST_1,
    "--gray-p": {"low": 0, "high": 1},
    "--workers": {"low": 0},
    "--seed": {"low": 0},
}
#: Face sizes a model can be trained at (powers of two).
_TRAIN_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train or fine-tune a GPEN model (status, export)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument(
        "what", nargs="*", metavar="DATA", help="DATA folder, or status RUN, or export SRC"
    )
    p.add_argument("--out", help="run folder (config, checkpoints, log, model.pth)")
    p.add_argument("-o", "--output", help="export: the file to write")
    p.add_argument("--format", choices=("flat", "bundle"), help="export form (default flat)")
    p.add_argument("--resume", action="store_true", help="continue RUN from its newest checkpoint")
    p.add_argument(
        "--align", action="store_true", help="DATA holds whole photos: detect and align faces"
    )
    p.add_argument("--strict-losses", action="store_true", help="a missing backbone is an error")
    p.add_argument(
        "--keep-best",
        action="store_true",
        help="model.pth is the g_ema of the best validation PSNR, not the last (needs --val; "
        "on in the finetune preset, --no-keep-best turns it off)",
    )
    p.add_argument("--no-keep-best", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard events")
    p.add_argument(
        "--no-val-identity",
        action="store_true",
        help="validation without the dlib identity distance",
    )
    for flag, _field, kind, text in _FLAGS:
        extra: dict = {"metavar": _METAVARS.get(flag, {int: "N", float: "X", str: "FILE"}[kind])}
        if flag == "--precision":
            extra = {"choices": PRECISIONS}
        elif flag == "--preset":
            extra = {"choices": ("seed", "finetune", "gpen")}
        elif flag == "--lpips-net":
            extra = {"choices": ("vgg", "alex")}
        elif flag == "--size":
            extra["choices"] = _TRAIN_SIZES
            text += " (a power of two, 16-2048)"
        if flag in _RANGES:
            p.add_argument(flag, **extra, **ranged_help(text, kind, **_RANGES[flag]))
        else:
            p.add_argument(flag, type=kind, help=text, **extra)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gpen_desktop.core.errors import GpenError

    what = list(getattr(args, "what", []))
    if what and what[0] == "status":
        if len(what) != 2:
            raise GpenError("usage: gpen train status RUN")
        return status(what[1])
    if what and what[0] == "export":
        if len(what) != 2 or not getattr(args, "output", None):
            raise GpenError("usage: gpen train export RUN|CKPT -o OUT [--format flat|bundle]")
        return export(what[1], args.output, getattr(args, "format", "flat"))
    return train(args, what)


def _config(args: argparse.Namespace, what: list[str]) -> tuple[object, bool]:
    from pathlib import Path

    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.training.checkpoints import latest_checkpoint
    from gpen_desktop.core.training.config import TrainConfig

    given = vars(args)
    resume = bool(given.get("resume"))
    out = given.get("out")
    if not out:
        raise GpenError("--out RUN is required (the run folder)")
    if len(what) > 1:
        raise GpenError(f"one DATA folder, got {len(what)}: {' '.join(what)}")
    run_config = Path(out) / "config.toml"
    if resume:
        if not run_config.is_file():
            raise GpenError(f"--resume: {out} is not a training run (no config.toml)")
        config = TrainConfig.from_file(run_config)
    elif given.get("config"):
        config = TrainConfig.from_file(given["config"])
    else:
        config = TrainConfig()
    if not resume and latest_checkpoint(out) is not None:
        raise GpenError(
            f"{out} already has checkpoints: --resume continues it, or pick another --out"
        )
    if what:
        config.data = what[0]
    config.out = out
    for _flag, field, _kind, _text in _FLAGS:
        if field and field in given:
            setattr(config, field, given[field])
    for flag in ("align", "strict_losses"):
        if given.get(flag):
            setattr(config, flag, True)
    if given.get("keep_best"):
        config.keep_best = True
    if given.get("no_keep_best"):
        config.keep_best = False
    if given.get("no_tensorboard"):
        config.tensorboard = False
    if given.get("no_val_identity"):
        config.val_identity = False
    if not config.data:
        raise GpenError("give the DATA folder of face images")
    # absolute, so that --resume from another working folder finds them
    config.data = str(Path(config.data).absolute())
    if config.val:
        config.val = str(Path(config.val).absolute())
    if resume:  # the run keeps its resolved values; only what was given changes
        for field in ("init", "init_d", "grow_from"):
            if field in given:
                raise GpenError(f"--{field.replace('_', '-')} cannot change on --resume")
    return config, resume


def train(args: argparse.Namespace, what: list[str]) -> int:
    import time

    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.training.loop import Trainer

    config, resume = _config(args, what)
    bar = Progress(desc="training", unit="step", every=10, initial=None)
    started = time.perf_counter()

    def progress(record: dict) -> None:
        losses = "  ".join(f"{k} {v:.4f}" for k, v in record["losses"].items())
        bar.update(record["step"], losses, total=record["total"])

    try:
        trainer = Trainer(config, resume=resume, progress=progress, notes=say)
    except FloatingPointError as exc:  # pragma: no cover - reported like any bad input
        raise GpenError(str(exc)) from None
    main = trainer.dist.is_main
    if main:
        c = trainer.config
        say(
            f"training GPEN {c.size} px (channel_multiplier {c.channel_multiplier}, narrow "
            f"{c.narrow:g}), preset {c.preset}, {len(trainer.dataset)} faces, batch "
            f"{c.batch_size} x {c.accumulate} x {trainer.dist.world_size} process(es), "
            f"device {trainer.device}, {c.precision} -> {c.out}"
        )
    try:
        result = trainer.run()
    except FloatingPointError as exc:
        raise GpenError(f"training diverged: {exc}") from None
    bar.close()
    if not main:
        return 0
    took = _duration(time.perf_counter() - started)
    if result.stopped:
        say(f"stopped by {result.stopped} at step {result.step}; saved {result.checkpoint}")
        say(f"continue with: gpen train --resume --out {config.out}")
        return 143 if result.stopped == "SIGTERM" else 130
    kept = ""
    if result.best is not None:
        kept = f" (best validation: step {result.best['step']}, PSNR {result.best['psnr']:.2f} dB)"
    if result.early_stop:
        say(
            f"stopped early at step {result.step}: no validation gain for {trainer.config.patience} checks"
        )
    say(f"done: {result.step} steps in {took}; model: {trainer.run_dir / 'model.pth'}{kept}")
    return 0


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def status(run_dir: str) -> int:
    import json
    from pathlib import Path

    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.training.checkpoints import list_checkpoints
    from gpen_desktop.core.training.config import TrainConfig

    run = Path(run_dir)
    if not (run / "config.toml").is_file():
        raise GpenError(f"{run} is not a training run (no config.toml)")
    c = TrainConfig.from_file(run / "config.toml")
    say(
        f"run {run}: GPEN {c.size} px, channel_multiplier {c.channel_multiplier}, narrow {c.narrow}, preset {c.preset}"
    )
    records, vals = [], []
    log_path = run / "log.jsonl"
    if log_path.is_file():
        for line in log_path.read_text("utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if "losses" in rec:
                records.append(rec)
            elif "val" in rec:
                vals.append(rec)
    ckpts = list_checkpoints(run)
    step = max([ckpts[-1][0]] if ckpts else [0])
    say(
        f"step {step} of {c.steps} saved"
        + (f" ({ckpts[-1][1].name})" if ckpts else " (no checkpoint yet)")
    )
    if records:
        last = records[-1]
        losses = ", ".join(f"{k} {v:.4f}" for k, v in last["losses"].items())
        say(f"losses at step {last['step']}: {losses}")
        if "steps_per_s" in last:
            say(
                f"speed: {last['steps_per_s']:.2f} steps/s, {100 * last.get('data_wait', 0):.0f} % waiting for data"
            )
    if c.disabled_losses:
        say(f"disabled terms: {', '.join(c.disabled_losses)}")
    scored = [v for v in vals if "psnr" in v["val"]]
    if scored:
        best = max(scored, key=lambda v: v["val"]["psnr"]["restored"])
        b = best["val"]
        say(
            f"best validation: step {best['step']}: PSNR {b['psnr']['restored']:.2f} dB "
            f"(degraded {b['psnr']['degraded']:.2f}), SSIM {b['ssim']['restored']:.4f} "
            f"(degraded {b['ssim']['degraded']:.4f})"
            + (f", sheet {b['sheet']}" if "sheet" in b else "")
        )
    else:
        say("no validation yet" + ("" if c.val else " (no --val folder)"))
    model = run / "model.pth"
    say(f"model: {model}" if model.is_file() else "model: none yet")
    return 0


def export(source: str, out: str, fmt: str) -> int:
    from gpen_desktop.core.training.checkpoints import export as do_export

    path, step = do_export(source, out, fmt)
    say(f"{path}  ({fmt}{'' if step is None else f', step {step}'})")
    return 0
