"""``gpen models info PATH`` and ``gpen models list``."""

from __future__ import annotations

import argparse
import json

from gpen_desktop.commands._output import say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="inspect checkpoints and the weights folder")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    info = msub.add_parser("info", help="describe a checkpoint file (read from its tensors)")
    info.add_argument("path", help="checkpoint file (.pth/.pt)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=run_info)
    lst = msub.add_parser("list", help="identify every checkpoint in the weights folder")
    lst.add_argument("--dir", action="append", help="folder to scan (default: weights/)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=run_list)
    known = msub.add_parser("known", help="the official GPEN checkpoints and where to get them")
    known.add_argument("--json", action="store_true", help="print JSON")
    known.set_defaults(func=run_known)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_info(args: argparse.Namespace) -> int:
    from gpen_desktop.core.checkpoints import inspect_checkpoint

    info = inspect_checkpoint(args.path)
    if args.json:
        say(json.dumps(info.to_json(), indent=2))
        return 0
    rows = [
        ("file", info.path),
        ("model", info.name),
        ("architecture", info.arch),
        ("input size", f"{info.in_size} px"),
        ("output size", f"{info.out_size} px"),
        ("channel_multiplier", info.channel_multiplier),
        ("narrow", f"{info.narrow:g}"),
        ("style_dim / n_mlp", f"{info.style_dim} / {info.n_mlp}"),
        ("parameters", f"{info.n_params:,}"),
        ("stored dtype", info.dtype),
        ("file form", info.format),
        ("same layout as", ", ".join(info.candidates) or "no official model"),
    ]
    width = max(len(r[0]) for r in rows)
    for key, value in rows:
        say(f"{key:<{width}}  {value}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from gpen_desktop.core.models import default_weights_dir, scan_weights

    folders = args.dir or [default_weights_dir()]
    found = scan_weights(folders)
    if args.json:
        say(
            json.dumps(
                {"folders": [str(f) for f in folders], "models": [f.to_json() for f in found]},
                indent=2,
            )
        )
        return 0
    if not found:
        say(f"no checkpoints in {', '.join(map(str, folders))}")
        say("put official GPEN .pth files there (see `gpen models known`)")
        return 0
    for f in found:
        if f.kind == "invalid":
            say(f"  ✗ {f.path.name}: {f.error}")
        elif f.info is not None:
            say(f"  ✓ {f.path.name}: {f.info.summary()}")
        else:
            say(f"  ✓ {f.path.name}: {f.known.name if f.known else f.kind} ({f.kind})")
    return 0


def run_known(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from gpen_desktop.core.catalog import KNOWN_MODELS

    if args.json:
        say(json.dumps([asdict(m) for m in KNOWN_MODELS], indent=2))
        return 0
    for m in KNOWN_MODELS:
        say(f"{m.name:<24} {m.approx_bytes / 1e6:>5.0f} MB  {m.note}\n{'':<24} {m.url}")
    return 0
