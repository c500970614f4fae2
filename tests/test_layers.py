"""Layering: core and the CLI never load Qt; the CLI's --help does not import torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import gpen_desktop.core

SCRIPT = """
import importlib, pkgutil, sys
import gpen_desktop.core, gpen_desktop.cli, gpen_desktop.commands
names = [m.name for m in pkgutil.walk_packages(gpen_desktop.core.__path__, "gpen_desktop.core.")]
names += ["gpen_desktop.commands." + n for n in gpen_desktop.commands.COMMAND_MODULES]
for name in names:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "qasync"))
print("MODULES", len(names))
print("QT", qt)
"""


def test_core_and_cli_never_import_qt():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert "QT []" in out.stdout, out.stdout
    n = int(out.stdout.split("MODULES")[1].split()[0])
    # With the prefix, so subpackages are imported as ours (a bare "imageio" is PyPI's).
    core = list(pkgutil.walk_packages(gpen_desktop.core.__path__, "gpen_desktop.core."))
    assert n >= len(core)


def test_cli_help_is_light():
    code = "import sys; from gpen_desktop.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
