"""``gpen evaluate``: degrade HQ faces, restore them, score both against the originals."""

from __future__ import annotations

import argparse

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import error, say
from gpen_desktop.commands._progress import Progress, callback


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a model on HQ aligned faces (synthetic degradation, PSNR/SSIM/identity)",
        description="For every HQ aligned face in --hq: resize it to the model size, degrade it "
        "(seed + index), restore it, and score degraded and restored against the HQ face "
        "(PSNR, SSIM on Y, dlib identity distance, LPIPS when its weights are available "
        "locally). Prints a table and writes REPORT.json and a contact sheet REPORT.png. "
        "With --no-reference the folder holds whole photos without ground truth: faces are "
        "detected and restored, and only the identity distance input vs restored and timings "
        "are reported.",
    )
    p.add_argument("--hq", required=True, metavar="DIR", help="folder of HQ aligned faces")
    p.add_argument(
        "--model_path", "--model-path", required=True, metavar="PATH", help="GPEN checkpoint (.pth)"
    )
    p.add_argument(
        "--seed", default=0, **ranged_help("base seed; image i uses seed+i (default 0)", int, 0)
    )
    p.add_argument(
        "--limit", metavar="K", **ranged_help("only the first K images (by name)", int, 1)
    )
    p.add_argument(
        "--out",
        default="gpen-evaluate",
        metavar="REPORT",
        help="report base path: writes REPORT.json and REPORT.png (default ./gpen-evaluate)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument(
        "--degrade-config",
        metavar="FILE",
        help="degradation settings (.toml or .json, see gpen degrade --help)",
    )
    p.add_argument(
        "--no-reference",
        action="store_true",
        help="inputs are whole photos without ground truth (identity + timings only)",
    )
    p.add_argument("--no-identity", action="store_true", help="skip the dlib identity distance")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from gpen_desktop.core.degrade import DegradeConfig
    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.evaluate import (
        EvaluateOptions,
        evaluate,
        format_table,
        write_outputs,
    )

    if args.limit is not None and args.limit < 1:
        raise GpenError("--limit must be at least 1")
    if args.seed < 0:
        raise GpenError("--seed must be a non-negative integer")
    config = DegradeConfig.from_file(args.degrade_config) if args.degrade_config else None
    options = EvaluateOptions(
        folder=args.hq,
        model_path=args.model_path,
        seed=args.seed,
        limit=args.limit,
        device=args.device,
        reference=not args.no_reference,
        degrade_config=config,
        identity=not args.no_identity,
    )
    with Progress(desc="evaluating", unit="image", enabled=not args.json, plain=False) as bar:
        ev = evaluate(options, progress=callback(bar))
    json_path, png_path = write_outputs(ev, args.out)
    failed = ev.meta.get("failed", [])
    for item in failed:
        error(item["file"], f"{item['error']} (skipped)")
    if args.json:
        say(json.dumps(ev.to_json(), indent=2, allow_nan=False))
    else:
        say(format_table(ev))
        say(f"wrote {json_path} and {png_path}")
        if failed:
            total = ev.meta["count"] + len(failed)
            say(f"done: {ev.meta['count']} of {total} images evaluated, {len(failed)} failed")
    return 1 if failed else 0
