"""Command-line flags made from the option table (:mod:`gpen_desktop.core.options`), and
argparse types that check a number's range at the parser.

:func:`add_option` adds a restore option's flags with the table's help, choices, default and
range, so ``gpen restore --help`` and the GUI read the same words; :func:`ranged` is the
``type=`` for any numeric flag (the range is said in ``--help`` and checked before a run
starts, with one plain line when it is not met).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from gpen_desktop.core.options import option


def ranged(
    kind: type,
    low: float | None = None,
    high: float | None = None,
    what: str = "a number",
    special: tuple[tuple[Any, str], ...] = (),
    open_low: bool = False,
    open_high: bool = False,
) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind`` (int or float) from text, within [``low``, ``high``]
    (either may be None: unbounded; ``open_low``/``open_high``: that end excluded) or one of
    the ``special`` (value, meaning) pairs. Floats must be finite. Out of range: argparse's
    one-line error naming the range."""
    name = "a whole number" if kind is int else what
    allowed = {v for v, _w in special}
    words = range_words(low, high, special, open_low, open_high)

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} expected, got {text!r}") from None
        if kind is float and not math.isfinite(value):  # NaN, inf
            raise argparse.ArgumentTypeError(f"{name} expected, got {text!r}")
        if value in allowed:
            return value
        too_low = low is not None and (value <= low if open_low else value < low)
        too_high = high is not None and (value >= high if open_high else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: {words}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    parse.range_words = words  # type: ignore[attr-defined]  # for help texts
    return parse


def range_words(
    low: float | None,
    high: float | None,
    special: tuple[tuple[Any, str], ...] = (),
    open_low: bool = False,
    open_high: bool = False,
) -> str:
    """'1-32', 'at least 1', 'at most 8', 'more than 0' for help texts and messages; with
    ``special`` values e.g. 'at least 32, or 0 = automatic'."""

    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else str(v)

    lows = (
        f"more than {fmt(low)}" if open_low else f"at least {fmt(low)}" if low is not None else ""
    )
    highs = (
        f"less than {fmt(high)}"
        if open_high
        else f"at most {fmt(high)}"
        if high is not None
        else ""
    )
    if low is not None and high is not None:
        words = f"{fmt(low)}-{fmt(high)}" if not (open_low or open_high) else f"{lows}, {highs}"
    else:
        words = lows if low is not None else highs if high is not None else ""
    extra = ", ".join(f"{fmt(v)} = {meaning}" for v, meaning in special)
    return f"{words}, or {extra}" if words and extra else words or extra


def ranged_help(text: str, kind: type, *range_args: Any, **range_kwargs: Any) -> dict[str, Any]:
    """``type=`` and ``help=`` for argparse: a :func:`ranged` type and ``text`` followed by the
    range in brackets, so the help says what the parser checks."""
    parse = ranged(kind, *range_args, **range_kwargs)
    return {"type": parse, "help": f"{text} ({parse.range_words})".replace("%", "%%")}


def option_help(name: str) -> str:
    """The table's help for option ``name``, with its range when it has one (argparse-safe)."""
    o = option(name)
    text = o.help.replace("%", "%%")
    if o.range is not None and o.type is not bool:
        text += f" ({range_words(*o.range, o.special)})"
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
        kwargs["type"] = ranged(kind, *o.range, special=o.special)
    elif o.choices:
        kwargs["choices"] = o.values
        kwargs["type"] = type(o.values[0])
    elif o.type in (int, float):
        kwargs["type"] = ranged(o.type, special=o.special)
    if "help" in overrides and "type" not in overrides and o.range is not None:
        overrides["help"] += f" ({kwargs['type'].range_words})"  # the range is always said
    kwargs.update(overrides)
    return parser.add_argument(*o.flags, **kwargs)
