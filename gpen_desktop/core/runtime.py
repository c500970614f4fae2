"""Process-wide settings for fast CPU inference, made once at an entry point (CLI, GUI).

- OpenMP worker threads normally spin after each parallel region; on machines with few cores
  that steals the CPU from NNPACK's own thread pool (the fast path's 3x3 convolutions).
  Passive waiting must be chosen before torch is first imported.
- glibc hands every allocation above 32 MB (then a dynamic threshold) straight to ``mmap`` and
  gives it back on free, so each large activation costs fresh, zero-filled pages: on 2 cores
  this made the kernel's page-fault work as large as the network's own (5.5 s sys for 6 s
  user). Keeping large blocks in the heap lets PyTorch reuse them across layers and faces;
  :func:`release_memory` returns the memory to the system after a run.

A value the user set in the environment wins; ``GPEN_NO_RUNTIME_TUNING=1`` turns all of it off
(to measure a default process). Nothing here is required for correctness.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 2**31 - 1  # mallopt takes a C int
_libc: ctypes.CDLL | None = None
_tuned = False


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim"):
                _libc = lib
        except OSError:  # pragma: no cover - musl or an unusual libc
            _libc = None
    return _libc


def tune_allocator() -> bool:
    """Keep large freed blocks for reuse (glibc only). Returns True when applied."""
    global _tuned
    if _tuned:
        return True
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES) == 1 and ok
    _tuned = ok
    log.debug("allocator tuned for reuse: %s", ok)
    return ok


def release_memory() -> None:
    """Give freed heap memory back to the system (after a run; cheap, glibc only)."""
    libc = _glibc() if _tuned else None
    if libc is not None:
        libc.malloc_trim(0)


def prepare_runtime() -> None:
    """Call at the top of an entry point, before anything imports torch."""
    if os.environ.get("GPEN_NO_RUNTIME_TUNING"):
        return
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    tune_allocator()
