"""Questions and file dialogs that never spin a second event loop.

``QDialog.exec()`` and the static ``QMessageBox``/``QFileDialog`` functions run a nested event
loop; under qasync that loop steps other asyncio tasks from inside the task that asked, which
fails with "Cannot enter into task … while another task … is being executed" and can drop the
work of the task that asked. Here every dialog is opened with ``open()`` (window-modal: the
window takes no input meanwhile, everything else keeps running) and awaited through its
``finished`` signal (:func:`shown`).

:class:`Questions` is the one place the app asks something: each method returns a plain
answer. Controllers take a ``Questions`` (tests hand in a fake or patch its methods).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

R = QMessageBox.ButtonRole


async def shown(dialog: QDialog, modal: bool = True) -> int:
    """Open ``dialog`` window-modal (``open()``; ``modal`` False: ``show()``, the window stays
    usable) and wait until it is finished; returns its result code. If the waiting task is
    cancelled, the dialog is closed (rejected)."""
    loop = asyncio.get_event_loop()
    done: asyncio.Future[int] = loop.create_future()

    def finished(result: int) -> None:
        if not done.done():
            done.set_result(int(result))

    dialog.finished.connect(finished)
    if modal:
        dialog.open()
    else:
        dialog.setModal(False)
        dialog.show()
    try:
        return await done
    finally:
        with contextlib.suppress(RuntimeError, TypeError):  # the dialog may be gone
            dialog.finished.disconnect(finished)
            if dialog.isVisible():
                dialog.reject()


def open_then(dialog: QDialog, done: Callable[[int], None]) -> None:
    """Open ``dialog`` window-modal (``open()``) and call ``done(result)`` once it is
    finished: the callback form of :func:`shown` for widgets that are not coroutines."""
    dialog.finished.connect(lambda result: done(int(result)))
    dialog.open()


class Questions:
    """Every question the app asks, awaitable. ``parent()`` gives the window the dialogs
    belong to (None: no window yet)."""

    def __init__(self, parent: Callable[[], QWidget | None] = lambda: None) -> None:
        self.parent = parent

    # ------------------------------------------------------------------ the one mechanism
    async def ask(
        self,
        title: str,
        text: str,
        buttons: list[tuple[str, str, QMessageBox.ButtonRole]],
        icon: QMessageBox.Icon = QMessageBox.Icon.Question,
        default: str | None = None,
        cancel: str = "cancel",
    ) -> str:
        """Show ``text`` with ``buttons`` (answer, label, role); returns the answer clicked,
        ``cancel`` when the box was closed another way (Esc, the window closing)."""
        box = QMessageBox(icon, title, text, parent=self.parent())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        made: dict[object, str] = {}
        for answer, label, role in buttons:
            made[box.addButton(label, role)] = answer
        first = next(iter(made))
        chosen = next((b for b, a in made.items() if a == default), first)
        box.setDefaultButton(chosen)
        escape = next((b for b, a in made.items() if a == cancel), None)
        if escape is not None:
            box.setEscapeButton(escape)
        clicked: list[str] = []  # read before the box is deleted (it deletes itself on close)
        box.buttonClicked.connect(lambda button: clicked.append(made.get(button, cancel)))
        await shown(box)
        return clicked[-1] if clicked else cancel

    # ------------------------------------------------------------------ questions
    async def unsaved(self, names: list[str]) -> str:
        """Photos with unsaved results or edits are about to close: 'save', 'discard' or
        'cancel'."""
        what = f"“{names[0]}” has" if len(names) == 1 else f"{len(names)} photos have"
        listed = "" if len(names) == 1 else "\n" + "\n".join(f"• {n}" for n in names[:8])
        more = f"\n… and {len(names) - 8} more" if len(names) > 8 else ""
        return await self.ask(
            "Unsaved work",
            f"{what} restored results or edits that were not saved.{listed}{more}\n\n"
            "Save them first?",
            [
                ("save", "Save…", R.AcceptRole),
                ("discard", "Discard", R.DestructiveRole),
                ("cancel", "Cancel", R.RejectRole),
            ],
        )

    async def stale_save(self, name: str, reasons: str) -> str:
        """The photo changed since it was restored (``reasons``, plain words): 'restore'
        first, 'save' as it is, or 'cancel'."""
        return await self.ask(
            "Restore first?",
            f"Since “{name}” was restored, {reasons}. The result does not show that yet.",
            [
                ("restore", "Restore First", R.AcceptRole),
                ("save", "Save as It Is", R.DestructiveRole),
                ("cancel", "Cancel", R.RejectRole),
            ],
        )

    async def stop_restore(self) -> bool:
        """A restore is still running: stop it (and go on closing)?"""
        answer = await self.ask(
            "Stop the restore?",
            "A restore is still running. Closing stops it; faces not finished are lost.",
            [
                ("stop", "Stop and Close", R.DestructiveRole),
                ("cancel", "Keep Running", R.RejectRole),
            ],
        )
        return answer == "stop"

    async def open_session(self, name: str, faces: int) -> bool:
        """``name`` has a saved session: use its faces and options?"""
        answer = await self.ask(
            "Saved session",
            f"“{name}” has a saved session ({faces} face{'s' if faces != 1 else ''} as edited, "
            "with their options). Continue from it?",
            [("open", "Use the Session", R.AcceptRole), ("no", "Start Fresh", R.RejectRole)],
            cancel="no",
        )
        return answer == "open"

    async def recover(self, copies: list) -> str:
        """Recovery copies of unsaved work from a session that did not end properly
        (:class:`gpen_desktop.core.recovery.CopyInfo`): 'recover', 'discard' or 'later'. A
        non-modal window: the app is usable while it is open."""
        from gpen_desktop.gui.dialogs.recovery import RecoveryDialog

        dialog = RecoveryDialog(copies, self.parent())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        answer: list[str] = []  # read before the dialog is deleted (it deletes itself)
        dialog.finished.connect(lambda _r: answer.append(dialog.answer))
        await shown(dialog, modal=False)
        return answer[-1] if answer else "later"

    async def detect_again(self, name: str, edits: str) -> bool:
        """Detect Faces Again would drop hand edits (``edits``, plain words): go on?"""
        answer = await self.ask(
            "Detect faces again?",
            f"{edits[:1].upper()}{edits[1:]} on “{name}”. Detecting again replaces them with "
            "what the detector finds (faces you drew stay). Undo (Ctrl+Z) brings them back.",
            [("detect", "Detect Again", R.DestructiveRole), ("cancel", "Cancel", R.RejectRole)],
        )
        return answer == "detect"

    async def overwrite(self, path: Path, original: bool = False) -> bool:
        """Replace ``path``? ``original``: it is the photo's own source file."""
        if original:
            text = (
                f"“{path.name}” is the original photo.\n\n"
                "Replacing it loses the unrestored version for good. Replace it anyway?"
            )
        else:
            text = f"“{path.name}” already exists in {path.parent}.\n\nReplace it?"
        answer = await self.ask(
            "Replace file?",
            text,
            [("replace", "Replace", R.DestructiveRole), ("cancel", "Cancel", R.RejectRole)],
            icon=QMessageBox.Icon.Warning,
            default="cancel",
        )
        return answer == "replace"

    async def replace_many(self, existing: list[Path]) -> str:
        """Several targets exist: 'replace', 'skip' (write only the new ones) or 'cancel'."""
        names = "\n".join(f"• {p.name}" for p in existing[:8])
        more = f"\n… and {len(existing) - 8} more" if len(existing) > 8 else ""
        return await self.ask(
            "Replace files?",
            f"{len(existing)} file(s) already exist in {existing[0].parent}:\n{names}{more}",
            [
                ("replace", "Replace", R.DestructiveRole),
                ("skip", "Skip Existing", R.AcceptRole),
                ("cancel", "Cancel", R.RejectRole),
            ],
            icon=QMessageBox.Icon.Warning,
            default="skip",
        )

    async def copy_or_link(self, name: str) -> str:
        """A model file from elsewhere: 'copy' it into the weights folder, 'link' it, or
        'cancel'."""
        return await self.ask(
            "Add a model file",
            f"Copy “{name}” into the weights folder, or link to it where it is?",
            [
                ("copy", "Copy", R.AcceptRole),
                ("link", "Link", R.AcceptRole),
                ("cancel", "Cancel", R.RejectRole),
            ],
        )

    async def tell(self, title: str, text: str) -> None:
        """Show a message with one OK button (rich text allowed)."""
        await self.ask(title, text, [("ok", "OK", R.AcceptRole)], QMessageBox.Icon.Information)

    # ------------------------------------------------------------------ files
    async def _file_dialog(
        self,
        title: str,
        start: str,
        mode: QFileDialog.FileMode,
        name_filter: str = "",
        selected_filter: str = "",
        save: bool = False,
    ) -> list[str]:
        dialog = QFileDialog(self.parent(), title, start, name_filter)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setFileMode(mode)
        if save:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            # the app asks itself before replacing a file (with words about originals)
            dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
        if mode == QFileDialog.FileMode.Directory:
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        if selected_filter:
            dialog.selectNameFilter(selected_filter)
        if save and start and not Path(start).is_dir():
            dialog.selectFile(Path(start).name)
        chosen: list[str] = []  # read before the dialog is deleted (it deletes itself)
        dialog.filesSelected.connect(lambda files: chosen.extend(files))
        result = await shown(dialog)
        return chosen if result == QDialog.DialogCode.Accepted else []

    async def open_files(self, title: str, start: str, name_filter: str) -> list[str]:
        """Existing files chosen to open ([] = cancelled)."""
        return await self._file_dialog(
            title, start, QFileDialog.FileMode.ExistingFiles, name_filter
        )

    async def open_file(self, title: str, start: str, name_filter: str) -> str:
        """One existing file ("" = cancelled)."""
        chosen = await self._file_dialog(
            title, start, QFileDialog.FileMode.ExistingFile, name_filter
        )
        return chosen[0] if chosen else ""

    async def save_file(
        self, title: str, suggested: str, name_filter: str, selected_filter: str = ""
    ) -> str:
        """A file name to write ("" = cancelled); ``suggested`` is a full path."""
        chosen = await self._file_dialog(
            title,
            suggested,
            QFileDialog.FileMode.AnyFile,
            name_filter,
            selected_filter,
            save=True,
        )
        return chosen[0] if chosen else ""

    async def folder(self, title: str, start: str) -> str:
        """An existing folder ("" = cancelled)."""
        chosen = await self._file_dialog(title, start, QFileDialog.FileMode.Directory)
        return chosen[0] if chosen else ""
