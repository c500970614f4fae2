"""``gpen bench damage``: how well :mod:`gpen_desktop.core.damage_detect` finds damage.

Real photos that ship in PyPI packages (scikit-image's data, matplotlib's sample data) get
damage rendered on them with known masks: straight and curved scratches of several widths
(1-8 px), contrasts and both polarities, dust specks, a crease, and film grain over all of
it. The measures:

- *recall*: the share of damaged pixels found, a pixel counting as found when a mark lies
  within 1 px of it; per scratch width and contrast, for specks and for the crease. A
  rendered pixel counts as damaged where the line covers at least half of it and its luma
  changed by at least half the scratch's contrast (a white scratch over a white sky is not
  there to find);
- *clean false positives*: the share of a clean photo's pixels marked (the photos as they
  ship, and again with only the film grain added);
- *stray marks*: marks on the damaged photos farther than 2 px from any damage;
- *seconds per megapixel* of the detector alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: scikit-image photos (function names in ``skimage.data``) used when present.
SKIMAGE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "grass", "brick", "text")
#: matplotlib sample photos (file names) used when present.
MATPLOTLIB_PHOTOS = ("grace_hopper.jpg",)

WIDTHS = (1, 2, 3, 5, 8)
CONTRASTS = (20, 40, 80)
GRAIN_SIGMA = 4.0  # film grain, levels (8-bit), luma only


def bench_photos() -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8 RGB) of every bench photo found offline (grey ones as 3 equal
    channels)."""
    out: list[tuple[str, np.ndarray]] = []
    try:
        from skimage import data
    except ImportError:  # pragma: no cover - scikit-image is a dependency
        data = None
    if data is not None:
        for name in SKIMAGE_PHOTOS:
            try:
                img = np.asarray(getattr(data, name)())
            except Exception:  # noqa: BLE001 - a photo the installed version lacks
                continue
            out.append((name, _rgb(img)))
    try:
        import matplotlib.cbook as cbook
        from PIL import Image
    except ImportError:  # pragma: no cover
        return out
    for name in MATPLOTLIB_PHOTOS:
        try:
            with cbook.get_sample_data(name) as fh:
                out.append(
                    (name.rsplit(".", 1)[0], _rgb(np.asarray(Image.open(fh).convert("RGB"))))
                )
        except Exception:  # noqa: BLE001
            continue
    return out


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3].astype(np.uint8))


# --------------------------------------------------------------------------- rendering


@dataclass
class Rendered:
    """A damaged photo and its known masks: ``groups`` name -> HxW bool (e.g. "w2 c40",
    "speck", "crease"); ``any`` the union of everything rendered (drawn, changed or not)."""

    image: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    any: np.ndarray | None = None
    scratches: list[dict[str, Any]] = field(default_factory=list)


def _coverage(shape: tuple[int, int], draw: Callable[[np.ndarray, int], None]) -> np.ndarray:
    """Anti-aliased coverage (0-1 float32) of what ``draw(canvas, scale)`` draws on a
    4x supersampled canvas."""
    import cv2

    s = 4
    h, w = shape
    big = np.zeros((h * s, w * s), np.uint8)
    draw(big, s)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _path(rng: np.random.Generator, h: int, w: int, curved: bool, length: float) -> np.ndarray:
    """Points (N, 2) of a straight or curved path of about ``length`` px inside the photo."""
    cx, cy = rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.2 * h, 0.8 * h)
    theta = rng.uniform(0, math.pi)
    dx, dy = math.cos(theta), math.sin(theta)
    t = np.linspace(-0.5, 0.5, 200) * length
    xs, ys = cx + t * dx, cy + t * dy
    if curved:
        bend = rng.uniform(0.08, 0.2) * length * rng.choice([-1, 1])
        wobble = bend * (1 - (2 * t / length) ** 2)  # a bow
        wobble += rng.uniform(2, 6) * np.sin(t / length * rng.uniform(3, 8) + rng.uniform(0, 6))
        xs, ys = xs - dy * wobble, ys + dx * wobble
    return np.stack([np.clip(xs, 1, w - 2), np.clip(ys, 1, h - 2)], axis=1)


def _apply(img: np.ndarray, alpha: np.ndarray, delta: float) -> np.ndarray:
    out = img.astype(np.float32) + (alpha * delta)[:, :, None]
    return np.clip(out, 0, 255)


def _luma(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def film_grain(shape: tuple[int, int], rng: np.random.Generator, sigma: float = GRAIN_SIGMA):
    """HxW float32 luma grain of standard deviation ``sigma`` levels, slightly clumped."""
    import cv2

    g = rng.standard_normal(shape).astype(np.float32)
    g = cv2.GaussianBlur(g, (0, 0), 0.6)
    return g * np.float32(sigma / max(float(g.std()), 1e-6))


def render_damage(photo: np.ndarray, seed: int, combos: list[tuple[int, int, bool]]) -> Rendered:
    """``photo`` (HxWx3 uint8) with one scratch per (width, contrast, curved) in ``combos``,
    20 specks, a crease and film grain; masks as described in the module docstring."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    img = photo.astype(np.float32)
    anything = np.zeros((h, w), bool)
    groups: dict[str, np.ndarray] = {}
    owner = np.full((h, w), -1, np.int32)
    labels: list[str] = []
    scratches = []

    def add(alpha: np.ndarray, delta: float, label: str, need: float) -> None:
        nonlocal img
        before = _luma(img)
        img = _apply(img, alpha, delta)
        changed = np.abs(_luma(img) - before) >= need
        hit = (alpha >= 0.5) & changed
        anything[alpha > 0.02] = True
        owner[alpha >= 0.5] = -1  # drawn over: the last one owns the pixel
        owner[hit] = len(labels)
        labels.append(label)

    # the crease first: it lies under the rest
    pts = _path(rng, h, w, True, 1.4 * math.hypot(h, w))
    pts[:, 0] += rng.normal(0, 0.8, len(pts))  # a fold's jagged run
    pts[:, 1] += rng.normal(0, 0.8, len(pts))
    cw = int(rng.integers(4, 8))

    def crease_core(c: np.ndarray, s: int) -> None:
        cv2.polylines(c, [np.round(pts * s).astype(np.int32)], False, 255, cw * s, cv2.LINE_AA)

    core = _coverage((h, w), crease_core)
    normal = np.array([pts[-1, 1] - pts[0, 1], pts[0, 0] - pts[-1, 0]])
    normal = normal / max(np.linalg.norm(normal), 1e-6) * (cw * 0.9)
    shadow_pts = pts + normal

    def crease_shadow(c: np.ndarray, s: int) -> None:
        cv2.polylines(
            c,
            [np.round(shadow_pts * s).astype(np.int32)],
            False,
            255,
            max(2, cw // 2) * s,
            cv2.LINE_AA,
        )

    shadow = _coverage((h, w), crease_shadow) * (1 - core)
    vary = 0.75 + 0.25 * np.sin(np.linspace(0, 20, w))[None, :]
    add(core * vary.astype(np.float32), 70.0, "crease", 20.0)
    add(shadow, -45.0, "crease", 15.0)

    for width, contrast, curved in combos:
        length = rng.uniform(0.35, 0.75) * min(h, w)
        pts_s = _path(rng, h, w, curved, length)
        sign = float(rng.choice([-1.0, 1.0]))

        def draw(c: np.ndarray, s: int, p=pts_s, wd=width) -> None:
            cv2.polylines(c, [np.round(p * s).astype(np.int32)], False, 255, wd * s, cv2.LINE_AA)

        alpha = _coverage((h, w), draw)
        add(alpha, sign * contrast, f"w{width} c{contrast}", contrast / 2)
        scratches.append(
            {"width": width, "contrast": contrast, "curved": curved, "bright": sign > 0}
        )

    for _ in range(20):
        d = rng.uniform(2, 7)
        x, y = rng.uniform(4, w - 4), rng.uniform(4, h - 4)
        contrast = rng.uniform(50, 150)
        sign = float(rng.choice([-1.0, 1.0]))
        blobs = [(x + rng.normal(0, d / 4), y + rng.normal(0, d / 4)) for _ in range(3)]

        def speck(c: np.ndarray, s: int, bl=blobs, dd=d) -> None:
            for bx, by in bl:
                cv2.circle(
                    c,
                    (round(bx * s), round(by * s)),
                    max(1, round(dd / 2 * s)),
                    255,
                    -1,
                    cv2.LINE_AA,
                )

        add(_coverage((h, w), speck), sign * contrast, "speck", 20.0)

    img = img + film_grain((h, w), rng)[:, :, None]
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)
    for i, label in enumerate(labels):
        m = owner == i
        groups[label] = groups[label] | m if label in groups else m
    return Rendered(out, groups, anything, scratches)


def scratch_combos(photo_index: int) -> list[tuple[int, int, bool]]:
    """The scratches of the ``photo_index``-th photo: 6 of the width x contrast x shape
    grid, in turn, so every combination appears on several photos."""
    grid = [(w, c, curved) for curved in (False, True) for w in WIDTHS for c in CONTRASTS]
    start = (photo_index * 6) % len(grid)
    return [grid[(start + i) % len(grid)] for i in range(6)]


# --------------------------------------------------------------------------- measuring


@dataclass
class DamageBench:
    photos: list[str]
    megapixels: float
    sensitivity: float
    #: group -> (found pixels, damaged pixels)
    recall: dict[str, tuple[int, int]]
    #: photo -> share of its pixels marked, clean and clean + grain
    clean: dict[str, float]
    grain: dict[str, float]
    stray: float  # share of the damaged photos' pixels marked far from any damage
    seconds_per_mp: float

    def recall_of(self, group: str) -> float | None:
        found, total = self.recall.get(group, (0, 0))
        return found / total if total else None

    def scratch_recall(self, min_width: int, min_contrast: int) -> float | None:
        found = total = 0
        for w in WIDTHS:
            for c in CONTRASTS:
                if w >= min_width and c >= min_contrast:
                    f, t = self.recall.get(f"w{w} c{c}", (0, 0))
                    found, total = found + f, total + t
        return found / total if total else None

    def to_json(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "megapixels": round(self.megapixels, 3),
            "sensitivity": self.sensitivity,
            "recall": {
                k: {"found": f, "damaged": t, "recall": round(f / t, 4) if t else None}
                for k, (f, t) in self.recall.items()
            },
            "scratch_recall_w2_c40": self.scratch_recall(2, 40),
            "clean_flagged": {k: round(v, 6) for k, v in self.clean.items()},
            "clean_flagged_mean": round(float(np.mean(list(self.clean.values()))), 6),
            "grain_flagged": {k: round(v, 6) for k, v in self.grain.items()},
            "grain_flagged_mean": round(float(np.mean(list(self.grain.values()))), 6),
            "stray_share": round(self.stray, 6),
            "seconds_per_megapixel": round(self.seconds_per_mp, 4),
        }


def run_damage_bench(
    sensitivity: float = 0.5,
    photos: list[tuple[str, np.ndarray]] | None = None,
    seed: int = 0,
    detector: str = "classical",
    on_photo: Callable[[str], None] | None = None,
) -> DamageBench:
    """Render, detect and measure every bench photo (see the module docstring)."""
    import cv2

    from gpen_desktop.core.damage_detect import find_damage

    photos = bench_photos() if photos is None else photos
    recall: dict[str, list[int]] = {}
    clean: dict[str, float] = {}
    grain: dict[str, float] = {}
    stray_px = total_px = 0
    seconds = mp = 0.0
    near = np.ones((3, 3), np.uint8)
    for i, (name, photo) in enumerate(photos):
        if on_photo is not None:
            on_photo(name)
        rendered = render_damage(photo, seed * 1000 + i, scratch_combos(i))
        t0 = time.perf_counter()
        found = find_damage(rendered.image, sensitivity, detector=detector).mask
        seconds += time.perf_counter() - t0
        mp += photo.shape[0] * photo.shape[1] / 1e6
        grown = cv2.dilate(found.astype(np.uint8), near) > 0
        for group, truth in rendered.groups.items():
            got = recall.setdefault(group, [0, 0])
            got[0] += int(np.count_nonzero(grown & truth))
            got[1] += int(np.count_nonzero(truth))
        far = cv2.dilate(rendered.any.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
        stray_px += int(np.count_nonzero(found & far))
        total_px += found.size
        clean[name] = find_damage(photo, sensitivity, detector=detector).share
        rng = np.random.default_rng(seed * 1000 + i + 500)
        grainy = np.clip(np.round(photo + film_grain(photo.shape[:2], rng)[:, :, None]), 0, 255)
        grain[name] = find_damage(grainy.astype(np.uint8), sensitivity, detector=detector).share
    order = [f"w{w} c{c}" for w in WIDTHS for c in CONTRASTS] + ["speck", "crease"]
    return DamageBench(
        photos=[n for n, _p in photos],
        megapixels=mp,
        sensitivity=sensitivity,
        recall={k: tuple(recall[k]) for k in order if k in recall},
        clean=clean,
        grain=grain,
        stray=stray_px / max(1, total_px),
        seconds_per_mp=seconds / max(mp, 1e-9),
    )


def _pct(v: float | None) -> str:
    return "   -  " if v is None else f"{v * 100:5.1f}%"


def format_damage_bench(b: DamageBench) -> str:
    """The bench as a plain-text table."""
    lines = [
        f"{len(b.photos)} photos ({', '.join(b.photos)}), {b.megapixels:.2f} MP, "
        f"sensitivity {b.sensitivity:g}",
        "",
        "scratch recall (damaged pixels found within 1 px), by width and contrast (levels):",
        "width " + "".join(f"{c:>8}" for c in CONTRASTS) + "     all",
    ]
    for w in WIDTHS:
        cells = [b.recall_of(f"w{w} c{c}") for c in CONTRASTS]
        f = sum(b.recall.get(f"w{w} c{c}", (0, 0))[0] for c in CONTRASTS)
        t = sum(b.recall.get(f"w{w} c{c}", (0, 0))[1] for c in CONTRASTS)
        lines.append(
            f"{w:>2} px "
            + "".join(f"  {_pct(v)}" for v in cells)
            + f"  {_pct(f / t if t else None)}"
        )
    goal = b.scratch_recall(2, 40)
    mean_clean = float(np.mean(list(b.clean.values()))) if b.clean else 0.0
    max_clean = max(b.clean.values()) if b.clean else 0.0
    mean_grain = float(np.mean(list(b.grain.values()))) if b.grain else 0.0
    lines += [
        f"scratches >= 2 px, >= 40 levels: {_pct(goal)}   (goal >= 90 %)",
        f"specks: {_pct(b.recall_of('speck'))}   crease: {_pct(b.recall_of('crease'))}",
        "",
        "clean photos, share of pixels marked (goal <= 0.5 %):",
        "  " + "  ".join(f"{k} {v * 100:.2f}%" for k, v in b.clean.items()),
        f"  mean {mean_clean * 100:.3f}%, worst {max_clean * 100:.3f}%",
        f"same with film grain only: mean {mean_grain * 100:.3f}%, worst "
        f"{max(b.grain.values()) * 100 if b.grain else 0:.3f}%",
        f"stray marks on the damaged photos (> 2 px from any damage): {b.stray * 100:.3f}%",
        "",
        f"detector: {b.seconds_per_mp:.2f} s per megapixel (goal <= 2 s)",
    ]
    return "\n".join(lines)
