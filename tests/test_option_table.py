"""The option table (core/options.py) is the one list of restore options: RestoreOptions, the
app's settings, session sidecars, the ``gpen restore`` flags and the GUI's options panel are
made from it or checked against it here."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from gpen_desktop.core import options as table
from gpen_desktop.core.options import OPTIONS, RestoreOptions


def test_restore_options_has_exactly_the_table_fields_and_defaults():
    fields = dataclasses.fields(RestoreOptions)
    assert [f.name for f in fields] == [o.name for o in OPTIONS]
    defaults = RestoreOptions()
    for o in OPTIONS:
        assert getattr(defaults, o.name) == o.default, o.name
    defaults.check()  # the defaults are valid


def test_every_option_is_described():
    for o in OPTIONS:
        assert o.label and o.help, o.name
        assert o.cost in table.COSTS and o.scope in (table.PHOTO, table.APP), o.name
        if o.choices:
            assert o.default in o.values or o.range is not None, o.name
            assert all(words for _v, words in o.choices), o.name


def test_choice_lists_of_core_modules_are_the_tables():
    from gpen_desktop.core.faces.detect import DETECTORS
    from gpen_desktop.core.inpaint import INPAINT_METHODS, INPAINT_MODES
    from gpen_desktop.core.pipeline import MASK_TYPES
    from gpen_desktop.core.precision import PRECISIONS

    assert table.option("detector").values == DETECTORS
    assert table.option("inpaint_method").values == INPAINT_METHODS
    assert set(table.option("inpaint_mode").values) == set(INPAINT_MODES)
    assert table.option("mask").values == MASK_TYPES
    assert table.option("precision").values == PRECISIONS


def test_session_keys_are_the_tables():
    from gpen_desktop.core.session import options_from_dict, options_to_dict

    data = options_to_dict(RestoreOptions())
    assert set(data) == {o.name for o in OPTIONS if o.session}
    # an old file's "dtype" is read as "precision"
    old = dict(data, dtype="float32")
    del old["precision"]
    assert options_from_dict(old).precision == "float32"


def test_settings_keys_are_the_tables():
    pytest.importorskip("PySide6")
    from gpen_desktop.gui import settings as cfg

    assert {s.field: s.key for s in cfg.OPTIONS} == {
        o.name: o.setting for o in OPTIONS if o.setting
    }
    keys = [s.key for s in cfg.OPTIONS]
    assert len(keys) == len(set(keys))
    for s in cfg.OPTIONS:
        assert s.default == table.option(s.field).default


def _restore_parser() -> argparse.ArgumentParser:
    from gpen_desktop.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["restore"]


def test_restore_flags_are_the_tables():
    parser = _restore_parser()
    by_flag = {flag: a for a in parser._actions for flag in a.option_strings}
    for o in OPTIONS:
        for flag in o.flags:
            assert flag in by_flag, f"{o.name}: gpen restore has no {flag}"
            assert by_flag[flag].dest == o.dest, flag
        if not o.flags:
            continue
        action = by_flag[o.flags[0]]
        if action.choices is not None:
            assert tuple(action.choices) == o.values, o.name
        if o.range is not None and o.type is not bool:
            low, high = o.range
            # the parser refuses a value just outside the range, in one line
            for bad in (
                low - 1 if low is not None else None,
                high + 1 if high is not None else None,
            ):
                if bad is None or bad in {v for v, _w in o.special}:
                    continue
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type(str(bad))
    # and every restore flag whose dest is an option field is in the table
    fields = {o.name for o in OPTIONS}
    flagged = {o.dest for o in OPTIONS if o.flags}
    for action in parser._actions:
        if action.dest in fields and action.option_strings:
            assert action.dest in flagged, f"{action.option_strings} is not in the option table"


def test_session_overrides_follow_the_table():
    from gpen_desktop.commands import restore_session

    table_dests = {o.dest: o.name for o in OPTIONS if o.flags}
    for dest, name in restore_session.OVERRIDES.items():
        assert table_dests.get(dest) == name, dest


def test_cost_of_changes():
    assert table.cost_of(["blend", "color_match", "match_grain"]) == {table.COMPOSITING}
    assert table.cost_of(["model_path"]) == {table.NETWORK}
    assert table.cost_of(["sr_model", "upscale"]) == {table.BACKGROUND}
    assert table.cost_of(["inpaint_mode"]) == set()  # no damage marks: no cost
    assert table.cost_of(["inpaint_mode"], damage=True) == {table.NETWORK}
    a = RestoreOptions()
    assert a.changed(a.replace(blend=0.5, precision="float32")) == ("precision", "blend")
