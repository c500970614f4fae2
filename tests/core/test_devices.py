"""Device choice and the out-of-memory fallback (CPU-runnable)."""

from __future__ import annotations

import pytest
import torch

from gpen_desktop.core import devices
from gpen_desktop.core.errors import DeviceError


def test_auto_and_cpu():
    assert devices.resolve_device("cpu").type == "cpu"
    auto = devices.resolve_device("auto")
    expected = (
        "cuda" if torch.cuda.is_available() else "mps" if devices._mps_available(torch) else "cpu"
    )
    assert auto.type == expected
    ids = [d for d, _ in devices.available_devices()]
    assert ids[:2] == ["auto", "cpu"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_absent_devices_are_clear_errors():
    for name in ("cuda", "cuda:3", "gpu"):
        with pytest.raises(DeviceError, match="cpu"):
            devices.resolve_device(name)
    with pytest.raises(DeviceError, match="unknown device"):
        devices.resolve_device("tpu")


def test_out_of_memory_falls_back_to_cpu(monkeypatch):
    notes = []
    calls = []

    def fn(device):
        calls.append(device.type)
        if device.type != "cpu":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return "ok"

    monkeypatch.setattr(devices, "describe", lambda d: "CUDA 0: test GPU")
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    result, used = devices.run_with_fallback(fn, torch.device("cuda", 0), notes.append)
    assert (result, used.type, calls) == ("ok", "cpu", ["cuda", "cpu"])
    assert "out of memory" in notes[0]


def test_other_errors_are_not_swallowed():
    def fn(device):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        devices.run_with_fallback(fn, torch.device("cpu"))
