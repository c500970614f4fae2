"""What a real ``gpen-desktop`` process does in the crash-recovery tests (tests/gui/
test_recovery_crash.py), loaded by the app through ``$GPEN_DESKTOP_SCENARIO``.

``$GPEN_SCENARIO_STEP`` picks the part:

- ``edit``: restore the opened photo, move face 2's box, paint a damage mark, set the blend to
  60 %, wait for the recovery copy, write the state to ``$GPEN_SCENARIO_OUT`` and print
  ``READY``; then wait to be killed.
- ``edit-then-write``: the same, then one more edit (blend 30 %) whose copy pauses halfway
  through its manifest: prints ``WRITING`` there and waits to be killed.
- ``recover``: wait for the recovery offer, write what it lists, click Recover, wait for the
  photo and its composite, write the state (with the network runs counted) and quit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from pathlib import Path

OUT = Path(os.environ.get("GPEN_SCENARIO_OUT", "scenario.json"))
STEP = os.environ.get("GPEN_SCENARIO_STEP", "")


def count_network_runs() -> list[int]:
    from gpen_desktop.core.inference import Enhancer

    calls: list[int] = []
    real = Enhancer.restore_crops

    def counting(self, crops, *args, **kwargs):
        calls.append(len(crops))
        return real(self, crops, *args, **kwargs)

    Enhancer.restore_crops = counting
    return calls


async def until(condition, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"scenario: timed out waiting for {what}")
        await asyncio.sleep(0.02)


def up_to_date(window, doc) -> bool:
    return doc.has_result and doc.composite_key == doc.composite_key_for(window.run_options(doc))


def state(window, doc) -> dict:
    from gpen_desktop.core.options import PHOTO

    mask = doc.damage.mask()
    options = window.run_options(doc).only(PHOTO)
    return {
        "faces": [
            [
                [float(v) for v in f.box],
                None if f.landmarks is None else [[float(x), float(y)] for x, y in f.landmarks],
                float(f.score),
                f.blend,
                f.include,
                f.model,
                f.manual,
            ]
            for f in doc.faces
        ],
        "numbers": list(doc.numbers),
        "options": {k: repr(v) for k, v in options.items()},
        "marks": None if mask is None else hashlib.sha256(mask.tobytes()).hexdigest(),
        "marked": 0 if mask is None else int(mask.sum()),
        "composite": hashlib.sha256(doc.result.image.pixels.tobytes()).hexdigest(),
        "shape": list(doc.result.image.pixels.shape),
        "kept_faces": len(doc.network_result.faces),
        "status": doc.status_text(),
    }


def write(data: dict) -> None:
    OUT.write_text(json.dumps(data, indent=1))


async def edit(window) -> None:
    from gpen_desktop.gui.recovery import wait_written

    keeper = window.recovery
    keeper.delay_ms = 300
    await until(lambda: window.options_panel._scanned, 120, "the model scan")
    await until(lambda: window.session.current is not None, 60, "the photo")
    doc = window.session.current
    await until(lambda: doc.detected, 120, "face detection")
    assert len(doc.faces) == 2, doc.faces
    await window.restore_current()
    assert doc.has_result, doc.status_text()
    # move a box (face 2: face 1 keeps its restored crop), paint a mark, change the blend
    face = doc.faces[1]
    x0, y0, x1, y1 = face.box
    doc.replace_face(
        1,
        face.with_(
            box=(x0 + 6, y0 + 4, x1 + 6, y1 + 4),
            landmarks=tuple((x + 6, y + 4) for x, y in face.landmarks),
        ),
        "Move face 2",
    )
    stroke = doc.damage.begin(False, 9)
    stroke.add(20.0, 30.0)
    stroke.add(90.0, 44.0)
    stroke.finish(doc.undo_stack)
    window.options_panel.blend.setValue(60)
    await until(lambda: up_to_date(window, doc), 60, "the composite")
    await until(lambda: keeper.writes > 0, 60, "the first copy")
    await wait_written(keeper, 60)
    write({**state(window, doc), "copy": [str(p) for p in keeper._folders.values()]})
    print("READY", flush=True)
    if STEP == "edit-then-write":
        import gpen_desktop.core.recovery as recovery

        def pause(stage: str) -> None:
            if stage == "manifest":
                print("WRITING", flush=True)
                time.sleep(600)  # killed here, halfway through the new manifest

        recovery.write_hook = pause
        window.options_panel.blend.setValue(30)
        await until(lambda: up_to_date(window, doc), 60, "the second composite")
        keeper.flush_now()
    await asyncio.sleep(600)  # the test kills the process


async def recover(window) -> None:
    from PySide6.QtWidgets import QApplication

    from gpen_desktop.gui.dialogs.recovery import RecoveryDialog

    runs = count_network_runs()

    def dialog():
        return next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, RecoveryDialog) and w.isVisible()
            ),
            None,
        )

    await until(lambda: dialog() is not None, 120, "the recovery offer")
    offer = dialog()
    listed = offer.rows()
    modal = offer.isModal()
    offer.recover_button.click()
    await until(lambda: window.session.current is not None, 60, "the recovered photo")
    doc = window.session.current
    await until(lambda: up_to_date(window, doc), 120, "the recovered composite")
    await asyncio.sleep(0.3)  # anything else that would start (it must not be a restore)
    write(
        {
            **state(window, doc),
            "offered": listed,
            "modal": modal,
            "network_runs": len(runs),
            "unsaved": doc.unsaved,
            "recovered_copies": [str(p) for p in window.recovery._folders.values()],
        }
    )
    window._close_confirmed = True  # quit, discarding: a clean quit leaves no copy
    window.close()


async def run(window) -> None:
    try:
        if STEP.startswith("edit"):
            await edit(window)
        elif STEP == "recover":
            await recover(window)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        print(f"SCENARIO FAILED: {type(exc).__name__}: {exc}", flush=True)
        import traceback

        traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
        os._exit(3)
