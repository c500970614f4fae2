"""The option table: every restore option, declared once, with what it means and costs.

Each :class:`Option` names one field of :class:`RestoreOptions` (the dataclass is *made from*
this table), its type and default, the words a person reads (label, help, the words for each
choice), its range, and what a change costs a photo that was already restored:

- ``compositing``: the kept restored faces are pasted again (blend, colour match), no network;
- ``network``: faces go through the network again (model, precision, mask…);
- ``background``: the background is made again (output scale, super-resolution), the kept
  faces are pasted on it without the network;
- ``detection``: which faces a detection finds; a result made from the faces as they are is
  not out of date;
- ``run``: how a run goes (device, batch size, tile), not what it makes.

The GUI's options panel, the app's settings, session sidecars and the ``gpen restore`` flags
are built from, or checked against, :data:`OPTIONS` (tests/test_option_table.py). This module
is a leaf: pure Python, no numpy, so the CLI's ``--help`` can use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpen_desktop.core.errors import GpenError

COMPOSITING = "compositing"
NETWORK = "network"
BACKGROUND = "background"
DETECTION = "detection"
RUN = "run"
COSTS = (COMPOSITING, NETWORK, BACKGROUND, DETECTION, RUN)

#: Scope: "photo" options belong to each photo document (its own copy, from the app's
#: defaults); "app" options are the machine's (one value for every photo).
PHOTO = "photo"
APP = "app"

# The choice lists (here, so that no heavy module is needed to name them).
DETECTORS = ("auto", "dlib", "dlib-cnn", "retinaface")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
MASK_TYPES = ("feather", "parsing")
#: The output scales offered in choice lists (:meth:`RestoreOptions.check` takes any 1..8;
#: 0 means "the super-resolution model's own scale" and needs ``sr_model``).
UPSCALES = (1, 2, 4)
INPAINT_METHODS = ("telea", "ns")
INPAINT_MODES = ("inpaint", "inpaint+restore")
#: The smallest super-resolution tile (input px) and the most tiles one photo may take: tiny
#: tiles are all overlap (a 1 px tile ran for hours), so they are refused before a run.
MIN_TILE = 32
MAX_TILES = 4096
#: The official GPEN-BFR sizes.
OFFICIAL_SIZES = (256, 512, 1024, 2048)


@dataclass(frozen=True)
class Option:
    """One restore option.

    ``choices``: (value, words) pairs when the option is one of a list; ``range``: (low, high)
    for numbers, inclusive (None: unbounded on that side); ``special``: (value, meaning) pairs
    of values outside the range that mean something else (e.g. 0 = automatic); ``flags``: its ``gpen restore`` flags, ``dest`` its argparse name
    (default: the first long flag's); ``setting``: its key in the app's settings ("" = not
    remembered); ``panel``: shown in the GUI's options panel; ``session``: written to session
    sidecars; ``damage_only``: it changes a result only where damage is marked; ``tip``: the
    GUI's tooltip when it says more than ``help`` (which the command line shows).
    """

    name: str
    type: Any
    default: Any
    label: str
    help: str
    cost: str
    choices: tuple[tuple[Any, str], ...] = ()
    range: tuple[float | None, float | None] | None = None
    special: tuple[tuple[Any, str], ...] = ()
    scope: str = PHOTO
    flags: tuple[str, ...] = ()
    dest: str = ""
    setting: str = ""
    panel: bool = False
    session: bool = True
    damage_only: bool = False
    tip: str = ""

    def __post_init__(self) -> None:
        if self.cost not in COSTS:
            raise ValueError(f"option {self.name}: unknown cost {self.cost!r}")
        if self.flags and not self.dest:
            long = next((f for f in self.flags if f.startswith("--")), self.flags[0])
            object.__setattr__(self, "dest", long.lstrip("-").replace("-", "_"))

    def in_range(self, value: Any) -> bool:
        """Whether ``value`` is within ``range`` or one of the ``special`` values."""
        if any(value == v for v, _w in self.special) or self.range is None:
            return True
        low, high = self.range
        return (low is None or value >= low) and (high is None or value <= high)

    @property
    def values(self) -> tuple[Any, ...]:
        """The choice values ('' when the option is not a choice)."""
        return tuple(v for v, _w in self.choices)

    def words(self, value: Any) -> str:
        """The words for a choice value (the value itself when it has none)."""
        return dict(self.choices).get(value, str(value))

    @property
    def tooltip(self) -> str:
        """What the GUI shows on hover: ``tip``, else ``help`` as a sentence."""
        text = self.tip or self.help
        return text[:1].upper() + text[1:]


def _choices(values: Iterable[Any], words: Mapping[Any, str]) -> tuple[tuple[Any, str], ...]:
    return tuple((v, words[v]) for v in values)


PRECISION_HELP = (
    "network precision: auto = bfloat16 on CPUs with AMX or AVX512-BF16 (several times faster, "
    "within 2 of 255 levels of float32), float16 on CUDA, float32 elsewhere; float32 = exact"
)

O = Option
OPTIONS: tuple[Option, ...] = (
    O(
        "model_path",
        str,
        "",
        "Model",
        "the GPEN checkpoint every face goes through ('' = the app's default model)",
        NETWORK,
        flags=("--model_path", "--model-path", "--model", "-m"),
        setting="options/model",
        panel=True,
    ),
    O(
        "models_by_size",
        tuple,
        (),
        "Models by face size",
        "(size, model file) pairs: each face goes through the model of the smallest size at "
        "least its own (the largest when every model is smaller)",
        NETWORK,
        flags=("--model-for-size",),
        dest="model_for_size",
    ),
    O(
        "precision",
        str,
        "auto",
        "Precision",
        PRECISION_HELP,
        NETWORK,
        choices=_choices(
            PRECISIONS,
            {
                "auto": "Fast (auto)",
                "float32": "Exact (float32)",
                "bfloat16": "bfloat16",
                "float16": "float16 (GPUs)",
            },
        ),
        flags=("--precision",),
        setting="options/precision",
        panel=True,
        tip="Fast: bfloat16 on CPUs with AMX or AVX512-BF16 and float16 on NVIDIA GPUs, "
        "several times faster; faces differ from Exact by at most 2 of 255 levels.\n"
        "Exact: float32 everywhere, the reference GPEN output.",
    ),
    O(
        "mask",
        str,
        "feather",
        "Mask",
        "how restored faces are blended into the photo: a soft square, or the face's outline "
        "from a face-parsing model (ParseNet)",
        NETWORK,
        choices=_choices(
            MASK_TYPES,
            {"feather": "Soft square (fast)", "parsing": "Face parsing (needs ParseNet)"},
        ),
        flags=("--mask",),
        setting="options/mask",
        panel=True,
    ),
    O(
        "blend",
        float,
        1.0,
        "Blend",
        "how much of the restored face to use: 1 = restored, 0 = the original, between = a mix",
        COMPOSITING,
        range=(0.0, 1.0),
        flags=("--blend",),
        setting="options/blend",
        panel=True,
        tip="How much of the restored face to use: 100 % restored, lower keeps more of the "
        "original",
    ),
    O(
        "color_match",
        bool,
        False,
        "Match colours to the original",
        "keep the original skin tones: the restored faces take the colours of the photo",
        COMPOSITING,
        flags=("--color-match",),
        setting="options/color_match",
        panel=True,
    ),
    O(
        "match_grain",
        bool,
        False,
        "Match grain",
        "give the restored faces the photo's own grain (its level, colour and size, measured "
        "on flat areas around each face), so that they do not look pasted onto a grainy scan",
        COMPOSITING,
        flags=("--match-grain",),
        setting="options/match_grain",
        panel=True,
        tip="Give the restored faces the photo's own grain, measured on flat areas around "
        "each face (its level, whether it is coloured, its size), so that a clean face does "
        "not look pasted onto a grainy scan. The same photo always gets the same grain.",
    ),
    O(
        "skip_sharp",
        float,
        0.0,
        "Leave sharp faces as they are",
        "leave faces whose quality score (0-1, from sharpness for the face's size, noise and "
        "JPEG blocks; see `gpen detect`) is above this untouched: no network run, their "
        "pixels as they were",
        NETWORK,
        range=(0.0, 1.0),
        special=((0.0, "off: restore every face"),),
        flags=("--skip-sharp",),
        setting="options/skip_sharp",
        panel=True,
        tip="Faces whose quality score is above the threshold are left exactly as they "
        "are (no network run). The score (0-1) rates sharpness for the face's size, noise and "
        "JPEG blocks; the face list shows each face's score.",
    ),
    O(
        "sharp_fade",
        bool,
        False,
        "Fade near the threshold",
        "with a sharp-face threshold: faces scoring up to 0.2 under it get a lower blend, "
        "fading to none at the threshold, so restored and untouched faces do not jump",
        COMPOSITING,
        flags=("--sharp-fade",),
        setting="options/sharp_fade",
        panel=True,
    ),
    O(
        "upscale",
        int,
        1,
        "Output scale",
        "scale the whole output photo",
        BACKGROUND,
        choices=_choices(UPSCALES, {1: "1×", 2: "2×", 4: "4×"}),
        range=(1, 8),
        special=((0, "the super-resolution model's own scale"),),
        flags=("--upscale",),
        setting="options/upscale",
        panel=True,
    ),
    O(
        "keep_gray",
        bool,
        True,
        "Keep grey photos grey",
        "a black-and-white photo comes out black-and-white",
        BACKGROUND,
        session=True,
    ),
    O(
        "sr_model",
        str,
        "",
        "Background",
        "how the rest of the photo is enlarged: resampled (Lanczos), or through a "
        "super-resolution model from the weights folder (slower, sharper); faces are restored "
        "either way",
        BACKGROUND,
        flags=("--sr-model",),
        setting="options/sr_model",
        panel=True,
    ),
    O(
        "sr_precision",
        str,
        "auto",
        "Background precision",
        "super-resolution precision: auto = bfloat16 on CPUs with AMX or AVX512-BF16 (several "
        "times faster), float16 on CUDA, float32 elsewhere, as for the faces; float32 = exact",
        BACKGROUND,
        choices=_choices(
            PRECISIONS,
            {
                "auto": "Fast (auto)",
                "float32": "Exact (float32)",
                "bfloat16": "bfloat16",
                "float16": "float16 (GPUs)",
            },
        ),
        flags=("--sr-precision",),
    ),
    O(
        "denoise_strength",
        float,
        0.5,
        "Denoise strength",
        "for the fast background model realesr-general-x4v3 with realesr-general-wdn-x4v3 "
        "beside it: 1 = strong denoising, 0 = keep the grain; blends the two networks' "
        "weights as Real-ESRGAN's -dn does (other background models ignore it)",
        BACKGROUND,
        range=(0.0, 1.0),
        flags=("--denoise-strength", "-dn"),
        setting="options/denoise_strength",
        panel=True,
        tip="For the fast background model (realesr-general-x4v3) with its partner "
        "realesr-general-wdn-x4v3 in the weights folder.\n"
        "100 %: strong denoising; 0 %: keeps the grain. Blends the two networks' weights, as "
        "Real-ESRGAN's -dn does.",
    ),
    O(
        "inpaint_model",
        str,
        "",
        "Inpainting model",
        "a GPEN-Inpainting checkpoint for faces under damage marks ('' = OpenCV fills them too)",
        NETWORK,
        flags=("--inpaint-model",),
        damage_only=True,
        panel=True,  # shown, as the scan found it (not chosen there)
    ),
    O(
        "inpaint_method",
        str,
        "telea",
        "Outside faces",
        "OpenCV's filler for damage marks outside the faces",
        BACKGROUND,
        choices=_choices(INPAINT_METHODS, {"telea": "OpenCV Telea", "ns": "OpenCV Navier–Stokes"}),
        flags=("--inpaint-method",),
        setting="options/inpaint_method",
        panel=True,
        damage_only=True,
    ),
    O(
        "inpaint_mode",
        str,
        "inpaint+restore",
        "On faces",
        "Inpaint, then restore: the restoration model runs on the inpainted face.\n"
        "Inpaint only: the inpainted face is pasted as it is.",
        NETWORK,
        choices=_choices(
            INPAINT_MODES,
            {"inpaint": "Inpaint only", "inpaint+restore": "Inpaint, then restore"},
        ),
        flags=("--inpaint-mode",),
        setting="options/inpaint_mode",
        panel=True,
        damage_only=True,
    ),
    O(
        "detector",
        str,
        "auto",
        "Detector",
        "how faces are found: dlib's HOG detector works offline; RetinaFace needs its weights",
        DETECTION,
        choices=_choices(
            DETECTORS,
            {
                "auto": "Auto",
                "retinaface": "RetinaFace (needs its weights)",
                "dlib": "dlib HOG (fast, offline)",
                "dlib-cnn": "dlib CNN (slower, finds more)",
            },
        ),
        flags=("--detector",),
        setting="options/detector",
        panel=True,
    ),
    O(
        "only_center_face",
        bool,
        False,
        "Only the central face",
        "restore only the face nearest the centre",
        DETECTION,
        flags=("--only-center-face",),
    ),
    O(
        "min_face",
        float,
        0.0,
        "Smallest face",
        "ignore faces smaller than this (px)",
        DETECTION,
        range=(0.0, None),
        flags=("--min-face",),
    ),
    O(
        "max_faces",
        int | None,
        None,
        "Most faces",
        "restore at most this many faces (largest first)",
        DETECTION,
        range=(1, None),
        flags=("--max-faces",),
    ),
    O(
        "device",
        str,
        "auto",
        "Device",
        "where the network runs: auto, cpu, cuda, cuda:N or mps",
        RUN,
        scope=APP,
        flags=("--device",),
        setting="options/device",
        panel=True,
    ),
    O(
        "batch_size",
        int,
        4,
        "Batch size",
        "faces per network batch (lower uses less memory)",
        RUN,
        range=(1, 128),
        scope=APP,
        flags=("--batch-size",),
        setting="options/batch_size",
        panel=True,
    ),
    O(
        "tile",
        int,
        0,
        "Tile",
        "super-resolution tile size in input px",
        RUN,
        range=(MIN_TILE, None),
        special=((0, "automatic, from the free memory"),),
        scope=APP,
        flags=("--tile",),
    ),
    O(
        "weights_dir",
        str | None,
        None,
        "Weights folder",
        "where models are looked for (None = weights/ or $GPEN_WEIGHTS_DIR)",
        RUN,
        scope=APP,
        session=True,
    ),
    O(
        "engine",
        str,
        "fast",
        "Engine",
        "fast: the project's fused forward; eager: the plain reference forward (benchmarks)",
        RUN,
        choices=(("fast", "fast"), ("eager", "eager")),
        scope=APP,
    ),
)
del O

BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    return BY_NAME[name]


def names(cost: str | None = None, scope: str | None = None) -> tuple[str, ...]:
    """The option names, in table order, of one cost and/or scope."""
    return tuple(
        o.name
        for o in OPTIONS
        if (cost is None or o.cost == cost) and (scope is None or o.scope == scope)
    )


# --------------------------------------------------------------------------- value rules


def choose_model_size(face_px: float, sizes: Iterable[int]) -> int:
    """The model size for a face of ``face_px`` photo pixels: the smallest of ``sizes`` that
    is at least ``face_px``, or the largest of ``sizes`` when all are smaller.

    >>> choose_model_size(40, OFFICIAL_SIZES), choose_model_size(300, OFFICIAL_SIZES)
    (256, 512)
    >>> choose_model_size(5000, OFFICIAL_SIZES), choose_model_size(300, (256, 1024))
    (2048, 1024)
    """
    avail = sorted({int(s) for s in sizes})
    if not avail:
        raise ValueError("no model sizes to choose from")
    for s in avail:
        if s >= face_px:
            return s
    return avail[-1]


def check_models_by_size(pairs: Sequence[tuple[int, str]]) -> None:
    """GpenError unless ``pairs`` are (positive whole size, non-empty path), sizes unique."""
    seen: set[int] = set()
    for pair in pairs:
        if len(pair) != 2:
            raise GpenError(f"models by size must be (size, path) pairs, got {pair!r}")
        size, path = pair
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise GpenError(f"a model's size must be a positive whole number, got {size!r}")
        if not isinstance(path, str) or not path:
            raise GpenError(f"the model for size {size} needs a file path")
        if size in seen:
            raise GpenError(f"size {size} is given two models; give one per size")
        seen.add(size)


def check_inpaint_options(method: str, mode: str) -> None:
    """GpenError unless ``method`` and ``mode`` are known damage-filling choices."""
    if method not in INPAINT_METHODS:
        raise GpenError(
            f"inpaint method must be one of {', '.join(INPAINT_METHODS)}, got {method!r}"
        )
    if mode not in INPAINT_MODES:
        raise GpenError(f"inpaint mode must be one of {', '.join(INPAINT_MODES)}, got {mode!r}")


def check_tile_count(tile: int, height: int, width: int) -> None:
    """GpenError (one line) when ``tile`` px tiles would cut a ``width`` x ``height`` photo
    into more than :data:`MAX_TILES` tiles (0 = automatic tiles: always fine)."""
    if not tile:
        return
    count = -(-height // tile) * -(-width // tile)
    if count > MAX_TILES:
        raise GpenError(
            f"tile {tile} px would cut this {width}x{height} photo into {count} tiles (at most "
            f"{MAX_TILES}): use a larger tile, or 0 for automatic"
        )


class _RestoreOptionsMethods:
    """The methods of :class:`RestoreOptions` (its fields come from :data:`OPTIONS`)."""

    @property
    def main_model(self) -> str:
        """``model_path``, or with only ``models_by_size`` the entry a 512 px face gets."""
        if self.model_path or not self.models_by_size:
            return self.model_path
        table = dict(self.models_by_size)
        return table[choose_model_size(512, table)]

    def check(self) -> None:
        """Raise :class:`GpenError` with one plain line when a value is out of its range."""
        if not 0.0 <= float(self.blend) <= 1.0:
            raise GpenError(f"blend must be between 0 and 1, got {self.blend}")
        if not 0.0 <= float(self.skip_sharp) <= 1.0:
            raise GpenError(
                f"the sharp-face threshold must be between 0 (off) and 1, got {self.skip_sharp}"
            )
        if self.mask not in MASK_TYPES:
            raise GpenError(f"mask must be one of {', '.join(MASK_TYPES)}, got {self.mask!r}")
        low = 0 if self.sr_model else 1  # 0: the SR model's own scale
        if int(self.upscale) != self.upscale or not low <= self.upscale <= 8:
            raise GpenError(
                f"upscale must be a whole number from 1 to 8 (0 = the super-resolution "
                f"model's own scale, with a super-resolution model), got {self.upscale}"
            )
        if not 0.0 <= float(self.denoise_strength) <= 1.0:
            raise GpenError(
                f"denoise strength must be between 0 and 1, got {self.denoise_strength}"
            )
        if int(self.tile) != self.tile or not BY_NAME["tile"].in_range(self.tile):
            raise GpenError(
                f"tile must be 0 (automatic) or at least {MIN_TILE} px, got {self.tile}"
            )
        check_inpaint_options(self.inpaint_method, self.inpaint_mode)
        check_models_by_size(self.models_by_size)
        if self.batch_size < 1:
            raise GpenError(f"batch size must be at least 1, got {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise GpenError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.sr_precision not in PRECISIONS:
            raise GpenError(
                f"super-resolution precision must be one of {', '.join(PRECISIONS)}, "
                f"got {self.sr_precision!r}"
            )
        if self.detector not in DETECTORS:
            raise GpenError(
                f"detector must be one of {', '.join(DETECTORS)}, got {self.detector!r}"
            )

    def changed(self, other: Any) -> tuple[str, ...]:
        """The names of the fields that differ from ``other``'s, in table order."""
        return tuple(o.name for o in OPTIONS if getattr(self, o.name) != getattr(other, o.name))

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` (unknown names are an error)."""
        return dataclasses.replace(self, **changes)

    def only(self, scope: str) -> dict[str, Any]:
        """The fields of one scope ("photo" or "app") as name -> value."""
        return {n: getattr(self, n) for n in names(scope=scope)}


#: Everything a restoration run needs besides the photo and its faces; one field per
#: :data:`OPTIONS` entry (see each entry's help). Frozen: change with :meth:`replace`.
RestoreOptions = dataclasses.make_dataclass(
    "RestoreOptions",
    [(o.name, o.type, dataclasses.field(default=o.default)) for o in OPTIONS],
    bases=(_RestoreOptionsMethods,),
    frozen=True,
)
RestoreOptions.__module__ = __name__  # pickles by name, like a class written out
RestoreOptions.__doc__ = (
    "Everything a restoration run needs besides the photo and its faces. Its fields are the "
    "option table's (gpen_desktop.core.options.OPTIONS), which says what each means."
)

#: Old names of fields, read from old session files and settings.
RENAMED = {"dtype": "precision"}


def cost_of(changed: Iterable[str], damage: bool = False) -> set[str]:
    """The costs of changing the fields ``changed``; ``damage``: whether the photo has damage
    marks (without them the damage-only options cost nothing)."""
    out = set()
    for name in changed:
        o = BY_NAME[name]
        if o.damage_only and not damage:
            continue
        out.add(o.cost)
    return out
