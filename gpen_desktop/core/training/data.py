"""Training data: a folder of faces, checked before training, degraded on the fly in workers.

Sample ``(epoch, index)`` is a pure function of (image file, run seed, epoch, index): its own
``numpy`` generator (seeded with ``[seed, epoch, index]``) decides the horizontal flip, the
degradation seed for :func:`gpen_desktop.core.degrade.degrade` and the optional grayscale, so
results do not depend on the number of workers or on which worker draws the sample, and a
resumed run sees exactly the samples an uninterrupted one would.

:class:`StreamSampler` turns torch's ``DistributedSampler`` (one shard per rank, reshuffled by
``set_epoch``) into an endless stream of ``(epoch, index)`` keys that can start at any sample
count (resume).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.errors import DataError, ImageError

log = logging.getLogger(__name__)


@dataclass
class DataReport:
    """What :func:`scan_faces` found. ``paths``: usable face images (aligned, square or not)."""

    paths: list[Path]
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    no_face: list[Path] = field(default_factory=list)
    photos: int = 0  # with --align: photos looked at

    def notes(self) -> list[str]:
        out = []
        if self.unreadable:
            first, why = self.unreadable[0]
            out.append(f"skipped {len(self.unreadable)} unreadable file(s), e.g. {first}: {why}")
        if self.no_face:
            out.append(
                f"skipped {len(self.no_face)} of {self.photos} photo(s) without a face, "
                f"e.g. {self.no_face[0]}"
            )
        return out


def _listing(folder: str | Path, what: str) -> list[Path]:
    from gpen_desktop.core.imageio import iter_images

    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{what} folder not found: {folder}")
    if not folder.is_dir():
        raise DataError(f"{what} must be a folder of images: {folder}")
    paths = iter_images(folder, recursive=True)
    if not paths:
        raise DataError(f"{what} folder has no images (.png, .jpg, .webp, .tif, .bmp): {folder}")
    return paths


def _listed(items: Sequence[str], limit: int = 5) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def scan_faces(folder: str | Path, size: int, what: str = "DATA") -> DataReport:
    """Aligned face images under ``folder`` (recursive), checked by their headers.

    Raises :class:`DataError` for a missing or empty folder, when no file is readable, or when
    images are smaller than a quarter of ``size`` (they are listed). Unreadable files among
    readable ones are skipped (and reported in :meth:`DataReport.notes`).
    """
    from gpen_desktop.core.imageio import probe_image

    report = DataReport(paths=[])
    small: list[str] = []
    for path in _listing(folder, what):
        try:
            info = probe_image(path)
        except ImageError as exc:
            report.unreadable.append((path, str(exc)))
            continue
        if min(info["width"], info["height"]) * 4 < size:
            small.append(f"{path.name} ({info['width']}x{info['height']})")
            continue
        report.paths.append(path)
    if not report.paths and not small:
        first, why = report.unreadable[0]
        raise DataError(
            f"no readable image in {folder} ({len(report.unreadable)} file(s); {first.name}: {why})"
        )
    if small:
        raise DataError(
            f"{len(small)} image(s) in {folder} are smaller than a quarter of --size {size} "
            f"({size // 4} px): {_listed(small)}"
        )
    return report


def align_photos(
    folder: str | Path,
    size: int,
    cache: str | Path,
    detector: str = "dlib",
    progress: Callable[[int, int], None] | None = None,
) -> DataReport:
    """Detect and align every face of the photos under ``folder`` into ``cache`` (PNG crops of
    ``size`` px). ``cache/index.json`` remembers each photo (by path, size and modification
    time), so a later run (or a resumed one) does not detect again. Photos without a face are
    skipped and counted; none at all is a :class:`DataError`."""
    import cv2

    from gpen_desktop.core.faces import align_face, detect_faces
    from gpen_desktop.core.fileio import atomic_open, atomic_write
    from gpen_desktop.core.imageio import load_photo

    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    index_path = cache / "index.json"
    try:
        index: dict[str, Any] = json.loads(index_path.read_text("utf-8"))
    except (OSError, ValueError):
        index = {}
    if index.get("size") != size:
        index = {"size": size, "photos": {}}
    photos = _listing(folder, "DATA")
    report = DataReport(paths=[], photos=len(photos))
    for n, path in enumerate(photos):
        if progress:
            progress(n, len(photos))
        key = str(path.resolve())
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = index["photos"].get(key)
        if entry and entry["stamp"] == stamp and all((cache / c).is_file() for c in entry["crops"]):
            crops = entry["crops"]
        else:
            try:
                rgb = np.ascontiguousarray(load_photo(path).rgb8())
            except ImageError as exc:
                report.unreadable.append((path, str(exc)))
                continue
            faces = detect_faces(rgb, detector)
            tag = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:10]
            crops = []
            for k, face in enumerate(faces):
                crop = align_face(rgb, face.landmarks_array(), size)[0]
                name = f"{tag}-{k}.png"
                ok, png = cv2.imencode(".png", np.ascontiguousarray(crop[:, :, ::-1]))
                if not ok:  # pragma: no cover - OpenCV always has a PNG encoder
                    raise DataError("PNG encoding failed")
                with atomic_write(cache / name, overwrite=True) as tmp:
                    tmp.write_bytes(png.tobytes())
                crops.append(name)
            index["photos"][key] = {"stamp": stamp, "crops": crops}
        if not crops:
            report.no_face.append(path)
        report.paths.extend(cache / c for c in crops)
    with atomic_open(index_path, "w", overwrite=True) as fh:
        json.dump(index, fh)
    if not report.paths:
        if report.unreadable and not report.no_face:
            raise DataError(f"no readable image in {folder}")
        raise DataError(f"no face found in any of the {len(photos)} photo(s) in {folder}")
    return report


def load_face(path: str | Path, size: int) -> np.ndarray:
    """An image as size x size x 3 uint8 RGB: centre-cropped to a square, then resized (area
    interpolation when shrinking, cubic when enlarging)."""
    from gpen_desktop.core.imageio import load_photo
    from gpen_desktop.core.inference import resize_crop

    rgb = np.ascontiguousarray(load_photo(path).rgb8())
    h, w = rgb.shape[:2]
    if h != w:
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        rgb = rgb[y : y + side, x : x + side]
    return np.ascontiguousarray(resize_crop(rgb, size))


def to_gray3(rgb: np.ndarray) -> np.ndarray:
    """Luma (BT.601) replicated to three channels, uint8."""
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[:, :, None], 3, axis=2)


def recolor(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A colour variant of ``rgb`` (uint8): a white-balance gain per channel (0.8-1.2), a
    saturation change (0.6-1.4 times the distance from grey) and a brightness gain (0.85-1.15).
    Training pairs get the same variant on both sides, so the network has to take a face's
    colours from its input instead of from the few faces it saw."""
    x = rgb.astype(np.float32)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey[:, :, None] + (x - grey[:, :, None]) * rng.uniform(0.6, 1.4)
    x = x * rng.uniform(0.8, 1.2, 3).astype(np.float32) * rng.uniform(0.85, 1.15)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def sample_pair(
    hq: np.ndarray,
    key: tuple[int, int],
    seed: int,
    degrade_config: Any,
    flip_p: float,
    gray_p: float,
    color_p: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(HQ, degraded) uint8 pair for sample ``key = (epoch, index)``; a pure function."""
    from gpen_desktop.core.degrade import degrade

    epoch, index = key
    rng = np.random.default_rng([int(seed), int(epoch), int(index)])
    if rng.random() < flip_p:
        hq = np.ascontiguousarray(hq[:, ::-1])
    degrade_seed = int(rng.integers(0, 2**31 - 1))
    if color_p > 0:  # its own stream: turning it on does not change the other draws
        crng = np.random.default_rng([int(seed), int(epoch), int(index), 1])
        if crng.random() < color_p:
            hq = recolor(hq, crng)
    lq = degrade(hq, seed=degrade_seed, config=degrade_config).image
    if rng.random() < gray_p:
        lq = to_gray3(lq)
    return hq, lq


class FaceDataset:
    """Map-style dataset keyed by ``(epoch, index)``: returns ``(hq, lq)`` float32 tensors
    3 x size x size in [-1, 1]. Degradation runs here, i.e. inside the DataLoader workers."""

    def __init__(
        self,
        paths: Sequence[Path],
        size: int,
        degrade_config: Any,
        seed: int,
        flip_p: float = 0.5,
        gray_p: float = 0.0,
        color_p: float = 0.0,
    ) -> None:
        self.paths = list(paths)
        self.size = size
        self.degrade_config = degrade_config
        self.seed = seed
        self.flip_p = flip_p
        self.gray_p = gray_p
        self.color_p = color_p

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Any, Any]:
        import torch

        epoch, index = key
        try:
            face = load_face(self.paths[index], self.size)
        except ImageError as exc:
            raise DataError(f"cannot read training image: {exc}") from None
        hq, lq = sample_pair(
            face, key, self.seed, self.degrade_config, self.flip_p, self.gray_p, self.color_p
        )

        def tensor(a: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float()
            return t.div_(127.5).sub_(1.0)

        return tensor(hq), tensor(lq)


class StreamSampler:
    """Endless ``(epoch, index)`` keys for this rank, starting after ``start`` samples.

    Each epoch is one pass of a ``DistributedSampler`` (shuffled with the run seed, reshuffled
    per epoch through ``set_epoch``, padded so every rank gets the same count)."""

    def __init__(self, n: int, rank: int, world_size: int, seed: int, start: int = 0) -> None:
        from torch.utils.data import DistributedSampler

        self.inner = DistributedSampler(
            range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed
        )
        self.start = start

    def epoch_and_offset(self, samples: int) -> tuple[int, int]:
        return divmod(samples, len(self.inner))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, skip = self.epoch_and_offset(self.start)
        while True:
            self.inner.set_epoch(epoch)
            for i, index in enumerate(self.inner):
                if i >= skip:
                    yield (epoch, int(index))
            skip = 0
            epoch += 1


def _ignore_sigint(_worker_id: int) -> None:
    """DataLoader workers leave Ctrl+C (sent to the whole terminal process group) to the main
    process, which finishes its step, saves and stops; a worker that died of it would break
    the step in flight."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_loader(
    dataset: FaceDataset,
    batch_size: int,
    workers: int,
    rank: int,
    world_size: int,
    seed: int,
    start: int = 0,
    pin_memory: bool = False,
) -> Any:
    """A DataLoader over ``dataset`` yielding batches of ``(hq, lq)`` forever (from sample
    ``start`` of this rank's stream). Its own torch generator: it never draws from (or shifts)
    the global random state the training step uses."""
    import torch
    from torch.utils.data import DataLoader

    sampler = StreamSampler(len(dataset), rank, world_size, seed, start)
    return DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=batch_size,
        sampler=sampler,  # type: ignore[arg-type]
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=_ignore_sigint if workers > 0 else None,
    )
