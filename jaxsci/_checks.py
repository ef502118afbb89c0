"""The argument checks every family shares, with one exception type per fault.

- A value of the wrong type (`steps=2.5`, `steps="10"`, `steps=True`): `TypeError`.
- A value of the right type out of its range (`steps=-1`, an unknown name): `ValueError`.

Each message names the function, the argument and what was expected:
"solve: `steps` must be a non-negative int, got -1". Library code calls these instead of
writing the check again, so the same fault reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_int(
    value: Any,
    name: str,
    where: str | None = None,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> int:
    """`value` as a Python int, checked to be an int (`TypeError`) in `[minimum, maximum]`
    (`ValueError`; `minimum=1`: a positive int, `0`: a non-negative one; `maximum=None`: no
    upper bound)."""
    if maximum is not None:
        kind = f"an int in [{minimum}, {maximum}]"
    else:
        kind = {1: "a positive int", 0: "a non-negative int"}.get(minimum, f"an int >= {minimum}")
    if not _is_int(value):
        raise TypeError(
            f"{_prefix(where)}`{name}` must be {kind}, got {type(value).__name__} {value!r}"
        )
    value = int(value)  # a NumPy integer reads as a plain number in the message
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{_prefix(where)}`{name}` must be {kind}, got {value!r}")
    return value


def check_optional_int(
    value: Any,
    name: str,
    where: str | None = None,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> int | None:
    """`None`, or `check_int(value, ...)`."""
    if value is None:
        return None
    return check_int(value, name, where, minimum=minimum, maximum=maximum)


def check_float(
    value: Any,
    name: str,
    where: str | None = None,
    *,
    positive: bool = False,
    non_negative: bool = False,
) -> float:
    """`value` as a finite Python float (an int is accepted), optionally positive or
    non-negative."""
    kind = "a positive" if positive else "a non-negative" if non_negative else "a finite"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{_prefix(where)}`{name}` must be {kind} float, got {type(value).__name__} {value!r}"
        )
    value = float(value)
    bad = not math.isfinite(value) or (positive and value <= 0) or (non_negative and value < 0)
    if bad:
        raise ValueError(f"{_prefix(where)}`{name}` must be {kind} float, got {value!r}")
    return value


def check_bool(value: Any, name: str, where: str | None = None) -> bool:
    """`value`, checked to be a bool (`TypeError` otherwise: `1` is not `True` here)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{_prefix(where)}`{name}` must be True or False, got {type(value).__name__} {value!r}"
        )
    return bool(value)


def check_choice(value: Any, name: str, choices: Collection, where: str | None = None):
    """`value`, checked to be one of `choices` (`ValueError` naming them otherwise)."""
    if value not in choices:
        raise ValueError(
            f"{_prefix(where)}unknown `{name}` {value!r}; expected one of {list(choices)}"
        )
    return value
