"""Checkpoints of a `TrainState` and its history: one file, written atomically, that says what
it holds and proves that it is whole.

```
JAXSCI-CHECKPOINT 2 <SHA-256 of the header line>
<the header: one line of JSON>
<the state's leaves: eqx.tree_serialise_leaves, PRNG keys as their key data>
<the history: np.savez, one array per recorded name>
```

The header records the format, the jaxsci, JAX and jaxlib versions, the step (steps done), a
digest of the run's PRNG key data, the state's structure (path, shape and dtype of every leaf),
the byte length and SHA-256 of the state and of the history, and the caller's tags
(`checkpoint_tags`; `jaxsci run` records its config hash, the solver and the seed).

`load_checkpoint` checks all of it before it deserialises anything: a truncated, corrupted or
foreign checkpoint (another config, seed, solver, optimiser or model size) raises a
`CheckpointError` naming the file and what differs; it is never read into a wrong run and never
fails inside deserialisation. Another jaxsci, JAX or jaxlib version only warns: the state is
read, but XLA may round the rest of the run differently from an uninterrupted one.

The write goes to `PATH.PID.tmp`, is flushed to the disk and renamed over `PATH` (`_atomic.py`):
a kill at any instant, during the write included, leaves the previous checkpoint or the new
one. The state and its history are in the same file, so they always belong to the same step.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib.metadata
import io
import json
import os
import signal
import time
import warnings
from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._atomic import tmp_path, write_atomically

if TYPE_CHECKING:
    from ._loop import TrainState

FORMAT = 2
MAGIC = b"JAXSCI-CHECKPOINT"

_TAGS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("checkpoint_tags")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: truncated, corrupted, or written for another run.
    `path` is the file, `reason` what is wrong with it."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"checkpoint {path}: {reason}")
        self.path = path
        self.reason = reason


@contextlib.contextmanager
def checkpoint_tags(**tags):
    """Tags (JSON scalars) that every checkpoint written inside the block records, and that a
    checkpoint resumed inside the block must carry with the same values: `jaxsci run` tags its
    checkpoints with the config hash, the solver and the seed, so that a checkpoint of another
    config or seed is refused by name instead of resumed. Blocks nest (inner tags add to or
    replace outer ones)."""
    for name, value in tags.items():
        if not isinstance(value, str | int | float | bool):
            raise TypeError(f"checkpoint_tags: `{name}` must be a str, int, float or bool")
    token = _TAGS.set({**_TAGS.get({}), **tags})
    try:
        yield
    finally:
        _TAGS.reset(token)


def save_checkpoint(
    path, state: TrainState, history: dict[str, list[np.ndarray]], *, tags: dict | None = None
) -> None:
    """Write `state` and its history (lists of per-chunk arrays) to `path` atomically, with
    the header described in the module docstring. `tags` add to those of `checkpoint_tags`."""
    path = os.fspath(path)
    raw = jax.tree_util.tree_map(_key_data, state, is_leaf=_is_key)
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, raw)
    payload = buffer.getvalue()
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.concatenate(v, axis=-1) for k, v in history.items()})
    hist = buffer.getvalue()
    header = {
        "format": FORMAT,
        **_versions(),
        "step": _steps_done(state),
        "key": _digest(np.asarray(jr.key_data(state.key) if _is_key(state.key) else state.key)),
        "structure": _structure(raw),
        "state": {"bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()},
        "history": {"bytes": len(hist), "sha256": hashlib.sha256(hist).hexdigest()},
        "tags": {**_TAGS.get({}), **(tags or {})},
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    line = json.dumps(header, separators=(",", ":")).encode() + b"\n"
    first = MAGIC + f" {FORMAT} {hashlib.sha256(line).hexdigest()}\n".encode()
    parts = [first, line, payload, hist]
    _maybe_crash(path, parts)
    write_atomically(path, parts)
    legacy = path + ".history.npz"  # format 1 kept the history beside the state
    if os.path.exists(legacy):
        os.remove(legacy)


def checkpoint_info(path) -> dict[str, Any]:
    """The header of the checkpoint at `path` (step, tags, versions, sizes, checksums), after
    checking that the file is whole; raises `CheckpointError` otherwise."""
    path = os.fspath(path)
    header, _, _ = _read(path)
    return header


def load_checkpoint(
    path, like: TrainState, *, tags: dict | None = None
) -> tuple[TrainState, dict[str, list[np.ndarray]]]:
    """Read the checkpoint at `path` into the structure of `like` (the run's state at step 0),
    with its history. Raises `CheckpointError` naming the file when it is truncated or
    corrupted, or was written for another run: other tags (`checkpoint_tags`, plus `tags`),
    another state structure (solver, optimiser, model) or another PRNG key (seed)."""
    path = os.fspath(path)
    header, payload, hist = _read(path)
    expected = {**_TAGS.get({}), **(tags or {})}
    found = header.get("tags", {})
    for name, value in expected.items():
        if name not in found:
            raise CheckpointError(path, f"has no `{name}` tag (expected {value!r})")
        if found[name] != value:
            raise CheckpointError(
                path, f"was written for {name} {found[name]!r}; this run has {name} {value!r}"
            )
    skeleton = jax.tree_util.tree_map(_key_data, like, is_leaf=_is_key)
    _compare_structure(path, header["structure"], _structure(skeleton))
    key = _digest(np.asarray(jr.key_data(like.key) if _is_key(like.key) else like.key))
    if header["key"] != key:
        raise CheckpointError(
            path, "was written for another PRNG key (another seed): it belongs to another run"
        )
    ours = _versions()
    differ = [f"{k} {header.get(k)} (now {v})" for k, v in ours.items() if header.get(k) != v]
    if differ:
        warnings.warn(
            f"checkpoint {path}: written by {', '.join(differ)}; resuming, but the rest of the "
            "run may differ in the last bits from an uninterrupted one",
            stacklevel=2,
        )
    try:
        raw = eqx.tree_deserialise_leaves(io.BytesIO(payload), skeleton)
        with np.load(io.BytesIO(hist)) as data:
            history = {k: [data[k]] for k in data.files}
    except Exception as e:  # checked above: only a bug could get here, still name the file
        raise CheckpointError(path, f"cannot be read ({type(e).__name__}: {e})") from None
    state = jax.tree_util.tree_map(
        lambda old, r: jr.wrap_key_data(r) if _is_key(old) else r, like, raw, is_leaf=_is_key
    )
    return state, history


def _read(path: str) -> tuple[dict, bytes, bytes]:
    """The header, state bytes and history bytes of a whole, uncorrupted checkpoint."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise CheckpointError(path, "is empty (truncated)")
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].split(b" ")
    if end < 0 and MAGIC.startswith(first[0]):
        raise CheckpointError(path, f"is truncated ({len(data)} bytes, inside its first line)")
    if first[0] != MAGIC:
        raise CheckpointError(
            path,
            "is not a jaxsci checkpoint with a header (written before format 2, or another "
            "file); delete it to restart that run from step 0",
        )
    if end < 0 or len(first) != 3:
        raise CheckpointError(path, f"is truncated ({len(data)} bytes, inside its first line)")
    if first[1] != str(FORMAT).encode():
        raise CheckpointError(path, f"has format {first[1].decode(errors='replace')}, not {FORMAT}")
    end2 = data.find(b"\n", end + 1)
    if end2 < 0:
        raise CheckpointError(path, f"is truncated ({len(data)} bytes, inside its header)")
    line = data[end + 1 : end2 + 1]
    if hashlib.sha256(line).hexdigest().encode() != first[2]:
        raise CheckpointError(path, "is corrupted (its header does not match its checksum)")
    header = json.loads(line)
    start = end2 + 1
    n_state, n_hist = header["state"]["bytes"], header["history"]["bytes"]
    total = start + n_state + n_hist
    if len(data) < total:
        raise CheckpointError(path, f"is truncated ({len(data)} of {total} bytes)")
    if len(data) > total:
        raise CheckpointError(path, f"is corrupted ({len(data)} bytes where {total} were written)")
    payload, hist = data[start : start + n_state], data[start + n_state :]
    for name, part in [("state", payload), ("history", hist)]:
        if hashlib.sha256(part).hexdigest() != header[name]["sha256"]:
            raise CheckpointError(path, f"is corrupted (the {name} does not match its checksum)")
    return header, payload, hist


def _structure(tree) -> list:
    """`[path, shape, dtype]` of every leaf (a Python scalar: `[path, None, type name]`)."""
    out = []
    for keypath, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        name = jax.tree_util.keystr(keypath)
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            out.append([name, list(leaf.shape), str(np.dtype(leaf.dtype))])
        else:
            out.append([name, None, type(leaf).__name__])
    return out


def _compare_structure(path: str, found: list, expected: list) -> None:
    if found == expected:
        return
    if len(found) != len(expected):
        raise CheckpointError(
            path,
            f"holds a state of {len(found)} leaves where this run has {len(expected)} (another "
            "solver, optimiser or model)",
        )
    for f, e in zip(found, expected, strict=True):
        if f != e:
            what = "shape {}, dtype {}".format
            raise CheckpointError(
                path,
                f"holds another state: leaf {e[0]} has {what(f[1], f[2])} in the file, "
                f"{what(e[1], e[2])} in this run (another solver, optimiser or model)",
            )


def _versions() -> dict[str, str | None]:
    out = {}
    for name in ("jaxsci", "jax", "jaxlib"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _digest(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


def _steps_done(state) -> int:
    return int(np.max(np.asarray(state.step) + (np.asarray(state.failed_step) >= 0)))


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _key_data(x):
    return jr.key_data(x) if _is_key(x) else x


_SAVES = [0]


def _maybe_crash(path: str, parts: list[bytes]) -> None:
    """Fault injection for the tests: with `JAXSCI_TEST_KILL_IN_CHECKPOINT=N`, the N-th
    checkpoint this process writes stops half way through its temporary file with a SIGKILL."""
    n = os.environ.get("JAXSCI_TEST_KILL_IN_CHECKPOINT")
    if not n:
        return
    _SAVES[0] += 1
    if _SAVES[0] == int(n):
        data = b"".join(parts)
        with open(tmp_path(path), "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
