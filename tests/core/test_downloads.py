"""Downloads against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import pytest
from helpers import tiny_known_model

from gpen_desktop.core import downloads
from gpen_desktop.core.downloads import DownloadError, download, part_path
from gpen_desktop.core.errors import Cancelled, CheckpointError, GpenError


# --------------------------------------------------------------------------- tests
def test_download_completes_with_progress_and_checksum(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["m.pth"] = tiny_bytes
    calls: list[tuple[int, int | None]] = []
    dest = tmp_path / "weights" / "GPEN-Test-64.pth"
    out = download(
        f"{base}/m.pth",
        dest,
        expected_model=tiny_known_model(f"{base}/m.pth"),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert out == dest and dest.read_bytes() == tiny_bytes
    assert not part_path(dest).exists()
    assert calls[0] == (0, len(tiny_bytes)) and calls[-1] == (len(tiny_bytes), len(tiny_bytes))
    assert len(calls) > 3 and all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    sums = json.loads((dest.parent / "checksums.json").read_text())["files"]
    assert sums["GPEN-Test-64.pth"]["sha256"] == hashlib.sha256(tiny_bytes).hexdigest()
    assert sums["GPEN-Test-64.pth"]["model"] == "GPEN-Test-64"
    assert sums["GPEN-Test-64.pth"]["bytes"] == len(tiny_bytes)
    assert downloads.verify_checksum(dest) is True
    assert downloads.record_checksum(dest, sums["GPEN-Test-64.pth"]["sha256"]) is False


def test_resume_after_dropped_connection(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["m.pth"] = tiny_bytes
    state.truncate_once.add("m.pth")
    dest = tmp_path / "GPEN-Test-64.pth"
    model = tiny_known_model(f"{base}/m.pth")
    with pytest.raises(DownloadError, match="closed the connection.*resume"):
        download(f"{base}/m.pth", dest, expected_model=model)
    kept = part_path(dest).stat().st_size
    assert kept == len(tiny_bytes) // 2 and not dest.exists()
    first: list[int] = []
    download(f"{base}/m.pth", dest, expected_model=model, progress=lambda d, t: first.append(d))
    assert dest.read_bytes() == tiny_bytes
    assert state.requests[-1] == ("m.pth", f"bytes={kept}-")
    assert first[0] == kept  # progress starts where the .part ended


def test_resume_from_existing_part_and_complete_part(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["m.pth"] = tiny_bytes
    model = tiny_known_model(f"{base}/m.pth")
    dest = tmp_path / "a.pth"
    part_path(dest).write_bytes(tiny_bytes[:1000])
    download(f"{base}/m.pth", dest, expected_model=model)
    assert dest.read_bytes() == tiny_bytes and state.requests[-1][1] == "bytes=1000-"
    # a .part that already holds everything: the server answers 416, the file is kept
    dest2 = tmp_path / "b.pth"
    part_path(dest2).write_bytes(tiny_bytes)
    download(f"{base}/m.pth", dest2, expected_model=model)
    assert dest2.read_bytes() == tiny_bytes


def test_server_ignoring_range_restarts(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["m.pth"] = tiny_bytes
    state.ignore_range = True
    dest = tmp_path / "GPEN-Test-64.pth"
    part_path(dest).write_bytes(b"garbage that must not stay in front")
    download(f"{base}/m.pth", dest, expected_model=tiny_known_model(f"{base}/m.pth"))
    assert dest.read_bytes() == tiny_bytes


def test_cancel_keeps_part_and_no_final_file(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["m.pth"] = tiny_bytes
    state.delay = 0.002
    dest = tmp_path / "GPEN-Test-64.pth"
    seen: list[int] = []
    with pytest.raises(Cancelled, match="kept to resume"):
        download(
            f"{base}/m.pth",
            dest,
            expected_model=tiny_known_model(f"{base}/m.pth"),
            progress=lambda d, t: seen.append(d),
            cancel=lambda: len(seen) > 2,
        )
    assert not dest.exists()
    assert 0 < part_path(dest).stat().st_size < len(tiny_bytes)


def test_random_bytes_are_rejected_and_deleted(server, tmp_path):
    base, state = server
    state.files["junk.pth"] = os.urandom(200_000)
    dest = tmp_path / "GPEN-Test-64.pth"
    with pytest.raises(CheckpointError, match="deleted"):
        download(f"{base}/junk.pth", dest, expected_model=tiny_known_model(f"{base}/junk.pth"))
    assert not dest.exists() and not part_path(dest).exists()
    assert not (tmp_path / "checksums.json").exists()


def test_html_page_instead_of_model_is_rejected(server, tmp_path):
    base, state = server
    state.files["page.pth"] = b"<html><body>Please log in</body></html>"
    with pytest.raises(CheckpointError, match="HTML"):
        download(f"{base}/page.pth", tmp_path / "x.pth", expected_model=tiny_known_model("x"))
    assert list(tmp_path.iterdir()) == []


def test_valid_checkpoint_of_other_size_is_rejected(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["m.pth"] = tiny_bytes
    dest = tmp_path / "GPEN-BFR-512.pth"
    with pytest.raises(CheckpointError, match="64 px.*not GPEN-BFR-512"):
        download(f"{base}/m.pth", dest, expected_model="GPEN-BFR-512")
    assert not dest.exists() and not part_path(dest).exists()
    with pytest.raises(CheckpointError, match="not GPEN-Test-128"):
        download(f"{base}/m.pth", dest, expected_model=tiny_known_model("x", size=128))


def test_folder_destination_and_no_expected_model(server, tiny_bytes, tmp_path):
    base, state = server
    state.files["dir/tiny.pth"] = tiny_bytes
    out = download(f"{base}/dir/tiny.pth", tmp_path)
    assert out == tmp_path / "tiny.pth" and out.read_bytes() == tiny_bytes
    out2 = download(f"{base}/dir/tiny.pth", tmp_path, expected_model=tiny_known_model("x"))
    assert out2.name == "GPEN-Test-64.pth"
    assert set(downloads.read_checksums(tmp_path)) == {"tiny.pth", "GPEN-Test-64.pth"}


def test_http_error_is_one_line(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="HTTP 404") as exc:
        download(f"{base}/missing.pth", tmp_path / "m.pth")
    assert "\n" not in str(exc.value)
    assert not part_path(tmp_path / "m.pth").exists()


def test_connection_refused(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(DownloadError, match="refused"):
        download(f"http://127.0.0.1:{port}/m.pth", tmp_path / "m.pth", timeout=2)


def test_dns_failure(monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(DownloadError, match="cannot find server models.example"):
        download("https://models.example/GPEN-BFR-512.pth", tmp_path / "m.pth")


def test_timeout_when_server_is_silent(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection in the kernel, never answers
    try:
        port = listener.getsockname()[1]
        with pytest.raises(DownloadError, match="did not answer within 0.3 s"):
            download(f"http://127.0.0.1:{port}/m.pth", tmp_path / "m.pth", timeout=0.3)
        # one connection, no retry loop behind the message
        listener.settimeout(5)
        listener.accept()[0].close()
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def test_not_enough_disk_space(server, tiny_bytes, tmp_path, monkeypatch):
    base, state = server
    state.files["m.pth"] = tiny_bytes

    class Usage:
        total, used, free = 10**9, 10**9 - 1000, 1000

    monkeypatch.setattr(downloads.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(DownloadError, match="not enough disk space"):
        download(f"{base}/m.pth", tmp_path / "m.pth")


def test_disk_full_message():
    err = OSError(28, "No space left on device")
    assert "disk full" in downloads._disk_message(err, Path("/w/GPEN.pth.part"))


def test_unsupported_scheme(tmp_path):
    with pytest.raises(DownloadError, match="only http"):
        download("file:///etc/passwd", tmp_path / "x.pth")


def test_checksum_registry_tolerates_garbage(tmp_path):
    (tmp_path / "checksums.json").write_text("{not json")
    assert downloads.read_checksums(tmp_path) == {}
    f = tmp_path / "w.pth"
    f.write_bytes(b"abc")
    assert downloads.verify_checksum(f) is None
    assert downloads.record_checksum(f, hashlib.sha256(b"abc").hexdigest(), model="X") is True
    assert downloads.verify_checksum(f) is True
    f.write_bytes(b"abd")
    assert downloads.verify_checksum(f) is False


def test_content_range_and_filename_helpers():
    assert downloads._content_range("bytes 100-199/200") == (100, 200)
    assert downloads._content_range("bytes */5000") == (None, 5000)
    assert downloads._content_range(None) == (None, None)
    url = "https://www.modelscope.cn/api/v1/models/x/repo?Revision=master&FilePath=pytorch_model.pt"
    assert downloads._filename_from_url(url) == "pytorch_model.pt"
    assert downloads._filename_from_url("https://h/robin/models/GPEN-BFR-512.pth") == (
        "GPEN-BFR-512.pth"
    )


def test_checksum_registry_written_atomically(tmp_path, monkeypatch):
    from gpen_desktop.core import fileio

    f = tmp_path / "w.pth"
    f.write_bytes(b"abc")
    assert downloads.record_checksum(f, hashlib.sha256(b"abc").hexdigest()) is True
    before = (tmp_path / "checksums.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checksums.json", "w.pth"]

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio, "_fsync_file", broken)  # the disk fills before the rename
    f.write_bytes(b"abd")
    with pytest.raises(GpenError, match="disk full"):
        downloads.record_checksum(f, hashlib.sha256(b"abd").hexdigest())
    assert (tmp_path / "checksums.json").read_bytes() == before  # the old registry is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checksums.json", "w.pth"]
