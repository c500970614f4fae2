"""``gpen bench train``: train a tiny GPEN from scratch on real faces for a fixed budget, then
score it on held-out faces - a check, in minutes on a CPU, that a change to the training code
still makes faces better.

Faces: :mod:`.sample_faces` (scikit-image's astronaut for training, matplotlib's Grace Hopper
held out). Degradation: :data:`BENCH_DEGRADATION` (blur, 2-3x down-sampling, noise, JPEG; no
colour steps, so any colour shift of the result is the network's). Objective: the seed
preset's pixel and adversarial terms (perceptual, identity and LPIPS off: the bench does not
depend on which backbone files a machine has). The restored and degraded held-out faces are
scored against the originals as ``gpen evaluate`` scores them, plus the mean Lab a*/b* colour
shift (:func:`ab_shift`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The bench's degradation (as the issue that asked for the bench measured it).
BENCH_DEGRADATION: dict[str, Any] = {
    "order": ["gaussian_blur", "downsample", "noise", "jpeg"],
    "gaussian_blur_p": 0.7,
    "gaussian_blur_sigma": [0.2, 1.5],
    "downsample_p": 0.7,
    "downsample_factor": [2.0, 3.0],
    "noise_p": 0.7,
    "noise_sigma": [0.0, 15.0],
    "jpeg_p": 0.7,
    "jpeg_quality": [40, 95],
}


def ab_shift(image: np.ndarray, reference: np.ndarray) -> float:
    """How far the mean colour of ``image`` is from ``reference``'s: the length of the
    difference of their mean CIE Lab (a*, b*) (OpenCV's 8-bit Lab, a* and b* in Lab units)."""
    import cv2

    def mean_ab(rgb: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB).astype(np.float64)
        return lab[:, :, 1:].reshape(-1, 2).mean(0)

    d = mean_ab(image) - mean_ab(reference)
    return float(np.hypot(d[0], d[1]))


@dataclass
class TrainBench:
    """What :func:`bench_train` measured."""

    steps: int
    seconds: float
    steps_per_s: float
    data_wait: float  # share of the training time spent waiting for data
    config: dict[str, Any]
    degraded: dict[str, float | None]  # mean psnr, ssim, identity, ab_shift of the inputs
    restored: dict[str, float | None]
    faces: dict[str, int]  # training and held-out counts
    sheet: str | None = None
    run: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def bench_train(
    out: str | Path,
    steps: int = 300,
    size: int = 64,
    narrow: float = 0.0625,
    channel_multiplier: int = 2,
    batch_size: int = 8,
    workers: int = 1,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
    changes: dict[str, Any] | None = None,
    progress: Callable[[dict], None] | None = None,
) -> TrainBench:
    """Train for ``steps`` on the sample faces into ``out/run``, evaluate ``model.pth`` on the
    held-out faces; ``changes`` overrides other :class:`TrainConfig` fields."""
    import shutil

    from gpen_desktop.core.degrade import DegradeConfig
    from gpen_desktop.core.evaluate import EvaluateOptions, evaluate, write_outputs
    from gpen_desktop.core.training.config import TrainConfig
    from gpen_desktop.core.training.loop import Trainer
    from gpen_desktop.core.training.sample_faces import sample_face_folders

    out = Path(out)
    train_dir, val_dir = sample_face_folders(out / "faces")
    run = out / "run"
    shutil.rmtree(run, ignore_errors=True)
    options: dict[str, Any] = dict(
        data=str(train_dir),
        out=str(run),
        size=size,
        narrow=narrow,
        channel_multiplier=channel_multiplier,
        steps=steps,
        batch_size=batch_size,
        workers=workers,
        seed=seed,
        device=device,
        precision=precision,
        degradation=dict(BENCH_DEGRADATION),
        perceptual=0.0,
        identity=0.0,
        lpips=0.0,
        tensorboard=False,
        save_every=steps,
        log_every=max(1, min(10, steps)),
    )
    options.update(changes or {})
    trainer = Trainer(TrainConfig(**options), progress=progress, notes=lambda _line: None)
    t0 = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - t0
    records = _records(run / "log.jsonl")
    busy = [r for r in records if "steps_per_s" in r]
    wait = float(np.mean([r.get("data_wait", 0.0) for r in busy])) if busy else 0.0

    config = DegradeConfig.from_dict(BENCH_DEGRADATION)
    ev = evaluate(
        EvaluateOptions(
            folder=val_dir,
            model_path=run / "model.pth",
            seed=seed,
            device=device,
            degrade_config=config,
            lpips=False,
        )
    )
    shifts: dict[str, list[float]] = {"degraded": [], "restored": []}
    for row in ev.sheet_rows:
        hq, degraded, restored = row[0][0], row[1][0], row[2][0]
        shifts["degraded"].append(ab_shift(degraded, hq))
        shifts["restored"].append(ab_shift(restored, hq))
    _json, sheet = write_outputs(ev, out / "heldout")
    scores: dict[str, dict[str, float | None]] = {}
    for variant in ("degraded", "restored"):
        scores[variant] = {
            key: ev.summary[key][variant]["mean"] for key in ("psnr", "ssim", "identity")
        }
        scores[variant]["ab_shift"] = float(np.mean(shifts[variant]))
    return TrainBench(
        steps=trainer.step,
        seconds=seconds,
        steps_per_s=trainer.step / seconds if seconds > 0 else 0.0,
        data_wait=wait,
        config={
            k: v
            for k, v in trainer.config.to_dict().items()
            if k in ("size", "narrow", "channel_multiplier", "batch_size", "precision", "preset")
        },
        degraded=scores["degraded"],
        restored=scores["restored"],
        faces={"train": len(trainer.dataset), "held_out": int(ev.meta["count"])},
        sheet=str(sheet),
        run=str(run),
        notes=list(ev.meta.get("notes", [])),
    )


def _records(path: Path) -> list[dict]:
    import json

    out = []
    for line in path.read_text("utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def format_bench(b: TrainBench) -> str:
    """The bench as a small table."""

    def cell(value: float | None, key: str) -> str:
        if value is None:
            return "-"
        return f"{value:.2f}" if key in ("psnr", "ab_shift") else f"{value:.3f}"

    c = b.config
    lines = [
        f"trained {b.steps} steps in {b.seconds:.0f} s ({b.steps_per_s:.2f} steps/s, "
        f"{100 * b.data_wait:.0f} % waiting for data): {c['size']} px, narrow {c['narrow']:g}, "
        f"channel multiplier {c['channel_multiplier']}, batch {c['batch_size']}, "
        f"{c['precision']}, preset {c['preset']}; {b.faces['train']} training faces, "
        f"{b.faces['held_out']} held out",
        f"{'held-out':<10} {'PSNR dB':>8} {'SSIM':>7} {'identity':>9} {'Lab ab shift':>13}",
    ]
    for variant, scores in (("degraded", b.degraded), ("restored", b.restored)):
        lines.append(
            f"{variant:<10} {cell(scores['psnr'], 'psnr'):>8} {cell(scores['ssim'], 'ssim'):>7} "
            f"{cell(scores['identity'], 'identity'):>9} {cell(scores['ab_shift'], 'ab_shift'):>13}"
        )
    gain = (b.restored["psnr"] or 0.0) - (b.degraded["psnr"] or 0.0)
    lines.append(f"gain: {gain:+.2f} dB PSNR; contact sheet: {b.sheet}")
    lines.extend(b.notes)
    return "\n".join(lines)
