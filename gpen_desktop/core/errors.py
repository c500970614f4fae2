"""Exceptions whose message is meant for a person: one line, specific, no traceback needed."""

from __future__ import annotations


class GpenError(Exception):
    """Base of every error the CLI and GUI show as a short message."""


class CheckpointError(GpenError):
    """A checkpoint file is missing, unreadable, unsafe or of another architecture."""


class ImageError(GpenError):
    """A photo cannot be read or written (corrupt, unsupported, too large, exists)."""


class DeviceError(GpenError):
    """A requested compute device does not exist on this machine."""


class FaceError(GpenError):
    """Detection or alignment failed in a way the user must hear about."""


class Cancelled(GpenError):  # noqa: N818 - reads well at call sites: ``except Cancelled``
    """The user cancelled a run; nothing partial was produced."""


class SessionError(GpenError):
    """A session sidecar (``photo.jpg.gpen.json``) cannot be read, or was made by a newer app."""
