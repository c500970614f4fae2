"""``gpen degrade``: synthetic, seeded, recorded degradation of photos (for testing restorers)."""

from __future__ import annotations

import argparse

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say

_CONFIG_HELP = """\
config file (.toml or .json): optional keys, flat or grouped by step, e.g.
  order = ["gaussian_blur", "downsample", "noise", "jpeg"]
  [jpeg]
  p = 1.0                 # probability the step is applied
  quality = [30, 70]      # range the parameter is drawn from
steps and their options: color (p, gamma, contrast, gain), gaussian_blur (p, sigma),
motion_blur (p, length), downsample (p, factor, interpolations), noise (p, sigma, gray_p),
jpeg (p, quality)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "degrade",
        help="apply random, seeded degradations (blur, resize, noise, JPEG, colour)",
        description="Degrade images with a random mix of down-sampling, Gaussian and motion\n"
        "blur, noise, JPEG and a colour shift. The same --seed gives the same bytes;\n"
        "image i (in the order given, folders in natural name order) uses seed + i.\n"
        "Outputs are PNG in the -o folder (alpha dropped, colour profile kept).",
        epilog=_CONFIG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output folder (a file name is allowed for a single input image)",
    )
    p.add_argument(
        "--seed", **ranged_help("base seed (default: a random one, printed with --json)", int, 0)
    )
    p.add_argument("--config", metavar="FILE", help="degradation settings (.toml or .json)")
    p.add_argument("--json", action="store_true", help="print the applied parameters as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from gpen_desktop.core.degrade import DegradeConfig, degrade, describe_steps
    from gpen_desktop.core.errors import GpenError, ImageError
    from gpen_desktop.core.imageio import (
        SUPPORTED_EXTENSIONS,
        iter_images,
        load_photo,
        save_photo,
    )
    from gpen_desktop.core.types import Photo

    config = DegradeConfig.from_file(args.config) if args.config else DegradeConfig()
    if args.seed is not None and args.seed < 0:
        raise GpenError("--seed must be a non-negative integer")
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0] >> 1)
    paths = iter_images(args.inputs)
    if not paths:
        raise ImageError(f"no images in {', '.join(args.inputs)}")

    out = Path(args.output)
    single_file = (
        len(paths) == 1 and out.suffix.lower() in SUPPORTED_EXTENSIONS and not out.is_dir()
    )
    if single_file:
        targets = [out]
    else:
        if out.exists() and not out.is_dir():
            raise ImageError(f"{out} is a file; -o must be a folder for several inputs")
        names = [p.stem + ".png" for p in paths]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ImageError(f"several inputs would write {dupes[0]} in {out}")
        targets = [out / n for n in names]
    if not args.overwrite:
        for t in targets:
            if t.exists():
                raise ImageError(f"{t} exists (use --overwrite to replace it)")

    from gpen_desktop.commands._output import error
    from gpen_desktop.core.fileio import os_error_message

    report, failed = [], 0
    for index, (src, dst) in enumerate(zip(paths, targets, strict=True)):
        try:
            photo = load_photo(src)
            result = degrade(np.ascontiguousarray(photo.rgb8()), seed=seed + index, config=config)
            # Keep the source's colour profile and EXIF; the pixels are always written as RGB.
            out_photo = Photo(pixels=result.image, exif=photo.exif, icc=photo.icc, info=photo.info)
            save_photo(out_photo, dst, overwrite=args.overwrite, gray=False)
        except (GpenError, OSError) as exc:
            failed += 1
            message = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
            report.append({"input": str(src), "output": None, "error": message})
            error(src, message)
            continue
        report.append(
            {"input": str(src), "output": str(dst), "seed": result.seed, "steps": result.steps}
        )
        if not args.json:
            say(f"{dst}  (seed {result.seed}: {describe_steps(result.steps)})")
    if args.json:
        say(json.dumps(report, indent=2))
    elif failed:
        say(f"done: {len(paths) - failed} of {len(paths)} images degraded, {failed} failed")
    return 1 if failed else 0
