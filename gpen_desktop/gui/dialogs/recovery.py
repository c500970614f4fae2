"""The offer at start-up: unsaved work kept from a session that did not end properly.

A non-modal dialog listing each recovery copy (the photo's name, when the copy was made, how
many faces, whether it holds a restored result) with a plain warning under a copy whose photo
changed or is gone; Recover, Discard or Later. It is opened and awaited through
:meth:`gpen_desktop.gui.questions.Questions.recover` (never ``exec()``).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ANSWERS = ("recover", "discard", "later")


def when(saved_at: float, now: float | None = None) -> str:
    """A copy's time as people say it: "today 14:03", "yesterday 09:12", "3 Dec 2026 18:40"."""
    now = time.time() if now is None else now
    t, today = time.localtime(saved_at), time.localtime(now)
    clock = time.strftime("%H:%M", t)
    if (t.tm_year, t.tm_yday) == (today.tm_year, today.tm_yday):
        return f"today {clock}"
    yesterday = time.localtime(now - 86400)
    if (t.tm_year, t.tm_yday) == (yesterday.tm_year, yesterday.tm_yday):
        return f"yesterday {clock}"
    return f"{t.tm_mday} {time.strftime('%b %Y', t)} {clock}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def warning(copy: Any) -> str:
    """The plain warning of a copy whose photo changed or is gone ("" when it is the same)."""
    if copy.photo_state == "gone":
        return f"{_sentence(copy.note)}: this copy is kept until you discard it."
    if copy.photo_state == "changed":
        return f"{_sentence(copy.note)}."
    return ""


def describe(copy: Any) -> str:
    """One copy's lines: name, time and contents, then its warning (if any)."""
    faces = f"{copy.faces} face{'s' if copy.faces != 1 else ''}"
    result = ", restored" if copy.has_result else ""
    text = f"{copy.name} — {when(copy.saved_at)} · {faces}{result}"
    note = warning(copy)
    return f"{text}\n⚠ {note}" if note else text


class RecoveryDialog(QDialog):
    """``copies``: :class:`gpen_desktop.core.recovery.CopyInfo` (or alike: name, saved_at,
    faces, has_result, photo_state, note). ``answer`` is "recover", "discard" or "later"
    once a button was clicked (closing the window another way is "later")."""

    def __init__(self, copies: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover Unsaved Work")
        self.setModal(False)
        self.answer = "later"
        self.copies = list(copies)
        layout = QVBoxLayout(self)
        n = len(self.copies)
        head = QLabel(
            "<b>GPEN Desktop did not close properly last time.</b><br>"
            f"It kept {'a copy' if n == 1 else f'copies of {n} photos'} with unsaved work "
            "(faces, settings, damage marks and restored faces):"
        )
        head.setWordWrap(True)
        layout.addWidget(head)
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setAlternatingRowColors(True)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        rows_height = 2 * self.list.frameWidth() + 2
        for copy in sorted(self.copies, key=lambda c: -c.saved_at):  # newest first
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, describe(copy))
            item.setToolTip(copy.photo)
            label = QLabel(self._row_html(copy))
            label.setWordWrap(True)
            label.setContentsMargins(8, 6, 8, 6)
            label.setToolTip(copy.photo)
            self.list.addItem(item)
            self.list.setItemWidget(item, label)
            label.setFixedWidth(500)
            item.setSizeHint(QSize(500, label.heightForWidth(500)))
            rows_height += label.heightForWidth(500)
        layout.addWidget(self.list, 1)
        foot = QLabel(
            "Recover opens these photos as they were. Later keeps the copies for the next "
            "start; Discard deletes them."
        )
        foot.setWordWrap(True)
        layout.addWidget(foot)
        buttons = QDialogButtonBox()
        self.recover_button = QPushButton("Recover")
        self.discard_button = QPushButton("Discard")
        self.later_button = QPushButton("Later")
        buttons.addButton(self.recover_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.setDefault(True)
        self.recover_button.setEnabled(any(c.photo_state != "gone" for c in self.copies))
        self.recover_button.clicked.connect(lambda: self._answer("recover"))
        self.discard_button.clicked.connect(lambda: self._answer("discard"))
        self.later_button.clicked.connect(lambda: self._answer("later"))
        layout.addWidget(buttons)
        self.list.setFixedHeight(min(360, rows_height))  # scrolls beyond that
        self.resize(560, self.sizeHint().height())

    @staticmethod
    def _row_html(copy: Any) -> str:
        faces = f"{copy.faces} face{'s' if copy.faces != 1 else ''}"
        result = ", restored" if copy.has_result else ""
        text = (
            f"<b>{html.escape(copy.name)}</b> &nbsp;·&nbsp; {html.escape(when(copy.saved_at))}"
            f" &nbsp;·&nbsp; {faces}{result}"
        )
        note = warning(copy)
        if note:
            text += f"<br><span style='color:#b35c00'>⚠ {html.escape(note)}</span>"
        return text

    def rows(self) -> list[str]:
        """What each row says, as plain text, in the order shown (newest first)."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _answer(self, answer: str) -> None:
        self.answer = answer
        if answer == "later":
            self.reject()
        else:
            self.accept()
