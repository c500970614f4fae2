"""``gpen models info PATH``, ``list``, ``known`` and ``export-onnx CKPT -o X.onnx``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="inspect checkpoints and the weights folder")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    info = msub.add_parser(
        "info",
        help="describe a checkpoint, ONNX or super-resolution file (read from its tensors or "
        "graph)",
    )
    info.add_argument(
        "path",
        help="GPEN checkpoint (.pth/.pt), ONNX file (.onnx) or a super-resolution model "
        "spandrel reads (e.g. realesrnet_x4.pth)",
    )
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=run_info)
    lst = msub.add_parser("list", help="identify every checkpoint in the weights folder")
    lst.add_argument("--dir", action="append", help="folder to scan (default: weights/)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=run_list)
    known = msub.add_parser("known", help="the official GPEN checkpoints and where to get them")
    known.add_argument("--json", action="store_true", help="print JSON")
    known.set_defaults(func=run_known)
    exp = msub.add_parser(
        "export-onnx",
        help="export a GPEN checkpoint to an ONNX file (checked against PyTorch before it is kept)",
        description="Export with torch's ONNX exporter (input 'input', output 'output': NCHW RGB "
        "in [-1, 1]). The file is run once through onnxruntime and compared with the PyTorch "
        "output before it is renamed into place; the max 8-bit difference is reported. Needs "
        "pip install 'gpen-desktop[onnx]'.",
    )
    exp.add_argument("checkpoint", help="GPEN checkpoint (.pth/.pt)")
    exp.add_argument("-o", "--output", required=True, help="ONNX file to write (.onnx)")
    exp.add_argument(
        "--dynamic-batch",
        action="store_true",
        help="any number of faces per call (default: a fixed batch of 1)",
    )
    exp.add_argument(
        "--opset", **ranged_help("ONNX opset version (default: the exporter's)", int, 7, 28)
    )
    exp.add_argument("--overwrite", action="store_true", help="replace an existing file")
    exp.add_argument("--json", action="store_true", help="print a JSON report")
    exp.set_defaults(func=run_export_onnx)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_export_onnx(args: argparse.Namespace) -> int:
    from gpen_desktop.core.onnx_model import export_onnx

    report = export_onnx(
        args.checkpoint,
        args.output,
        dynamic_batch=args.dynamic_batch,
        overwrite=args.overwrite,
        opset=args.opset,
    )
    if args.json:
        say(json.dumps(report.to_json(), indent=2))
        return 0
    batch = "dynamic batch" if report.dynamic_batch else "batch 1"
    say(
        f"{report.path}: {report.in_size} px, {batch}, {report.bytes / 1e6:.1f} MB, "
        f"max 8-bit difference from PyTorch {report.max_diff_u8} "
        f"(checked on {report.verified_batch} face{'s' if report.verified_batch > 1 else ''}), "
        f"{report.seconds:.1f}s"
    )
    return 0


def _onnx_rows(info) -> list[tuple[str, object]]:
    batch = info.hints.get("batch")
    return [
        ("file", info.path),
        ("model", info.name),
        ("architecture", info.arch),
        ("file form", "ONNX (runs through onnxruntime)"),
        ("input size", f"{info.in_size} px"),
        ("output size", f"{info.out_size} px"),
        ("input / output", f"{info.hints.get('input')} / {info.hints.get('output')}"),
        ("batch", "dynamic" if batch == "dynamic" else f"fixed, {batch}"),
        ("element type", info.dtype),
        ("parameters", f"{info.n_params:,}" if info.n_params else "unknown (onnx not installed)"),
    ]


def _sr_rows(info) -> list[tuple[str, object]]:
    return [
        ("file", info.path),
        ("model", info.name),
        ("kind", "background super-resolution (spandrel)"),
        ("architecture", info.arch),
        ("scale", f"x{info.scale}"),
        ("purpose", info.purpose),
        ("tags", ", ".join(info.tags) or "none"),
        ("parameters", f"{info.n_params:,}"),
        (
            "cost",
            f"{info.mflops_per_px:.1f} MFLOP per input pixel ({info.speed})"
            if info.speed
            else "not counted",
        ),
        ("file form", info.format),
    ]


def _other_model(path: str, error: Exception):
    """A file that is no GPEN restorer: a super-resolution model (SRInfo), or a detector or
    parsing network (FoundModel); the original error when it is none of them."""
    from gpen_desktop.core.errors import CheckpointError
    from gpen_desktop.core.models import identify

    found = identify(path)
    if found.kind == "superres":
        return found.info
    if found.kind in ("detector", "parsing"):
        return found
    if found.kind == "invalid" and found.error and found.error != str(error):
        raise CheckpointError(found.error)  # e.g. an upscaler while spandrel is missing
    raise error


def run_info(args: argparse.Namespace) -> int:
    from gpen_desktop.core.errors import CheckpointError
    from gpen_desktop.core.models import inspect_model_file
    from gpen_desktop.core.superres import SRInfo

    try:
        info = inspect_model_file(args.path)
    except CheckpointError as exc:
        if Path(args.path).suffix.lower() == ".onnx" or not Path(args.path).is_file():
            raise
        other = _other_model(args.path, exc)
        if isinstance(other, SRInfo):
            if args.json:
                say(json.dumps({"kind": "superres", **other.to_json()}, indent=2))
                return 0
            rows = _sr_rows(other)
        else:
            name = other.known.name if other.known else other.kind
            if args.json:
                say(json.dumps({"kind": other.kind, "path": str(other.path), "name": name}))
                return 0
            rows = [("file", str(other.path)), ("model", name), ("kind", other.kind)]
        width = max(len(r[0]) for r in rows)
        for key, value in rows:
            say(f"{key:<{width}}  {value}")
        return 0
    if args.json:
        say(json.dumps(info.to_json(), indent=2))
        return 0
    rows = (
        _onnx_rows(info)
        if info.format == "onnx"
        else [
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
    )
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
