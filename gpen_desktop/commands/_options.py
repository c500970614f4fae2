"""Command-line flags made from the option table (:mod:`gpen_desktop.core.options`), and
argparse types that check a number's range at the parser.

:func:`add_option` adds a restore option's flags with the table's help, choices, default and
range, so ``gpen restore --help`` and the GUI read the same words; :func:`ranged` is the
``type=`` for any numeric flag (the range is said in ``--help`` and checked before a run
starts, with one plain line when it is not met).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gpen_desktop.core.options import option


def ranged(
    kind: type, low: float | None = None, high: float | None = None, what: str = "a number"
) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind`` (int or float) from text, within [``low``, ``high``]
    (either may be None: unbounded). Out of range: argparse's one-line error naming the range."""
    name = "a whole number" if kind is int else what

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} expected, got {text!r}") from None
        if kind is float and value != value:  # NaN
            raise argparse.ArgumentTypeError(f"{name} expected, got {text!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {range_words(low, high)}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def range_words(low: float | None, high: float | None) -> str:
    """'1-32', 'at least 1', 'at most 8' for help texts and messages."""

    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else str(v)

    if low is not None and high is not None:
        return f"{fmt(low)}-{fmt(high)}"
    if low is not None:
        return f"at least {fmt(low)}"
    return f"at most {fmt(high)}" if high is not None else ""


def option_help(name: str) -> str:
    """The table's help for option ``name``, with its range when it has one (argparse-safe)."""
    o = option(name)
    text = o.help.replace("%", "%%")
    if o.range is not None and o.type is not bool:
        text += f" ({range_words(*o.range)})"
    return text


def add_option(parser: Any, name: str, **overrides: Any) -> argparse.Action:
    """Add restore option ``name``'s flags to ``parser`` (a parser or argument group) as the
    table declares them; ``overrides`` replace argparse arguments (e.g. another default)."""
    o = option(name)
    kwargs: dict[str, Any] = {"dest": o.dest, "default": o.default, "help": option_help(name)}
    if o.type is bool:
        kwargs["action"] = "store_true"
    elif o.range is not None:  # a number: any value in range (choices are the GUI's list)
        kind = int if o.type in (int, int | None) else float
        kwargs["type"] = ranged(kind, *o.range)
    elif o.choices:
        kwargs["choices"] = o.values
        kwargs["type"] = type(o.values[0])
    elif o.type in (int, float):
        kwargs["type"] = ranged(o.type)
    kwargs.update(overrides)
    return parser.add_argument(*o.flags, **kwargs)
