"""``gpen bench train``: the options and the printout of the training bench (see
:mod:`gpen_desktop.core.training.bench`); ``gpen bench`` hands over to :func:`run_train`."""

from __future__ import annotations

import argparse
import json
import sys

from gpen_desktop.commands._output import say


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``gpen bench train`` (an argument group of ``gpen bench``)."""
    g = p.add_argument_group(
        "gpen bench train",
        "train a tiny GPEN from scratch on the real faces that ship with scikit-image and "
        "matplotlib (augmented), then score held-out faces: PSNR / SSIM / identity / Lab "
        "colour shift of degraded vs restored, steps/s and the share of time spent waiting "
        "for data (--size and --device as above; --precision: the training autocast)",
    )
    g.add_argument("--steps", type=int, default=300, help="training steps (300)")
    g.add_argument("--narrow", type=float, default=0.0625, help="network width scale (0.0625)")
    g.add_argument("--batch-size", type=int, default=8, help="faces per step (8)")
    g.add_argument("--workers", type=int, default=1, help="data-loading processes (1)")
    g.add_argument("--seed", type=int, default=0, help="random seed (0)")
    g.add_argument("--out", help="folder for the faces, the run and the contact sheet (a temp one)")


def run_train(args: argparse.Namespace) -> int:
    import tempfile

    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.training.bench import bench_train, format_bench

    size = args.size[0] if args.size else 64
    if args.steps < 1 or args.batch_size < 1:
        raise GpenError("--steps and --batch-size must be at least 1")
    tty = sys.stderr.isatty()

    def progress(record: dict) -> None:
        if tty:
            say(
                f"\rtraining: step {record['step']}/{record['total']}  "
                f"{record['steps_per_s']:.2f} steps/s",
                file=sys.stderr,
                end="",
                flush=True,
            )

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
        if tty:
            say("", file=sys.stderr)
        say(json.dumps(result.to_json(), indent=2) if args.json else format_bench(result))
        return 0

    if args.out:
        return go(args.out)
    with tempfile.TemporaryDirectory(prefix="gpen-bench-train-") as tmp:
        return go(tmp)
