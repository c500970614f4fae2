"""``gpen restore``: whole photos (detect, align, restore, paste back) or aligned face crops.

Accepts the original GPEN script's flags as given (``--input``, ``--output``, ``--model_path``,
``--size``, ``--face_align``) besides positional inputs and ``-o``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from gpen_desktop.commands import restore_session
from gpen_desktop.commands._options import add_option, ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.commands._restore_common import (
    Job,
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
    for name in ("color_match", "match_grain", "only_center_face", "min_face", "max_faces"):
        add_option(p, name)
    add_option(p, "skip_sharp", metavar="T")
    add_option(p, "sharp_fade")
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
    p.add_argument(
        "--in-flight",
        default=3,
        metavar="N",
        **ranged_help(
            "photos in flight at once in a folder run (default 3): the next is read and its "
            "faces found while one is in the network and one is saved; 1 = one at a time",
            int,
            1,
            8,
        ),
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
    add_option(g, "sr_precision")
    add_option(g, "denoise_strength", metavar="DN")
    add_option(g, "tile", metavar="N")
    g.add_argument(
        "--damage-mask",
        metavar="MASK",
        help="image of the photo's size, white where it is damaged (scratches, tears): "
        "filled before restoring (one input photo only)",
    )
    g.add_argument(
        "--auto-damage",
        action="store_true",
        help="find scratches, dust and creases automatically (as `gpen damage` does) and fill "
        "them before restoring; works on folders too. A --session that brings its own damage "
        "mask keeps it",
    )
    from gpen_desktop.commands.damage import add_sensitivity

    add_sensitivity(g, "--damage-sensitivity", "damage_sensitivity")
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


def _old_photo_note(rep: dict) -> str:
    parts = []
    sr = rep.get("superres")
    if sr:
        dn = f", denoise {sr['denoise_strength']:g}" if "denoise_strength" in sr else ""
        parts.append(f"background {sr['model']} x{sr['scale']} ({sr['tiles']} tiles{dn})")
        if sr.get("denoise_note"):
            parts.append(sr["denoise_note"])
    damage = rep.get("inpainting")
    if damage:
        faces = damage.get("faces_inpainted", 0)
        how = f" by {damage['faces']}" if faces and damage.get("faces") else ""
        parts.append(
            f"damage: {faces} face{'s' if faces != 1 else ''} inpainted{how}, "
            f"background by {damage['background']}"
        )
    return "".join(f"; {p}" for p in parts)


def _faces_report(result, options) -> list[dict]:
    """Each face of the run in the report: its number (from 1, in the order given), its
    quality and what was done with it ("restored", or "left as it is" when sharp already),
    and the blend it got when a sharp-face fade lowered it."""
    from gpen_desktop.core.faces.quality import blend_factor

    restored = {fr.index for fr in result.faces}
    out = []
    for index, quality in sorted(result.qualities.items()):
        doc: dict = {"face": index + 1}
        doc["quality"] = quality.to_json() if quality is not None else None
        doc["action"] = "restored" if index in restored else "left as it is"
        if index in restored and options.skip_sharp and options.sharp_fade and quality:
            factor = blend_factor(quality.score, options.skip_sharp, True)
            if factor < 1.0:
                doc["blend_factor"] = round(factor, 3)
        out.append(doc)
    return out


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


def _photo_jobs(args: argparse.Namespace) -> tuple[list[Job], bool]:
    """The jobs of the photos and folders given on the command line, and whether it is one
    photo file (not a folder)."""
    from gpen_desktop.core.errors import GpenError, ImageError
    from gpen_desktop.core.imageio import iter_images

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
    jobs = [Job(src, _output_for(src, root, args, single, args.aligned)) for src, root in files]
    return jobs, single


def run(args: argparse.Namespace) -> int:
    from gpen_desktop.commands._shard import Exchange, assign, shard_device, shard_from_env
    from gpen_desktop.core.errors import CheckpointError, GpenError
    from gpen_desktop.core.options import OPTIONS
    from gpen_desktop.core.pipeline import RestoreOptions, Restorer

    shard = shard_from_env()  # a torchrun job: this process restores its share
    if shard is not None and args.sessions:
        raise GpenError("--session runs are not sharded: give photos or folders under torchrun")
    if args.sessions:  # gpen restore --session FILE: pre-filled jobs (commands/restore_session.py)
        restore_session.check_session_run(args)
        return _restore_all(args, [str(s) for s in args.sessions], None, "", 0, None)
    jobs, single = _photo_jobs(args)
    if args.damage_mask and args.auto_damage:
        raise GpenError("give --damage-mask or --auto-damage, not both")
    if args.damage_mask and not single:
        raise GpenError("--damage-mask belongs to one photo: give exactly one input file")
    if args.aligned and (args.sr_model or args.damage_mask or args.auto_damage):
        raise GpenError(
            "--sr-model, --damage-mask and --auto-damage work on whole photos, not with --aligned"
        )
    if args.aligned and args.skip_sharp:
        raise GpenError("--skip-sharp works on faces in whole photos, not with --aligned")
    models_by_size = _pick_models_by_size(args)
    model_path = _pick_model(args)
    upscale = args.upscale if args.upscale is not None else (0 if args.sr_model else 1)
    total_inputs, all_jobs = len(jobs), jobs
    device = args.device
    if shard is not None:
        jobs = [jobs[i] for i in assign([j.out for j in jobs], shard)]
        device = shard_device(args.device, shard)
    # Every option the table gives a flag comes from its flag; those the command works out
    # (the model, per-face models, device of this rank, the SR model's own scale, the
    # inpainting model) are set below.
    given = {o.name: getattr(args, o.dest) for o in OPTIONS if o.flags and hasattr(args, o.dest)}
    options = RestoreOptions(
        **{
            **given,
            "model_path": model_path,
            "models_by_size": models_by_size,
            "device": device,
            "upscale": upscale,
            "sr_model": args.sr_model or "",
            "inpaint_model": _pick_inpaint_model(args),
        }
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
    if args.damage_mask:
        from gpen_desktop.core.inpaint import load_damage_mask

        for job in jobs:
            job.damage = lambda photo: load_damage_mask(args.damage_mask, photo.width, photo.height)
    elif args.auto_damage:
        from gpen_desktop.commands.damage import auto_damage

        for job in jobs:
            job.damage = lambda photo: auto_damage(photo, args, restorer.detect(photo))
    exchange = Exchange(shard) if shard is not None else None
    return _restore_all(
        args,
        jobs,
        restorer,
        model_path,
        size,
        shard,
        exchange=exchange,
        total_inputs=total_inputs,
        order=[str(j.src) for j in all_jobs],
    )


class _Item:
    """One item of a run as it goes through the stages: its report, its job, photo, faces and
    result."""

    def __init__(self, source: Any, rep: dict) -> None:
        self.source, self.rep = source, rep
        self.job: Job | None = None
        self.photo: Any = None
        self.faces: list | None = None
        self.damage: Any = None
        self.result: Any = None
        self.restored: Any = None  # --aligned: the restored crop
        self.skipped = False
        self.upscale = 1
        self.detect_seconds = 0.0
        self.t0 = time.perf_counter()  # set again when its first stage starts


def _restore_all(
    args: argparse.Namespace,
    items: list,
    restorer,
    model_path: str,
    size: int,
    shard,
    exchange=None,
    total_inputs: int | None = None,
    order: list[str] | None = None,
) -> int:
    """The one loop of ``gpen restore``: each item (a photo's :class:`Job`, or a session
    file that :func:`restore_session.session_job` turns into one) is restored, saved and
    reported the same way; a bad item is reported and skipped; ``--skip-existing`` leaves
    outputs that are there. Items overlap (core/overlap.py): the next photo is read and its
    faces found while this one is in the network and the one before is saved; outputs,
    reports and errors come in the items' order."""
    from gpen_desktop.commands._progress import Progress
    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.overlap import Failed, overlapped

    sessions = bool(args.sessions)
    skip_existing = (args.skip_existing or shard is not None) and not args.overwrite
    tag = f"[rank {shard.rank}] " if shard is not None else ""
    models_by_size = restorer.options.models_by_size if restorer is not None else ()
    noun = "sessions" if sessions else "photos"
    reports: list[dict] = []
    show = not args.json and shard is None and len(items) > 1
    states = []
    for item in items:
        rep: dict = {
            "input": None if sessions else str(item.src),
            "output": None if sessions else str(item.out),
            "faces_found": 0,
            "faces_restored": 0,
            "seconds": 0.0,
            "device": "",
            "status": "ok",
        }
        if sessions:
            rep = {"session": item, **rep, "warnings": [], "overrides": []}
        if shard is not None:
            rep["rank"] = shard.rank
        states.append(_Item(item, rep))
    held = {"restorer": restorer}

    def prepare(state: _Item, _value: Any) -> _Item:
        _prepare(args, state, held["restorer"], skip_existing, len(items) == 1)
        return state

    def network(state: _Item, _value: Any) -> _Item:
        if not state.skipped:
            held["restorer"] = _run_network(args, state, held["restorer"], models_by_size)
        return state

    with Progress(len(items), noun, unit=noun[:-1], enabled=show) as bar:
        stream = overlapped(states, [prepare, network], max_in_flight=args.in_flight)
        for n, (state, value) in enumerate(stream, 1):
            rep = state.rep
            label = state.source if sessions else state.source.src
            try:
                if isinstance(value, Failed):
                    raise value.error
                if state.skipped:
                    rep["status"] = "skipped"
                else:
                    _save(args, state)
            except (GpenError, OSError) as exc:
                from gpen_desktop.core.fileio import os_error_message

                message = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
                rep.update(status="error", error=message, output=None)
                bar.write(f"{tag}error: {label}: {message}")
            rep["seconds"] = round(time.perf_counter() - state.t0, 3)
            reports.append(rep)
            bar.update(n, Path(str(label)).name)
            if not args.json:
                _say_report(bar, tag, rep, models_by_size)

    failed = sum(r["status"] == "error" for r in reports)
    if exchange is not None:  # rank 0 merges every rank's reports; the others are done
        try:
            gathered = exchange.gather(reports)
        finally:
            exchange.close()
        if gathered is None:
            return 0
        reports = [r for part in gathered for r in part]
        rank = {src: i for i, src in enumerate(order or [])}
        reports.sort(key=lambda r: (rank.get(r["input"], len(rank)), r["input"]))
        failed = sum(r["status"] == "error" for r in reports)
    total = total_inputs if total_inputs is not None else len(items)
    skipped = sum(r["status"] == "skipped" for r in reports)
    summary = {
        "inputs": total,
        "ok": total - failed - skipped,
        "skipped": skipped,
        "failed": failed,
        "faces_restored": sum(r["faces_restored"] for r in reports),
    }
    if not sessions:
        summary.update(model=model_path, model_size=size)
    if shard is not None:
        summary["world_size"] = shard.world_size
    if models_by_size:
        used: dict[str, int] = {}
        for r in reports:
            for path, k in (r.get("models") or {}).items():
                used[path] = used.get(path, 0) + k
        summary.update(
            model="auto",
            models_by_size={str(k): path for k, path in models_by_size},
            models=used,
        )
    if args.json:
        say(json.dumps({"results": reports, "summary": summary}, indent=2))
    elif total > 1 or failed or skipped:
        say(
            f"done: {summary['ok']} of {total} {noun}, {summary['faces_restored']} faces restored"
            + (f", {skipped} already there (skipped)" if skipped else "")
            + (f", {failed} failed" if failed else "")
            + (f", {shard.world_size} processes" if shard is not None else "")
        )
    return 1 if failed else 0


def _say_report(bar, tag: str, rep: dict, models_by_size) -> None:
    """The one line a restored (or skipped) item gets on stdout."""
    if rep["status"] == "error":
        return
    src, out = rep["input"], rep["output"]
    if rep["status"] == "skipped":
        bar.print(f"{tag}{src} -> {out}: already there, skipped")
        return
    extra = " (no face: copied unchanged)" if rep["status"] == "no_face" else ""
    if rep.get("faces_left_sharp"):
        n = rep["faces_left_sharp"]
        extra += f", {n} sharp already (left as {'it is' if n == 1 else 'they are'})"
    if rep.get("superres") or rep.get("inpainting"):
        extra = (" (no face)" if rep["status"] == "no_face" else "") + _old_photo_note(rep)
    extra += _models_note(rep.get("models"), models_by_size)
    kind = " (session)" if "session" in rep else ""
    bar.print(
        f"{tag}{src} -> {out}: {rep['faces_restored']}/{rep['faces_found']} faces{kind}, "
        f"{rep['seconds']:.1f}s{extra}"
    )


def _prepare(args: argparse.Namespace, state: _Item, restorer, skip_existing: bool, single: bool):
    """First stage: the item's job (a session's is read here), the skip and overwrite checks,
    the photo decoded and its faces found."""
    from gpen_desktop.core.errors import ImageError
    from gpen_desktop.core.imageio import load_photo

    rep = state.rep
    state.t0 = time.perf_counter()
    if "session" in rep:
        job = restore_session.session_job(state.source, args, rep, single)
    else:
        job = state.source
    state.job = job
    src, out = job.src, job.out
    rep["output"] = str(out)
    if skip_existing and out.exists() and out.resolve() != src.resolve():
        state.skipped = True
        return
    if not src.is_file() and "session" in rep:
        raise ImageError(f"the session's photo {src} is missing")
    if out.resolve() == src.resolve():
        raise ImageError(
            f"refusing to overwrite the original {src.name}; use another -o or --suffix"
        )
    state.photo = load_photo(src)
    state.faces = job.faces
    state.damage = job.damage(state.photo) if job.damage is not None else None
    if state.faces is None and state.damage is None and not args.aligned and restorer is not None:
        t0 = time.perf_counter()
        state.faces = restorer.detect(state.photo)  # (with damage: on the filled photo, later)
        state.detect_seconds = time.perf_counter() - t0
        rep["faces_found"] = len(state.faces)


def _run_network(args: argparse.Namespace, state: _Item, restorer, models_by_size):
    """Second stage: the faces through the network and pasted back (or an aligned crop
    restored); returns the restorer (made or set to the job's options when it brings them)."""
    from gpen_desktop.commands._progress import Progress, callback
    from gpen_desktop.core.errors import CheckpointError
    from gpen_desktop.core.pipeline import Restorer

    job, rep = state.job, state.rep
    if job.options is not None:
        if restorer is None:
            restorer = Restorer(job.options)
        else:
            restorer.set_options(job.options)
    if job.check_size:
        opts = restorer.options
        size = 0 if opts.models_by_size else restorer.model_size
        if args.size and args.size != size:
            raise CheckpointError(
                f"--size {args.size} does not match the checkpoint, which is a {size} px "
                f"model ({Path(opts.model_path).name})"
            )
    if args.aligned:
        chosen = _aligned_model(restorer, state.photo)
        enhancer = restorer.enhancer_for(chosen)
        state.restored = enhancer.restore_crops([state.photo.rgb8()])[0]
        rep["device"] = str(enhancer.device)
        if models_by_size:
            rep["models"] = {chosen: 1}
        rep["faces_found"] = rep["faces_restored"] = 1
        return restorer
    with Progress(
        desc="background", unit="tile", enabled=not args.json, plain=False, leave=False
    ) as tiles:
        result = restorer.restore(
            state.photo,
            state.faces,
            progress=callback(tiles, "enhancing background"),
            damage=state.damage,
        )
    state.result = result
    rep["device"] = result.device
    if models_by_size or "session" in rep:
        rep["models"] = result.models
    rep["faces_found"] = result.detected if job.faces_found is None else job.faces_found
    rep["faces_restored"] = result.restored_count
    timings = dict(result.timings)
    if state.detect_seconds:  # found in the first stage, while another photo ran
        timings["detect"] = timings.get("detect", 0.0) + state.detect_seconds
        timings["total"] = timings.get("total", 0.0) + state.detect_seconds
    rep["timings"] = {k: round(v, 3) for k, v in timings.items()}
    if result.fallback_note:
        rep["note"] = result.fallback_note
    if result.superres:
        rep["superres"] = result.superres
    if result.inpainting:
        rep["inpainting"] = result.inpainting
    rep["faces"] = _faces_report(result, restorer.options)
    if result.left_sharp:
        rep["faces_left_sharp"] = len(result.left_sharp)
    if result.restored_count == 0 and not result.left_sharp:
        rep["status"] = "no_face"
    state.upscale = restorer.options.upscale
    return restorer


def _save(args: argparse.Namespace, state: _Item) -> None:
    """Last step, in the items' order: the output encoded and written."""
    from gpen_desktop.core.imageio import save_restored

    src, out, photo = state.job.src, state.job.out, state.photo
    if args.aligned:
        save_restored(
            state.restored,
            out,
            photo,
            quality=args.quality,
            keep_metadata=False,
            overwrite=args.overwrite,
        )
        return
    result = state.result
    if result.restored_count == 0:
        if result.left_sharp:
            log.info("%s: every face is sharp already; copied through unchanged", src.name)
        else:
            log.warning("%s: no face found; copied through unchanged", src.name)
        changed = state.upscale != 1 or result.superres or result.inpainting
        if out.suffix.lower() == src.suffix.lower() and not changed:
            _copy_atomic(src, out, args.overwrite)
            return
    save_restored(result.image, out, photo, quality=args.quality, overwrite=args.overwrite)
    if args.save_faces and result.restored_count:
        _save_faces(result, out, args.overwrite)
