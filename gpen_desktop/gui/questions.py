"""The questions the window asks before it could lose work (module-level hooks: tests replace
them). Each returns a plain answer string or bool."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def _ask(
    parent: QWidget | None, title: str, text: str, buttons: list[tuple[str, str, object]]
) -> str:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    made = {}
    for answer, label, role in buttons:
        made[box.addButton(label, role)] = answer
    box.setDefaultButton(next(iter(made)))
    box.exec()
    return made.get(box.clickedButton(), "cancel")


def ask_unsaved(parent: QWidget | None, names: list[str]) -> str:
    """Photos with unsaved results or edits are about to close: 'save', 'discard' or 'cancel'."""
    what = f"“{names[0]}” has" if len(names) == 1 else f"{len(names)} photos have"
    listed = "" if len(names) == 1 else "\n" + "\n".join(f"• {n}" for n in names[:8])
    R = QMessageBox.ButtonRole
    return _ask(
        parent,
        "Unsaved work",
        f"{what} restored results or edits that were not saved.{listed}\n\nSave them first?",
        [
            ("save", "Save…", R.AcceptRole),
            ("discard", "Discard", R.DestructiveRole),
            ("cancel", "Cancel", R.RejectRole),
        ],
    )


def ask_stale_save(parent: QWidget | None, name: str, what: str = "faces") -> str:
    """The faces (``what`` "faces") or the damage marks ("damage") changed since the restore:
    'restore' first, 'save' as it is, or 'cancel'."""
    R = QMessageBox.ButtonRole
    changed = (
        f"Damage marks on “{name}” were painted or erased"
        if what == "damage"
        else f"Faces of “{name}” were moved, reshaped or added"
    )
    return _ask(
        parent,
        "Restore first?",
        f"{changed} since it was restored; the result does not show those changes yet.",
        [
            ("restore", "Restore First", R.AcceptRole),
            ("save", "Save as It Is", R.DestructiveRole),
            ("cancel", "Cancel", R.RejectRole),
        ],
    )


def confirm_stop_restore(parent: QWidget | None) -> bool:
    """A restore is running: stop it (and go on closing)?"""
    R = QMessageBox.ButtonRole
    answer = _ask(
        parent,
        "Stop the restore?",
        "A restore is still running. Closing stops it; faces not finished are lost.",
        [("stop", "Stop and Close", R.DestructiveRole), ("cancel", "Keep Running", R.RejectRole)],
    )
    return answer == "stop"


def ask_open_session(parent: QWidget | None, name: str, faces: int) -> bool:
    """``name`` has a saved session: use its faces and options?"""
    R = QMessageBox.ButtonRole
    answer = _ask(
        parent,
        "Saved session",
        f"“{name}” has a saved session ({faces} face{'s' if faces != 1 else ''} as edited, "
        "with their options). Continue from it?",
        [("open", "Use the Session", R.AcceptRole), ("no", "Start Fresh", R.RejectRole)],
    )
    return answer == "open"
