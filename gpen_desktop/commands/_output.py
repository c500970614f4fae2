"""The one way the ``gpen`` commands write text: :func:`say` never raises.

File names on POSIX are bytes; Python hands undecodable ones (a ``\\xff`` byte) to us as lone
surrogates, which a strict UTF-8 stdout (``PYTHONIOENCODING=utf-8:strict``, most desktop
locales) refuses with ``UnicodeEncodeError`` - after the work is done, and in the middle of a
folder run. :func:`printable` turns such names into ``\\xff`` escapes, and :func:`say` also
escapes whatever the stream's encoding cannot hold and swallows a closed or broken stream.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any


def printable(value: Any) -> str:
    """``value`` as text that every encoding can write: paths and bytes through
    ``os.fsdecode``, undecodable bytes and lone surrogates as backslash escapes."""
    if isinstance(value, (bytes, os.PathLike)):
        value = os.fsdecode(value)
    text = str(value)
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def say(*parts: Any, file: IO[str] | None = None, end: str = "\n", flush: bool = False) -> None:
    """``print(*parts)`` that never raises: undecodable names and characters the stream's
    encoding lacks are escaped; a closed or broken stream (``BrokenPipeError``) is ignored."""
    stream = sys.stdout if file is None else file
    text = " ".join(printable(p) for p in parts) + end
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text = text.encode(encoding, "backslashreplace").decode(encoding, "replace")
    except LookupError:
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    try:
        stream.write(text)
        if flush:
            stream.flush()
    except (OSError, ValueError, UnicodeError):
        pass


def error(source: Any, message: Any) -> None:
    """One line on stderr: ``error: SOURCE: MESSAGE``."""
    say(f"error: {printable(source)}: {printable(message)}", file=sys.stderr)
