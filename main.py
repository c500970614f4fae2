"""GPEN Desktop: ``python main.py [photos or folders…]`` opens the app with those photos."""

import time

STARTED = time.perf_counter()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# Runs from a plain checkout too (without ``pip install -e .``).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpen_desktop.gui.app import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], started=STARTED))
