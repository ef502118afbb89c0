"""Data-parallel training with JAX's own runtime: one jitted step over a device mesh.

The training state is placed once, before the first chunk: the trained parameters and the
optimiser state are replicated on every device, and the batch-like leaves of `extra`
(collocation points, observations, per-point weights: any array whose leading axis divides by
the number of devices) are split along that axis. XLA's SPMD partitioner then runs each
device's share of the loss and inserts the all-reduce of the gradient; no communication code of
our own. For an ensemble every leaf carries the member axis first, and the members are split
across devices instead (each device trains its own members; no communication at all).

The result equals the one-device result up to the order of the floating-point reductions.

Several processes (`launch.initialize`, one per host or GPU) work the same way: every process
builds the same initial state from the same keys, `shard_state` assembles the global arrays
from it (each process contributes the shards of its own devices), and `to_local` brings the
trained state back as ordinary arrays on every process (replicated leaves read locally, split
leaves all-gathered).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def data_mesh(n_devices: int | None = None, axis: str = "data") -> Mesh:
    """A one-axis mesh over the first `n_devices` devices (default: all of them)."""
    devices = jax.devices()
    n = len(devices) if n_devices is None else n_devices
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(devices):
        raise ValueError(
            f"data_mesh: `n_devices` must be an int in [1, {len(devices)}], got {n_devices!r}"
        )
    return Mesh(np.asarray(devices[:n]), (axis,))


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _place(x, sharding: NamedSharding):
    """`x` (the same value on every process) as a global array with `sharding`."""
    if not isinstance(x, jax.Array):
        return x
    if sharding.is_fully_addressable:
        return jax.device_put(x, sharding)
    if _is_key(x):
        return jax.random.wrap_key_data(_place(jax.random.key_data(x), sharding))
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _split_or_replicate(x, mesh: Mesh, axis: str):
    if not isinstance(x, jax.Array):
        return x
    n = mesh.shape[axis]
    split = x.ndim >= 1 and x.shape[0] % n == 0
    return _place(x, NamedSharding(mesh, PartitionSpec(axis) if split else PartitionSpec()))


def to_local(tree):
    """Every array leaf of `tree` as an array of this process alone: global arrays spanning
    other processes are read from a local replica, or all-gathered when split."""

    def local(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return x
        if _is_key(x):
            return jax.random.wrap_key_data(local(jax.random.key_data(x)))
        if x.is_fully_replicated:
            return jax.numpy.asarray(np.asarray(x.addressable_data(0)))
        from jax.experimental import multihost_utils

        return jax.numpy.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree_util.tree_map(local, tree)


def shard_state(state, mesh: Mesh, *, ensemble: bool = False):
    """Place a `TrainState` on `mesh`: parameters and optimiser state replicated, the leading
    axis of `extra` split over the mesh's first axis (for an `ensemble`, every leaf's member
    axis is split instead)."""
    if not isinstance(mesh, Mesh):
        raise TypeError(f"`mesh` must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    axis = mesh.axis_names[0]
    split = lambda tree: jax.tree_util.tree_map(lambda x: _split_or_replicate(x, mesh, axis), tree)
    if ensemble:
        return split(state)
    replicated = NamedSharding(mesh, PartitionSpec())
    rep = lambda tree: jax.tree_util.tree_map(lambda x: _place(x, replicated), tree)
    return type(state)(
        rep(state.params),
        rep(state.opt_state),
        split(state.extra),
        rep(state.step),
        rep(state.failed_step),
        rep(state.key),
    )
