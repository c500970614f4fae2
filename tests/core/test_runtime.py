"""Process tuning at entry points: opt-out, idempotence, memory release."""

from __future__ import annotations

import subprocess
import sys

from gpen_desktop.core import runtime

CODE = """
import os, sys
from gpen_desktop.core import runtime
runtime.prepare_runtime()
print(os.environ.get("OMP_WAIT_POLICY"), runtime._tuned, "torch" in sys.modules)
"""


def _run(env_extra: dict[str, str]) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MALLOC_", "GPEN_NO"))}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          check=True, env=env).stdout.split()  # fmt: skip


def test_entry_point_tuning_and_opt_out():
    omp, tuned, torch_loaded = _run({})
    assert omp == "PASSIVE" and torch_loaded == "False"
    assert tuned == ("True" if sys.platform.startswith("linux") else "False")
    assert _run({"GPEN_NO_RUNTIME_TUNING": "1"})[:2] == ["None", "False"]
    assert _run({"OMP_WAIT_POLICY": "ACTIVE"})[0] == "ACTIVE"  # the user's choice wins
    assert _run({"MALLOC_TRIM_THRESHOLD_": "131072"})[1] == "False"


def test_release_memory_is_safe_any_time():
    runtime.release_memory()
    runtime.tune_allocator()
    assert runtime.tune_allocator() is runtime._tuned
    runtime.release_memory()
