"""``gpen detect INPUT``: list the faces in a photo (boxes, 5 landmarks, scores)."""

from __future__ import annotations

import argparse
import json
import time

DETECTOR_CHOICES = ("auto", "dlib", "dlib-cnn", "retinaface")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="find faces in a photo",
        description="Find the faces in a photo and print their boxes, 5 landmarks (left eye, "
        "right eye, nose tip, left and right mouth corner) and scores, in photo pixels after "
        "EXIF orientation.",
    )
    p.add_argument("input", metavar="INPUT", help="photo file")
    p.add_argument(
        "--detector",
        choices=DETECTOR_CHOICES,
        default="auto",
        help="auto: RetinaFace when its weights are in weights/, else dlib (default: auto)",
    )
    p.add_argument(
        "--min-face", type=int, default=0, metavar="N", help="ignore faces smaller than N px"
    )
    p.add_argument("--max-faces", type=int, default=None, metavar="N", help="keep the N largest")
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
    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.faces.detect import detect_faces

    if args.min_face < 0:
        raise GpenError("--min-face must be >= 0")
    if args.max_faces is not None and args.max_faces < 1:
        raise GpenError("--max-faces must be >= 1")
    pixels, width, height = _load_rgb(args.input)
    start = time.perf_counter()
    faces = detect_faces(
        pixels,
        args.detector,
        min_face=args.min_face,
        max_faces=args.max_faces,
        only_center_face=args.only_center_face,
        weights_dir=args.weights_dir,
    )
    seconds = time.perf_counter() - start
    if args.json:
        doc = {
            "image": {"width": width, "height": height},
            "faces": [f.to_json() for f in faces],
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{args.input}: {width}x{height}, {len(faces)} face(s) in {seconds:.2f} s")
    if faces:
        print(
            f"{'#':>2}  {'box (x0, y0, x1, y1)':<28} {'size':>5} {'score':>6}  eyes (left, right)"
        )
        for i, f in enumerate(faces, 1):
            box = ", ".join(f"{v:.0f}" for v in f.box)
            eyes = ""
            if f.landmarks is not None:
                (lx, ly), (rx, ry) = f.landmarks[0], f.landmarks[1]
                eyes = f"({lx:.0f}, {ly:.0f}) ({rx:.0f}, {ry:.0f})"
            print(f"{i:>2}  {box:<28} {f.size:>5.0f} {f.score:>6.2f}  {eyes}")
    return 0
