"""`jaxsci run`'s handling of SIGINT (Ctrl-C) and SIGTERM (a batch scheduler's end of slot).

The first signal asks the training loop to stop (`train._interrupt.request_stop`): within a
fraction of a second (the piece of steps that is running, `train/_chunks.py`) it checkpoints
the state at the step reached, and `train.Interrupted` unwinds the run, which marks its
directory `INTERRUPTED` and prints the command that resumes it; the exit status is 128 + the
signal (130, 143). Outside the chunk loop (building the problem, evaluating, writing results)
the first signal raises `Interrupted` at once: nothing is lost there that a checkpoint does not
hold. Either way a stop waits for an XLA compilation that is running to end.

A second signal exits at once (status 128 + the signal): the directory is marked, the lock
released, and the last checkpoint on disk resumes. It is handled on a thread woken through
`signal.set_wakeup_fd`, so it works even while the main thread is inside XLA (compiling or
running steps), where a Python-level handler would wait for it to return.

SIGKILL cannot be caught: the last chunk's checkpoint resumes, at most one chunk is lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from ..train import _interrupt
from ..train._interrupt import Interrupted
from . import _rundir

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Run:
    """What the exit path needs: the run directory and its lock, once a run has them."""

    run_dir: str | None = None
    lock = None
    marked = threading.Lock()  # the main thread and the watcher never write the mark together


RUN = _Run()


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _say(message: str) -> None:
    try:
        sys.stderr.write(f"\njaxsci: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def exit_now(signum: int, why: str) -> None:
    """Mark the run interrupted, release its lock and end the process at once."""
    if RUN.marked.acquire(timeout=2.0):
        if RUN.run_dir is not None:
            try:
                _rundir.mark_interrupted(RUN.run_dir, signum)
            except OSError:
                pass
        if RUN.lock is not None:
            RUN.lock.release()
    hint = "" if RUN.run_dir is None else f"; resume: {_rundir.resume_command(RUN.run_dir)}"
    _say(f"{why}: exiting now, the last checkpoint resumes{hint}")
    os._exit(128 + signum)


@contextlib.contextmanager
def stop_on_signals():
    """Within the block, SIGINT and SIGTERM stop the run as the module docstring says. Does
    nothing outside the main thread (Python delivers signals to the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    seen: list[int] = []
    raised = [False]

    def handler(signum, frame):  # main thread, when it next runs Python code
        _interrupt.request_stop(signum)
        if not raised[0] and not _interrupt.deferring():
            raised[0] = True
            raise Interrupted(signum)

    def watch():  # woken by the C-level handler itself, whatever the main thread is doing
        while True:
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum not in _SIGNALS:
                    continue
                seen.append(signum)
                if len(seen) > 1:
                    exit_now(signum, f"second signal ({_name(signum)})")
                _interrupt.request_stop(signum)
                where = (
                    "at the step reached, with a checkpoint" if _interrupt.deferring() else "now"
                )
                _say(
                    f"{_name(signum)}: stopping {where}; send it again to exit at once (the last "
                    "checkpoint on disk resumes)"
                )

    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    old_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    thread = threading.Thread(target=watch, name="jaxsci-signals", daemon=True)
    thread.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in previous.items():
            signal.signal(s, h)
        os.close(write_end)  # the watcher reads end-of-file and returns
        thread.join(timeout=1.0)
        os.close(read_end)
        _interrupt.clear_stop()
