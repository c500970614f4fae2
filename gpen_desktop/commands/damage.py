"""``gpen damage PHOTO -o MASK.png``: find scratches, dust and creases on a scanned photo.

The mask it writes (8-bit grey PNG at the photo's size, white = damaged) is the one
``gpen restore --damage-mask`` reads; ``gpen restore --auto-damage`` does both in one run.
Faces are found first (the detector of ``--detector``) and protected: the detector is
stricter inside them and never marks the eyes or the mouth.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from gpen_desktop.commands._options import ranged_help
from gpen_desktop.commands._output import say

SENSITIVITY_HELP = "how much to mark: higher finds fainter and shorter damage, and more by mistake"


def add_sensitivity(p, flag: str = "--sensitivity", dest: str = "sensitivity") -> None:
    """The sensitivity flag (0-1, checked at the parser), shared with ``gpen restore``."""
    from gpen_desktop.core.damage_detect import DEFAULT_SENSITIVITY

    p.add_argument(
        flag,
        dest=dest,
        default=DEFAULT_SENSITIVITY,
        metavar="X",
        **ranged_help(f"{SENSITIVITY_HELP} (default {DEFAULT_SENSITIVITY})", float, 0, 1),
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "damage",
        help="find scratches, dust and creases on a scan and write a damage mask",
        description="Find scratches (thin bright or dark lines, straight or curved), dust "
        "specks and creases on a scanned photo and write a mask of the photo's size (white = "
        "damaged) for `gpen restore --damage-mask`. Every mark is a suggestion: open the "
        "photo in the app (Edit > Find Damage) to see and edit them with the brush.",
    )
    p.add_argument("photo", metavar="PHOTO", help="the scanned photo")
    p.add_argument("-o", "--output", required=True, metavar="MASK.png", help="mask file to write")
    add_sensitivity(p)
    p.add_argument(
        "--detector",
        default="auto",
        choices=("auto", "dlib", "dlib-cnn", "retinaface", "none"),
        help="face detector for the faces to protect ('none': no face protection)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing mask file")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.set_defaults(func=run)


def faces_to_protect(photo, detector: str) -> list:
    """The photo's faces for the damage detector (none with ``detector`` 'none'); a face
    detector that fails leaves the photo unprotected rather than stopping the run."""
    if detector == "none":
        return []
    from gpen_desktop.core.errors import GpenError
    from gpen_desktop.core.faces.detect import detect_faces

    try:
        return list(detect_faces(photo.rgb8(), detector))
    except GpenError as exc:
        logging.getLogger("gpen.damage").warning("no face protection: %s", exc)
        return []


def auto_damage(photo, args: argparse.Namespace, faces) -> object:
    """``--auto-damage``: the damage found on ``photo`` (its ``faces`` protected) as an HxW
    bool mask, or None when nothing was found (the photo is restored as without damage)."""
    from gpen_desktop.core.damage_detect import find_damage_in_photo

    found = find_damage_in_photo(photo, args.damage_sensitivity, faces)
    logging.getLogger("gpen.damage").info(
        "%s: auto damage: %d scratches, %d specks, %.2f %% of the pixels",
        photo.path.name if photo.path else "photo",
        found.scratches,
        found.specks,
        found.share * 100,
    )
    return found.mask if found.pixels else None


def run(args: argparse.Namespace) -> int:
    from gpen_desktop.core.damage_detect import find_damage_in_photo, save_mask_png
    from gpen_desktop.core.errors import ImageError
    from gpen_desktop.core.imageio import load_photo

    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise ImageError(f"the damage mask is written as PNG: give a .png name, not {out.name}")
    if out.exists() and not args.overwrite:
        raise ImageError(f"{out} exists; pass --overwrite to replace it")
    photo = load_photo(args.photo)
    faces = faces_to_protect(photo, args.detector)
    result = find_damage_in_photo(photo, args.sensitivity, faces)
    save_mask_png(result.mask, out, overwrite=args.overwrite)
    if args.json:
        say(
            json.dumps(
                {"input": args.photo, "output": str(out), "faces": len(faces), **result.to_json()},
                indent=2,
            )
        )
    else:
        say(
            f"{args.photo} -> {out}: {result.scratches} scratch"
            f"{'es' if result.scratches != 1 else ''}, {result.specks} speck"
            f"{'s' if result.specks != 1 else ''}, {result.share * 100:.2f} % of the pixels "
            f"marked ({len(faces)} face{'s' if len(faces) != 1 else ''} protected, "
            f"{result.seconds:.1f}s)"
        )
    return 0
