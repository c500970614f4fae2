"""Core keeps one home for its error classes (core/errors.py) and its callback types
(core/types.py); modules that raise an error re-export it under its old name."""

from __future__ import annotations

import ast
from pathlib import Path

import gpen_desktop.core as core
from gpen_desktop.core import degrade, downloads, errors, superres

CORE = Path(core.__file__).parent


def _modules():
    for path in sorted(CORE.rglob("*.py")):
        yield path.relative_to(CORE).as_posix(), ast.parse(path.read_text("utf-8"))


def test_error_classes_live_in_errors_py():
    strays = []
    for name, tree in _modules():
        if name in ("errors.py", "gpen/config.py"):  # core.gpen may not import core.errors
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if any(b.endswith(("Error", "Exception")) or b == "Cancelled" for b in bases):
                    strays.append(f"{name}: {node.name}")
    assert strays == []


def test_callback_aliases_live_in_types_py():
    strays = []
    for name, tree in _modules():
        if name in ("types.py", "faces/detect.py"):  # detect's fraction progress: see notes
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith(("ProgressFn", "CancelFn"))
                for t in node.targets
            ):
                strays.append(f"{name}: {ast.unparse(node.targets[0])}")
    assert strays == []


def test_old_import_paths_still_work():
    assert downloads.DownloadError is errors.DownloadError
    assert superres.SuperResolutionError is errors.SuperResolutionError
    assert issubclass(errors.SuperResolutionError, errors.CheckpointError)
    assert degrade.DegradeConfigError is errors.DegradeConfigError
    assert issubclass(errors.DegradeConfigError, ValueError)
