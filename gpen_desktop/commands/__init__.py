"""CLI subcommands. Each module exposes ``register(subparsers)`` and sets ``func`` on its parser.

Modules must keep heavy imports (torch, cv2, dlib, facexlib) inside their ``run`` functions so
``gpen --help`` stays fast. None of them may import Qt.
"""

COMMAND_MODULES = (
    "models",
    "restore",
    "detect",
    "damage",
    "bench",
    "degrade",
    "evaluate",
    "train",
)
