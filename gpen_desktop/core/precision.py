"""The network precisions a user can choose (no torch import: the CLI's --help uses these).

The list and its help text live in the option table (:mod:`gpen_desktop.core.options`)."""

from __future__ import annotations

from gpen_desktop.core.options import PRECISION_HELP, PRECISIONS

__all__ = ["PRECISIONS", "PRECISION_HELP"]
