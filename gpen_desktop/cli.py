"""``gpen``: the headless command line over gpen_desktop.core (never imports Qt)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from gpen_desktop import __version__
from gpen_desktop.commands import COMMAND_MODULES
from gpen_desktop.commands._output import say
from gpen_desktop.core.errors import GpenError
from gpen_desktop.core.runtime import prepare_runtime

log = logging.getLogger("gpen")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpen",
        description="Restore faces in photos with GPEN models (headless).",
    )
    parser.add_argument("--version", action="version", version=f"gpen {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"gpen_desktop.commands.{name}")
        except ModuleNotFoundError as exc:  # a command still being built
            if exc.name == f"gpen_desktop.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    prepare_runtime()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose > 1
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="%(levelname)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GpenError as exc:
        say(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
