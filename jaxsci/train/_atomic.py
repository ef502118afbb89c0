"""Files written whole or not at all: the write goes to `PATH.PID.tmp`, is flushed to the disk and
renamed over `PATH` (a rename within a directory is atomic on POSIX file systems), so a kill at
any instant leaves the previous file or the new one, never a mixture."""

from __future__ import annotations

import os
from collections.abc import Iterable


def tmp_path(path: str) -> str:
    """Where `write_atomically` writes before the rename: `PATH.PID.tmp` (two processes writing
    the same path never share a temporary file)."""
    return f"{path}.{os.getpid()}.tmp"


def write_atomically(path: str | os.PathLike, data: bytes | str | Iterable[bytes]) -> str:
    """Write `data` (bytes, text, or an iterable of byte strings) to `path` atomically.

    A failure (disk full, read-only directory, missing parent) leaves `path` as it was, removes
    the partial `PATH.tmp` and raises `OSError` whose `filename` is `path` itself.
    """
    path = os.fspath(path)
    tmp = tmp_path(path)
    if isinstance(data, str | bytes):
        data = [data.encode() if isinstance(data, str) else data]
    try:
        with open(tmp, "wb") as f:
            for part in data:
                f.write(part)
            f.flush()
            # the rename must not reach the disk before the data (a power cut would leave an
            # empty file under the final name); a killed process needs no fsync
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise OSError(e.errno, e.strerror, path) from None
    return path
