"""EDMD on more snapshots than fit in memory: Gram matrices accumulated block by block.

The Gram path of EDMD needs only G = Psi_X^* W Psi_X, A = Psi_X^* W Psi_Y and Psi_X^* W X,
sums over snapshots. `gram_matrices` streams blocks of snapshot pairs from the host (an
iterable, or a function `block(i)` that generates block `i`, e.g. trajectories from their
initial states), evaluates the dictionary on each block on the device and adds the block's
products (`gram_products`: the host BLAS on the CPU backend, XLA's dot elsewhere): memory
O(block N + N^2), whatever the number of snapshots M. With a `mesh`, each block's rows are split
across the mesh's devices, each device forms the products of its rows (`jax.shard_map`) and a
`psum` adds them (an all-reduce): the same numbers up to the order of the sums.

The accuracy is the Gram path's (~eps cond(Psi)^2, see `EDMD`); the blocks' sums are added in
the data's precision (use float64).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, Inexact

from .._checks import check_int
from .._precision import full_precision
from ._dictionaries import AbstractDictionary, features
from ._estimators import gram_model
from ._gram import gram_products
from ._model import KoopmanModel


class GramMatrices(eqx.Module):
    """The sums EDMD's Gram path needs: `g` (N x N), `a` (N x N), `ax` (N x dim) and the total
    weight `total` of the snapshots (the sums are normalised by it: Monte Carlo weights)."""

    g: Inexact[Array, "n n"]
    a: Inexact[Array, "n n"]
    ax: Inexact[Array, "n dim"]
    total: Array


def _local_sums(dictionary, x, y, w):
    psi_x, psi_y = features(dictionary, x), features(dictionary, y)
    g, a, ax = gram_products(psi_x, psi_y, x.astype(psi_x.dtype), weights=w)
    return g, a, ax, jnp.sum(w)


@eqx.filter_jit
def _block_sums(dictionary, x, y, w):
    return _local_sums(dictionary, x, y, w)


@eqx.filter_jit
def _sharded_block_sums(dictionary, x, y, w, mesh):
    # each device forms the products of its own rows (a host callback under SPMD partitioning
    # would gather the block onto one device); `psum` adds the per-device products
    axis = mesh.axis_names[0]

    def local(xs, ys, ws):
        return jax.lax.psum(_local_sums(dictionary, xs, ys, ws), axis)

    rows = PartitionSpec(axis)
    return jax.shard_map(local, mesh=mesh, in_specs=(rows, rows, rows), out_specs=PartitionSpec())(
        x, y, w
    )


@full_precision
def gram_matrices(
    dictionary: AbstractDictionary,
    blocks: Iterable[tuple] | Callable[[int], tuple],
    *,
    n_blocks: int | None = None,
    mesh: Mesh | None = None,
) -> GramMatrices:
    """Accumulate EDMD's Gram matrices over blocks of snapshot pairs.

    **Arguments:**

    - `dictionary`: any `AbstractDictionary`.
    - `blocks`: an iterable of `(x, y)` or `(x, y, weights)` blocks (host or device arrays,
      `(b, dim)` each), or a function `block(i)` returning one, with `n_blocks`. Blocks of one
      shape reuse one compiled step; weights default to 1 per snapshot.
    - `n_blocks`: the number of blocks when `blocks` is a function.
    - `mesh`: split each block's rows across the devices of a `jax.sharding.Mesh` (the first
      axis), so the block's features and products are computed where its rows live.

    **Returns:** `GramMatrices` normalised by the total weight (so equal to the in-memory Gram
    fit with Monte Carlo weights 1/M); pass them to `fit_gram`.
    """
    if callable(blocks) and not isinstance(blocks, Iterable):
        check_int(n_blocks, "n_blocks", "gram_matrices")  # a `blocks` function needs it
        make = blocks
        blocks = (make(i) for i in range(n_blocks))
    sharding = None
    if mesh is not None:
        if not isinstance(mesh, Mesh):
            raise TypeError(f"gram_matrices: `mesh` must be a Mesh, got {type(mesh).__name__}")
        sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
    sums = None
    for i, block in enumerate(blocks):
        if not isinstance(block, tuple) or len(block) not in (2, 3):
            raise ValueError(f"gram_matrices: block {i} must be (x, y) or (x, y, weights)")
        x, y = jnp.asarray(block[0]), jnp.asarray(block[1])
        if x.ndim != 2 or x.shape != y.shape:
            raise ValueError(
                f"gram_matrices: block {i}: `x` and `y` must have one shape (b, dim), got "
                f"{x.shape} and {y.shape}"
            )
        if not (bool(jnp.isfinite(x).all()) and bool(jnp.isfinite(y).all())):
            raise ValueError(f"gram_matrices: block {i} has non-finite snapshots")
        w = jnp.ones(x.shape[0], x.dtype) if len(block) == 2 else jnp.asarray(block[2], x.dtype)
        if sharding is not None:
            x, y, w = (jax.device_put(v, sharding) for v in (x, y, w))
        if sharding is None:
            part = _block_sums(dictionary, x, y, w)
        else:
            part = _sharded_block_sums(dictionary, x, y, w, mesh)
        sums = part if sums is None else tuple(s + p for s, p in zip(sums, part, strict=True))
    if sums is None:
        raise ValueError("gram_matrices: `blocks` gave no block")
    g, a, ax, total = sums
    return GramMatrices(g / total, a / total, ax / total, total)


@full_precision
def fit_gram(
    dictionary: AbstractDictionary,
    grams: GramMatrices,
    *,
    rank: int | None = None,
    rcond: float | None = None,
) -> KoopmanModel:
    """The EDMD model from accumulated `GramMatrices` (the same model as
    `fit(EDMD(dictionary, method="gram", rank=rank, rcond=rcond), x, y)` on all the blocks)."""
    if not isinstance(grams, GramMatrices):
        raise TypeError(f"fit_gram: `grams` must be GramMatrices, got {type(grams).__name__}")
    return gram_model(dictionary, grams.g, grams.a, grams.ax, rank=rank, rcond=rcond)


def blocks_of(x, y, block_size: int):
    """Blocks of `block_size` rows of host arrays `x`, `y` (the last one padded with
    zero-weight rows, so every block has one shape and one compiled step)."""
    check_int(block_size, "block_size", "blocks_of")
    return _blocks(np.asarray(x), np.asarray(y), block_size)


def _blocks(x, y, block_size):
    m = x.shape[0]
    for start in range(0, m, block_size):
        xb, yb = x[start : start + block_size], y[start : start + block_size]
        w = np.ones(xb.shape[0], x.dtype)
        pad = block_size - xb.shape[0]
        if pad:
            xb = np.concatenate([xb, np.repeat(xb[:1], pad, 0)])
            yb = np.concatenate([yb, np.repeat(yb[:1], pad, 0)])
            w = np.concatenate([w, np.zeros(pad, x.dtype)])
        yield xb, yb, w
