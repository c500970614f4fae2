"""``gpen restore`` sharded across the processes of a ``torchrun`` job.

``python -m torch.distributed.run --nproc-per-node N -m gpen_desktop restore INPUT… -o OUT``
starts N copies of the command. Each reads its place from the environment torchrun sets
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``; no ``--local_rank`` flag, no launcher or sockets of
ours), restores its share of the inputs on its own GPU (``cuda:LOCAL_RANK``) or on the CPU,
and skips outputs that already exist, so a killed job is simply started again. At the end the
ranks exchange their reports through ``torch.distributed`` (gloo, over the rendezvous torchrun
set up) and rank 0 prints the merged summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

#: How long rank 0 waits at the end for the slowest rank (torchrun stops every rank anyway
#: when one dies); ``GPEN_SHARD_TIMEOUT_S`` changes it.
DEFAULT_TIMEOUT_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Shard:
    """This process's place in the job: ``rank`` of ``world_size``, GPU ``local_rank``."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def shard_from_env(environ: Mapping[str, str] | None = None) -> Shard | None:
    """The :class:`Shard` torchrun describes in the environment, or None outside a
    multi-process job (no ``WORLD_SIZE`` or ``WORLD_SIZE=1``). GpenError for values that are
    not whole numbers or a rank outside the world."""
    from gpen_desktop.core.errors import GpenError

    env = os.environ if environ is None else environ
    if not env.get("WORLD_SIZE"):
        return None

    def number(name: str, default: str | None = None) -> int:
        raw = env.get(name, default)
        try:
            return int(str(raw))
        except ValueError:
            raise GpenError(f"{name}={raw!r} in the environment is not a whole number") from None

    world = number("WORLD_SIZE")
    if world <= 1:
        return None
    if "RANK" not in env:
        raise GpenError("WORLD_SIZE is set but RANK is not: start sharded runs with torchrun")
    rank = number("RANK")
    if not 0 <= rank < world:
        raise GpenError(f"RANK {rank} is outside WORLD_SIZE {world}")
    return Shard(rank, world, number("LOCAL_RANK", "0"))


def assign(outputs: Sequence[Path | None], shard: Shard) -> list[int]:
    """Indices of the inputs this rank restores: inputs are grouped by output path (two inputs
    that would write one file stay on one rank, in order) and the groups dealt round-robin in
    input order, so every output has exactly one writer and the ranks get near-equal shares."""
    groups: dict[Any, list[int]] = {}
    for i, out in enumerate(outputs):
        key = ("none", i) if out is None else os.path.normcase(os.path.abspath(out))
        groups.setdefault(key, []).append(i)
    mine: list[int] = []
    for n, members in enumerate(groups.values()):
        if n % shard.world_size == shard.rank:
            mine += members
    return sorted(mine)


def shard_device(device: str, shard: Shard) -> str:
    """The device of this rank: ``auto``/``cuda`` become ``cuda:LOCAL_RANK`` (modulo the GPUs
    present) when CUDA is available; anything else (``cpu``, ``cuda:N``, ``mps``) as given."""
    name = (device or "auto").strip().lower()
    if name not in ("auto", "cuda", "gpu"):
        return device
    import torch

    if not torch.cuda.is_available():
        return device
    return f"cuda:{shard.local_rank % torch.cuda.device_count()}"


class Exchange:
    """The reports' way back to rank 0: a gloo process group over torchrun's rendezvous,
    opened once at the start (so a broken job environment fails before any work)."""

    def __init__(self, shard: Shard) -> None:
        from gpen_desktop.core.errors import GpenError

        self.shard = shard
        missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
        if missing:
            raise GpenError(
                f"{' and '.join(missing)} not set: sharded runs start through torchrun "
                "(python -m torch.distributed.run --nproc-per-node N -m gpen_desktop restore …)"
            )
        import torch.distributed as dist

        self._dist = dist
        self._owned = not dist.is_initialized()
        if self._owned:
            seconds = float(os.environ.get("GPEN_SHARD_TIMEOUT_S", DEFAULT_TIMEOUT_S))
            dist.init_process_group("gloo", timeout=timedelta(seconds=seconds))

    def gather(self, payload: Any) -> list[Any] | None:
        """Every rank's ``payload`` in rank order on rank 0 (None on the others)."""
        out: list[Any] | None = [None] * self.shard.world_size if self.shard.is_main else None
        self._dist.gather_object(payload, out, dst=0)
        return out

    def close(self) -> None:
        if self._owned and self._dist.is_initialized():
            self._dist.destroy_process_group()
