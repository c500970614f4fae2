"""``gpen restore --session FILE …``: re-run photos exactly as they were edited in the app.

Each session sidecar (see :mod:`gpen_desktop.core.session`) brings its photo, its faces (no
detection: boxes and landmarks as edited, excluded faces left untouched, per-face blend), its
restore options and its model, identified by SHA-256 (found in the weights folder by content
when the file moved), its per-face models (``models_by_size``, a face's own model), and its
background super-resolution and damage options (``sr_model``, ``tile``, ``inpaint_*``, the
damage mask beside the sidecar), so the photo is re-run as a whole. Options given explicitly on the command line override the session's,
and the run says which.

A session is a pre-filled item of ``gpen restore``'s one loop (``restore.py``): this module
adds ``--session`` (:func:`add_arguments`, first, so every later option records whether it
was given) and turns each file into a job (:func:`session_job`); the loop, the report, the
progress and ``--skip-existing`` are the photos'.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from gpen_desktop.commands._output import say
from gpen_desktop.commands._restore_common import (
    Job,
    _is_auto,
    _output_for,
    _pick_model,
    _pick_models_by_size,
)
from gpen_desktop.core.options import OPTIONS

#: Attribute of the parsed namespace listing the ``dest`` of every option actually given.
GIVEN_ATTR = "_given_options"

#: Options that choose which faces to detect: meaningless when a session brings its faces.
_DETECTION_ONLY = ("only_center_face", "min_face", "max_faces")
#: Options the restore command turns into values itself (model choice, inpainting model).
_CHOSEN_BY_COMMAND = ("model_path", "models_by_size", "inpaint_model")
#: Command-line ``dest`` -> RestoreOptions field, for options that override a session's: every
#: flag of the option table but those above.
OVERRIDES = {
    o.dest: o.name
    for o in OPTIONS
    if o.flags and o.name not in _DETECTION_ONLY + _CHOSEN_BY_COMMAND
}


@functools.cache
def _recording(base: type[argparse.Action]) -> type[argparse.Action]:
    """``base`` that also notes its ``dest`` in ``namespace._given_options`` when used."""

    class Recording(base):  # type: ignore[misc, valid-type]
        def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
            super().__call__(parser, namespace, values, option_string)
            if self.option_strings:
                given = set(getattr(namespace, GIVEN_ATTR, None) or ())
                given.add(self.dest)
                setattr(namespace, GIVEN_ATTR, given)

    Recording.__name__ = Recording.__qualname__ = f"Recording{base.__name__}"
    return Recording


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--session`` to the restore parser and make every option added *after* this call
    record whether it was given (so a session's options are overridden only by those)."""
    for name in (None, "store", "store_const", "store_true", "store_false", "append"):
        p.register("action", name, _recording(p._registry_get("action", name)))
    p.add_argument(
        "--session",
        dest="sessions",
        action="append",
        default=[],
        metavar="FILE",
        help="re-run a photo exactly as edited in the app, from its session sidecar "
        "(photo.jpg.gpen.json): its faces (no detection), options and model; options given "
        "here override the session's. Repeat for a batch.",
    )


def given_options(args: argparse.Namespace) -> set[str]:
    """The ``dest`` of every option given on the command line."""
    return set(getattr(args, GIVEN_ATTR, None) or ())


def _short_sha(sha: str | None) -> str:
    return f"SHA-256 {sha[:12]}…" if sha else "no recorded SHA-256"


def _session_options(session, args: argparse.Namespace, given: set[str]):
    """The session's options with the explicitly given command-line ones applied, and a list
    of human-readable overrides (``"blend 0.6 -> 1.0"``)."""
    from dataclasses import replace

    opts = session.options
    changes: dict[str, Any] = {}
    said: list[str] = []
    for dest, fld in OVERRIDES.items():
        if dest in given:
            new = old = getattr(args, dest)
            old = getattr(opts, fld)
            if fld == "sr_model":
                new = new or ""
                old, shown = old or "none", new or "none"
            else:
                shown = new
            changes[fld] = new
            said.append(f"{dest.replace('_', '-')} {old} -> {shown}")
    if "inpaint_model" in given:
        new = args.inpaint_model or ""
        new = "" if new.lower() in ("opencv", "none") else new
        changes["inpaint_model"] = new
        said.append(f"inpaint-model {opts.inpaint_model or 'opencv'} -> {new or 'opencv'}")
    if "model_for_size" in given or ("model_path" in given and _is_auto(args)):
        changes["models_by_size"] = _pick_models_by_size(args)
        said.append("per-face models from the command line")
    return replace(opts, **changes), said


def _damage_for(session, spec: str, args: argparse.Namespace, given: set[str], photo):
    """The damage mask to re-run with: --damage-mask when given, else the session's mask file
    (beside the sidecar), else with --auto-damage the damage found on the photo (the
    session's faces protected), else None. SessionError when the session's mask file is missing."""
    from gpen_desktop.core.inpaint import load_damage_mask
    from gpen_desktop.core.session import load_session_damage

    if "damage_mask" in given and args.damage_mask:
        return load_damage_mask(args.damage_mask, photo.width, photo.height)
    saved = load_session_damage(session, Path(spec).parent, photo.width, photo.height)
    if saved is None and getattr(args, "auto_damage", False):
        from gpen_desktop.commands.damage import auto_damage

        return auto_damage(photo, args, session.restore_faces or ())
    return saved


def _model_for(session, args: argparse.Namespace, given: set[str], warn, pick_model) -> str:
    """The checkpoint to run a session with: --model_path when given, else the session's file
    found by content; GpenError with what to do when it is nowhere."""
    from gpen_desktop.core.errors import SessionError
    from gpen_desktop.core.models import default_weights_dir

    if "model_path" in given and args.model_path:
        return "" if _is_auto(args) else args.model_path
    if "model_for_size" in given:
        return ""  # per-face models from the command line
    if session.model_sha256 is None and not session.options.model_path:
        if session.options.models_by_size:
            return ""  # the session's per-face models decide

        path = pick_model(args)
        warn(f"the session records no model; using {path}")
        return path
    found = session.find_model()
    if found is None:
        name = Path(session.options.model_path).name if session.options.model_path else "model"
        raise SessionError(
            f"the session's model ({name}, {_short_sha(session.model_sha256)}) is not at "
            f"{session.options.model_path or '(no path)'} and no file in "
            f"{session.options.weights_dir or default_weights_dir()} has its contents; "
            "put it back or pass --model_path"
        )
    if str(found) != session.options.model_path:
        warn(f"the session's model was moved: using {found} (same contents)")
    return str(found)


def check_session_run(args: argparse.Namespace) -> None:
    """GpenError for arguments that do not go with ``--session``; a note on stderr for the
    detection options a session's own faces make meaningless."""
    from gpen_desktop.core.errors import GpenError

    if list(args.inputs) or list(args.input_flag):
        raise GpenError("give either photos or --session files, not both")
    if args.aligned:
        raise GpenError("--aligned does not apply to sessions (they hold whole photos)")
    ignored = [d for d in _DETECTION_ONLY if d in given_options(args)]
    if ignored:
        names = ", ".join("--" + d.replace("_", "-") for d in ignored)
        say(f"note: {names} ignored: sessions bring their own faces", file=sys.stderr)


def session_job(spec: str, args: argparse.Namespace, rep: dict[str, Any], single: bool):
    """The restore job of one ``--session`` file (:class:`~gpen_desktop.commands.
    _restore_common.Job`): its photo, output, options (the command line's overrides applied),
    model, faces and damage mask. Fills ``rep``'s session fields (input, warnings,
    overrides, model) as it goes; GpenError (one line) for a session that cannot run."""
    from dataclasses import replace

    from gpen_desktop.core.session import load_session

    given = given_options(args)

    def warn(msg: str) -> None:
        rep["warnings"].append(msg)
        if not args.json:
            say(f"warning: {spec}: {msg}", file=sys.stderr)

    session = load_session(spec)
    src = Path(session.photo)
    rep["input"] = str(src)
    for note in session.load_warnings:
        warn(note)
    options, overrides = _session_options(session, args, given)
    rep["overrides"] = overrides
    if overrides and not args.json:
        say(
            f"note: {spec}: the command line overrides the session's " + ", ".join(overrides),
            file=sys.stderr,
        )
    model_path = _model_for(session, args, given, warn, _pick_model)
    options = replace(options, model_path=model_path)
    for msg in session.check(model_path=model_path):
        warn(msg)
    rep["model"] = model_path

    def damage(photo):  # noqa: ANN001, ANN202
        return _damage_for(session, spec, args, given, photo)

    return Job(
        src=src,
        out=_output_for(src, None, args, single, False),
        options=options,
        faces=session.restore_faces,
        faces_found=len(session.faces),
        damage=damage,
        check_size=True,
    )
