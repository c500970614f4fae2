"""``gpen bench quality``: how well the face quality score (``gpen detect``, ``gpen restore
--skip-sharp``) tells clean faces from degraded ones (see
:mod:`gpen_desktop.core.quality_bench`); ``gpen bench`` hands over to :func:`run_quality`."""

from __future__ import annotations

import argparse
import json

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.commands._progress import Progress


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``gpen bench quality`` (an argument group of ``gpen bench``)."""
    g = p.add_argument_group(
        "gpen bench quality",
        "score the real faces that ship with scikit-image and matplotlib (at 100/80/60 %%, "
        "and mirrored) and copies degraded by `gpen degrade`'s default mix and by each "
        "degradation alone; print the AUC of clean vs degraded (--seed as above)",
    )
    g.add_argument(
        "--draws", default=20, **ranged_help("default-mix degradations per clean face", int, 1)
    )


def run_quality(args: argparse.Namespace) -> int:
    from gpen_desktop.core.quality_bench import bench_quality

    with Progress(0, "scoring", unit="face", enabled=not args.json, plain=False) as bar:
        result = bench_quality(
            draws=args.draws,
            seed=args.seed,
            progress=lambda done, total, _m: bar.update(done, total=total),
        )
    if args.json:
        say(json.dumps(result.to_json(), indent=2))
        return 0
    doc = result.to_json()
    clean, mix = doc["clean"], doc["degraded_mix"]
    say(f"{len(result.faces)} clean faces from {', '.join(result.photos)}")
    say(
        f"clean scores: min {clean['min']:.3f}, median {clean['median']:.3f}, max {clean['max']:.3f}"
    )
    say(
        f"AUC clean vs default degradation mix: {result.auc:.3f} ({mix['count']} degraded "
        f"copies, median score {mix['median']:.3f}; {mix['left_out_colour_only']} colour-only "
        "draws left out)"
    )
    say(f"AUC clean vs each degradation alone, all together: {result.all_levels_auc:.3f}")
    say(f"{'degradation':<14} {'mean':>6} {'min':>6} {'max':>6} {'AUC':>6}")
    for row in doc["levels"]:
        say(
            f"{row['degradation']:<14} {row['mean']:>6.3f} {row['min']:>6.3f} "
            f"{row['max']:>6.3f} {row['auc']:>6.3f}"
        )
    say(f"{result.seconds:.1f} s")
    return 0
