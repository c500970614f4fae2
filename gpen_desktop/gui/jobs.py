"""What background work the GUI asks for: requests for the inference thread and the plain
functions the I/O pool runs.

A request is a frozen dataclass (photo, faces, options) with its own ``run(context)``; the
worker (:mod:`gpen_desktop.gui.worker`) calls it on its one inference thread, which owns the
loaded model. The ``*_job`` functions and the loaders below are light blocking work (decode,
scan, crops, recompositing) for :meth:`InferenceWorker.run_io`. Core modules load lazily, on
those threads, the first time they are needed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from gpen_desktop.core.errors import GpenError
from gpen_desktop.core.types import Face, Photo
from gpen_desktop.gui.qimage import display_images, qimage_from_rgb

log = logging.getLogger(__name__)

CROP_SIZE = 112  # face list thumbnails (px)


@dataclass
class JobContext:
    """What a request gets on the inference thread: the thread's one Restorer (kept between
    requests while the model stays the same), progress and cancel hooks, and ``face_ready``
    (index in the request's faces, aligned crop, restored crop)."""

    restorer: Callable[[Any], Any]
    progress: Callable[[int, int, str], None]
    cancelled: Callable[[], bool]
    face_ready: Callable[[int, np.ndarray, np.ndarray], None]


@dataclass(frozen=True, eq=False)
class DetectRequest:
    """Detect faces. Result: list[Face]."""

    photo: Photo
    options: Any  # core.pipeline.RestoreOptions
    label = "Detecting faces"
    lane = "detect"  # the detection thread: beside a restore, never behind it

    def run(self, ctx: JobContext) -> list[Face]:
        return list(ctx.restorer(self.options).detect(self.photo))


@dataclass(frozen=True, eq=False)
class LandmarksRequest:
    """Predict the 5 landmarks inside a user-drawn box. Result: Face (landmarks may be None)."""

    photo: Photo
    box: tuple[float, float, float, float]
    options: Any
    label = "Finding landmarks"
    lane = "detect"

    def run(self, ctx: JobContext) -> Face:
        from gpen_desktop.core.faces.detect import landmarks_for_box

        box = tuple(float(v) for v in self.box)
        try:
            points = landmarks_for_box(self.photo.rgb8(), box)
        except GpenError as exc:  # the pipeline predicts them again at restore time
            log.info("no landmarks for the drawn box: %s", exc)
            return Face(box=box, landmarks=None)  # type: ignore[arg-type]
        landmarks = tuple((float(x), float(y)) for x, y in points)
        return Face(box=box, landmarks=landmarks)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class FindDamageRequest:
    """Find scratches, dust and creases on ``photo`` (``faces`` protected). Result:
    :class:`~gpen_desktop.core.damage_detect.DamageResult` (its mask at the photo's size)."""

    photo: Photo
    faces: tuple[Face, ...]
    sensitivity: float
    label = "Finding damage"
    lane = "detect"  # OpenCV only: beside a restore, never behind it

    def run(self, ctx: JobContext) -> Any:
        from gpen_desktop.core.damage_detect import find_damage_in_photo

        ctx.progress(0, 1, "finding damage")
        return find_damage_in_photo(self.photo, self.sensitivity, self.faces)


@dataclass(frozen=True)
class RestoreOutcome:
    """A restore's (or recomposite's) result with what the GUI shows of it, made off the GUI
    thread: ``image`` the display copy, ``shown`` result face index -> the pasted crop."""

    result: Any  # core.pipeline.RestoreResult
    image: QImage
    shown: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)


def _outcome(result: Any) -> RestoreOutcome:
    from gpen_desktop.core.pipeline import pasted_crop

    shown = {fr.index: pasted_crop(result, fr) for fr in result.faces}
    return RestoreOutcome(result, qimage_from_rgb(result.image.pixels), shown)


@dataclass(frozen=True, eq=False)
class RestoreRequest:
    """Restore ``faces`` (None: detect) of ``photo``. Result: :class:`RestoreOutcome`."""

    photo: Photo
    faces: tuple[Face, ...] | None
    options: Any
    name: str = ""
    #: position in ``faces`` -> restored crop from the photo's previous result, pasted again
    #: without the network (restoring one face keeps the others as they were)
    reuse: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
    #: the damage marks (HxW bool, True = damaged; a copy the GUI no longer edits) or None
    damage: np.ndarray | None = None

    @property
    def label(self) -> str:
        return f"Restoring {self.name}" if self.name else "Restoring"

    def run(self, ctx: JobContext) -> RestoreOutcome:
        result = ctx.restorer(self.options).restore(
            self.photo,
            list(self.faces) if self.faces is not None else None,
            progress=ctx.progress,
            cancel=ctx.cancelled,
            on_face=ctx.face_ready,
            reuse=dict(self.reuse),
            damage=self.damage,
        )
        return _outcome(result)


# --------------------------------------------------------------------------- I/O pool work


def composite_job(result: Any, faces: list[Face], options: Any) -> RestoreOutcome:
    """``result`` pasted again for edited ``faces``/``options`` (no network)."""
    from gpen_desktop.core.pipeline import composite

    return _outcome(composite(result, faces, options))


@dataclass(frozen=True)
class IdentityCheck:
    """Whether a restored face still looks like the person: ``distance`` is dlib's descriptor
    distance between the aligned input crop and the crop as pasted (after blend)
    (:func:`gpen_desktop.core.metrics.identity_distance`), ``threshold`` dlib's same-person
    limit; ``distance`` None when it could not be computed, ``note`` then says why."""

    distance: float | None
    threshold: float
    note: str = ""

    @property
    def same_person(self) -> bool | None:
        return None if self.distance is None else self.distance <= self.threshold


def identity_check(fr: Any, pasted: Any = None) -> IdentityCheck:
    """The :class:`IdentityCheck` of one ``core.pipeline.FaceResult`` as it is pasted
    (``pasted``: the aligned crop after blend and colour match; default the network's crop).
    dlib loads on the first call; about 0.2 s a face on a 2-core CPU: run it in the I/O
    pool."""
    from gpen_desktop.core.metrics import IDENTITY_THRESHOLD, identity_distance, identity_status

    available, unavailable = identity_status()
    if not available:  # the panel's words: the reason without the log's prefix
        return IdentityCheck(
            None, IDENTITY_THRESHOLD, unavailable.removeprefix("identity distance skipped: ")
        )
    note = "dlib found no face in the crop"
    try:
        crop = fr.restored if pasted is None else pasted
        distance = identity_distance(fr.aligned_input, crop, aligned=True)
    except (ValueError, RuntimeError) as exc:  # dlib rejects the crop
        log.info("identity check of face %d failed: %s", fr.index, exc)
        distance, note = None, (str(exc).splitlines() or ["dlib failed"])[0]
    return IdentityCheck(distance, IDENTITY_THRESHOLD, "" if distance is not None else note)


@dataclass(frozen=True)
class ScanResult:
    models: list  # list[core.models.FoundModel]
    devices: list[tuple[str, str]]
    weights_dir: str
    detectors: tuple[str, ...] = ()  # usable now, besides "auto"
    parsing: bool = False  # ParseNet weights present (the "parsing" mask works)
    #: device id -> (where it runs, the precision "auto" gives there): ("CPU, 2 threads",
    #: "bfloat16"); what the status bar says before and after a restore alike
    runs_on: tuple[tuple[str, str, str], ...] = ()


def _runs_on(devices: list[tuple[str, str]]) -> tuple[tuple[str, str, str], ...]:
    from gpen_desktop.core.devices import describe, resolve_device
    from gpen_desktop.core.inference import pick_dtype

    out = []
    for key, _label in devices:
        try:
            device = resolve_device(key)
            where = describe(device).replace(" (", ", ").rstrip(")")
            precision = str(pick_dtype(device, "auto")).removeprefix("torch.")
        except Exception:  # noqa: BLE001 - a device that can't be described is left out
            continue
        out.append((key, where, precision))
    return tuple(out)


def scan_models(folders: tuple[str, ...] = ()) -> ScanResult:
    """List the checkpoints in ``folders`` (default: the weights folder) and the compute devices
    (in the I/O pool, so the first face detection does not wait for torch to import)."""
    from gpen_desktop.core.devices import available_devices
    from gpen_desktop.core.faces.detect import available_detectors
    from gpen_desktop.core.faces.paste import parsing_available
    from gpen_desktop.core.models import default_weights_dir, scan_weights

    paths = [Path(f) for f in folders] or None
    models = scan_weights(paths)
    weights_dir = str(paths[0] if paths else default_weights_dir())
    devices = available_devices()
    return ScanResult(
        models=models,
        devices=devices,
        runs_on=_runs_on(devices),
        weights_dir=weights_dir,
        detectors=tuple(available_detectors(weights_dir)),
        parsing=parsing_available(weights_dir),
    )


def identify_model(path: str) -> Any:
    """What one checkpoint file is (``core.models.FoundModel``)."""
    from gpen_desktop.core.models import identify

    return identify(path)


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to open (folders expand to the photos directly inside them, explicitly named
    files are kept whatever their type) and (path, reason) for what cannot be opened at all."""
    from gpen_desktop.core.imageio import iter_images

    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        try:
            found = iter_images([p])
        except GpenError as exc:
            problems.append((p, str(exc)))
            continue
        if not found and p.is_dir():
            problems.append((p, "no photos in this folder"))
        files.extend(found)
    return files, problems


def load_for_display(path: Path) -> tuple[Photo, QImage, QImage]:
    """Decode a photo (EXIF orientation applied) plus display and thumbnail images."""
    from gpen_desktop.core.imageio import load_photo

    photo = load_photo(path)
    return (photo, *display_images(photo))


def compute_crops(photo: Photo, faces: list[Face], size: int = CROP_SIZE) -> list[QImage]:
    """Aligned crops (``size`` px, the GPEN template) of ``faces``; faces without landmarks
    get their box, squared."""
    import cv2

    from gpen_desktop.core.faces.align import align_face

    rgb = photo.rgb8()
    out = []
    for face in faces:
        pts = face.landmarks_array()
        if pts is not None:
            crop, _ = align_face(rgb, pts, size)
        else:
            x0, y0, x1, y1 = face.box
            side = max(x1 - x0, y1 - y0, 1)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            s = size / side  # photo -> crop: the squared box fills the crop
            m = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]])
            crop = cv2.warpAffine(
                rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        out.append(qimage_from_rgb(crop))
    return out


def compute_quality(photo: Photo, faces: list[Face]) -> list[Any]:
    """Each face's ``core.faces.quality.FaceQuality`` (None without landmarks)."""
    from gpen_desktop.core.faces.quality import faces_quality

    return faces_quality(photo.pixels, faces)


def save_session_job(
    photo_path: Path,
    faces: tuple[Face, ...],
    options: Any,
    exports: list[Path],
    damage: np.ndarray | None = None,
) -> Path:
    """Write ``photo_path``'s session sidecar (faces drawn by hand keep their mark) and, first,
    its damage mask beside it (so the sidecar never names a file that is not there)."""
    from gpen_desktop.core.session import make_session, save_damage_mask, save_session

    name = save_damage_mask(damage, photo_path)
    session = make_session(
        photo_path, list(faces), options, [str(p) for p in exports], damage_mask=name
    )
    return save_session(session)


def load_session_damage_job(saved: Any, photo_path: Path, width: int, height: int) -> Any:
    """The damage mask (HxW bool) a saved session names, or None (SessionError: broken)."""
    from gpen_desktop.core.session import load_session_damage

    return load_session_damage(saved, Path(photo_path).parent, width, height)
