"""The model manager dialog against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from helpers import tiny_known_model  # noqa: E402

from gpen_desktop.core.catalog import KNOWN_MODELS  # noqa: E402
from gpen_desktop.core.downloads import part_path, read_checksums  # noqa: E402
from gpen_desktop.gui.dialogs import ModelManagerDialog  # noqa: E402
from gpen_desktop.gui.dialogs import model_manager as mm  # noqa: E402

WAIT_MS = 20_000


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def bfr256_file(tmp_path_factory) -> Path:
    """A random-weight checkpoint with the real GPEN-BFR-256 configuration (≈76 MB)."""
    from gpen_desktop.core.gpen import random_checkpoint

    folder = tmp_path_factory.mktemp("bfr256")
    return random_checkpoint(folder / "b.pth", 256, channel_multiplier=1, narrow=0.5, seed=3)


@pytest.fixture
def make_dialog(qtbot):
    dialogs: list[ModelManagerDialog] = []

    def make(weights: Path, **kwargs) -> ModelManagerDialog:
        dlg = ModelManagerDialog(None, weights, **kwargs)
        qtbot.addWidget(dlg)
        dialogs.append(dlg)
        dlg.PROGRESS_INTERVAL = 0.0
        idle(qtbot, dlg)
        return dlg

    yield make
    for dlg in dialogs:
        dlg.shutdown()
        assert not dlg.is_busy()
    assert not mm._LIVE, "a worker thread outlived its dialog"


def idle(qtbot, dlg: ModelManagerDialog) -> None:
    qtbot.waitUntil(lambda: not dlg.is_busy(), timeout=WAIT_MS)


# --------------------------------------------------------------------------- tests
def test_lists_every_official_model_with_purpose_and_size(make_dialog, tmp_path):
    dlg = make_dialog(tmp_path / "weights")
    names = [m.name for m in dlg.models()]
    assert names == [m.name for m in KNOWN_MODELS]
    texts = {}
    for i in range(dlg._official.childCount()):
        item = dlg._official.child(i)
        texts[item.text(mm.COL_NAME)] = (item.text(mm.COL_PURPOSE), item.text(mm.COL_SIZE))
    assert texts["GPEN-BFR-512"] == ("Face restoration (BFR)", "512 px · 284 MB")
    assert texts["GPEN-Colorization-1024"][0] == "Colorization"
    assert texts["GPEN-Inpainting-1024"][0] == "Inpainting"
    assert "Seg2face" in texts["GPEN-Seg2face-512"][0]
    for name in names:
        assert dlg.row_status(name) == "Not installed"
        assert dlg.download_button(name).text() == "Download"
    assert dlg._others.isHidden() and dlg._invalid.isHidden()


def test_renamed_unknown_and_invalid_files(
    make_dialog, qtbot, tmp_path, bfr256_file, tiny_checkpoint
):
    weights = tmp_path / "weights"
    weights.mkdir()
    os.symlink(bfr256_file, weights / "my-face-model.pth")  # renamed: found by content
    shutil.copy(tiny_checkpoint, weights / "finetuned.pth")
    (weights / "broken.pth").write_bytes(b"\x89PNG\r\n\x1a\n not a model")
    (weights / "notes.txt").write_text("ignored")
    dlg = make_dialog(weights)
    assert dlg.present("GPEN-BFR-256") == [weights / "my-face-model.pth"]
    assert dlg.row_status("GPEN-BFR-256") == "✔ Installed as my-face-model.pth"
    dlg.show()
    qtbot.waitExposed(dlg)
    assert not dlg.download_button("GPEN-BFR-256").isVisible()
    assert dlg.download_button("GPEN-BFR-512").isVisible()
    assert dlg.row_status("GPEN-BFR-512") == "Not installed"
    assert dlg._others.childCount() == 1
    other = dlg._others.child(0)
    assert other.text(mm.COL_NAME) == "finetuned.pth"
    assert other.text(mm.COL_STATUS).startswith("Valid: GPEN-64")
    assert other.text(mm.COL_SIZE).startswith("64 px")
    assert dlg._invalid.childCount() == 1
    bad = dlg._invalid.child(0)
    assert bad.text(mm.COL_NAME) == "broken.pth" and "PNG" in bad.text(mm.COL_STATUS)


def test_download_from_local_server(make_dialog, qtbot, server, tiny_bytes, tmp_path):
    base, state = server
    state.files["tiny.pth"] = tiny_bytes
    state.delay = 0.001
    weights = tmp_path / "weights"
    dlg = make_dialog(
        weights,
        models=[tiny_known_model("https://unused.invalid/x.pth")],
        url_override={"GPEN-Test-64": f"{base}/tiny.pth"},
    )
    assert dlg.models()[0].url == f"{base}/tiny.pth"
    bar = dlg.progress_bar("GPEN-Test-64")
    values: list[int] = []
    bar.valueChanged.connect(values.append)
    with qtbot.waitSignal(dlg.modelsChanged, timeout=WAIT_MS):
        qtbot.mouseClick(dlg.download_button("GPEN-Test-64"), mm.Qt.MouseButton.LeftButton)
        assert dlg.is_downloading("GPEN-Test-64")
        assert dlg.download_button("GPEN-Test-64").text() == "Cancel"
    idle(qtbot, dlg)
    assert len(set(values)) >= 3 and values == sorted(values) and values[-1] == 1000
    final = weights / "GPEN-Test-64.pth"
    assert final.read_bytes() == tiny_bytes and not part_path(final).exists()
    assert "GPEN-Test-64.pth" in read_checksums(weights)
    assert "downloaded and verified" in dlg.message()
    assert dlg.row_status("GPEN-Test-64") == "✔ Installed"


def test_corrupt_download_is_rejected_with_a_message(make_dialog, qtbot, server, tmp_path):
    base, state = server
    state.files["junk.pth"] = os.urandom(300_000)
    weights = tmp_path / "weights"
    dlg = make_dialog(weights, models=[tiny_known_model(f"{base}/junk.pth")])
    changed: list[bool] = []
    dlg.modelsChanged.connect(lambda: changed.append(True))
    dlg.start_download("GPEN-Test-64")
    idle(qtbot, dlg)
    assert "not a PyTorch checkpoint" in dlg.message() and "deleted" in dlg.message()
    assert dlg.message_label.property("error") is True
    assert dlg.row_status("GPEN-Test-64").startswith("✖")
    assert dlg.download_button("GPEN-Test-64").text() == "Download"
    assert [p.name for p in weights.iterdir()] == [] and not changed


def test_http_error_is_shown(make_dialog, qtbot, server, tmp_path):
    base, _ = server
    dlg = make_dialog(tmp_path / "w", models=[tiny_known_model(f"{base}/nothing-here.pth")])
    dlg.start_download("GPEN-Test-64")
    idle(qtbot, dlg)
    assert "HTTP 404" in dlg.message()


def test_cancel_then_resume(make_dialog, qtbot, server, tiny_bytes, tmp_path):
    base, state = server
    state.files["tiny.pth"] = tiny_bytes
    state.delay = 0.01
    weights = tmp_path / "weights"
    dlg = make_dialog(weights, models=[tiny_known_model(f"{base}/tiny.pth")])
    bar = dlg.progress_bar("GPEN-Test-64")
    dlg.start_download("GPEN-Test-64")
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=WAIT_MS)
    qtbot.mouseClick(dlg.download_button("GPEN-Test-64"), mm.Qt.MouseButton.LeftButton)
    idle(qtbot, dlg)
    assert "cancelled" in dlg.message()
    kept = part_path(weights / "GPEN-Test-64.pth").stat().st_size
    assert 0 < kept < len(tiny_bytes) and not (weights / "GPEN-Test-64.pth").exists()
    assert dlg.row_status("GPEN-Test-64").startswith("Paused at")
    assert dlg.download_button("GPEN-Test-64").text() == "Resume"
    state.delay = 0.0
    with qtbot.waitSignal(dlg.modelsChanged, timeout=WAIT_MS):
        qtbot.mouseClick(dlg.download_button("GPEN-Test-64"), mm.Qt.MouseButton.LeftButton)
    idle(qtbot, dlg)
    assert (weights / "GPEN-Test-64.pth").read_bytes() == tiny_bytes


def test_closing_during_a_download_stops_the_thread(qtbot, server, tiny_bytes, tmp_path):
    base, state = server
    state.files["tiny.pth"] = tiny_bytes
    state.delay = 0.01
    weights = tmp_path / "weights"
    dlg = ModelManagerDialog(None, weights, models=[tiny_known_model(f"{base}/tiny.pth")])
    qtbot.addWidget(dlg)
    dlg.show()
    idle(qtbot, dlg)
    dlg.start_download("GPEN-Test-64")
    qtbot.waitUntil(lambda: dlg.progress_bar("GPEN-Test-64").value() > 0, timeout=WAIT_MS)
    dlg.close()
    assert not dlg.is_busy() and not mm._LIVE
    # stopped part-way: fewer bytes than the file on disk, and no finished file
    assert part_path(weights / "GPEN-Test-64.pth").stat().st_size < len(tiny_bytes)
    assert not (weights / "GPEN-Test-64.pth").exists()


def test_add_checkpoint_copy(make_dialog, qtbot, tmp_path, tiny_checkpoint, monkeypatch):
    weights = tmp_path / "weights"
    dlg = make_dialog(weights)
    asked: list[str] = []

    def ask(source, what, answer):
        asked.append(what)
        answer("copy")

    monkeypatch.setattr(dlg, "_ask_add_mode", ask)
    monkeypatch.setattr(dlg, "_choose_file", lambda then: then(str(tiny_checkpoint)))
    with qtbot.waitSignal(dlg.modelsChanged, timeout=WAIT_MS):
        qtbot.mouseClick(dlg.add_button, mm.Qt.MouseButton.LeftButton)
    idle(qtbot, dlg)
    assert "64->64" in asked[0] and "channel_multiplier 2" in asked[0]
    copied = weights / tiny_checkpoint.name
    assert copied.is_file() and not copied.is_symlink()
    assert copied.read_bytes() == tiny_checkpoint.read_bytes()
    assert "Copied" in dlg.message()
    assert dlg._others.childCount() == 1
    # adding the same file again gets a fresh name instead of overwriting
    dlg.add_checkpoint(tiny_checkpoint)
    idle(qtbot, dlg)
    assert (weights / f"{tiny_checkpoint.stem}-1.pth").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_add_checkpoint_link(make_dialog, qtbot, tmp_path, tiny_checkpoint, monkeypatch):
    weights = tmp_path / "weights"
    dlg = make_dialog(weights)
    monkeypatch.setattr(dlg, "_ask_add_mode", lambda source, what, answer: answer("link"))
    dlg.add_checkpoint(tiny_checkpoint)
    idle(qtbot, dlg)
    linked = weights / tiny_checkpoint.name
    assert linked.is_symlink() and linked.resolve() == tiny_checkpoint.resolve()
    assert "Linked" in dlg.message()


def test_add_checkpoint_cancelled_and_invalid(make_dialog, qtbot, tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    dlg = make_dialog(weights)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint: " + bytes(range(32, 127)) * 50)  # fixed, no pickle marker
    asked: list[str] = []
    monkeypatch.setattr(dlg, "_ask_add_mode", lambda s, w, answer: asked.append(w))
    dlg.add_checkpoint(junk)
    idle(qtbot, dlg)
    assert dlg.message().startswith("Not added:") and "PyTorch" in dlg.message()
    assert not asked and not weights.exists() or not any(weights.iterdir())
    monkeypatch.setattr(dlg, "_choose_file", lambda then: then(""))
    dlg.add_checkpoint()  # the user closed the file dialog: nothing happens
    assert not dlg.is_busy()


def test_open_weights_folder(make_dialog, tmp_path, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(
        mm.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile())
    )
    weights = tmp_path / "new" / "weights"
    dlg = make_dialog(weights)
    dlg.open_folder_button.click()
    assert weights.is_dir() and opened == [str(weights)]


@pytest.fixture(scope="module")
def realesrnet_x2_file(tmp_path_factory) -> Path:
    """Random weights in the layout of GPEN's realesrnet_x2.pth (RRDBNet, 64 features, 23
    blocks, pixel-unshuffled input; ≈67 MB)."""
    from gpen_desktop.core.superres import random_sr_checkpoint

    folder = tmp_path_factory.mktemp("realesrnet")
    return random_sr_checkpoint(folder / "r.pth", 2, num_feat=64, num_block=23, seed=4)


def test_superres_rows_official_by_content_and_others_with_their_scale(
    make_dialog, qtbot, tmp_path, realesrnet_x2_file
):
    from gpen_desktop.core.superres import random_sr_checkpoint

    weights = tmp_path / "weights"
    weights.mkdir()
    os.symlink(realesrnet_x2_file, weights / "my-upscaler.pth")  # renamed: found by content
    random_sr_checkpoint(weights / "tiny_x4.pth", 4, seed=1)  # an upscaler of its own
    dlg = make_dialog(weights)
    rows = {}
    for i in range(dlg._official.childCount()):
        item = dlg._official.child(i)
        rows[item.text(mm.COL_NAME)] = (item.text(mm.COL_PURPOSE), item.text(mm.COL_SIZE))
    for s in (1, 2, 4):
        assert rows[f"realesrnet_x{s}"] == (
            "Background super-resolution (optional)",
            f"×{s} · 67 MB",
        )
    found = {f.path.name: f for f in dlg.found()}
    assert found["my-upscaler.pth"].known.name == "realesrnet_x2"
    official = next(m for m in dlg.models() if m.name == "realesrnet_x2")
    assert dlg._matches(official, found["my-upscaler.pth"])
    assert not dlg._matches(official, found["tiny_x4.pth"])
    assert dlg.present("realesrnet_x2") == [weights / "my-upscaler.pth"]
    assert dlg.row_status("realesrnet_x2") == "✔ Installed as my-upscaler.pth"
    assert dlg.row_status("realesrnet_x4") == "Not installed"
    assert dlg._others.childCount() == 1
    other = dlg._others.child(0)
    # regression: a small test upscaler named like the official file is not listed as it
    random_sr_checkpoint(weights / "realesrnet_x4.pth", 4, seed=3)
    dlg.refresh()
    idle(qtbot, dlg)
    assert dlg.row_status("realesrnet_x4") == "Not installed"
    assert any(f.path.name == "realesrnet_x4.pth" and f.known is None for f in dlg.found())
    assert other.text(mm.COL_NAME) == "tiny_x4.pth"
    assert other.text(mm.COL_PURPOSE) == "Background super-resolution (optional)"
    assert other.text(mm.COL_STATUS) == "Valid: ESRGAN ×4 upscaler"
    assert other.text(mm.COL_SIZE).startswith("×4 · ")
    assert "x4 super-resolution" in other.toolTip(mm.COL_STATUS)
