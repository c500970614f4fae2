"""``gpen bench train``: the options and the printout of the training bench (see
:mod:`gpen_desktop.core.training.bench`); ``gpen bench`` hands over to :func:`run_train`."""

from __future__ import annotations

import argparse
import json

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.commands._progress import Progress


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``gpen bench train`` (an argument group of ``gpen bench``)."""
    g = p.add_argument_group(
        "gpen bench train",
        "train a tiny GPEN from scratch on the real faces that ship with scikit-image and "
        "matplotlib (augmented), then score held-out faces: PSNR / SSIM / identity / Lab "
        "colour shift of degraded vs restored, steps/s and the share of time spent waiting "
        "for data (--size and --device as above; --precision: the training autocast)",
    )
    g.add_argument("--steps", default=300, **ranged_help("training steps (300)", int, 1))
    g.add_argument(
        "--narrow", default=0.0625, **ranged_help("network width scale (0.0625)", float, 0.01, 1)
    )
    g.add_argument("--batch-size", default=8, **ranged_help("faces per step (8)", int, 1, 256))
    g.add_argument("--workers", default=1, **ranged_help("data-loading processes (1)", int, 0, 64))
    g.add_argument("--seed", default=0, **ranged_help("random seed (0)", int, 0))
    g.add_argument("--out", help="folder for the faces, the run and the contact sheet (a temp one)")


def run_train(args: argparse.Namespace) -> int:
    import tempfile

    from gpen_desktop.core.training.bench import bench_train, format_bench

    size = args.size[0] if args.size else 64
    bar = Progress(args.steps, "training", unit="step", enabled=not args.json, every=5.0)

    def progress(record: dict) -> None:
        bar.update(int(record["step"]), total=int(record["total"]))

    def go(out: str) -> int:
        result = bench_train(
            out,
            steps=args.steps,
            size=size,
            narrow=args.narrow,
            batch_size=args.batch_size,
            workers=args.workers,
            seed=args.seed,
            device=args.device,
            precision=args.dtype[0],
            progress=progress,
        )
        bar.close()
        say(json.dumps(result.to_json(), indent=2) if args.json else format_bench(result))
        return 0

    if args.out:
        return go(args.out)
    with tempfile.TemporaryDirectory(prefix="gpen-bench-train-") as tmp:
        return go(tmp)
