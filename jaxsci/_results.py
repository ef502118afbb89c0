"""Result codes: how a solve or a training run ended, carried in its solution object.

In the manner of optimistix's and diffrax's `RESULTS`: every solution has a `result`, and
every entry point takes `throw=`. With `throw=True` a failure raises `SolveFailed`, which holds
the solution anyway (`err.solution`: the last good state, the history up to the failure), so
nothing a user computed is lost; with `throw=False` the solution is returned and its `result`
says what happened. Library code never prints on failure.
"""

from __future__ import annotations

import enum
from typing import Any


class RESULTS(enum.Enum):
    """How a run ended. `RESULTS.successful` is the one success; `bool(result)` is its test."""

    successful = "successful"
    nonfinite = "a loss, gradient or update was not finite: stopped, the last finite state kept"
    not_converged = "the iteration stopped at its step limit before its tolerance was met"
    tolerance_not_met = "the error estimate is above the requested tolerance"
    interrupted = "interrupted by a signal: the state at that moment is kept"

    def __bool__(self) -> bool:
        return self is RESULTS.successful

    @property
    def ok(self) -> bool:
        return self is RESULTS.successful


class SolveFailed(RuntimeError):
    """Raised by a solver called with `throw=True` whose result is not `successful`.

    `result` is the `RESULTS` member, `solution` the solution object the call would have
    returned with `throw=False` (last good state, history up to the failure)."""

    def __init__(self, message: str, result: RESULTS, solution: Any = None):
        super().__init__(message)
        self.result = result
        self.solution = solution


def raise_if_failed(where: str, result: RESULTS, detail: str, solution: Any, throw: bool):
    """Raise `SolveFailed` naming `where`, the result and `detail` when `throw` and the result
    is a failure; return `solution` otherwise."""
    if throw and result is not RESULTS.successful:
        raise SolveFailed(
            f"{where}: {result.value}{'; ' + detail if detail else ''} (pass `throw=False` to "
            "get the solution with its `result` instead; this error's `.solution` holds it)",
            result,
            solution,
        )
    return solution
