"""Whole-photo restoration: photo -> faces -> aligned crops -> GPEN in batches -> paste back.

:class:`Restorer` keeps the loaded model between calls (one per process is plenty) and is meant
to be driven from one thread at a time (the GUI's worker thread or the CLI).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.errors import Cancelled, FaceError, GpenError
from gpen_desktop.core.options import MASK_TYPES, UPSCALES, RestoreOptions, check_tile_count
from gpen_desktop.core.types import CancelFn, Face, Photo, ProgressFn, luma

log = logging.getLogger(__name__)

FaceReadyFn = Callable[[int, np.ndarray, np.ndarray], None]


@dataclass
class FaceResult:
    """One restored face: ``index`` is its position in the ``faces`` list the caller gave
    :meth:`Restorer.restore` (excluded faces keep their places; with detection, the position
    among the detected faces); its (possibly completed) Face, the aligned input and restored
    crops (S x S x 3 uint8), the 2x3 photo->crop ``matrix`` and the paste ``mask`` (S x S
    float32). ``model``: the model file that restored it (S is that model's size).
    ``quality``: the face's :class:`~gpen_desktop.core.faces.quality.FaceQuality` before
    restoring (None: not measured)."""

    index: int
    face: Face
    aligned_input: np.ndarray
    restored: np.ndarray
    matrix: np.ndarray
    mask: np.ndarray
    model: str = ""
    quality: Any = None


@dataclass
class RestoreResult:
    image: Photo
    faces: list[FaceResult]
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = ""  # the network's dtype, "" when no face ran through it
    fallback_note: str | None = None
    detected: int = 0
    weight: np.ndarray | None = None  # per-pixel weight of restored faces (0 = untouched)
    superres: dict[str, Any] = field(default_factory=dict)  # model, scale, tiles, tile
    inpainting: dict[str, Any] = field(default_factory=dict)  # what filled the damage mask
    models: dict[str, int] = field(default_factory=dict)  # model file -> faces it restored
    #: position in the caller's faces -> FaceQuality (None: not measured) of every included face
    qualities: dict[int, Any] = field(default_factory=dict)
    #: positions of the faces left as they are: quality above ``options.skip_sharp``
    left_sharp: tuple[int, ...] = ()
    #: what :func:`composite` pastes the kept crops on again (None: not recompositable)
    paste_base: PasteBase | None = field(default=None, repr=False)

    @property
    def restored_count(self) -> int:
        return len(self.faces)


@dataclass(frozen=True, eq=False)
class PasteBase:
    """What the paste step put the faces on, kept so :func:`composite` can paste again.

    ``pixels``: the background (the photo, its damage-filled copy or the super-resolved
    photo); ``matrices[k]``: background pixel -> crop for the k-th FaceResult; ``upscale``:
    the paste's own enlargement (1 after super-resolution); ``gray``: the output is made grey;
    ``photo``: the photo as restored (alpha and metadata of the output); ``keep_out``: pixels
    (True, the photo's size) that grain matching must not measure: damage fills and
    transparent areas (None: none)."""

    pixels: np.ndarray
    matrices: list[np.ndarray]
    upscale: int
    gray: bool
    superres: bool
    photo: Photo
    keep_out: np.ndarray | None = None


def _paste(
    base: PasteBase,
    crops: Sequence[np.ndarray],
    matrices: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    blends: Sequence[float],
    faces: Sequence[Face],
    options: RestoreOptions,
) -> tuple[Photo, np.ndarray | None]:
    """The output photo: ``crops`` pasted on ``base`` (and its per-pixel face weight)."""
    from gpen_desktop.core.faces.paste import paste_faces

    weight = None
    if base.superres and not crops:
        pixels = base.pixels.copy()
    elif crops or base.upscale > 1:
        pixels, weight = paste_faces(
            base.pixels,
            list(crops),
            list(matrices),
            list(masks),
            list(blends),
            upscale=base.upscale,
            color_match=options.color_match,
            face_sizes=[min(f.width, f.height) for f in faces],
            match_grain=options.match_grain,
            grain_keep_out=base.keep_out,
        )
    else:
        pixels = base.pixels.copy()
    if base.gray and (crops or base.superres):
        pixels = _gray(pixels)
    photo = base.photo
    alpha = photo.alpha
    if alpha is not None and alpha.shape[:2] != pixels.shape[:2]:
        import cv2

        alpha = cv2.resize(alpha, (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_CUBIC)
    image = replace(photo, pixels=pixels, alpha=alpha, is_gray=base.gray, info=dict(photo.info))
    return image, weight


def composite(
    result: RestoreResult, faces: Sequence[Face], options: RestoreOptions
) -> RestoreResult:
    """``result`` pasted again from its kept restored crops, without the network.

    ``faces`` is the caller's list that the result's indices point into, as edited since:
    faces excluded there are left out, each face's ``blend`` (else ``options.blend``, times
    :func:`~gpen_desktop.core.faces.quality.blend_factor` of its quality),
    ``options.color_match`` and ``options.match_grain`` apply; a face whose quality is now above
    ``options.skip_sharp`` is left as it is. Boxes, landmarks and the model are what the crops were made
    with (changing those needs :meth:`Restorer.restore`). Equal to what ``restore`` returns
    for the same faces and options. The returned result lists only the pasted faces and keeps
    the same ``paste_base``.
    """
    base = result.paste_base
    if base is None:
        raise GpenError("this result keeps no paste base: restore the photo again")
    t0 = time.perf_counter()
    picked, blends, left = [], [], list(result.left_sharp)
    for fr, m in zip(result.faces, base.matrices, strict=True):
        if not (0 <= fr.index < len(faces) and faces[fr.index].include):
            continue
        factor = _sharp_factor(fr.quality, options)
        if factor == 0.0:
            left.append(fr.index)
            continue
        own = faces[fr.index].blend
        picked.append((fr, m))
        blends.append((options.blend if own is None else own) * factor)
    image, weight = _paste(
        base,
        [fr.restored for fr, _m in picked],
        [m for _fr, m in picked],
        [fr.mask for fr, _m in picked],
        blends,
        [fr.face for fr, _m in picked],
        options,
    )
    kept = [fr for fr, _m in picked]
    return replace(
        result,
        image=image,
        faces=kept,
        weight=weight,
        timings={"paste": time.perf_counter() - t0},
        paste_base=replace(base, matrices=[m for _fr, m in picked]),
        left_sharp=tuple(sorted(left)),
    )


def _sharp_factor(quality: Any, options: RestoreOptions) -> float:
    """The blend factor of a face of ``quality`` under the sharp-face options (1 = as usual,
    0 = leave it as it is)."""
    if not options.skip_sharp:
        return 1.0
    from gpen_desktop.core.faces.quality import blend_factor

    score = None if quality is None else quality.score
    return blend_factor(score, options.skip_sharp, options.sharp_fade)


def pasted_crop(result: RestoreResult, face: FaceResult) -> np.ndarray:
    """What the output shows of ``face``, as an aligned crop (S x S x 3 uint8, the same frame
    as its ``aligned_input``): the pasted face with its blend, mask, colour match and grey."""
    import cv2

    size = face.restored.shape[0]
    out = result.image.rgb8()
    photo = result.paste_base.photo if result.paste_base is not None else result.image
    f = out.shape[1] / max(1, photo.width)
    # crop pixel <- photo pixel <- output pixel (cv2.resize's pixel-centre convention)
    to_photo = np.array([[1 / f, 0, 0.5 / f - 0.5], [0, 1 / f, 0.5 / f - 0.5]])
    m = np.asarray(face.matrix, np.float64)
    matrix = m[:, :2] @ to_photo[:, :2]
    offset = m[:, :2] @ to_photo[:, 2] + m[:, 2]
    full = np.concatenate([matrix, offset[:, None]], axis=1)
    return cv2.warpAffine(out, full, (size, size), flags=cv2.INTER_LINEAR)


def _keep_out(photo: Photo, damage: np.ndarray | None) -> np.ndarray | None:
    """Pixels grain matching must not measure: the damage mask's (filled, so smooth; grown by
    2 px) and those less than half opaque. None when there are none."""
    out = None
    if damage is not None and damage.any():
        import cv2

        out = cv2.dilate(damage.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if photo.alpha is not None:
        top = 65535 if photo.alpha.dtype == np.uint16 else 255
        clear = photo.alpha < (top + 1) // 2
        if clear.any():
            out = clear if out is None else out | clear
    return out


def _gray(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma replicated to 3 channels, same dtype."""
    return np.repeat(luma(rgb)[:, :, None], 3, axis=2)


class Restorer:
    """Restores faces in photos with GPEN checkpoints: the options' model, or one per face
    (``models_by_size``, :attr:`Face.model`). Each model is loaded on first use and kept, so a
    run over many photos loads every model once."""

    def __init__(self, options: RestoreOptions) -> None:
        options.check()
        self.options = options
        self._enhancers: dict[tuple[str, str, str], Any] = {}  # (path, device, engine)
        self._last_used: set[str] = set()  # faces' own models in the last restore()
        self._extras: dict[str, tuple[tuple, Any]] = {}  # SR model and inpainter, by key

    # ------------------------------------------------------------------ model
    def set_options(self, options: RestoreOptions) -> None:
        """Change options. Loaded models stay when the new options (or a face's own model in
        the last run) still use them on the same device and engine; the others are released
        (switching the model frees the old one)."""
        options.check()
        self.options = options
        keep = {options.main_model, *(p for _, p in options.models_by_size), *self._last_used}
        for key in list(self._enhancers):
            if key[0] not in keep or key[1:] != (options.device, options.engine):
                del self._enhancers[key]
        for enhancer in self._enhancers.values():
            enhancer.batch_size = options.batch_size
            enhancer.set_precision(options.precision)

    def enhancer_for(self, path: str) -> Any:
        """The :class:`~gpen_desktop.core.inference.Enhancer` of the model file ``path``,
        loaded on first use and then reused."""
        from gpen_desktop.core.inference import Enhancer
        from gpen_desktop.core.models import load_model_file

        o = self.options
        key = (str(path), o.device, o.engine)
        enhancer = self._enhancers.get(key)
        if enhancer is None:
            loaded = load_model_file(path)  # .pth or .onnx
            if loaded.info.task == "inpainting":
                raise GpenError(
                    f"{Path(path).name} is GPEN's inpainting model (it fills white brush "
                    "strokes), not a restorer: give it as the inpainting model with a damage "
                    "mask and pick a restoration model"
                )
            enhancer = Enhancer(loaded, o.device, o.batch_size, dtype=o.precision, engine=o.engine)
            self._enhancers[key] = enhancer
        enhancer.set_precision(o.precision)
        return enhancer

    @property
    def enhancer(self) -> Any:
        """The Enhancer of the main model (:attr:`RestoreOptions.main_model`)."""
        path = self.options.main_model
        if not path:
            raise GpenError("no model chosen: pick a GPEN checkpoint (see `gpen models list`)")
        return self.enhancer_for(path)

    def _device(self) -> Any:
        from gpen_desktop.core.devices import resolve_device

        return resolve_device(self.options.device)

    def models_for(self, faces: Sequence[Face]) -> list[str]:
        """The model file of each face (:func:`~gpen_desktop.core.face_models.model_for_face`:
        its own, else by its size from ``models_by_size``, else the main model)."""
        from gpen_desktop.core.face_models import model_for_face

        o = self.options
        return [model_for_face(f, o.main_model, o.models_by_size) for f in faces]

    def _extra(self, name: str, key: tuple, build: Callable[[], Any]) -> Any:
        held = self._extras.get(name)
        if held is None or held[0] != key:
            self._extras.pop(name, None)
            self._extras[name] = (key, build())
        return self._extras[name][1]

    @property
    def superres(self) -> Any:
        """The background SR model (:class:`~gpen_desktop.core.superres.SuperResolver`), loaded
        on first use, or None when no ``sr_model`` is set."""
        from gpen_desktop.core.superres import load_sr_model

        o = self.options
        if not o.sr_model:
            return None
        sr = self._extra(
            "sr",
            (o.sr_model, o.device),
            lambda: load_sr_model(o.sr_model, o.device, o.sr_precision),
        )
        sr.set_precision(o.sr_precision)
        sr.set_denoise(o.denoise_strength)  # the compact general model's blend (cached)
        return sr

    @property
    def inpainter(self) -> Any:
        """An Enhancer for the GPEN-Inpainting checkpoint, or None when none is set."""
        from gpen_desktop.core.checkpoints import load_checkpoint
        from gpen_desktop.core.inference import Enhancer

        o = self.options
        if not o.inpaint_model:
            return None

        def build() -> Any:
            loaded = load_checkpoint(o.inpaint_model)
            if loaded.info.task != "inpainting":
                log.warning("%s is not named as an inpainting model", loaded.info.name)
            return Enhancer(loaded, o.device, o.batch_size, dtype=o.precision, engine=o.engine)

        inpainter = self._extra("inpaint", (o.inpaint_model, o.device, o.engine), build)
        inpainter.set_precision(o.precision)
        return inpainter

    @property
    def model_size(self) -> int:
        return self.enhancer.size

    def unload(self) -> None:
        self._enhancers.clear()
        self._last_used = set()
        self._extras.clear()

    # ------------------------------------------------------------------ steps
    def detect(self, photo: Photo) -> list[Face]:
        """Faces in ``photo`` with the options' detector and filters."""
        from gpen_desktop.core.faces.detect import detect_faces

        o = self.options
        return detect_faces(
            photo.rgb8(),
            o.detector,
            min_face=o.min_face,
            max_faces=o.max_faces,
            only_center_face=o.only_center_face,
            weights_dir=o.weights_dir,
        )

    def complete(self, photo: Photo, faces: Sequence[Face]) -> list[Face]:
        """Faces with landmarks predicted inside boxes that have none (drawn by a person)."""
        from gpen_desktop.core.faces.detect import landmarks_for_box

        done = []
        for f in faces:
            if f.landmarks is None:
                f = replace(f, landmarks=landmarks_for_box(photo.rgb8(), f.box))
            done.append(f)
        return done

    def restore(
        self,
        photo: Photo,
        faces: Sequence[Face] | None = None,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
        on_face: FaceReadyFn | None = None,
        reuse: dict[int, np.ndarray] | None = None,
        damage: np.ndarray | None = None,
    ) -> RestoreResult:
        """Restore the included faces of ``photo`` (detected when ``faces`` is None).

        ``progress(done, total, message)`` reports faces; ``cancel()`` is polled between steps
        and batches (on a CPU between faces: a cancel stops within one face) and raises
        :class:`Cancelled` (no partial result); ``on_face(index,
        aligned, restored)`` sees every face as soon as its batch is done. Every ``index``
        (callbacks and :attr:`FaceResult.index`) is the face's position in ``faces``. ``reuse`` maps a
        position in ``faces`` to that face's restored crop from an earlier run (same face, same
        model): it is pasted again without running the network (restoring one face of a photo
        keeps the others as they were). ``damage``: a damage mask at the photo's size (white /
        True = damaged; see :func:`gpen_desktop.core.inpaint.as_damage_mask`).
        """
        from gpen_desktop.core.faces.align import align_face
        from gpen_desktop.core.faces.paste import parsing_mask, reference_mask

        o = self.options
        timings: dict[str, float] = {}
        t_start = time.perf_counter()

        def check_cancel() -> None:
            if cancel is not None and cancel():
                raise Cancelled("cancelled")

        def step(name: str, t0: float) -> None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0

        if not o.models_by_size:  # one model for all: load (or reuse) it first, fail fast
            self.enhancer  # noqa: B018
        sr = self.superres
        if sr is not None:  # refuse a tile that would take forever before any work is done
            check_tile_count(o.tile, photo.height, photo.width)
        original = photo
        dmask, inpainting = None, {}
        if damage is not None:
            from gpen_desktop.core.inpaint import METHOD_LABELS, as_damage_mask, fill_strokes

            t0 = time.perf_counter()
            dmask = as_damage_mask(damage, photo.width, photo.height)
            photo = replace(photo, pixels=fill_strokes(photo.pixels, dmask, o.inpaint_method))
            inpainting = {"background": METHOD_LABELS[o.inpaint_method], "faces_inpainted": 0}
            step("inpaint", t0)
        check_cancel()
        t0 = time.perf_counter()
        if faces is None:
            if progress:
                progress(0, 0, "detecting faces")
            faces = self.detect(photo)
        detected = len(faces)
        reuse = reuse or {}
        positions = [i for i, f in enumerate(faces) if f.include]
        faces = self.complete(photo, [faces[i] for i in positions])
        step("detect", t0)
        check_cancel()

        # Each face's quality; with a sharp-face threshold, faces above it are left out
        # here (no network, not pasted: their pixels stay as they are), unless damage marks
        # touch them.
        from gpen_desktop.core.faces.quality import faces_quality

        t0 = time.perf_counter()
        measured = faces_quality(photo.pixels, faces)
        qualities = dict(zip(positions, measured, strict=True))
        factors = [_sharp_factor(q, o) for q in measured]
        if dmask is not None and 0.0 in factors:  # a face under damage marks is restored
            from gpen_desktop.core.faces.align import align_matrix
            from gpen_desktop.core.inpaint import touches

            for k, f in enumerate(faces):
                if factors[k] == 0.0 and touches(dmask, align_matrix(f.landmarks_array(), 64), 64):
                    factors[k] = 1.0
        left_sharp = tuple(p for p, f in zip(positions, factors, strict=True) if f == 0.0)
        if left_sharp:
            keep = [k for k, f in enumerate(factors) if f > 0.0]
            faces = [faces[k] for k in keep]
            positions = [positions[k] for k in keep]
            measured = [measured[k] for k in keep]
            factors = [factors[k] for k in keep]
        step("quality", t0)

        # Each face's model (its own, by size, or the main one), each loaded once.
        paths = self.models_for(faces)
        enhancers = {p: self.enhancer_for(p) for p in dict.fromkeys(paths)}
        self._last_used = {f.model for f in faces if f.model}  # kept by set_options
        main = next(iter(enhancers.values()), None)
        if main is None and not o.models_by_size:
            main = self.enhancer  # already loaded above
        sizes = [enhancers[p].size for p in paths]

        t0 = time.perf_counter()
        rgb8 = photo.rgb8()
        # GPEN-Colorization takes grey faces (as 3 equal channels) and returns colour ones.
        colorizes = {p: e.info.task == "colorization" for p, e in enhancers.items()}
        colorize = any(colorizes.values()) or (
            main is not None and main.info.task == "colorization"
        )
        gray8 = _gray(rgb8) if colorize else None
        keep_gray = o.keep_gray and not colorize
        crops, matrices = [], []
        for f, p, sz in zip(faces, paths, sizes, strict=True):
            crop, matrix = align_face(gray8 if colorizes[p] else rgb8, f.landmarks_array(), sz)
            crops.append(crop)
            matrices.append(matrix)
        step("align", t0)

        def ready(k: int, aligned: np.ndarray, out: np.ndarray) -> None:
            if on_face is not None:
                on_face(positions[k], aligned, out)

        t0 = time.perf_counter()
        restored: list = [None] * len(faces)
        for k, pos in enumerate(positions):
            crop = reuse.get(pos)
            if (
                crop is not None
                and crop.shape == (sizes[k], sizes[k], 3)
                and crop.dtype == np.uint8
            ):
                restored[k] = crop
        if dmask is not None:
            t0 = time.perf_counter()
            orig8 = original.rgb8()
            origs = [_gray(orig8) if colorizes[p] else orig8 for p in paths]
            inpainting.update(
                self._inpaint_faces(origs, dmask, faces, crops, matrices, restored, ready, cancel)
            )
            step("inpaint", t0)
        todo = [k for k, r in enumerate(restored) if r is None]
        total = len(todo)
        if progress:
            progress(0, total, f"restoring {total} face{'s' if total != 1 else ''}")
        done = 0
        for path, enhancer in enhancers.items():  # faces batched per model
            group = [k for k in todo if paths[k] == path]
            if not group:
                continue

            # A CPU runs the faces of a batch one by one anyway: with a cancel to honour, it
            # gets them one per call, so a cancel stops the run within one face.
            per_call = 1 if cancel is not None and enhancer.device.type == "cpu" else len(group)
            for first in range(0, len(group), per_call):
                part = group[first : first + per_call]

                def batch_done(at: int, outs: list[np.ndarray], part: list[int] = part) -> None:
                    for j, out in enumerate(outs):
                        k = part[at + j]
                        ready(k, crops[k], out)

                def part_progress(n: int, _total: int, _msg: str, before: int = done) -> None:
                    if progress is not None:
                        progress(before + n, total, f"restored {before + n}/{total} faces")

                fresh = enhancer.restore_crops(
                    [crops[k] for k in part], part_progress, cancel, on_batch=batch_done
                )
                for k, out in zip(part, fresh, strict=True):
                    restored[k] = out
                done += len(part)
        step("network", t0)
        check_cancel()

        base, paste_matrices, upscale, superres = photo.pixels, matrices, o.upscale, {}
        if sr is not None:
            base, paste_matrices, superres = self._enhance_background(
                photo.pixels, matrices, sr, progress, cancel, timings
            )
            upscale = 1

        t0 = time.perf_counter()
        if o.mask == "parsing":
            masks = [parsing_mask(r, o.weights_dir) for r in restored]
        else:
            masks = [reference_mask(sz) for sz in sizes]
        paste_base = PasteBase(
            pixels=base,
            matrices=list(paste_matrices),
            upscale=upscale,
            gray=photo.is_gray and keep_gray,
            superres=sr is not None,
            photo=photo,
            keep_out=_keep_out(photo, dmask),
        )
        blends = [
            (o.blend if f.blend is None else f.blend) * k
            for f, k in zip(faces, factors, strict=True)
        ]
        image, weight = _paste(paste_base, restored, paste_base.matrices, masks, blends, faces, o)
        step("paste", t0)
        check_cancel()
        results = [
            FaceResult(
                positions[k], f, crops[k], restored[k], matrices[k], masks[k], paths[k], measured[k]
            )
            for k, f in enumerate(faces)
        ]
        notes = dict.fromkeys(e.fallback_note for e in enhancers.values() if e.fallback_note)
        timings["total"] = time.perf_counter() - t_start
        return RestoreResult(
            image=image,
            faces=results,
            timings=timings,
            device=str(main.device if main is not None else self._device()),
            precision=next((e.precision for e in enhancers.values() if e.precision), ""),
            fallback_note="; ".join(notes) or None,
            detected=detected,
            weight=weight,
            superres=superres,
            inpainting=inpainting,
            models={p: paths.count(p) for p in enhancers},
            paste_base=paste_base,
            qualities=qualities,
            left_sharp=left_sharp,
        )

    def _inpaint_faces(
        self,
        sources: Sequence[np.ndarray],
        dmask: np.ndarray,
        faces: Sequence[Face],
        crops: list[np.ndarray],
        matrices: list[np.ndarray],
        restored: list,
        on_face: FaceReadyFn | None,
        cancel: CancelFn | None,
    ) -> dict[str, Any]:
        """Faces whose crop shows damage (and that are not reused) go through the inpainting
        model as aligned crops with white strokes; updates ``crops``/``matrices`` (to restore
        the inpainted face) or ``restored`` (mode "inpaint") in place; each crop keeps its own
        model's size. ``sources[k]``: the photo (without OpenCV's filling) face k is cut from.
        Without an inpainting model the OpenCV-filled photo's crops are already in ``crops``."""
        from gpen_desktop.core.faces.align import align_face, resize_crop_matrix
        from gpen_desktop.core.inference import resize_crop
        from gpen_desktop.core.inpaint import METHOD_LABELS, touches, warp_mask, whiten_strokes

        o = self.options
        hit = [
            k
            for k in range(len(faces))
            if restored[k] is None and touches(dmask, matrices[k], crops[k].shape[0])
        ]
        if not hit:
            return {"faces_inpainted": 0}
        inpainter = self.inpainter
        if inpainter is None:
            return {"faces": METHOD_LABELS[o.inpaint_method], "faces_inpainted": len(hit)}
        isz = inpainter.size
        whites, imats = [], []
        for k in hit:
            crop, m = align_face(sources[k], faces[k].landmarks_array(), isz)
            whites.append(whiten_strokes(crop, warp_mask(dmask, m, isz)))
            imats.append(m)
        outs = inpainter.restore_crops(whites, cancel=cancel)
        for k, white, m, out in zip(hit, whites, imats, outs, strict=True):
            size = crops[k].shape[0]
            matrices[k] = resize_crop_matrix(m, isz, size)
            if o.inpaint_mode == "inpaint":
                crops[k] = resize_crop(white, size)
                restored[k] = resize_crop(out, size)
                if on_face is not None:
                    on_face(k, crops[k], restored[k])
            else:
                crops[k] = resize_crop(out, size)
        return {
            "faces": inpainter.info.name,
            "faces_inpainted": len(hit),
            "mode": o.inpaint_mode,
        }

    def _enhance_background(
        self,
        pixels: np.ndarray,
        matrices: list[np.ndarray],
        sr: Any,
        progress: ProgressFn | None,
        cancel: CancelFn | None,
        timings: dict[str, float],
    ) -> tuple[np.ndarray, list[np.ndarray], dict[str, Any]]:
        """The photo super-resolved (then resized to ``upscale`` when that differs from the
        model's scale) and the face matrices re-expressed for the output pixels."""
        from gpen_desktop.core.faces.align import compose_affine
        from gpen_desktop.core.superres import resize_to

        t0 = time.perf_counter()
        h, w = pixels.shape[:2]
        factor = self.options.upscale or sr.scale
        big = sr.upscale(pixels, self.options.tile, progress=progress, cancel=cancel)
        big = resize_to(big, w * factor, h * factor)
        # output pixel -> photo pixel (cv2.resize's pixel-centre convention), then photo -> crop
        to_photo = np.array(
            [[1 / factor, 0, 0.5 / factor - 0.5], [0, 1 / factor, 0.5 / factor - 0.5]]
        )
        out_matrices = [compose_affine(m, to_photo) for m in matrices]
        timings["superres"] = time.perf_counter() - t0
        info = {
            "model": sr.info.name,
            "scale": sr.scale,
            "output_scale": factor,
            "tiles": sr.last_tiles,
            "tile": sr.last_tile_size,
            "device": str(sr.device),
            "precision": sr.dtype_name,
        }
        if sr.denoise_strength is not None:
            info["denoise_strength"] = sr.denoise_strength
        if sr.denoise_note:
            info["denoise_note"] = sr.denoise_note
        if sr.fallback_note:
            info["note"] = sr.fallback_note
        return big, out_matrices, info


def restore_photo_file(path: str | Path, options: RestoreOptions) -> RestoreResult:
    """Convenience for scripts: load, detect, restore."""
    from gpen_desktop.core.imageio import load_photo

    return Restorer(options).restore(load_photo(path))


__all__ = [
    "Cancelled",
    "FaceError",
    "FaceResult",
    "MASK_TYPES",
    "UPSCALES",
    "RestoreOptions",
    "RestoreResult",
    "PasteBase",
    "Restorer",
    "composite",
    "pasted_crop",
    "restore_photo_file",
]
