"""Application start-up: QApplication on a qasync event loop, theme, logging, the main window.

``main()`` is the ``gpen-desktop`` entry point (and what ``python main.py`` calls). Torch and the
other heavy modules are not imported here: the window shows first, the worker thread loads them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("gpen_desktop")


def parse_args(argv: list[str]) -> argparse.Namespace:
    from gpen_desktop import __version__

    parser = argparse.ArgumentParser(
        prog="gpen-desktop", description="GPEN Desktop: restore faces in photos."
    )
    parser.add_argument("paths", nargs="*", help="photos or folders to open")
    parser.add_argument("--weights-dir", help="folder with GPEN checkpoints (default: weights/)")
    parser.add_argument(
        "--theme",
        choices=("system", "light", "dark"),
        help="colour theme (default: the one chosen in Settings, else the system's)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action="version", version=f"gpen-desktop {__version__}")
    return parser.parse_args(argv)


def log_file() -> Path | None:
    """Where the GUI writes its log (details behind the short messages the user sees)."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base) / "gpen-desktop.log" if base else None


def setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    root.setLevel(min(level, logging.INFO))
    console = logging.StreamHandler()
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    path = log_file()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
            )
        except OSError:
            return
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)


def install_excepthook(window) -> None:
    """Uncaught exceptions (GUI callbacks, threads, the asyncio loop) are logged with their
    traceback and shown as one short line in the window: never a dialog, never a crash."""

    def show(exc: BaseException) -> None:
        try:  # the notifier logs the traceback and shows plain words
            window.notifier.error(exc)
        except Exception:  # noqa: BLE001 - the hook itself must never fail
            log.error("uncaught exception", exc_info=(type(exc), exc, exc.__traceback__))

    def hook(etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        show(value)

    def thread_hook(args) -> None:
        log.error(
            "uncaught exception in thread %s",
            getattr(args.thread, "name", "?"),
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    def loop_hook(loop, context) -> None:
        exc = context.get("exception")
        if exc is not None:
            show(exc)
        else:
            log.error("asyncio: %s", context.get("message"))

    sys.excepthook = hook
    threading.excepthook = thread_hook
    with contextlib.suppress(RuntimeError):
        asyncio.get_event_loop().set_exception_handler(loop_hook)


async def self_check(window) -> None:
    """``$GPEN_DESKTOP_SELF_CHECK`` (the package smoke test, tests/package): wait for the
    first weights-folder scan, print what the options panel lists and the status line as one
    JSON line on stdout, and close the window (the app then exits 0)."""
    import json

    while window.models.scan_task is None:
        await asyncio.sleep(0.05)
    await window.models.wait_for_scan()
    panel = window.options_panel

    def items(combo) -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    report = {
        "models": items(panel.model),
        "backgrounds": items(panel.sr_model),
        "status": window.activity.text(),
    }
    print(json.dumps(report), flush=True)
    window.close()


async def run_scenario(path: str, window) -> None:
    """``$GPEN_DESKTOP_SCENARIO`` (tests only: the crash-recovery tests drive a real app in a
    subprocess): run ``async def run(window)`` of the Python file at ``path`` on the event
    loop. Nothing happens without the variable."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpen_desktop_scenario", path)
    if spec is None or spec.loader is None:
        log.error("scenario %s cannot be loaded", path)
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    await module.run(window)


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """Start the GUI; returns the exit code."""
    started = time.perf_counter() if started is None else started
    from gpen_desktop.core.runtime import prepare_runtime

    prepare_runtime()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.verbose)

    import qasync
    from PySide6.QtWidgets import QApplication

    from gpen_desktop import __version__
    from gpen_desktop.gui import theme

    theme.configure_high_dpi()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("GPEN Desktop")
    app.setOrganizationName("GPEN Desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("gpen-desktop")
    app.setQuitOnLastWindowClosed(False)
    from gpen_desktop.gui.icons import app_icon

    app.setWindowIcon(app_icon())
    from gpen_desktop.gui import settings as cfg

    theme.apply_theme(app, args.theme or cfg.THEME.read(cfg.app_settings()))

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    from gpen_desktop.gui.main_window import MainWindow

    window = MainWindow(weights_dir=args.weights_dir)
    install_excepthook(window)
    closed = loop.create_future()
    window.closed.connect(lambda: closed.done() or closed.set_result(None))
    window.show()
    shown = time.perf_counter() - started
    log.info("window shown %.2f s after start", shown)
    if os.environ.get("GPEN_DESKTOP_TIMING"):
        print(f"gpen-desktop: window shown {shown:.3f} s after start", file=sys.stderr, flush=True)
    if args.paths:
        window.open_paths(args.paths)
    if os.environ.get("GPEN_DESKTOP_SELF_CHECK"):
        loop.create_task(self_check(window))
    else:
        window.spawn(window.offer_recovery())  # unsaved work a crash left behind
    scenario = os.environ.get("GPEN_DESKTOP_SCENARIO")
    if scenario:
        loop.create_task(run_scenario(scenario, window))
    with loop:
        loop.run_until_complete(closed)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
