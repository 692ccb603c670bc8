"""Round measured numbers in the direction that keeps a sentence true.

A chapter that says "below {x}" must not print a rounded x smaller than the value
measured, nor "at least {x}" a rounded x larger. These helpers format a value for
each kind of sentence.

Example:
    >>> floor_to(0.9968, 2), ceil_to(0.1361, 2)
    ('0.99', '0.14')
    >>> power_of_ten_above(7.3e-7), power_of_ten_above(2.0)
    ('10⁻⁶', '10¹')
"""

from __future__ import annotations

import math

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def floor_to(value: float, decimals: int) -> str:
    """`value` rounded down to `decimals` places: safe after "at least"."""
    scale = 10**decimals
    return f"{math.floor(value * scale + 1e-9) / scale:.{decimals}f}"


def ceil_to(value: float, decimals: int) -> str:
    """`value` rounded up to `decimals` places: safe after "at most"."""
    scale = 10**decimals
    return f"{math.ceil(value * scale - 1e-9) / scale:.{decimals}f}"


def power_of_ten(exponent: int) -> str:
    """10 to `exponent`, written with superscripts: 10⁻⁶."""
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def power_of_ten_above(value: float) -> str:
    """The smallest power of ten strictly above a positive `value`: safe after "below"."""
    if value <= 0:
        raise ValueError(f"expected a positive value, got {value}")
    return power_of_ten(math.floor(math.log10(value)) + 1)


def power_of_ten_below(value: float) -> str:
    """The largest power of ten at or below a positive `value`: safe after "at least"."""
    if value <= 0:
        raise ValueError(f"expected a positive value, got {value}")
    return power_of_ten(math.floor(math.log10(value)))
