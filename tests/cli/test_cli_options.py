"""gpen_desktop.commands._options: numeric flags checked at the parser, with the range said in
--help, and restore flags made from the option table; gpen_desktop.commands.bench_train's
flags use them."""

from __future__ import annotations

import argparse

import pytest

from gpen_desktop.commands._options import add_option, range_words, ranged, ranged_help
from gpen_desktop.commands.bench_train import add_arguments
from gpen_desktop.core.options import option


def test_ranged_checks_bounds_specials_and_finite_numbers():
    tile = ranged(int, 32, None, special=((0, "automatic"),))
    assert (
        tile("0") == 0 and tile("32") == 32 and tile.range_words == "at least 32, or 0 = automatic"
    )
    for bad in ("31", "-1", "x", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            tile(bad)
    share = ranged(float, 0, 1, open_low=True)
    assert share("1") == 1.0 and share.range_words == "more than 0, at most 1"
    for bad in ("0", "nan", "inf", "1.01"):
        with pytest.raises(argparse.ArgumentTypeError):
            share(bad)
    assert range_words(1, 8) == "1-8" and range_words(None, 8) == "at most 8"
    assert range_words(None, None) == ""


def test_ranged_help_says_the_range_and_escapes_percent():
    made = ranged_help("quality in %", int, 1, 100)
    assert made["help"] == "quality in %% (1-100)" and made["type"]("100") == 100


def test_add_option_takes_flags_help_and_range_from_the_table():
    parser = argparse.ArgumentParser()
    add_option(parser, "batch_size")
    add_option(parser, "mask")
    add_option(parser, "color_match")
    args = parser.parse_args(["--batch-size", "3", "--mask", "feather", "--color-match"])
    assert (args.batch_size, args.mask, args.color_match) == (3, "feather", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["--batch-size", "0"])
    action = next(a for a in parser._actions if "--batch-size" in a.option_strings)
    low, high = option("batch_size").range
    assert action.help.endswith(f"({low}-{high})") and action.default == 4


def test_bench_train_flags_are_checked_at_the_parser(capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--steps", "5", "--narrow", "0.125", "--workers", "0"])
    assert (args.steps, args.narrow, args.batch_size, args.workers) == (5, 0.125, 8, 0)
    for bad in (["--steps", "0"], ["--narrow", "2"], ["--batch-size", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    assert "out of range" in capsys.readouterr().err
