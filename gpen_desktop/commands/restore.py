"""``gpen restore``: whole photos (detect, align, restore, paste back) or aligned face crops.

Accepts the original GPEN script's flags as given (``--input``, ``--output``, ``--model_path``,
``--size``, ``--face_align``) besides positional inputs and ``-o``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from gpen_desktop.commands import restore_session
from gpen_desktop.commands._options import add_option, ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.commands._restore_common import (
    _Bar,
    _copy_atomic,
    _output_for,
    _pick_model,
    _pick_models_by_size,
    _save_faces,
)

log = logging.getLogger("gpen.restore")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore",
        help="restore faces in photos (or in aligned face crops with --aligned)",
        description="Restore every face in the given photos (files or folders). Outputs are "
        "written atomically; an original is never overwritten, another existing file only "
        "with --overwrite. With no -o, results go next to each input with --suffix.",
    )
    restore_session.add_arguments(p)  # first: later options record whether they were given
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="photos or folders")
    p.add_argument(
        "--input",
        dest="input_flag",
        action="append",
        default=[],
        help="same as INPUT (GPEN's flag)",
    )
    p.add_argument("-o", "--output", help="output file (one input) or folder")
    p.add_argument(
        "--model_path",
        "--model-path",
        "--model",
        "-m",
        dest="model_path",
        metavar="PATH|auto",
        help="GPEN checkpoint for every face (default: a restorer from weights/, 512 px "
        "preferred); 'auto': each face through the weights/ model of its size (the smallest "
        "size at least the face's, capped at the largest present)",
    )
    p.add_argument(
        "--model-for-size",
        dest="model_for_size",
        action="append",
        metavar="SIZE=PATH",
        help="per-face models: faces whose size picks SIZE (same rule as 'auto', among the "
        "sizes given) go through PATH; repeat for each size, e.g. --model-for-size "
        "256=weights/GPEN-BFR-256.pth --model-for-size 512=weights/GPEN-BFR-512.pth. With "
        "--model auto it replaces or adds to the weights/ models of that size",
    )
    p.add_argument(
        "--size",
        **ranged_help("expected model size; checked against the checkpoint", int, 16, 4096),
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--face_align",
        "--face-align",
        dest="aligned",
        action="store_false",
        help="detect and align faces in whole photos (the default)",
    )
    mode.add_argument(
        "--aligned",
        dest="aligned",
        action="store_true",
        help="inputs are already aligned face crops: run the network on each as is",
    )
    p.set_defaults(aligned=False)
    p.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    for name in ("detector", "device", "batch_size", "precision", "blend", "mask"):
        add_option(p, name)
    add_option(
        p,
        "upscale",
        default=None,
        help="whole-number output scale (default 1; with --sr-model the model's own scale)",
    )
    for name in ("color_match", "only_center_face", "min_face", "max_faces"):
        add_option(p, name)
    p.add_argument(
        "--save-faces",
        action="store_true",
        help="also write aligned crops and before|after strips into <output>/faces/",
    )
    p.add_argument(
        "--suffix", default="_restored", help="added to output names (default _restored)"
    )
    p.add_argument("--ext", help="output format by extension: png, jpg, webp, tif, bmp")
    p.add_argument(
        "--quality", default=95, **ranged_help("JPEG/WebP quality (default 95)", int, 0, 100)
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave outputs that already exist as they are and go on (a restarted run only "
        "does what is left; always on in a torchrun job unless --overwrite)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    _register_old_photo_options(p)
    p.set_defaults(func=run)


def _register_old_photo_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("old photos (background super-resolution, damage)")
    add_option(
        g,
        "sr_model",
        default=None,
        metavar="PATH",
        help="super-resolution model for the background (e.g. realesrnet_x4.pth; any "
        "spandrel SR model); faces are restored as usual and pasted at the output size",
    )
    add_option(g, "tile", metavar="N")
    g.add_argument(
        "--damage-mask",
        metavar="MASK",
        help="image of the photo's size, white where it is damaged (scratches, tears): "
        "filled before restoring (one input photo only)",
    )
    add_option(
        g,
        "inpaint_model",
        default=None,
        metavar="PATH",
        help="GPEN-Inpainting checkpoint for faces under the damage (default: the one in "
        "weights/, if any; 'opencv' = fill faces with OpenCV too)",
    )
    add_option(g, "inpaint_method")
    add_option(g, "inpaint_mode")


# --------------------------------------------------------------------------- helpers


def _pick_inpaint_model(args: argparse.Namespace) -> str:
    """The GPEN-Inpainting checkpoint for a damage mask: --inpaint-model, else one found in
    weights/, else "" (OpenCV fills faces too)."""
    from gpen_desktop.core.models import scan_weights

    if not args.damage_mask or (args.inpaint_model or "").lower() in ("opencv", "none"):
        return ""
    if args.inpaint_model:
        return args.inpaint_model
    found = [f for f in scan_weights() if f.kind == "restorer" and f.info.task == "inpainting"]
    return str(found[0].path) if found else ""


def _tile_progress(enabled: bool):
    """A progress callback that shows super-resolution tiles on a terminal."""
    if not (enabled and sys.stderr.isatty()):
        return None

    def report(done: int, total: int, message: str) -> None:
        if message.startswith("enhancing background"):
            say(f"\r{message}".ljust(60), end="\n" if done == total else "", file=sys.stderr)

    return report


def _old_photo_note(rep: dict) -> str:
    parts = []
    sr = rep.get("superres")
    if sr:
        parts.append(f"background {sr['model']} x{sr['scale']} ({sr['tiles']} tiles)")
    damage = rep.get("inpainting")
    if damage:
        faces = damage.get("faces_inpainted", 0)
        how = f" by {damage['faces']}" if faces and damage.get("faces") else ""
        parts.append(
            f"damage: {faces} face{'s' if faces != 1 else ''} inpainted{how}, "
            f"background by {damage['background']}"
        )
    return "".join(f"; {p}" for p in parts)


def _aligned_model(restorer, photo) -> str:
    """With --aligned, the model of a crop: per-face choice by the crop's own size."""
    from gpen_desktop.core.face_models import model_for_face
    from gpen_desktop.core.types import Face

    o = restorer.options
    crop = Face(box=(0.0, 0.0, float(photo.width), float(photo.height)))
    return model_for_face(crop, o.main_model, o.models_by_size)


def _models_note(used: dict | None, models_by_size) -> str:
    """ "; models: GPEN-BFR-256.pth x2, GPEN-BFR-512.pth x1" for per-face runs."""
    if not models_by_size or not used:
        return ""
    return "; models: " + ", ".join(f"{Path(p).name} x{n}" for p, n in used.items())


# --------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    from gpen_desktop.commands._shard import Exchange, assign, shard_device, shard_from_env
    from gpen_desktop.core.errors import Cancelled, CheckpointError, GpenError, ImageError
    from gpen_desktop.core.imageio import iter_images, load_photo, save_restored
    from gpen_desktop.core.pipeline import RestoreOptions, Restorer

    shard = shard_from_env()  # a torchrun job: this process restores its share
    if shard is not None and args.sessions:
        raise GpenError("--session runs are not sharded: give photos or folders under torchrun")
    if args.sessions:  # gpen restore --session FILE: commands/restore_session.py
        tools = restore_session.Tools(_output_for, _Bar, _save_faces, _copy_atomic, _pick_model)
        return restore_session.run_sessions(args, tools)
    sources = list(args.inputs) + list(args.input_flag)
    if not sources:
        raise GpenError("no input: give photos or folders (or --input FILE)")
    files: list[tuple[Path, Path | None]] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            files += [(f, p) for f in iter_images([p], recursive=args.recursive)]
        else:
            files.append((p, None))
    if not files:
        raise ImageError(f"no supported images in {', '.join(sources)}")
    single = len(files) == 1 and files[0][1] is None

    if args.damage_mask and not single:
        raise GpenError("--damage-mask belongs to one photo: give exactly one input file")
    if args.aligned and (args.sr_model or args.damage_mask):
        raise GpenError("--sr-model and --damage-mask work on whole photos, not with --aligned")
    models_by_size = _pick_models_by_size(args)
    model_path = _pick_model(args)
    upscale = args.upscale if args.upscale is not None else (0 if args.sr_model else 1)
    outs = [_output_for(src, root, args, single, args.aligned) for src, root in files]
    total_inputs, all_files = len(files), files
    device = args.device
    exchange = None
    if shard is not None:
        mine = assign(outs, shard)
        files, outs = [files[i] for i in mine], [outs[i] for i in mine]
        device = shard_device(args.device, shard)
        exchange = Exchange(shard)
    skip_existing = (args.skip_existing or shard is not None) and not args.overwrite
    tag = f"[rank {shard.rank}] " if shard is not None else ""
    options = RestoreOptions(
        model_path=model_path,
        device=device,
        batch_size=args.batch_size,
        blend=args.blend,
        mask=args.mask,
        color_match=args.color_match,
        upscale=upscale,
        detector=args.detector,
        only_center_face=args.only_center_face,
        min_face=args.min_face,
        max_faces=args.max_faces,
        precision=args.precision,
        sr_model=args.sr_model or "",
        tile=args.tile,
        inpaint_model=_pick_inpaint_model(args),
        inpaint_method=args.inpaint_method,
        inpaint_mode=args.inpaint_mode,
        models_by_size=models_by_size,
    )
    restorer = Restorer(options)
    # One model: load it now (a bad one fails here, once). Per-face models load when a face
    # first needs them, each once for the whole run.
    size = 0 if models_by_size else restorer.model_size
    if args.size and args.size != size:
        raise CheckpointError(
            f"--size {args.size} does not match the checkpoint, which is a {size} px model "
            f"({Path(model_path).name}); drop --size or pick the right file"
        )
    restorer.superres  # noqa: B018 - load the SR and inpainting models now: fail fast, once
    restorer.inpainter  # noqa: B018
    progress = _tile_progress(not args.json)

    reports, failed = [], 0
    bar = _Bar(len(files), enabled=not args.json and shard is None)
    for n, ((src, _root), out) in enumerate(zip(files, outs, strict=True), 1):
        t0 = time.perf_counter()
        rep = {
            "input": str(src),
            "output": str(out),
            "faces_found": 0,
            "faces_restored": 0,
            "seconds": 0.0,
            "device": "",
            "status": "ok",
        }
        if shard is not None:
            rep["rank"] = shard.rank
        if skip_existing and out.exists() and out.resolve() != src.resolve():
            rep["status"] = "skipped"
            reports.append(rep)
            bar.update(n, src.name)
            if not args.json:
                say(f"{tag}{src} -> {out}: already there, skipped")
            continue
        try:
            if out.resolve() == src.resolve():
                raise ImageError(
                    f"refusing to overwrite the original {src.name}; use another -o or --suffix"
                )
            photo = load_photo(src)
            if args.aligned:
                chosen = _aligned_model(restorer, photo)
                enhancer = restorer.enhancer_for(chosen)
                restored = enhancer.restore_crops([photo.rgb8()])[0]
                rep["device"] = str(enhancer.device)
                if models_by_size:
                    rep["models"] = {chosen: 1}
                save_restored(
                    restored,
                    out,
                    photo,
                    quality=args.quality,
                    keep_metadata=False,
                    overwrite=args.overwrite,
                )
                rep["faces_found"] = rep["faces_restored"] = 1
            else:
                damage = None
                if args.damage_mask:
                    from gpen_desktop.core.inpaint import load_damage_mask

                    damage = load_damage_mask(args.damage_mask, photo.width, photo.height)
                result = restorer.restore(photo, progress=progress, damage=damage)
                rep["device"] = result.device
                if models_by_size:
                    rep["models"] = result.models
                rep["faces_found"] = result.detected
                rep["faces_restored"] = result.restored_count
                rep["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
                if result.fallback_note:
                    rep["note"] = result.fallback_note
                if result.superres:
                    rep["superres"] = result.superres
                if result.inpainting:
                    rep["inpainting"] = result.inpainting
                changed = upscale != 1 or result.superres or result.inpainting
                if result.restored_count == 0:
                    rep["status"] = "no_face"
                    log.warning("%s: no face found; copied through unchanged", src.name)
                    if out.suffix.lower() == src.suffix.lower() and not changed:
                        _copy_atomic(src, out, args.overwrite)
                    else:
                        save_restored(
                            result.image, out, photo, quality=args.quality, overwrite=args.overwrite
                        )
                else:
                    save_restored(
                        result.image, out, photo, quality=args.quality, overwrite=args.overwrite
                    )
                    if args.save_faces:
                        _save_faces(result, out, args.overwrite)
        except Cancelled:
            raise
        except (GpenError, OSError) as exc:
            from gpen_desktop.core.fileio import os_error_message

            message = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
            failed += 1
            rep.update(status="error", error=message, output=None)
            say(f"{tag}error: {src}: {message}", file=sys.stderr)
        rep["seconds"] = round(time.perf_counter() - t0, 3)
        reports.append(rep)
        bar.update(n, src.name)
        if not args.json and (rep["status"] != "error"):
            extra = " (no face: copied unchanged)" if rep["status"] == "no_face" else ""
            if rep.get("superres") or rep.get("inpainting"):
                extra = (" (no face)" if rep["status"] == "no_face" else "") + _old_photo_note(rep)
            extra += _models_note(rep.get("models"), models_by_size)
            say(
                f"{tag}{src} -> {out}: {rep['faces_restored']}/{rep['faces_found']} faces, {rep['seconds']:.1f}s{extra}"
            )

    if exchange is not None:  # rank 0 merges every rank's reports; the others are done
        try:
            gathered = exchange.gather(reports)
        finally:
            exchange.close()
        if gathered is None:
            return 0
        reports = [r for part in gathered for r in part]
        order = {str(src): i for i, (src, _) in enumerate(all_files)}
        reports.sort(key=lambda r: (order.get(r["input"], len(order)), r["input"]))
        failed = sum(r["status"] == "error" for r in reports)
    skipped = sum(r["status"] == "skipped" for r in reports)
    summary = {
        "inputs": total_inputs,
        "ok": total_inputs - failed - skipped,
        "skipped": skipped,
        "failed": failed,
        "faces_restored": sum(r["faces_restored"] for r in reports),
        "model": model_path,
        "model_size": size,
    }
    if shard is not None:
        summary["world_size"] = shard.world_size
    if models_by_size:
        used: dict[str, int] = {}
        for r in reports:
            for path, n in (r.get("models") or {}).items():
                used[path] = used.get(path, 0) + n
        summary.update(
            model="auto",
            models_by_size={str(n): path for n, path in models_by_size},
            models=used,
        )
    if args.json:
        say(json.dumps({"results": reports, "summary": summary}, indent=2))
    elif total_inputs > 1 or failed or skipped:
        say(
            f"done: {summary['ok']} of {total_inputs} photos, {summary['faces_restored']} faces restored"
            + (f", {skipped} already there (skipped)" if skipped else "")
            + (f", {failed} failed" if failed else "")
            + (f", {shard.world_size} processes" if shard is not None else "")
        )
    return 1 if failed else 0
