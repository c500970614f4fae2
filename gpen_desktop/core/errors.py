"""Exceptions whose message is meant for a person: one line, specific, no traceback needed.

Every error class of core lives here (the modules that raise them re-export their own, so
``from gpen_desktop.core.downloads import DownloadError`` keeps working). The one exception
is ``core.gpen.ConfigError`` (a ``ValueError`` about network shapes): ``core.gpen`` is the
bottom layer and imports nothing else from core.
"""

from __future__ import annotations


class GpenError(Exception):
    """Base of every error the CLI and GUI show as a short message."""


class CheckpointError(GpenError):
    """A checkpoint file is missing, unreadable, unsafe or of another architecture."""


class SuperResolutionError(CheckpointError):
    """A file is not a usable super-resolution model (or spandrel is missing)."""


class DownloadError(GpenError):
    """A download failed for a network or disk reason (HTTP error, timeout, DNS, disk full)."""


class DegradeConfigError(GpenError, ValueError):
    """A degradation configuration (file or options) is invalid."""


class TrainConfigError(GpenError, ValueError):
    """A training option or configuration file is invalid."""


class DataError(GpenError):
    """The training or validation images cannot be used (message names the problem)."""


class LossSetupError(GpenError):
    """A loss term cannot be set up (with ``--strict-losses``: a missing backbone)."""


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


class RecoveryError(GpenError):
    """A recovery copy of unsaved work cannot be written or read back."""
