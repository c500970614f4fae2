"""Validation during training: ``g_ema`` on held-out faces, scored with ``core.metrics`` (PSNR,
SSIM, identity and LPIPS when available, as ``gpen evaluate`` scores them) and drawn as a contact
sheet ``RUN/val/step_NNNNNN.png`` (HQ | degraded | restored, one face per row)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gpen_desktop.core.training.data import load_face


class Validator:
    """Faces from ``paths`` (the first ``limit``), each degraded once with seed ``seed + i``."""

    def __init__(self, paths: list[Path], size: int, degrade_config: Any, seed: int, limit: int):
        from gpen_desktop.core.degrade import degrade

        self.names = [p.name for p in paths[:limit]]
        self.hq = [load_face(p, size) for p in paths[:limit]]
        self.lq = [
            degrade(hq, seed=seed + i, config=degrade_config).image for i, hq in enumerate(self.hq)
        ]

    def run(self, model: Any, device: Any, step: int, out_dir: Path, identity: bool = True) -> dict:
        """Restore, score, write the sheet. Returns ``{"psnr", "ssim", ..., "sheet"}`` where
        each metric has its ``degraded`` and ``restored`` means."""
        import cv2
        import torch

        from gpen_desktop.core.evaluate import contact_sheet
        from gpen_desktop.core.fileio import atomic_write
        from gpen_desktop.core.inference import to_tensor, to_uint8
        from gpen_desktop.core.metrics import compare

        was_training = model.training
        model.eval()
        restored = []
        with torch.no_grad():
            for lq in self.lq:
                restored.append(to_uint8(model(to_tensor(lq[None], device)))[0])
        model.train(was_training)
        sums: dict[str, dict[str, list[float]]] = {}
        rows = []
        for name, hq, lq, out in zip(self.names, self.hq, self.lq, restored, strict=True):
            scores = {
                "degraded": compare(lq, hq, identity=identity, lpips=True),
                "restored": compare(out, hq, identity=identity, lpips=True),
            }
            for variant, values in scores.items():
                for key, value in values.items():
                    if value is not None:
                        sums.setdefault(key, {}).setdefault(variant, []).append(float(value))
            r, d = scores["restored"], scores["degraded"]
            rows.append(
                [
                    (hq, [name]),
                    (lq, [f"PSNR {d['psnr']:.2f}  SSIM {d['ssim']:.3f}"]),
                    (out, [f"PSNR {r['psnr']:.2f}  SSIM {r['ssim']:.3f}"]),
                ]
            )
        result: dict[str, Any] = {
            key: {variant: float(np.mean(v)) for variant, v in variants.items()}
            for key, variants in sums.items()
        }
        sheet = contact_sheet(["HQ", "degraded", "restored"], rows, title=f"step {step}")
        ok, png = cv2.imencode(".png", np.ascontiguousarray(sheet[:, :, ::-1]))
        path = out_dir / f"step_{step:06d}.png"
        if ok:
            with atomic_write(path, overwrite=True, parents=True) as tmp:
                tmp.write_bytes(png.tobytes())
            result["sheet"] = str(path)
        return result
