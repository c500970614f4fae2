"""gui/settings.py: one declaration per setting, read back typed, defaults from core."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSettings

from gpen_desktop.core.pipeline import RestoreOptions
from gpen_desktop.gui import settings as cfg


def test_every_option_setting_names_a_field_with_its_default():
    fields = {f.name: f.default for f in dataclasses.fields(RestoreOptions)}
    keys = [s.key for s in vars(cfg).values() if isinstance(s, cfg.Setting)]
    assert len(keys) == len(set(keys))  # one declaration per key
    for s in cfg.OPTIONS:
        assert s.field in fields and s.default == fields[s.field] and s.description


def test_round_trip_and_unreadable_values(tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    values = {
        **cfg.read_options(store),
        "blend": 0.3,
        "upscale": 2,
        "color_match": True,
        "sr_model": "/m/x2.pth",
        "inpaint_method": "ns",
        "inpaint_mode": "inpaint",
    }
    cfg.write_options(store, values)
    cfg.RECENT.write(store, ["/a/b.png"])
    store.sync()
    again = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    got = cfg.read_options(again)
    assert got == values and cfg.RECENT.read(again) == ("/a/b.png",)
    assert cfg.restore_options(got) == RestoreOptions(
        blend=0.3,
        upscale=2,
        color_match=True,
        sr_model="/m/x2.pth",
        inpaint_method="ns",
        inpaint_mode="inpaint",
    )
    again.setValue(cfg.option_setting("batch_size").key, "lots")
    assert cfg.option_setting("batch_size").read(again) == RestoreOptions().batch_size
