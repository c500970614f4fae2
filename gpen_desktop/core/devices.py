"""Compute device choice: auto (CUDA, then Apple MPS, then CPU) or an explicit one.

``run_with_fallback`` retries a CUDA run on the CPU when the GPU runs out of memory.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from gpen_desktop.core.errors import DeviceError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|gpu|mps)$")


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(name: str = "auto") -> Any:
    """A ``torch.device`` for ``auto|cpu|cuda|cuda:N|gpu|mps``; DeviceError if it is absent."""
    import torch

    name = (name or "auto").strip().lower()
    if not DEVICE_PATTERN.match(name):
        raise DeviceError(f"unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available(torch):
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "gpu":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available(torch):
            return torch.device("mps")
        raise DeviceError(
            "no GPU found on this machine (neither CUDA nor Apple MPS); use --device cpu"
        )
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but no CUDA GPU is available; use --device cpu")
        index = int(name.split(":")[1]) if ":" in name else torch.cuda.current_device()
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(f"{name} was requested but this machine has {count} CUDA device(s)")
        return torch.device("cuda", index)
    if not _mps_available(torch):
        raise DeviceError("Apple MPS was requested but is not available here; use --device cpu")
    return torch.device("mps")


def available_devices() -> list[tuple[str, str]]:
    """(id, label) for every device that exists here, 'auto' first."""
    import torch

    auto = resolve_device("auto")
    devices = [("auto", f"Auto ({describe(auto)})"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            devices.append((f"cuda:{i}", f"GPU {i}: {torch.cuda.get_device_name(i)}"))
    if _mps_available(torch):
        devices.append(("mps", "GPU: Apple MPS"))
    return devices


def describe(device: Any) -> str:
    """A short human label: 'CPU (2 threads)', 'CUDA 0: NVIDIA H100'."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return f"CUDA {idx}: {torch.cuda.get_device_name(idx)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and "out of memory" in text


def run_with_fallback(
    fn: Callable[[Any], T], device: Any, on_fallback: Callable[[str], None] | None = None
) -> tuple[T, Any]:
    """Run ``fn(device)``; if a GPU runs out of memory, free it and run ``fn(cpu)`` instead.

    Returns (result, device actually used). The fallback is logged as a warning and reported
    through ``on_fallback(note)``.
    """
    import torch

    device = torch.device(device)
    try:
        return fn(device), device
    except Exception as exc:
        if device.type == "cpu" or not is_out_of_memory(exc):
            raise
        note = f"{describe(device)} ran out of memory; this run continued on the CPU"
        log.warning(note)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if on_fallback:
            on_fallback(note)
        cpu = torch.device("cpu")
        return fn(cpu), cpu


def free_memory(device: Any = "cpu") -> int | None:
    """Bytes free for new allocations on ``device``: a CUDA GPU's free memory, or the system's
    available RAM for the CPU and Apple MPS (Linux ``MemAvailable``, else the free pages).
    None when it cannot be told."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None
