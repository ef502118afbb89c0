"""Stopping a training run when asked: `request_stop` (called by `jaxsci run`'s signal
handling) makes `fit` stop at the end of the piece of steps that is running (about half a
second of steps, `_chunks.py`), checkpoint that exact step and raise `Interrupted`; the run
resumed from that checkpoint ends where an uninterrupted one does, to the bit.
"""

from __future__ import annotations

from typing import Any

from .._results import RESULTS

_REQUESTED: list[int] = []  # the signal number of the first request, if any
_DEFERRING: list[bool] = []  # non-empty while `fit` runs chunks


class Interrupted(KeyboardInterrupt):
    """Training stopped because a stop was requested (`jaxsci run` requests one on SIGINT or
    SIGTERM).

    - `signal`: the signal number that asked for it.
    - `step`: the steps done, which the checkpoint holds (`None` when raised outside a loop).
    - `checkpoint`: the file holding that state (`None` when the loop writes none).
    - `solution`: the `TrainResult` at that step (`result` is `RESULTS.interrupted`), when
      raised by `fit`.

    A subclass of `KeyboardInterrupt`, so an `except Exception` on the way does not swallow it.
    """

    result = RESULTS.interrupted

    def __init__(self, signal: int, step: int | None = None, checkpoint=None, solution: Any = None):
        where = "" if step is None else f" at step {step}"
        saved = "" if checkpoint is None else f" (checkpoint {checkpoint})"
        super().__init__(f"interrupted by signal {signal}{where}{saved}")
        self.signal = signal
        self.step = step
        self.checkpoint = checkpoint
        self.solution = solution


def request_stop(signal: int) -> None:
    """Ask the running `fit` to stop at the end of its running piece of steps (with a
    checkpoint of that step); the first request counts. Safe to call from a signal handler
    or another thread."""
    if not _REQUESTED:
        _REQUESTED.append(signal)


def stop_requested() -> int | None:
    """The signal number of a pending stop request, or `None`."""
    return _REQUESTED[0] if _REQUESTED else None


def clear_stop() -> None:
    _REQUESTED.clear()


def deferring() -> bool:
    """Whether `fit` is running chunks: a signal handler should then only `request_stop` (the
    loop stops within a piece of steps, with a checkpoint) instead of raising at once."""
    return bool(_DEFERRING)


class _Deferring:
    """`with _Deferring():` marks the chunk loop (see `deferring`)."""

    def __enter__(self):
        _DEFERRING.append(True)

    def __exit__(self, *exc):
        _DEFERRING.pop()
