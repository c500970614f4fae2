"""The network precisions a user can choose (no torch import: the CLI's --help uses these)."""

from __future__ import annotations

#: ``auto`` picks per device (see :func:`gpen_desktop.core.inference.pick_dtype`).
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
PRECISION_HELP = (
    "network precision: auto = bfloat16 on CPUs with AMX or AVX512-BF16 (several times faster, "
    "within 2 of 255 levels of float32), float16 on CUDA, float32 elsewhere; float32 = exact"
)
