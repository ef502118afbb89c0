"""The lock of a run directory: one process writes a run directory at a time.

`RUN_DIR/jaxsci.lock` holds the writer's PID, host, start time and command line, and the
writer holds an exclusive `flock` on it for as long as it runs. The kernel drops a `flock` when
its process ends, however it ends (SIGKILL and out-of-memory kills included), so a lock file
whose `flock` is free belongs to a process that is gone: the next run takes it over and says
whose it was. A lock file whose `flock` is held belongs to a live process: `jaxsci run --out`
and `--resume` refuse, naming it. Where the file system has no `flock` (some network file
systems), the PID is checked instead (same host: is that process alive?).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time

from ._rundir import RunDirError

LOCK_FILE = "jaxsci.lock"


class RunLock:
    """A held lock on a run directory (`RunLock.acquire(run_dir)`; `release()` or `with`).

    `took_over`: the record of the process whose stale lock this one replaced, or `None`."""

    def __init__(self, path: str, fd: int, took_over: dict | None):
        self.path = path
        self.fd = fd
        self.took_over = took_over

    @classmethod
    def acquire(cls, run_dir: str) -> RunLock:
        """Lock `run_dir`, or raise `RunDirError` naming the live process that holds it."""
        path = os.path.join(run_dir, LOCK_FILE)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise RunDirError(_in_use(run_dir, path, holder)) from None
            except OSError as e:  # no flock here: fall back on the PID
                if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    os.close(fd)
                    raise
                holder = _read(fd)
                if holder and holder.get("pid") != os.getpid() and _alive(holder):
                    os.close(fd)
                    raise RunDirError(_in_use(run_dir, path, holder)) from None
            # a releasing process unlinks the file before it unlocks: the file locked here must
            # still be the one at `path`, or a third process may lock a new one meanwhile
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _read(fd)
            record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(sys.argv),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
            os.fsync(fd)
            return cls(path, fd, previous or None)

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def describe(holder: dict | None) -> str:
    if not holder:
        return "a process that left no record"
    return (
        f"process {holder.get('pid')} on {holder.get('host')} (started {holder.get('started')}: "
        f"`{holder.get('command')}`)"
    )


def _in_use(run_dir: str, path: str, holder: dict | None) -> str:
    pid = (holder or {}).get("pid", "?")
    return (
        f"{run_dir} is being written by {describe(holder)}: wait for it to finish or stop it "
        f"(`kill {pid}`: it checkpoints and exits), then `jaxsci run --resume {run_dir}` "
        f"(lock {path})"
    )


def _read(fd: int) -> dict | None:
    try:
        data = os.pread(fd, 65536, 0)
        return json.loads(data) if data.strip() else None
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "started": "?", "command": "unreadable lock file"}


def _alive(holder: dict) -> bool:
    """Whether the lock's process runs (a lock of another host counts as alive)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, KeyError, TypeError):
        return True
    return True
