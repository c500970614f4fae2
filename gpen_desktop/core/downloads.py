"""Resumable, verified downloads of model checkpoints into a weights folder (stdlib only).

:func:`download` streams into ``<name>.part`` (resuming with an HTTP Range request when a
partial file exists), checks that the finished file really is the model it claims to be
(:func:`gpen_desktop.core.models.verify_download`), then atomically renames it and records
its SHA-256 in ``checksums.json`` beside it. No checksums are published for the GPEN models, so
the first verified download is the reference ("trust on first use").

Nothing here runs at import time, and nothing imports Qt.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import http.client
import json
import logging
import shutil
import socket
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from gpen_desktop import __version__
from gpen_desktop.core.catalog import KnownModel, known_model
from gpen_desktop.core.errors import Cancelled, CheckpointError, DownloadError, GpenError
from gpen_desktop.core.fileio import atomic_open, move_into_place
from gpen_desktop.core.models import identify, verify_download
from gpen_desktop.core.types import ByteProgressFn, CancelFn

log = logging.getLogger(__name__)

#: Bytes read per network read; also how often ``cancel`` is polled and ``progress`` called.
CHUNK_SIZE = 256 * 1024
#: Name of the checksum registry kept in each weights folder.
CHECKSUMS_FILE = "checksums.json"
PART_SUFFIX = ".part"
USER_AGENT = f"gpen-desktop/{__version__} (+python-urllib)"


_registry_lock = threading.Lock()


# --------------------------------------------------------------------------- helpers


def part_path(dest: str | Path) -> Path:
    """Where the partial download of ``dest`` is kept: ``<dest>.part``."""
    dest = Path(dest)
    return dest.with_name(dest.name + PART_SUFFIX)


def partial_bytes(dest: str | Path) -> int:
    """Size in bytes of the ``.part`` file kept for ``dest`` (0 when there is none)."""
    try:
        return part_path(dest).stat().st_size
    except OSError:
        return 0


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f} MB"


def _host(url: str) -> str:
    return urlparse(url).hostname or url


def _filename_from_url(url: str) -> str:
    parsed = urlparse(url)
    for part in parsed.query.split("&"):  # ModelScope style: ...?FilePath=pytorch_model.pt
        key, _, value = part.partition("=")
        if key.lower() == "filepath" and value:
            return Path(unquote(value)).name
    name = Path(unquote(parsed.path)).name
    return name or "download.pth"


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """Parse ``bytes START-END/TOTAL`` or ``bytes */TOTAL`` into (start, total)."""
    if not value or not value.strip().lower().startswith("bytes"):
        return None, None
    spec = value.strip()[5:].strip()
    rng, _, total_s = spec.partition("/")
    total = int(total_s) if total_s.strip().isdigit() else None
    start_s = rng.partition("-")[0].strip()
    start = int(start_s) if start_s.isdigit() else None
    return start, total


def _network_message(exc: BaseException, url: str, timeout: float) -> str:
    host = _host(url)
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return f"cannot find server {host} (name lookup failed; offline or DNS problem?)"
    if isinstance(reason, TimeoutError):
        return f"{host} did not answer within {timeout:g} s (timed out)"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection"
    if isinstance(reason, ConnectionResetError):
        return f"{host} reset the connection"
    if isinstance(reason, ssl.SSLError):
        return f"secure connection to {host} failed ({getattr(reason, 'reason', None) or reason})"
    text = str(reason).strip() or type(reason).__name__
    return f"cannot download from {host}: {text}"


def _http_message(exc: urllib.error.HTTPError, url: str) -> str:
    reason = (exc.reason or "").strip() if isinstance(exc.reason, str) else ""
    return f"server answered HTTP {exc.code}{' ' + reason if reason else ''} for {url}"


def _disk_message(exc: OSError, path: Path) -> str | None:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"disk full while writing {path.name} in {path.parent}; free some space and retry"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write to {path.parent}: permission denied"
    return None


def _check_cancel(cancel: CancelFn | None, part: Path) -> None:
    if cancel is not None and cancel():
        kept = part.stat().st_size if part.exists() else 0
        note = f"; {_mb(kept)} kept to resume later" if kept else ""
        raise Cancelled(f"download cancelled{note}")


# --------------------------------------------------------------------------- checksum registry


def sha256_file(path: str | Path, cancel: CancelFn | None = None) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (``cancel`` polled per block)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if cancel is not None and cancel():
                raise Cancelled("checksum cancelled")
            digest.update(block)
    return digest.hexdigest()


def read_checksums(folder: str | Path) -> dict[str, dict]:
    """``{file name: {"sha256", "bytes", "model", "url", "recorded"}}`` from ``checksums.json``.

    A missing or unreadable registry reads as empty (logged), never as an error.
    """
    path = Path(folder) / CHECKSUMS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable checksum registry %s: %s", path, exc)
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def record_checksum(
    path: str | Path, sha256: str, *, url: str | None = None, model: str | None = None
) -> bool:
    """Remember ``sha256`` for ``path`` in its folder's ``checksums.json``.

    Returns True when the record is new or changed, False when the same hash was already
    recorded. A different earlier hash is replaced with a logged warning (the registry
    describes the files on disk).
    """
    path = Path(path)
    registry = path.parent / CHECKSUMS_FILE
    with _registry_lock:
        files = read_checksums(path.parent)
        old = files.get(path.name)
        if old and old.get("sha256") == sha256:
            return False
        if old:
            log.warning(
                "%s changed: recorded SHA-256 %s…, now %s…",
                path.name,
                old["sha256"][:12],
                sha256[:12],
            )
        files[path.name] = {
            "sha256": sha256,
            "bytes": path.stat().st_size,
            "model": model,
            "url": url,
            "recorded": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        with atomic_open(registry, "w", overwrite=True) as fh:
            fh.write(json.dumps({"version": 1, "files": files}, indent=2) + "\n")
    return True


def verify_checksum(path: str | Path) -> bool | None:
    """Whether ``path`` still has the SHA-256 recorded for it (None when nothing is recorded)."""
    path = Path(path)
    entry = read_checksums(path.parent).get(path.name)
    if not entry or "sha256" not in entry:
        return None
    return sha256_file(path) == entry["sha256"]


# --------------------------------------------------------------------------- the download


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - scheme checked


def _stream(
    response: http.client.HTTPResponse,
    part: Path,
    *,
    append: bool,
    done: int,
    total: int | None,
    progress: ByteProgressFn | None,
    cancel: CancelFn | None,
    url: str,
    timeout: float,
) -> int:
    """Copy the body into ``part``; returns the bytes now in it."""
    if total is not None:
        free = shutil.disk_usage(part.parent).free
        if total - done > free:
            raise DownloadError(
                f"not enough disk space in {part.parent}: need {_mb(total - done)}, "
                f"{_mb(free)} free"
            )
    if progress is not None:
        progress(done, total)
    try:
        with open(part, "ab" if append else "wb") as fh:
            while True:
                _check_cancel(cancel, part)
                try:
                    chunk = response.read(CHUNK_SIZE)
                except TimeoutError:
                    raise DownloadError(
                        f"{_host(url)} stopped sending data for {timeout:g} s after "
                        f"{_mb(done)}; download again to resume"
                    ) from None
                except (http.client.HTTPException, OSError) as exc:
                    raise DownloadError(
                        f"connection to {_host(url)} lost after {_mb(done)} "
                        f"({type(exc).__name__}); download again to resume"
                    ) from None
                if not chunk:
                    break
                try:
                    fh.write(chunk)
                except OSError as exc:
                    raise DownloadError(
                        _disk_message(exc, part) or f"cannot write {part.name}: {exc.strerror}"
                    ) from None
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except OSError as exc:  # opening or closing (flushing) the .part
        raise DownloadError(
            _disk_message(exc, part) or f"cannot write {part.name}: {exc.strerror or exc}"
        ) from None
    if total is not None and done < total:
        raise DownloadError(
            f"{_host(url)} closed the connection after {_mb(done)} of {_mb(total)}; "
            "download again to resume"
        )
    if total is not None and done > total:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{_host(url)} sent more data than announced ({done} > {total} bytes); "
            "the partial file was removed, download again"
        )
    return done


def _fetch(
    url: str,
    part: Path,
    *,
    progress: ByteProgressFn | None,
    cancel: CancelFn | None,
    timeout: float,
) -> None:
    """Bring ``part`` to the complete file, resuming when it already holds a prefix."""
    offset = part.stat().st_size if part.exists() else 0
    for _attempt in range(3):
        _check_cancel(cancel, part)
        try:
            response = _open(url, offset, timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 416 and offset:
                    _, total = _content_range(exc.headers.get("Content-Range"))
                    if total == offset:  # the .part already holds the whole file
                        if progress is not None:
                            progress(offset, total)
                        return
                    log.info("Server refused to resume %s at %d; starting over", part.name, offset)
                    part.unlink(missing_ok=True)
                    offset = 0
                    continue
                raise DownloadError(_http_message(exc, url)) from None
        except urllib.error.URLError as exc:
            raise DownloadError(_network_message(exc, url, timeout)) from None
        except (TimeoutError, ConnectionError, http.client.HTTPException, ssl.SSLError) as exc:
            raise DownloadError(_network_message(exc, url, timeout)) from None

        with response:
            length = response.headers.get("Content-Length")
            length_n = int(length) if length and length.strip().isdigit() else None
            if offset and response.status == 206:
                start, total = _content_range(response.headers.get("Content-Range"))
                if start != offset:
                    log.info(
                        "Server resumed %s at %s, not %d; starting over", part.name, start, offset
                    )
                    part.unlink(missing_ok=True)
                    offset = 0
                    continue
                if total is None and length_n is not None:
                    total = offset + length_n
                append = True
            else:
                if offset:
                    log.info("Server ignored the Range request for %s; starting over", part.name)
                offset = 0
                total = length_n
                append = False
            _stream(
                response,
                part,
                append=append,
                done=offset,
                total=total,
                progress=progress,
                cancel=cancel,
                url=url,
                timeout=timeout,
            )
        return
    raise DownloadError(f"{_host(url)} kept answering with unusable byte ranges; try again later")


def download(
    url: str,
    dest_path: str | Path,
    *,
    expected_model: KnownModel | str | None = None,
    progress: ByteProgressFn | None = None,
    cancel: CancelFn | None = None,
    timeout: float = 30,
) -> Path:
    """Download ``url`` to ``dest_path``, verify what it is, and return the final path.

    ``dest_path`` is the final file (or an existing folder: the model's file name, else the
    URL's, is used inside it). Data goes to ``<dest>.part`` first; an existing ``.part`` is
    resumed with an HTTP Range request (a server that ignores Range makes it start over).

    ``progress(bytes_done, bytes_total_or_None)`` is called from the calling thread after every
    chunk (:data:`CHUNK_SIZE`); ``cancel()`` is polled as often and, when it returns True,
    :class:`~gpen_desktop.core.errors.Cancelled` is raised with the ``.part`` kept for resuming.
    ``timeout`` (seconds) bounds connecting and each network read.

    The finished file must load as ``expected_model`` (a :class:`KnownModel` or its name:
    same size, channel multiplier and narrow for a GPEN restorer, or the same kind for a
    detector/parsing model); with ``expected_model=None`` it must merely be a usable model.
    Otherwise it is deleted and :class:`CheckpointError` raised. Only then is it renamed to
    ``dest`` (atomically, replacing an older file) and its SHA-256 recorded in
    ``checksums.json`` in the same folder.

    Raises DownloadError (HTTP errors, timeouts, DNS failures, disk full), CheckpointError,
    Cancelled.
    """
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise DownloadError(f"only http(s) downloads are supported, not {scheme or 'this'}: {url}")
    expected = known_model(expected_model) if isinstance(expected_model, str) else expected_model
    dest = Path(dest_path).expanduser()
    if dest.is_dir():
        dest = dest / (expected.filename if expected else _filename_from_url(url))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            _disk_message(exc, dest) or f"cannot create {dest.parent}: {exc.strerror}"
        ) from None
    part = part_path(dest)
    log.info("Downloading %s -> %s (resume from %d bytes)", url, dest, partial_bytes(dest))

    _fetch(url, part, progress=progress, cancel=cancel, timeout=timeout)
    _check_cancel(cancel, part)

    what = expected.name if expected else "a model"
    try:
        if expected is not None:
            found = verify_download(part, expected)
        else:
            found = identify(part)
            if found.kind == "invalid":
                raise CheckpointError(f"downloaded file is not usable: {found.error}")
    except CheckpointError as exc:
        part.unlink(missing_ok=True)
        raise CheckpointError(f"{exc} — the download from {_host(url)} was deleted") from None
    except Exception:
        part.unlink(missing_ok=True)
        raise

    digest = sha256_file(part)
    move_into_place(part, dest, overwrite=True, error=DownloadError)
    name = expected.name if expected else (found.known.name if found.known else None)
    try:
        record_checksum(dest, digest, url=url, model=name)
    except (OSError, GpenError) as exc:  # the model is fine; only the registry failed
        log.warning("Could not record the checksum of %s: %s", dest.name, exc)
    log.info("Downloaded %s as %s (sha256 %s)", what, dest, digest)
    return dest
