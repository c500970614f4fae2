"""``gpen bench detect``: the default detector against plain dlib HOG at upsample 2."""

from __future__ import annotations

import argparse
import json
import os

from gpen_desktop.commands._output import say


def _fmt(r) -> str:
    return (
        f"{r.photo[:28]:<28} {r.width:>5}x{r.height:<5} {r.faces:>5} {r.plain_faces:>5} "
        f"{r.missed:>6} {r.extra:>5} {r.seconds:>7.3f} {r.plain_seconds:>7.3f} {r.ratio:>6.2f}x"
    )


def run_detect(args: argparse.Namespace) -> int:
    from gpen_desktop.core.bench_detect import bench_detect, read_photos, sample_photos

    photos = read_photos(args.photos) if args.photos else sample_photos()
    if not args.json:
        say(
            f"default detector (dlib) against plain dlib HOG at upsample 2, best of {args.repeat} "
            f"interleaved runs, {os.cpu_count()} CPU(s); 'plain' counts its faces from the "
            "kept margin, 'missed' those ours does not find, 'extra' ours it does not find at all"
        )
        say(
            f"{'photo':<28} {'size':>11} {'faces':>5} {'plain':>5} {'missed':>6} {'extra':>5} "
            f"{'s':>7} {'plain s':>7} {'ratio':>7}"
        )

    def show(row) -> None:
        if not args.json:
            say(_fmt(row), flush=True)

    rows = bench_detect(photos, args.repeat, on_row=show)
    if args.json:
        say(json.dumps({"detect": [r.to_json() for r in rows]}, indent=2))
    return 0
