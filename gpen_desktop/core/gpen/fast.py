"""Inference runner for a loaded FullGenerator (placeholder: eager forward under inference_mode)."""

from __future__ import annotations

from typing import Any

import numpy as np


def pick_dtype(device: Any, dtype: str = "auto") -> Any:
    import torch

    if dtype == "auto":
        return torch.float16 if torch.device(device).type == "cuda" else torch.float32
    return getattr(torch, dtype)


class FastRunner:
    """Runs ``model`` on uint8 batches on ``device``."""

    def __init__(self, model: Any, device: Any, dtype: str = "auto") -> None:
        import torch

        self.device = torch.device(device)
        self.dtype = pick_dtype(self.device, dtype)
        self.dtype_name = str(self.dtype).replace("torch.", "")
        self.model = model.to(self.device)

    def run(self, x: Any) -> Any:
        import torch

        with torch.inference_mode():
            return self.model(x.float())

    def run_uint8(self, batch_u8: np.ndarray) -> np.ndarray:
        from gpen_desktop.core.inference import to_tensor, to_uint8

        return to_uint8(self.run(to_tensor(batch_u8, self.device)))
