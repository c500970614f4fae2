"""Evaluation of a GPEN checkpoint on a folder of faces.

Reference mode (:func:`evaluate`): every image in the folder is a high-quality *aligned* face
(square; a non-square image is centre-cropped). Each one is resized to the model's input size
(area when shrinking, cubic when enlarging) to give the reference ``hq``, degraded with
:func:`gpen_desktop.core.degrade.degrade` (seed ``seed + index``), restored by the network,
and both the degraded and the restored image are scored against ``hq`` with
:func:`gpen_desktop.core.metrics.compare` (PSNR, SSIM on Y, dlib identity distance, LPIPS when
available locally). All images are compared at the model's output size.

No-reference mode (:func:`evaluate_no_reference`): the folder holds whole photos without
ground truth. Faces are detected and restored with :class:`gpen_desktop.core.pipeline.Restorer`;
only the identity distance between each aligned input face and its restoration, and timings,
are reported.

:func:`write_outputs` writes ``BASE.json`` (per image + summary, seed, model, device, timings)
and ``BASE.png`` (a contact sheet, one row per face) atomically; :func:`format_table` renders
the summary as text.
"""

from __future__ import annotations

import io
import json
import logging
import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.errors import Cancelled, GpenError, ImageError
from gpen_desktop.core.inference import resize_crop
from gpen_desktop.core.types import CancelFn, ProgressFn

log = logging.getLogger(__name__)

METRICS: tuple[tuple[str, str, str], ...] = (  # key, label, better
    ("psnr", "PSNR (dB)", "higher"),
    ("ssim", "SSIM (Y)", "higher"),
    ("identity", "identity (dlib)", "lower"),
    ("lpips", "LPIPS (alex)", "lower"),
)
SHEET_MAX_ROWS = 64
"""At most this many faces go on the contact sheet (the JSON report holds them all)."""


@dataclass(frozen=True)
class EvaluateOptions:
    """What to evaluate: ``folder`` of faces (or photos with ``reference=False``), a checkpoint.

    ``limit``: only the first K images (natural name order). ``seed``: image ``i`` is degraded with
    ``seed + i``. ``degrade_config``: a :class:`DegradeConfig` (None: defaults).
    """

    folder: str | Path
    model_path: str | Path
    seed: int = 0
    limit: int | None = None
    device: str = "auto"
    reference: bool = True
    degrade_config: Any = None
    identity: bool = True
    lpips: bool = True


@dataclass
class Evaluation:
    """Result of a run. ``records``: one dict per image (JSON-ready); ``summary``: per metric
    and variant (``degraded`` / ``restored``) the mean, std and count; ``meta``: run facts.
    ``sheet_rows``: per face, one (HxWx3 uint8 RGB image, caption lines) per column of
    ``columns`` — what the contact sheet shows."""

    mode: str
    records: list[dict[str, Any]]
    summary: dict[str, dict[str, dict[str, float | int | None]]]
    meta: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    sheet_rows: list[list[tuple[np.ndarray, list[str]]]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(
            {"mode": self.mode, **self.meta, "summary": self.summary, "images": self.records}
        )


# -- helpers -----------------------------------------------------------------------------------


def list_images(folder: str | Path, limit: int | None = None) -> list[Path]:
    """Image files directly in ``folder`` (natural name order), at most ``limit`` of them."""
    from gpen_desktop.core.imageio import iter_images

    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"not a folder: {folder}")
    if limit is not None and limit < 1:
        raise GpenError("limit must be at least 1")
    paths = iter_images(folder)[:limit]
    if not paths:
        raise ImageError(f"no images (.png, .jpg, .webp, .tif, .bmp) in {folder}")
    return paths


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to HxWx3 uint8 RGB (EXIF orientation applied, alpha dropped,
    grey expanded, 16-bit rounded to 8)."""
    from gpen_desktop.core.imageio import load_photo

    return np.ascontiguousarray(load_photo(path).rgb8())


def _failure(path: Path, exc: BaseException) -> dict[str, str]:
    """The report entry of an input that could not be read (it is skipped)."""
    from gpen_desktop.core.fileio import os_error_message

    message = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
    log.warning("%s: %s (skipped)", path.name, message)
    return {"file": path.name, "error": message}


def _square(image: np.ndarray) -> tuple[np.ndarray, bool]:
    h, w = image.shape[:2]
    if h == w:
        return image, False
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return image[y : y + s, x : x + s], True


def _stats(values: Sequence[float | None]) -> dict[str, float | int | None]:
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    out: dict[str, float | int | None] = {
        "mean": float(np.mean(finite)) if finite else None,
        "std": float(np.std(finite)) if finite else None,
        "n": len(finite),
    }
    n_inf = sum(1 for v in values if v is not None and math.isinf(v))
    if n_inf:
        out["n_inf"] = n_inf  # identical images (PSNR inf) are left out of mean/std
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _fmt(value: float | None, key: str) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.2f}" if key == "psnr" else f"{value:.3f}"


def _captions(scores: dict[str, float | None]) -> list[str]:
    line1 = f"PSNR {_fmt(scores.get('psnr'), 'psnr')}  SSIM {_fmt(scores.get('ssim'), 'ssim')}"
    line2 = f"ID {_fmt(scores.get('identity'), 'identity')}"
    if scores.get("lpips") is not None:
        line2 += f"  LPIPS {_fmt(scores.get('lpips'), 'lpips')}"
    return [line1, line2]


def _load(options: EvaluateOptions) -> tuple[Any, Any, float]:
    from gpen_desktop.core.checkpoints import load_checkpoint
    from gpen_desktop.core.devices import resolve_device
    from gpen_desktop.core.inference import Enhancer

    t0 = time.perf_counter()
    device = resolve_device(options.device)
    loaded = load_checkpoint(options.model_path, device=device)
    enhancer = Enhancer(loaded, device=device, batch_size=1)
    return loaded, enhancer, time.perf_counter() - t0


def _model_info(restorer: Any) -> dict[str, Any] | None:
    """The checkpoint facts of a Restorer's model (loads it if no face needed it yet)."""
    info = getattr(getattr(restorer, "enhancer", None), "info", None)
    return info.to_json() if info is not None else None


def _device_label(device: Any) -> str:
    try:
        from gpen_desktop.core.devices import describe

        return describe(device)
    except Exception:  # noqa: BLE001 - a label only
        return str(device)


def _metric_notes(use_identity: bool, use_lpips: bool) -> tuple[bool, bool, list[str]]:
    from gpen_desktop.core.metrics import identity_status, lpips_status

    notes: list[str] = []
    if use_identity:
        use_identity, note = identity_status()
        if note:
            notes.append(note)
    if use_lpips:
        use_lpips, note = lpips_status()
        if note:
            notes.append(note)
    return use_identity, use_lpips, notes


# -- reference mode ----------------------------------------------------------------------------


def evaluate(
    options: EvaluateOptions,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Evaluation:
    """Degrade, restore and score every HQ aligned face in ``options.folder`` (see module doc)."""
    if not options.reference:
        return evaluate_no_reference(options, progress, cancel)
    from gpen_desktop.core.degrade import DegradeConfig, degrade, describe_steps
    from gpen_desktop.core.metrics import compare, identity_descriptor

    t_start = time.perf_counter()
    paths = list_images(options.folder, options.limit)
    config = options.degrade_config or DegradeConfig()
    loaded, enhancer, load_s = _load(options)
    in_size, out_size = int(loaded.info.in_size), int(loaded.info.out_size)
    use_identity, use_lpips, notes = _metric_notes(options.identity, options.lpips)

    records: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    rows: list[list[tuple[np.ndarray, list[str]]]] = []
    totals = {"degrade": 0.0, "restore": 0.0, "metrics": 0.0}
    for index, path in enumerate(paths):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        if progress is not None:
            progress(index, len(paths), f"evaluating {path.name}")
        try:
            original, cropped = _square(read_rgb(path))
        except (GpenError, OSError) as exc:
            failed.append(_failure(path, exc))
            continue
        hq_in = resize_crop(original, in_size)
        hq = resize_crop(original, out_size)

        t0 = time.perf_counter()
        degraded = degrade(hq_in, seed=options.seed + index, config=config)
        t1 = time.perf_counter()
        restored = enhancer.restore_crops([degraded.image])[0]
        t2 = time.perf_counter()
        degraded_out = resize_crop(degraded.image, out_size)
        restored = resize_crop(restored, out_size)
        ref_id = identity_descriptor(hq, aligned=True) if use_identity else None
        s_degraded = compare(degraded_out, hq, identity=ref_id, lpips=use_lpips)
        s_restored = compare(restored, hq, identity=ref_id, lpips=use_lpips)
        t3 = time.perf_counter()
        totals["degrade"] += t1 - t0
        totals["restore"] += t2 - t1
        totals["metrics"] += t3 - t2

        records.append(
            {
                "index": index,
                "file": path.name,
                "source_size": [int(original.shape[1]), int(original.shape[0])],
                "center_cropped": cropped,
                "seed": degraded.seed,
                "steps": degraded.steps,
                "degraded": s_degraded,
                "restored": s_restored,
                "timings": {
                    "degrade_s": t1 - t0,
                    "restore_s": t2 - t1,
                    "metrics_s": t3 - t2,
                },
            }
        )
        if len(rows) < SHEET_MAX_ROWS:
            rows.append(
                [
                    (hq, [path.name, f"{original.shape[1]}x{original.shape[0]}"]),
                    (degraded_out, [*_captions(s_degraded), describe_steps(degraded.steps)]),
                    (restored, [*_captions(s_restored)]),
                ]
            )
        log.info("%s: %s", path.name, describe_steps(degraded.steps))
    if progress is not None:
        progress(len(paths), len(paths), "done")

    summary = {
        key: {
            variant: _stats([r[variant][key] for r in records])
            for variant in ("degraded", "restored")
        }
        for key, _label, _better in METRICS
    }
    n = max(1, len(records))
    meta = {
        "folder": str(Path(options.folder).resolve()),
        "count": len(records),
        "failed": failed,
        "seed": options.seed,
        "degrade_config": config.to_dict(),
        "model": loaded.info.to_json(),
        "device": str(enhancer.device),
        "device_label": _device_label(enhancer.device),
        "dtype": str(getattr(enhancer, "dtype", "float32")),
        "fallback_note": enhancer.fallback_note,
        "compare_size": out_size,
        "ssim_channel": "y",
        "notes": notes,
        "timings": {
            "load_model_s": load_s,
            "degrade_s": totals["degrade"],
            "restore_s": totals["restore"],
            "metrics_s": totals["metrics"],
            "restore_per_face_s": totals["restore"] / n,
            "degrade_per_face_s": totals["degrade"] / n,
            "total_s": time.perf_counter() - t_start,
        },
        "environment": {"python": platform.python_version(), "platform": platform.platform()},
    }
    return Evaluation(
        mode="reference",
        records=records,
        summary=summary,
        meta=meta,
        columns=["HQ (reference)", "Degraded", "Restored"],
        sheet_rows=rows,
    )


# -- no-reference mode -------------------------------------------------------------------------


def evaluate_no_reference(
    options: EvaluateOptions,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Evaluation:
    """Detect and restore faces in whole photos; report identity distance input vs restored."""
    try:
        from gpen_desktop.core.pipeline import RestoreOptions, Restorer
    except ImportError as exc:
        raise GpenError("no-reference evaluation needs the restoration pipeline") from exc
    from gpen_desktop.core.imageio import load_photo
    from gpen_desktop.core.metrics import identity_distance

    t_start = time.perf_counter()
    paths = list_images(options.folder, options.limit)
    use_identity, _, notes = _metric_notes(options.identity, False)
    restorer = Restorer(RestoreOptions(model_path=str(options.model_path), device=options.device))

    records: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    rows: list[list[tuple[np.ndarray, list[str]]]] = []
    distances: list[float | None] = []
    per_face_s: list[float] = []
    device = None
    fallback = None
    for index, path in enumerate(paths):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        if progress is not None:
            progress(index, len(paths), f"restoring {path.name}")
        try:
            photo = load_photo(path)
        except (GpenError, OSError) as exc:
            failed.append(_failure(path, exc))
            continue
        t0 = time.perf_counter()
        result = restorer.restore(photo, None)
        wall = time.perf_counter() - t0
        device = result.device
        fallback = result.fallback_note or fallback
        faces = []
        n_faces = len(result.faces)
        network = float(result.timings.get("network", 0.0))
        for fr in result.faces:
            dist = (
                identity_distance(fr.restored, fr.aligned_input, aligned=True)
                if use_identity
                else None
            )
            distances.append(dist)
            face_s = network / n_faces if n_faces else 0.0
            per_face_s.append(face_s)
            faces.append(
                {
                    "index": fr.index,
                    "face": fr.face.to_json(),
                    "identity": dist,
                    "network_s": face_s,
                }
            )
            if len(rows) < SHEET_MAX_ROWS:
                caption = [f"{path.name} #{fr.index}", f"ID {_fmt(dist, 'identity')}"]
                rows.append(
                    [(fr.aligned_input, [f"{path.name} #{fr.index}"]), (fr.restored, caption[1:])]
                )
        records.append(
            {
                "index": index,
                "file": path.name,
                "size": [photo.width, photo.height],
                "faces": faces,
                "timings": {
                    **{f"{k}_s": float(v) for k, v in result.timings.items()},
                    "wall_s": wall,
                },
            }
        )
    if progress is not None:
        progress(len(paths), len(paths), "done")
    n_faces = len(distances)
    if n_faces == 0:
        notes.append("no faces were found in any photo")
    summary = {"identity": {"restored": _stats(distances)}}
    meta = {
        "folder": str(Path(options.folder).resolve()),
        "count": len(records),
        "failed": failed,
        "faces": n_faces,
        "model_path": str(options.model_path),
        "model": _model_info(restorer),
        "device": device,
        "fallback_note": fallback,
        "notes": notes,
        "timings": {
            "per_face_network_s": _stats(per_face_s),
            "total_s": time.perf_counter() - t_start,
        },
        "environment": {"python": platform.python_version(), "platform": platform.platform()},
    }
    return Evaluation(
        mode="no-reference",
        records=records,
        summary=summary,
        meta=meta,
        columns=["Input face", "Restored"],
        sheet_rows=rows,
    )


# -- presentation ------------------------------------------------------------------------------


def format_table(ev: Evaluation) -> str:
    """The summary as a plain-text table (mean ± std per metric and variant)."""
    lines: list[str] = []
    m = ev.meta
    if ev.mode == "reference":
        model = m["model"]
        lines.append(
            f"{m['count']} faces, model {model.get('name')} ({model.get('in_size')} px), "
            f"device {m['device']}, seed {m['seed']}"
        )
        variants = ("degraded", "restored")
    else:
        lines.append(
            f"{m['count']} photos, {m['faces']} faces, device {m['device']} (no reference)"
        )
        variants = ("restored",)
    lines.append("")
    head = f"{'metric':<16} {'better':<7}" + "".join(f" {v:>18}" for v in variants)
    lines.append(head)
    lines.append("-" * len(head))
    for key, label, better in METRICS:
        if key not in ev.summary:
            continue
        cells = []
        for v in variants:
            st = ev.summary[key].get(v, {})
            if st.get("mean") is None:
                cells.append("inf" if st.get("n_inf") else "-")
            else:
                cells.append(f"{_fmt(st['mean'], key)} ± {_fmt(st['std'], key)}")
        lines.append(f"{label:<16} {better:<7}" + "".join(f" {c:>18}" for c in cells))
    lines.append("")
    t = m["timings"]
    if ev.mode == "reference":
        lines.append(
            f"per face: degrade {t['degrade_per_face_s'] * 1000:.1f} ms, restore "
            f"{t['restore_per_face_s'] * 1000:.1f} ms; model load {t['load_model_s']:.2f} s; "
            f"total {t['total_s']:.2f} s"
        )
    else:
        pf = t["per_face_network_s"]
        mean = pf.get("mean")
        lines.append(
            f"per face: network {mean * 1000:.1f} ms; total {t['total_s']:.2f} s"
            if mean is not None
            else f"total {t['total_s']:.2f} s"
        )
    for note in m.get("notes", []):
        lines.append(note)
    if m.get("fallback_note"):
        lines.append(m["fallback_note"])
    return "\n".join(lines)


def contact_sheet(
    columns: Sequence[str],
    rows: Sequence[Sequence[tuple[np.ndarray, Sequence[str]]]],
    title: str = "",
    cell: int | None = None,
) -> np.ndarray:
    """A labelled grid: a header row with ``columns``, then one row per face.

    Each row holds, per column, an HxWx3 uint8 RGB image (resized to ``cell`` px square) with a
    few caption lines under it. ``cell`` defaults to the largest image side, kept within
    160-256 px. Returns HxWx3 uint8 RGB.
    """
    from PIL import Image, ImageDraw, ImageFont

    bg, panel, fg, dim = (24, 25, 28), (38, 40, 44), (236, 236, 236), (160, 164, 170)
    if cell is None:
        largest = max((max(img.shape[:2]) for row in rows for img, _ in row), default=128)
        cell = int(min(max(largest, 160), 256))
    try:
        font = ImageFont.load_default(size=12)
        head_font = ImageFont.load_default(size=15)
    except TypeError:  # Pillow < 10.1: bitmap font only
        font = head_font = ImageFont.load_default()
    gutter, margin = 4, 10
    line_h = 15
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def fit(text: str, f: Any, max_w: int) -> str:
        if measure.textlength(text, font=f) <= max_w:
            return text
        while text and measure.textlength(text + "…", font=f) > max_w:
            text = text[:-1]
        return text + "…"

    def wrap(text: str, max_w: int, max_lines: int = 2) -> list[str]:
        """Break at spaces into at most ``max_lines`` lines; the last one is truncated."""
        lines: list[str] = []
        words = text.split(" ")
        while words and len(lines) < max_lines - 1:
            line = words.pop(0)
            while words and measure.textlength(f"{line} {words[0]}", font=font) <= max_w:
                line += " " + words.pop(0)
            lines.append(fit(line, font, max_w))
        if words:
            lines.append(fit(" ".join(words), font, max_w))
        return lines

    text_w = cell - 8
    rows = [
        [(img, [w for line in caption for w in wrap(line, text_w)]) for img, caption in row]
        for row in rows
    ]
    n_lines = max((len(c) for row in rows for _, c in row), default=0)
    caption_h = n_lines * line_h + (6 if n_lines else 0)
    title_h = 26 if title else 0
    header_h = 26
    ncol = len(columns)
    width = 2 * margin + ncol * cell + (ncol - 1) * gutter
    row_h = cell + caption_h
    height = 2 * margin + title_h + header_h + len(rows) * (row_h + gutter)
    sheet = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(sheet)

    y = margin
    if title:
        draw.text(
            (margin, y + 3), fit(title, head_font, width - 2 * margin), fill=fg, font=head_font
        )
        y += title_h
    for c, name in enumerate(columns):
        x = margin + c * (cell + gutter)
        draw.rectangle([x, y, x + cell - 1, y + header_h - 5], fill=panel)
        text = fit(name, head_font, cell - 8)
        tw = draw.textlength(text, font=head_font)
        draw.text((x + (cell - tw) / 2, y + 3), text, fill=fg, font=head_font)
    y += header_h
    for row in rows:
        for c, (img, caption) in enumerate(row[:ncol]):
            x = margin + c * (cell + gutter)
            tile = Image.fromarray(np.ascontiguousarray(img)).convert("RGB")
            if tile.size != (cell, cell):
                shrink = max(tile.size) > cell
                tile = tile.resize(
                    (cell, cell), Image.Resampling.LANCZOS if shrink else Image.Resampling.BICUBIC
                )
            sheet.paste(tile, (x, y))
            if caption_h:
                draw.rectangle([x, y + cell, x + cell - 1, y + row_h - 1], fill=panel)
            for i, line in enumerate(caption):
                color = fg if i == 0 else dim
                draw.text(
                    (x + 4, y + cell + 3 + i * line_h),
                    line,
                    fill=color,
                    font=font,
                )
        y += row_h + gutter
    return np.asarray(sheet)


def sheet_for(ev: Evaluation) -> np.ndarray:
    """The contact sheet of an evaluation (title, header row, one row per face)."""
    m = ev.meta
    if ev.mode == "reference":
        title = f"GPEN evaluate: {m['model'].get('name')}, {m['count']} faces, seed {m['seed']}"
    else:
        title = f"GPEN evaluate (no reference): {Path(str(m['model_path'])).name}"
    if len(ev.records) > len(ev.sheet_rows) and ev.mode == "reference":
        title += f" (first {len(ev.sheet_rows)} shown)"
    return contact_sheet(ev.columns, ev.sheet_rows, title=title)


def write_outputs(ev: Evaluation, base: str | Path) -> tuple[Path, Path]:
    """Write ``BASE.json`` and ``BASE.png`` atomically (replacing old ones); returns both paths."""
    from PIL import Image

    from gpen_desktop.core.fileio import atomic_write, os_error_message

    base = Path(base)
    if base.suffix.lower() in (".json", ".png"):
        base = base.with_suffix("")
    json_path = base.with_name(base.name + ".json")
    png_path = base.with_name(base.name + ".png")
    text = json.dumps(ev.to_json(), indent=2, allow_nan=False)
    buf = io.BytesIO()
    Image.fromarray(sheet_for(ev)).save(buf, format="PNG")
    for path, data in ((json_path, (text + "\n").encode("utf-8")), (png_path, buf.getvalue())):
        try:
            with atomic_write(path, overwrite=True, parents=True, error=ImageError) as tmp:
                tmp.write_bytes(data)
        except OSError as exc:
            raise ImageError(f"cannot write {path}: {os_error_message(exc)}") from exc
    return json_path, png_path
