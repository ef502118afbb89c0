"""Checkpoints of a `TrainState` and its history: written atomically, read into a skeleton."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

if TYPE_CHECKING:
    from ._loop import TrainState


def save_checkpoint(path, state: TrainState, history: dict[str, list[np.ndarray]]) -> None:
    """Write `state` and the history atomically (`eqx.tree_serialise_leaves` + `.npz`)."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        eqx.tree_serialise_leaves(f, jax.tree_util.tree_map(_key_data, state, is_leaf=_is_key))
    os.replace(tmp, path)
    flat = {k: np.concatenate(v, axis=-1) for k, v in history.items()}
    with open(path + ".history.npz.tmp", "wb") as f:
        np.savez(f, **flat)
    os.replace(path + ".history.npz.tmp", path + ".history.npz")


def load_checkpoint(path, like: TrainState) -> tuple[TrainState, dict[str, list[np.ndarray]]]:
    """Read a checkpoint written by `save_checkpoint` into the structure of `like`."""
    path = os.fspath(path)
    skeleton = jax.tree_util.tree_map(_key_data, like, is_leaf=_is_key)
    with open(path, "rb") as f:
        raw = eqx.tree_deserialise_leaves(f, skeleton)
    state = jax.tree_util.tree_map(
        lambda old, r: jr.wrap_key_data(r) if _is_key(old) else r, like, raw, is_leaf=_is_key
    )
    history = {}
    if os.path.exists(path + ".history.npz"):
        with np.load(path + ".history.npz") as data:
            history = {k: [data[k]] for k in data.files}
    return state, history


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _key_data(x):
    return jr.key_data(x) if _is_key(x) else x
