"""The window's actions, menus and toolbar, declared in one table.

Every command is an :class:`ActionSpec` in :data:`ACTIONS`; :func:`build_actions` makes the
``QAction`` objects (``window.act_<name>``, shortcuts active wherever focus is in the window),
:func:`build_menus` and :func:`build_toolbar` lay them out, and :func:`shortcut_rows` makes the
F1 list from the same table, so no shortcut goes unlisted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolButton

from gpen_desktop.gui.icons import icon

#: The window the actions act on: a QMainWindow with the methods the table names (spawn,
#: save, restore_current …) — the table names commands, it does not reach into the window.
Host = QMainWindow

Std = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    """One command: ``run(window)`` on trigger; ``keys`` are shortcuts (strings or standard
    keys); ``help`` is its line in the F1 list ("" = the text)."""

    name: str
    text: str
    run: Callable[[Host], Any]
    keys: tuple = ()
    icon: str = ""
    tip: str = ""
    help: str = ""
    checkable: bool = False


def _spawn(method: str, **kwargs: Any) -> Callable[[Host], Any]:
    """Run the window's coroutine ``method`` on the event loop."""
    return lambda w: w.spawn(getattr(w, method)(**kwargs))


def _call(method: str, *args: Any) -> Callable[[Host], Any]:
    return lambda w: getattr(w, method)(*args)


A = ActionSpec
ACTIONS: tuple[ActionSpec, ...] = (
    # File
    A("open", "&Open Photos…", _spawn("open_dialog"), (Std.Open,), "open", help="Open photos"),
    A(
        "open_folder",
        "Open &Folder…",
        _spawn("open_folder_dialog"),
        ("Ctrl+Shift+O",),
        "open-folder",
    ),
    A("paste", "&Paste Image", _call("paste"), (Std.Paste,), help="Paste an image"),
    A("save", "&Save", _spawn("save"), (Std.Save,), "save", "Save the restored photo"),
    A("save_as", "Save &As…", _spawn("save", ask=True), ("Ctrl+Shift+S",), "save-as"),
    A(
        "save_session",
        "Save Sess&ion",
        _spawn("save_session"),
        ("Ctrl+Alt+S",),
        tip="Save the faces as edited and the options beside the photo (photo.jpg.gpen.json)",
    ),
    A("export_faces", "Export Face &Crops…", _spawn("export_faces"), (), "export"),
    A("export_pair", "Export &Before | After…", _spawn("export_pair")),
    A(
        "export_all",
        "&Export All…",
        _spawn("export_all"),
        ("Ctrl+E",),
        "export",
        "Export every restored photo to a folder",
    ),
    A("close", "&Close Photo", _spawn("close_photo"), ("Ctrl+W",), help="Close this photo"),
    A("close_all", "Close A&ll Photos", _spawn("close_all"), ("Ctrl+Shift+W",)),
    A("quit", "&Quit", _call("close"), ("Ctrl+Q",)),
    # Edit (undo and redo come from the session's undo group)
    A(
        "add_face",
        "&Add Face",
        lambda w: w.toggle_add_tool(w.act_add_face.isChecked()),
        ("N",),
        "add-face",
        "Draw a box around a face the detector missed",
        help="Add a face (drag a box)",
        checkable=True,
    ),
    A(
        "damage_brush",
        "Damage &Brush",
        lambda w: w.toggle_brush(False, w.act_damage_brush.isChecked()),
        ("B",),
        "brush",
        "Paint over scratches, tears and stains; Restore fills what you mark",
        help="Damage brush: paint marks (right-drag erases)",
        checkable=True,
    ),
    A(
        "damage_eraser",
        "Damage &Eraser",
        lambda w: w.toggle_brush(True, w.act_damage_eraser.isChecked()),
        ("Shift+B",),
        "eraser",
        "Erase damage marks",
        checkable=True,
    ),
    A(
        "find_damage",
        "&Find Damage",
        _spawn("find_damage"),
        ("Ctrl+Shift+D",),
        "brush",
        "Mark scratches, dust and creases automatically (one undoable step; edit the marks "
        "with the brush; the sensitivity is in the brush bar)",
        help="Find damage: mark scratches, dust and creases automatically",
    ),
    A(
        "clear_damage",
        "C&lear Damage Marks",
        _call("clear_damage"),
        tip="Remove every damage mark of this photo (undoable)",
    ),
    A(
        "delete_face",
        "&Delete Face",
        _call("delete_selected_face"),
        ("Del", "Backspace"),
        "delete-face",
    ),
    A("toggle_face", "&Include/Exclude Face", _call("toggle_selected_face"), ("X",)),
    A("next_face", "Next Face", _call("bracket", 1), ("]",), help="Next face (brush: larger)"),
    A(
        "prev_face",
        "Previous Face",
        _call("bracket", -1),
        ("[",),
        help="Previous face (brush: smaller)",
    ),
    A(
        "detect_again",
        "Detect Faces A&gain",
        _spawn("detect_again"),
        ("Ctrl+D",),
        tip="Run the chosen detector again, keeping the faces drawn by hand",
    ),
    # Restore
    A(
        "restore",
        "&Restore Photo",
        _spawn("restore_current"),
        ("Ctrl+R",),
        "restore",
        "Restore the faces of this photo",
    ),
    A(
        "restore_face",
        "Restore Selected &Face",
        _spawn("restore_selected_face"),
        ("Ctrl+Shift+F",),
        "restore-selected",
    ),
    A(
        "restore_all",
        "Restore &All Photos",
        _spawn("restore_all"),
        ("Ctrl+Shift+R",),
        "restore-all",
    ),
    A("cancel", "&Cancel", _call("cancel"), ("Esc",), "cancel", "Stop the running restore"),
    A("models", "&Model Manager…", _call("open_model_manager"), (), "models"),
    A("choose_ckpt", "Use a Checkpoint &File…", _call("choose_checkpoint")),
    A("rescan", "&Rescan Models", _call("rescan_models")),
    # View
    A("mode_edit", "&Edit Faces", _call("set_mode", "edit"), ("E",), checkable=True, help="Faces"),
    A(
        "mode_wipe",
        "&Wipe Compare",
        _call("set_mode", "wipe"),
        ("W",),
        "compare",
        "Before/after with a draggable divider",
        checkable=True,
    ),
    A(
        "mode_side",
        "&Side by Side",
        _call("set_mode", "side"),
        ("S",),
        "side-by-side",
        checkable=True,
    ),
    A("zoom_in", "Zoom &In", lambda w: w.canvas.zoom_in(), (Std.ZoomIn, "Ctrl+="), "zoom-in"),
    A("zoom_out", "Zoom &Out", lambda w: w.canvas.zoom_out(), (Std.ZoomOut,), "zoom-out"),
    A("fit", "&Fit to Window", lambda w: w.canvas.fit(), ("Ctrl+0",), "zoom-fit"),
    A("actual", "&Actual Size (100 %)", lambda w: w.canvas.actual_size(), ("Ctrl+1",), "zoom-100"),
    A("next_photo", "&Next Photo", lambda w: w.session.step(1), ("PgDown",)),
    A("prev_photo", "&Previous Photo", lambda w: w.session.step(-1), ("PgUp",)),
    # Help
    A("shortcuts", "&Keyboard Shortcuts", _call("show_shortcuts"), ("F1",)),
    A("about", "&About GPEN Desktop", _spawn("show_about")),
)

#: Gestures that are not actions (listed by F1 after the actions).
GESTURES = (
    ("\\ (hold)", "See the other side: After over Before, Before over After"),
    ("Space + drag, middle drag", "Pan"),
    ("Wheel", "Zoom at the pointer"),
    ("Right-click a face", "Restore, exclude, delete, reset its landmarks"),
    ("Brush: right-drag", "Erase damage marks; Esc while painting takes the stroke back"),
)

MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "&File",
        (
            "open",
            "open_folder",
            "@recent",
            "paste",
            "-",
            "save",
            "save_as",
            "save_session",
            "-",
            "export_faces",
            "export_pair",
            "export_all",
            "-",
            "close",
            "close_all",
            "quit",
        ),
    ),
    (
        "&Edit",
        (
            "undo",
            "redo",
            "-",
            "add_face",
            "delete_face",
            "toggle_face",
            "-",
            "damage_brush",
            "damage_eraser",
            "find_damage",
            "clear_damage",
            "-",
            "next_face",
            "prev_face",
            "-",
            "detect_again",
        ),
    ),
    (
        "&View",
        (
            "mode_edit",
            "mode_wipe",
            "mode_side",
            "-",
            "zoom_in",
            "zoom_out",
            "fit",
            "actual",
            "-",
            "next_photo",
            "prev_photo",
            "-",
            "@docks",
        ),
    ),
    (
        "&Restore",
        (
            "restore",
            "restore_face",
            "restore_all",
            "cancel",
            "-",
            "models",
            "choose_ckpt",
            "rescan",
        ),
    ),
    ("&Help", ("shortcuts", "about")),
)

TOOLBAR = (
    "open",
    "save",
    "-",
    "restore",
    "restore_all",
    "cancel",
    "-",
    "add_face",
    "delete_face",
    "damage_brush",
    "undo",
    "redo",
    "-",
    "mode_edit",
    "mode_wipe",
    "mode_side",
    "-",
    "zoom_out",
    "zoom_in",
    "fit",
    "actual",
    "-",
    "models",
)
#: Toolbar buttons that show their text beside the icon (the others show the icon only).
TOOLBAR_TEXT = {
    "restore": "Restore",
    "restore_all": "Restore All",
    "add_face": "Add Face",
    "damage_brush": "Brush",
    "mode_edit": "Faces",
    "mode_wipe": "Compare",
    "mode_side": "Side by Side",
}


def _keys(action: QAction) -> str:
    return ", ".join(
        k.toString(QKeySequence.SequenceFormat.NativeText)
        for k in action.shortcuts()
        if not k.isEmpty()
    )


def build_actions(window: Host) -> dict[str, QAction]:
    """Create every action on ``window`` (as ``window.act_<name>``); returns them by name."""
    made: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        if spec.icon:
            action.setIcon(icon(spec.icon))
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(spec.checkable)
        keys = _keys(action)
        if spec.tip or keys:
            tip = spec.tip or spec.text.replace("&", "").replace("…", "")
            action.setToolTip(tip + (f" ({keys})" if keys else ""))
        action.setData(spec.help or spec.text.replace("&", "").replace("…", ""))
        action.triggered.connect(lambda _checked=False, f=spec.run, w=window: f(w))
        window.addAction(action)
        made[spec.name] = action
    undo = window.session.undo_group.createUndoAction(window, "&Undo")
    undo.setShortcut(QKeySequence(Std.Undo))
    undo.setIcon(icon("undo"))
    undo.setData("Undo")
    redo = window.session.undo_group.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence(Std.Redo), QKeySequence("Ctrl+Y")])
    redo.setIcon(icon("redo"))
    redo.setData("Redo")
    for name, action in (("undo", undo), ("redo", redo)):
        window.addAction(action)
        made[name] = action
    group = QActionGroup(window)
    for name in ("mode_edit", "mode_wipe", "mode_side"):
        group.addAction(made[name])
    made["mode_edit"].setChecked(True)
    for name, action in made.items():
        setattr(window, f"act_{name}", action)
    return made


def build_menus(window: Host, actions: dict[str, QAction], docks: list) -> None:
    bar = window.menuBar()
    for title, names in MENUS:
        menu = bar.addMenu(title)
        for name in names:
            if name == "-":
                menu.addSeparator()
            elif name == "@recent":
                window.recent_menu = menu.addMenu("Open &Recent")
            elif name == "@docks":
                for dock in docks:
                    menu.addAction(dock.toggleViewAction())
            else:
                menu.addAction(actions[name])


def build_toolbar(window: Host, actions: dict[str, QAction]) -> None:
    tb = window.addToolBar("Main")
    tb.setObjectName("toolbar-main")
    tb.setMovable(False)
    tb.setIconSize(QSize(20, 20))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for name in TOOLBAR:
        if name == "-":
            tb.addSeparator()
            continue
        action = actions[name]
        tb.addAction(action)
        button = tb.widgetForAction(action)
        if name in TOOLBAR_TEXT:
            action.setIconText(TOOLBAR_TEXT[name])
        elif isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str]]:
    """(keys, what) for every action that has a shortcut, in table order, then gestures."""
    order = [s.name for s in ACTIONS]
    order[order.index("add_face") : order.index("add_face")] = ["undo", "redo"]
    rows = [(_keys(actions[n]), str(actions[n].data())) for n in order if _keys(actions[n])]
    return rows + list(GESTURES)
