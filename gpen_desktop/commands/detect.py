"""``gpen detect INPUT``: list the faces in a photo (boxes, 5 landmarks, scores)."""

from __future__ import annotations

import argparse
import json
import time

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say
from gpen_desktop.commands._progress import Progress

DETECTOR_CHOICES = ("auto", "dlib", "dlib-cnn", "retinaface")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="find faces in photos",
        description="Find the faces in a photo and print their boxes, 5 landmarks (left eye, "
        "right eye, nose tip, left and right mouth corner) and scores, in photo pixels after "
        "EXIF orientation. dlib scores are SVM margins (> 0 is a face, higher is surer), "
        "RetinaFace scores are 0-1 confidences. Each face also gets a quality score (0-1: "
        "sharpness for the face's size, noise, JPEG blocks; at least 0.8 reads 'sharp "
        "already'), what `gpen restore --skip-sharp T` compares with T. A photo that cannot be read is reported and "
        "skipped (exit 1).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files and/or folders")
    p.add_argument(
        "--detector",
        choices=DETECTOR_CHOICES,
        default="auto",
        help="auto: RetinaFace when its weights are in weights/, else dlib (default: auto)",
    )
    p.add_argument(
        "--min-face",
        default=0,
        metavar="N",
        **ranged_help("ignore faces smaller than N px", int, 0),
    )
    p.add_argument(
        "--max-faces", default=None, metavar="N", **ranged_help("keep the N largest", int, 1)
    )
    p.add_argument(
        "--only-center-face", action="store_true", help="keep only the face nearest the centre"
    )
    p.add_argument(
        "--weights-dir", default=None, metavar="DIR", help="weights folder (default: weights/)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _load_rgb(path: str):
    """(pixels HxWx3 RGB, width, height) of the photo, EXIF orientation applied."""
    from gpen_desktop.core.imageio import load_photo

    photo = load_photo(path)
    return photo.pixels, photo.width, photo.height


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gpen_desktop.commands._output import error
    from gpen_desktop.core.errors import GpenError, ImageError
    from gpen_desktop.core.faces.detect import detect_faces, resolve_detector, score_kind
    from gpen_desktop.core.faces.quality import faces_quality
    from gpen_desktop.core.imageio import iter_images

    if args.min_face < 0:
        raise GpenError("--min-face must be >= 0")
    if args.max_faces is not None and args.max_faces < 1:
        raise GpenError("--max-faces must be >= 1")
    detector = resolve_detector(args.detector, args.weights_dir)
    kind = score_kind(detector)
    paths: list[Path] = []
    for s in args.inputs:
        paths += iter_images([s]) if Path(s).is_dir() else [Path(s)]
    if not paths:
        raise ImageError(f"no supported images in {', '.join(args.inputs)}")
    single = len(paths) == 1 and not Path(args.inputs[0]).is_dir()
    results, failed = [], 0
    for path in paths:
        try:
            pixels, width, height = _load_rgb(str(path))
            start = time.perf_counter()
            with Progress(100, path.name, unit="%", enabled=not args.json, plain=False) as bar:
                faces = detect_faces(
                    pixels,
                    detector,
                    min_face=args.min_face,
                    max_faces=args.max_faces,
                    only_center_face=args.only_center_face,
                    weights_dir=args.weights_dir,
                    progress=lambda fraction, message: bar.update(round(100 * fraction), message),
                )
            seconds = time.perf_counter() - start
            qualities = faces_quality(pixels, faces)
        except (GpenError, OSError) as exc:
            if single:
                raise
            failed += 1
            results.append({"input": str(path), "error": str(exc)})
            error(path, exc)
            continue
        doc = {
            "input": str(path),
            "image": {"width": width, "height": height},
            "detector": detector,
            "score": kind,
            "seconds": round(seconds, 3),
            "faces": [_face_json(f, kind, q) for f, q in zip(faces, qualities, strict=True)],
        }
        results.append(doc)
        if not args.json:
            _print_table(path, doc, faces, kind, qualities)
    if args.json:
        out = results[0] if single else {"results": results, "failed": failed}
        say(json.dumps(out, indent=2))
    elif failed:
        say(f"done: {len(paths) - failed} of {len(paths)} photos, {failed} failed")
    return 1 if failed else 0


def _face_json(face, kind: str, quality=None) -> dict:
    doc = face.to_json()
    doc[kind] = doc.pop("score")
    doc["quality"] = quality.to_json() if quality is not None else None
    return doc


def _print_table(path, doc: dict, faces, kind: str, qualities) -> None:
    img = doc["image"]
    say(
        f"{path}: {img['width']}x{img['height']}, {len(faces)} face(s) in {doc['seconds']:.2f} s"
        f" ({doc['detector']})"
    )
    if not faces:
        return
    label = "margin" if kind == "margin" else "conf"
    say(
        f"{'#':>2}  {'box (x0, y0, x1, y1)':<28} {'size':>5} {label:>6}  "
        f"{'eyes (left, right)':<22}  quality"
    )
    for i, (f, q) in enumerate(zip(faces, qualities, strict=True), 1):
        box = ", ".join(f"{v:.0f}" for v in f.box)
        eyes = ""
        if f.landmarks is not None:
            (lx, ly), (rx, ry) = f.landmarks[0], f.landmarks[1]
            eyes = f"({lx:.0f}, {ly:.0f}) ({rx:.0f}, {ry:.0f})"
        grade = f"{q.score:.2f} {q.words()}" if q is not None else "-"
        say(f"{i:>2}  {box:<28} {f.size:>5.0f} {f.score:>6.2f}  {eyes:<22}  {grade}")
