"""Distributed training on PyTorch's own engine (``torchrun``): no launcher, no sockets of ours.

``torchrun --nproc-per-node N -m gpen_desktop train ...`` (one machine) or ``torchrun --nnodes K
--rdzv-backend c10d --rdzv-endpoint HOST:PORT ...`` (several) start one process per rank and
pass ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in the environment, which is all that is read
here. NCCL is used on CUDA, gloo on CPU. Only the generator and the discriminator are wrapped
in ``DistributedDataParallel``; the frozen loss backbones run locally on every rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def from_environment() -> DistInfo:
    """Ranks from torchrun's environment variables (a single process without them)."""

    def read(name: str, default: int) -> int:
        try:
            return int(os.environ.get(name, default))
        except ValueError:
            return default

    world = max(read("WORLD_SIZE", 1), 1)
    rank = read("RANK", 0) if world > 1 else 0
    local = read("LOCAL_RANK", rank) if world > 1 else 0
    return DistInfo(rank, local, world)


def device_for(info: DistInfo, requested: Any) -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` when CUDA is asked for under torchrun."""
    device = torch.device(requested)
    if device.type == "cuda" and info.enabled:
        return torch.device("cuda", info.local_rank % max(torch.cuda.device_count(), 1))
    return device


def init(info: DistInfo, device: torch.device) -> None:
    """Join the process group (``env://`` rendezvous, as torchrun sets up)."""
    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, init_method="env://")


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    """``DistributedDataParallel`` around ``module`` when running distributed, else itself."""
    if not info.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # The blur kernels are the only buffers and never change: no need to broadcast them.
    return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True when ``flag`` is set on any rank (every rank must call it at the same point)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def digests(tensors: list[torch.Tensor], info: DistInfo, device: torch.device) -> list[float]:
    """A checksum of ``tensors`` from every rank (rank order): equal values mean every rank
    holds the same weights."""
    total = torch.zeros(2, dtype=torch.float64, device=device)
    for i, t in enumerate(tensors):
        flat = t.detach().double().flatten()
        total[0] += flat.sum()
        total[1] += (flat * ((i % 7) + 1)).square().sum()
    if not info.enabled:
        return [float(total[0] + total[1])]
    gathered = [torch.zeros_like(total) for _ in range(info.world_size)]
    dist.all_gather(gathered, total)
    return [float(g[0] + g[1]) for g in gathered]
