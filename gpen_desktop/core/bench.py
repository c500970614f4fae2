"""Benchmarks: seconds per face, faces per second, peak memory, load time, whole-photo split.

Models are random-weight networks in the official configuration for each size (no downloads);
``compare_eager`` times the plain reference forward of the same weights in the same run, so
speed work is reported as a ratio measured side by side.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: size -> (channel_multiplier, narrow) of the official checkpoints.
OFFICIAL = {256: (1, 0.5), 512: (2, 1.0), 1024: (2, 1.0), 2048: (2, 1.0)}
#: Other sizes (64, 128) bench a tiny network, as the tests use.
TINY = (2, 0.125)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class PeakMemory:
    """Samples this process's RSS (and CUDA peak allocation) while the block runs."""

    def __init__(self, device: Any = None, interval: float = 0.005) -> None:
        self.device = device
        self.interval = interval
        self.peak_rss = 0
        self.peak_gpu = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        import torch

        if self.device is not None and torch.device(self.device).type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.peak_rss = _rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import torch

        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, _rss_bytes())
        if self.device is not None and torch.device(self.device).type == "cuda":
            self.peak_gpu = int(torch.cuda.max_memory_allocated(self.device))


@dataclass
class BenchRow:
    size: int
    batch: int
    device: str
    dtype: str
    seconds_per_face: float
    faces_per_second: float
    seconds_per_face_all: list[float]
    load_seconds: float
    peak_rss_mb: float  # the process's peak while loading the model and running faces
    base_rss_mb: float  # before the model was loaded (Python, torch and the libraries)
    peak_gpu_mb: float
    weights_mb: float
    eager_seconds_per_face: float | None = None
    speedup_vs_eager: float | None = None
    max_abs_diff_vs_eager: float | None = None
    max_u8_diff_vs_eager: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _sync(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: Callable[[], Any], repeat: int, device: Any) -> list[float]:
    times = []
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


def bench_size(
    size: int,
    device: Any = "cpu",
    batch: int = 1,
    repeat: int = 3,
    warmup: int = 1,
    compare_eager: bool = False,
    dtype: str = "auto",
    narrow: float | None = None,
    channel_multiplier: int | None = None,
) -> BenchRow:
    """Time the optimised runner (and optionally the eager forward) on random faces."""
    import torch

    from gpen_desktop.core.checkpoints import load_checkpoint
    from gpen_desktop.core.devices import resolve_device
    from gpen_desktop.core.gpen import random_checkpoint
    from gpen_desktop.core.inference import FastRunner
    from gpen_desktop.core.runtime import release_memory

    dev = resolve_device(device) if isinstance(device, str) else torch.device(device)
    cm, nw = OFFICIAL.get(size, TINY)
    cm = channel_multiplier or cm
    nw = narrow or nw
    with tempfile.TemporaryDirectory() as tmp:
        path = random_checkpoint(Path(tmp) / f"bench-{size}.pth", size, cm, nw, seed=0)
        weights_mb = path.stat().st_size / 1e6
        gc.collect()
        release_memory()  # forget the network that wrote the file
        rng = np.random.default_rng(0)
        faces = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
        base_rss = _rss_bytes()
        with PeakMemory(dev) as mem:
            t0 = time.perf_counter()
            loaded = load_checkpoint(path, device="cpu")
            load_seconds = time.perf_counter() - t0
            runner = FastRunner(loaded.model, dev, dtype=dtype)
            for _ in range(warmup):
                runner.run_uint8(faces)
            times = _time(lambda: runner.run_uint8(faces), repeat, dev)
            fast_out = runner.run_uint8(faces)
        per_face = [t / batch for t in times]
        med = statistics.median(per_face)
        row = BenchRow(
            size=size,
            batch=batch,
            device=str(dev),
            dtype=runner.dtype_name,
            seconds_per_face=med,
            faces_per_second=1.0 / med if med > 0 else float("inf"),
            seconds_per_face_all=per_face,
            load_seconds=load_seconds,
            peak_rss_mb=mem.peak_rss / 1e6,
            base_rss_mb=base_rss / 1e6,
            peak_gpu_mb=mem.peak_gpu / 1e6,
            weights_mb=weights_mb,
        )
        if compare_eager:
            from gpen_desktop.core.inference import to_tensor

            eager = FastRunner(loaded.model, dev, engine="eager")
            for _ in range(warmup):
                eager.run_uint8(faces)
            eager_times = [t / batch for t in _time(lambda: eager.run_uint8(faces), repeat, dev)]
            row.eager_seconds_per_face = statistics.median(eager_times)
            row.speedup_vs_eager = row.eager_seconds_per_face / med
            x = to_tensor(faces, dev)
            ref = eager.run(x).float()
            row.max_abs_diff_vs_eager = float(
                (runner.run(x.to(runner.dtype)).float() - ref).abs().max()
            )
            row.max_u8_diff_vs_eager = int(
                np.abs(fast_out.astype(np.int16) - eager.run_uint8(faces).astype(np.int16)).max()
            )
        return row


@dataclass
class PhotoBench:
    photo: str
    width: int
    height: int
    faces: int
    model_size: int
    device: str
    seconds: dict[str, float]
    engine: str = "fast"

    def to_json(self) -> dict:
        return asdict(self)


def bench_photo(
    photo_path: str | Path,
    size: int = 512,
    device: str = "cpu",
    batch: int = 4,
    detector: str = "auto",
    repeat: int = 1,
    engine: str = "fast",
    dtype: str = "auto",
) -> PhotoBench:
    """Whole-photo pipeline time split into detection / alignment / network / paste."""
    from gpen_desktop.core.gpen import random_checkpoint
    from gpen_desktop.core.imageio import load_photo
    from gpen_desktop.core.pipeline import RestoreOptions, Restorer

    cm, nw = OFFICIAL.get(size, TINY)
    photo = load_photo(photo_path)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = random_checkpoint(Path(tmp) / f"bench-{size}.pth", size, cm, nw, seed=0)
        restorer = Restorer(
            RestoreOptions(
                model_path=str(ckpt),
                device=device,
                batch_size=batch,
                detector=detector,
                engine=engine,
                precision=dtype,
            )
        )
        restorer.restore(photo, faces=None)  # warm-up (loads the model)
        runs = [restorer.restore(photo, faces=None) for _ in range(repeat)]
    keys = ("detect", "align", "network", "paste", "total")
    seconds = {k: statistics.median(r.timings.get(k, 0.0) for r in runs) for k in keys}
    return PhotoBench(
        photo=str(photo_path),
        width=photo.width,
        height=photo.height,
        faces=len(runs[-1].faces),
        model_size=size,
        device=runs[-1].device,
        seconds=seconds,
        engine=engine,
    )


# --------------------------------------------------------------------------- super-resolution

#: Official upscaler names -> scale, benchmarked with random weights at the official size:
#: RealESRNet (RRDBNet, 64 features, 23 blocks) and Real-ESRGAN's compact general x4
#: (SRVGGNetCompact, 64 features, 32 convs).
OFFICIAL_SR = {
    "realesrnet_x1": 1,
    "realesrnet_x2": 2,
    "realesrnet_x4": 4,
    "realesr-general-x4v3": 4,
    "realesr-general-wdn-x4v3": 4,
}


def official_sr_file(name: str, folder: str | Path) -> Path:
    """A random-weight file of the official upscaler ``name`` (see :data:`OFFICIAL_SR`) in
    its official key layout, written in ``folder``."""
    import torch

    from gpen_desktop.core.superres import random_compact_checkpoint, random_rrdbnet_state_dict

    path = Path(folder) / f"{name}.pth"
    if name.startswith("realesrnet"):
        torch.save({"params_ema": random_rrdbnet_state_dict(OFFICIAL_SR[name])}, path)
    else:
        random_compact_checkpoint(path)
    return path


@dataclass
class SRBenchRow:
    model: str
    device: str
    precision: str  # the dtype the model ran in
    channels_last: bool
    width: int  # input pixels
    height: int
    tile: int
    tiles: int
    seconds: float  # median of the timed runs
    seconds_per_mp: float  # per input megapixel
    speedup: float | None = None  # against the first row (float32, plain layout)
    max_u8_diff: int | None = None  # against the first row's output
    mean_u8_diff: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


def sr_photo(photo_path: str | Path | None = None, crop: int = 0) -> tuple[np.ndarray, str]:
    """The photo an SR bench runs on (default scikit-image's astronaut, a real photo) as
    HxWx3 uint8 RGB, cut to its central ``crop`` x ``crop`` px when ``crop`` is set."""
    if photo_path:
        from gpen_desktop.core.imageio import load_photo

        img, name = load_photo(photo_path).rgb8(), str(photo_path)
    else:
        try:
            from skimage import data
        except ImportError:
            from gpen_desktop.core.errors import GpenError

            raise GpenError(
                "the default SR bench photo is scikit-image's astronaut: pip install "
                "scikit-image, or give --photo"
            ) from None
        img, name = data.astronaut(), "astronaut (scikit-image)"
    h, w = img.shape[:2]
    if crop and (crop < h or crop < w):
        y0, x0 = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
        img = img[y0 : y0 + crop, x0 : x0 + crop]
        name += ", central part"
    return np.ascontiguousarray(img), name


def bench_sr(
    model: str,
    pixels: np.ndarray,
    device: str = "cpu",
    precisions: tuple[str, ...] = ("float32", "bfloat16"),
    tile: int = 0,
    repeat: int = 1,
    compare_layout: bool = True,
    on_row: Callable[[SRBenchRow], None] | None = None,
) -> list[SRBenchRow]:
    """Seconds per megapixel of background super-resolution in each precision, on ``pixels``.

    ``model``: an SR model file, or an official name (``realesrnet_x4``, ``_x2``, ``_x1``,
    ``realesr-general-x4v3``) for random weights at the official size. The first row is float32 in the plain (NCHW) layout
    when ``compare_layout``, then float32 channels-last and each of ``precisions``
    (channels-last); every row reports its speed-up and
    largest 8-bit difference against it. Precisions the device has no fast type for run in
    what :func:`~gpen_desktop.core.superres.sr_dtype` picks (the row says which).
    """
    from gpen_desktop.core.superres import load_sr_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(model)
        if not path.is_file() and model in OFFICIAL_SR:
            path = official_sr_file(model, tmp)
        sr = load_sr_model(path, device, "float32")
    configs = [("float32", False)] if compare_layout else []
    configs += [(p, True) for p in dict.fromkeys(("float32", *precisions))]
    h, w = pixels.shape[:2]
    rows: list[SRBenchRow] = []
    ref = None
    for precision, cl in configs:
        sr.set_precision(precision)
        sr.set_channels_last(cl)
        sr.upscale(pixels[: min(h, 64), : min(w, 64)], tile)  # warm-up (oneDNN primitives)
        out = None

        def once() -> None:
            nonlocal out
            out = sr.upscale(pixels, tile)

        seconds = statistics.median(_time(once, repeat, sr.device))
        row = SRBenchRow(
            model=sr.info.name,
            device=str(sr.device),
            precision=sr.dtype_name,
            channels_last=sr.channels_last,
            width=w,
            height=h,
            tile=sr.last_tile_size,
            tiles=sr.last_tiles,
            seconds=seconds,
            seconds_per_mp=seconds / (w * h / 1e6),
        )
        if ref is None:
            ref, base = out, seconds
        diff = np.abs(out.astype(np.int16) - ref.astype(np.int16))
        row.speedup = base / seconds if seconds > 0 else None
        row.max_u8_diff = int(diff.max())
        row.mean_u8_diff = float(diff.mean())
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


@dataclass
class SRCompareRow:
    """One configuration timed for two upscalers on the same photo and tile size."""

    precision: str
    channels_last: bool
    tile: int
    model: str
    seconds_per_mp: float
    other: str
    other_seconds_per_mp: float
    ratio: float  # other's seconds per megapixel / model's: how many times faster ``model`` is

    def to_json(self) -> dict:
        return asdict(self)


def compare_sr(rows: list[SRBenchRow], others: list[SRBenchRow]) -> list[SRCompareRow]:
    """The configurations (precision, layout) timed for both models, with their speed ratio."""
    by_config = {(r.precision, r.channels_last): r for r in others}
    out = []
    for r in rows:
        o = by_config.get((r.precision, r.channels_last))
        if o is None:
            continue
        out.append(
            SRCompareRow(
                precision=r.precision,
                channels_last=r.channels_last,
                tile=r.tile,
                model=r.model,
                seconds_per_mp=r.seconds_per_mp,
                other=o.model,
                other_seconds_per_mp=o.seconds_per_mp,
                ratio=o.seconds_per_mp / r.seconds_per_mp if r.seconds_per_mp > 0 else 0.0,
            )
        )
    return out
