"""Shared fixtures: tiny random-weight GPEN checkpoints in the official key layout, real photos."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """Size 64, channel_multiplier 2, narrow 0.125, style_dim 512, 8 mapping layers."""
    from gpen_desktop.core.gpen import random_checkpoint

    return random_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-64.pth", 64, seed=1)


@pytest.fixture(scope="session")
def tiny_checkpoint_128(tmp_path_factory) -> Path:
    """Size 128, channel_multiplier 2, narrow 0.125."""
    from gpen_desktop.core.gpen import random_checkpoint

    return random_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-128.pth", 128, seed=2)


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test: tiny networks train fastest so (and far faster than
    on two busy cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins, public domain): 512 x 512 x 3 uint8 RGB."""
    from skimage import data

    return data.astronaut()


def aligned_face(image: np.ndarray, size: int = 256) -> np.ndarray:
    """The largest face of ``image`` aligned to the GPEN template (the project's own detector
    and alignment), size x size x 3 uint8."""
    from gpen_desktop.core.faces import align_face, detect_faces

    face = detect_faces(image, "dlib")[0]
    return align_face(image, face.landmarks_array(), size)[0]


@pytest.fixture(scope="session")
def align():
    """``align(image, size=256)`` -> an aligned face crop (see :func:`aligned_face`)."""
    return aligned_face


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory, astronaut) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    cv2.imwrite(str(path), astronaut[:, :, ::-1])
    return path


@pytest.fixture(scope="session")
def mirrored_pair(astronaut) -> np.ndarray:
    """The astronaut beside her mirror image: 1024 x 512, two faces far apart."""
    from helpers import mirrored_pair

    return mirrored_pair(astronaut)


@pytest.fixture(scope="session")
def mirrored_pair_png(tmp_path_factory, mirrored_pair) -> Path:
    """:func:`mirrored_pair` as a PNG file."""
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "pair.png"
    Image.fromarray(mirrored_pair).save(path)
    return path


@pytest.fixture(scope="session")
def big_and_small(astronaut) -> np.ndarray:
    """1024 x 512: the astronaut on the left, a half-size copy right of the centre."""
    from helpers import big_and_small

    return big_and_small(astronaut)


@pytest.fixture(scope="session")
def srgb_icc() -> bytes:
    """An sRGB ICC profile (littleCMS through Pillow) for files that carry a colour profile."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="session")
def tiny_bytes(tiny_checkpoint: Path) -> bytes:
    """The bytes of ``tiny_checkpoint`` (what a local server hands out as a download)."""
    return tiny_checkpoint.read_bytes()


# --------------------------------------------------------------------------- local HTTP server
# Serves in-memory files on 127.0.0.1 with Range support (downloads and the model manager).
@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    ignore_range: bool = False
    truncate_once: set[str] = field(default_factory=set)
    piece: int = 64 * 1024
    delay: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        state: ServerState = self.server.state  # type: ignore[attr-defined]
        name = self.path.lstrip("/")
        range_header = self.headers.get("Range")
        state.requests.append((name, range_header))
        data = state.files.get(name)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if range_header and not state.ignore_range:
            start = int(range_header.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if name in state.truncate_once:  # announce everything, send half, hang up
            state.truncate_once.discard(name)
            body = body[: len(body) // 2]
        try:
            for i in range(0, len(body), state.piece):
                self.wfile.write(body[i : i + state.piece])
                if state.delay:
                    time.sleep(state.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    state = ServerState()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = state  # type: ignore[attr-defined]
    httpd.daemon_threads = False
    httpd.block_on_close = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        state.delay = 0.0
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()
