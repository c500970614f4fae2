"""``gpen bench``: speed and memory of the network (random weights, official configurations)."""

from __future__ import annotations

import argparse
import json

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.core.precision import PRECISION_HELP, PRECISIONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="time the network per face size and batch (random weights, official configs)",
        description="Seconds per face, faces per second, peak memory and model load time for "
        "random-weight GPEN networks in the official configuration of each size. "
        "--compare-eager also times the plain reference forward of the same weights in the same "
        "process. The CLI tunes the process for inference (passive OpenMP waiting, large "
        "allocations kept for reuse); GPEN_NO_RUNTIME_TUNING=1 measures a default process. "
        "RSS MB is the peak while loading and running (base: before loading); Δu8 is the "
        "largest difference of the 8-bit output from the eager float32 forward.",
    )
    p.add_argument(
        "what",
        nargs="?",
        choices=["train", "detect", "quality", "damage"],
        help="train: the training bench; detect: the default detector against plain dlib; "
        "quality: the face quality score's AUC; damage: how well Find Damage finds rendered "
        "scratches, specks and creases on real photos, and how little it marks on clean ones",
    )
    p.add_argument(
        "photos",
        nargs="*",
        metavar="PHOTO",
        help="for `detect`: the photos (default: scikit-image's astronaut and a group of it)",
    )
    p.add_argument(
        "--size", type=int, nargs="+", default=None, choices=[64, 128, 256, 512, 1024, 2048]
    )
    p.add_argument("--batch", nargs="+", default=[1], **ranged_help("batch size(s)", int, 1, 128))
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default cpu)")
    p.add_argument(
        "--dtype",
        "--precision",
        nargs="+",
        default=["auto"],
        choices=PRECISIONS,
        help=PRECISION_HELP + "; several to compare them",
    )
    p.add_argument("--repeat", default=3, **ranged_help("timed runs per configuration", int, 1))
    p.add_argument("--warmup", default=1, **ranged_help("untimed runs first", int, 0))
    p.add_argument(
        "--compare-eager",
        action="store_true",
        help="also time the unoptimised eager forward and report the speed-up",
    )
    p.add_argument("--photo", help="also time the whole-photo pipeline on this photo")
    p.add_argument("--detector", default="auto", help="detector for --photo")
    sr = p.add_argument_group("background super-resolution (--sr: instead of the face network)")
    sr.add_argument(
        "--sr",
        metavar="MODEL",
        help="time super-resolution instead: an SR model file, or realesrnet_x4 / _x2 / _x1 "
        "or realesr-general-x4v3 for random weights at the official size; seconds per input "
        "megapixel in float32 (plain and channels-last layout) and each --sr-precision, with "
        "the largest 8-bit difference from float32",
    )
    sr.add_argument(
        "--sr-compare",
        metavar="MODEL",
        help="also time this SR model (a file or an official name, e.g. realesrnet_x4) on the "
        "same photo with the same tile size, and print how many times faster --sr is",
    )
    sr.add_argument(
        "--sr-precision",
        nargs="+",
        default=["bfloat16"],
        choices=PRECISIONS,
        help="precisions to compare with float32 (default bfloat16)",
    )
    sr.add_argument(
        "--sr-photo",
        metavar="FILE",
        help="the photo to enlarge (default: scikit-image's astronaut, a real photo)",
    )
    sr.add_argument(
        "--sr-crop",
        default=192,
        metavar="PX",
        **ranged_help(
            "enlarge the photo's central PX x PX part (default 192; 0 = the whole photo)", int, 0
        ),
    )
    sr.add_argument(
        "--tile", default=0, **ranged_help("SR tile size (0 = from free memory)", int, 0, 8192)
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    from gpen_desktop.commands.bench_train import add_arguments

    add_arguments(p)
    from gpen_desktop.commands.bench_quality import add_arguments as add_quality_arguments

    add_quality_arguments(p)
    d = p.add_argument_group("gpen bench damage")
    from gpen_desktop.commands.damage import add_sensitivity

    add_sensitivity(d, "--damage-sensitivity", "damage_sensitivity")
    p.set_defaults(func=run)


def _fmt_row(r) -> str:
    s = (
        f"{r.size:>5} {r.batch:>5} {r.device:>7} {r.dtype:>9} {r.seconds_per_face:>9.3f} "
        f"{r.faces_per_second:>8.2f} {r.peak_rss_mb:>8.0f} {r.base_rss_mb:>7.0f} {r.peak_gpu_mb:>8.0f} {r.load_seconds:>7.2f}"
    )
    if r.eager_seconds_per_face is not None:
        s += f" {r.eager_seconds_per_face:>8.3f} {r.speedup_vs_eager:>6.2f}x {r.max_u8_diff_vs_eager:>4}"
    return s


def _fmt_sr(r) -> str:
    layout = "NHWC" if r.channels_last else "NCHW"
    return (
        f"{r.precision:>9} {layout:>6} {r.seconds:>8.2f} {r.seconds_per_mp:>8.1f} "
        f"{r.speedup:>6.2f}x {r.max_u8_diff:>4} {r.mean_u8_diff:>6.3f}"
    )


def run_sr(args: argparse.Namespace) -> int:
    from gpen_desktop.core.bench import bench_sr, sr_photo

    pixels, name = sr_photo(args.sr_photo, args.sr_crop)
    if not args.json:
        say(
            f"{args.sr} on {args.device}, {name} ({pixels.shape[1]}x{pixels.shape[0]}), "
            "seconds per input megapixel; ratio and 8-bit difference (max, mean) against "
            "float32 NCHW:"
        )
        say(
            f"{'precision':>9} {'layout':>6} {'s':>8} {'s/MP':>8} {'ratio':>7} {'Δu8':>4} {'mean':>6}"
        )

    def show(row) -> None:
        if not args.json:
            say(_fmt_sr(row), flush=True)

    rows = bench_sr(
        args.sr,
        pixels,
        args.device,
        tuple(args.sr_precision),
        args.tile,
        args.repeat,
        on_row=show,
    )
    if not args.json:
        last = rows[-1]
        say(f"tiles: {last.tiles} of {last.tile} px")
    others, ratios = [], []
    if args.sr_compare:
        from gpen_desktop.core.bench import compare_sr

        tile = rows[-1].tile  # the same tile size for both
        if not args.json:
            say(f"\n{args.sr_compare}, the same photo, tiles of {tile} px:")
        others = bench_sr(
            args.sr_compare,
            pixels,
            args.device,
            tuple(args.sr_precision),
            tile,
            args.repeat,
            on_row=show,
        )
        ratios = compare_sr(rows, others)
        if not args.json:
            say(f"\nseconds per input megapixel, {rows[0].device}, tiles of {tile} px:")
            head = f"{'precision':>9} {'layout':>6} {rows[0].model:>24} {others[0].model:>24}"
            say(f"{head} {'faster':>7}")
            for c in ratios:
                layout = "NHWC" if c.channels_last else "NCHW"
                say(
                    f"{c.precision:>9} {layout:>6} {c.seconds_per_mp:>24.2f} "
                    f"{c.other_seconds_per_mp:>24.2f} {c.ratio:>6.1f}x"
                )
    if args.json:
        out = {"photo": name, "superres": [r.to_json() for r in rows]}
        if args.sr_compare:
            out["compare"] = [r.to_json() for r in others]
            out["ratios"] = [c.to_json() for c in ratios]
        say(json.dumps(out, indent=2))
    return 0


def run_damage(args: argparse.Namespace) -> int:
    """``gpen bench damage``: the table of :mod:`gpen_desktop.core.damage_bench`."""
    import sys

    from gpen_desktop.core.damage_bench import format_damage_bench, run_damage_bench

    def show(name: str) -> None:
        if not args.json:
            say(f"  {name}…", file=sys.stderr, flush=True)

    bench = run_damage_bench(args.damage_sensitivity, on_photo=show)
    say(json.dumps(bench.to_json(), indent=2) if args.json else format_damage_bench(bench))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.what == "damage":
        return run_damage(args)
    if args.what == "train":
        from gpen_desktop.commands.bench_train import run_train

        return run_train(args)
    if args.what == "quality":
        from gpen_desktop.commands.bench_quality import run_quality

        return run_quality(args)
    if args.what == "detect":
        from gpen_desktop.commands.bench_detect import run_detect

        return run_detect(args)
    if args.photos:
        raise SystemExit("gpen bench: photos are for `gpen bench detect`; use --photo here")
    from gpen_desktop.core.bench import bench_photo, bench_size

    if args.sr:
        return run_sr(args)
    args.size = args.size or [512]
    rows = []
    configs = [(s, b, d) for s in args.size for b in args.batch for d in args.dtype]
    for size, batch, dtype in configs:
        row = bench_size(
            size, args.device, batch, args.repeat, args.warmup, args.compare_eager, dtype
        )
        rows.append(row)
        if args.json:
            continue
        if len(rows) == 1:
            head = (
                f"{'size':>5} {'batch':>5} {'device':>7} {'dtype':>9} {'s/face':>9} "
                f"{'faces/s':>8} {'RSS MB':>8} {'base':>7} {'GPU MB':>8} {'load s':>7}"
            )
            if args.compare_eager:
                head += f" {'eager s':>8} {'ratio':>7} {'Δu8':>4}"
            say(head)
        say(_fmt_row(row), flush=True)
    photos = []
    if args.photo:
        engines = ("fast", "eager") if args.compare_eager else ("fast",)
        for engine in engines:
            photo = bench_photo(
                args.photo,
                args.size[0],
                args.device,
                args.batch[0],
                args.detector,
                engine=engine,
                dtype=args.dtype[0],
            )
            photos.append(photo)
            if args.json:
                continue
            if len(photos) == 1:
                say(
                    f"\nphoto {photo.photo} ({photo.width}x{photo.height}), {photo.faces} faces, "
                    f"{photo.model_size} model on {photo.device}:"
                )
            say(f"  {engine:>5}: " + "  ".join(f"{k} {v:.2f}s" for k, v in photo.seconds.items()))
    if args.json:
        out = {"results": [r.to_json() for r in rows]}
        if photos:
            out["photo"] = photos[0].to_json()
            out["photo_runs"] = [p.to_json() for p in photos]
        if len(rows) == 1:
            out.update(rows[0].to_json())
        say(json.dumps(out, indent=2))
    return 0
