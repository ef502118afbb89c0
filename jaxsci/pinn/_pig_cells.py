"""The cell list behind the local (cut-off) evaluation of a PIG's Gaussian embedding.

Everything here works in the unit box `[0, 1]^d` the PIG maps its inputs to. The box is cut
into `cells^d` equal cells. A Gaussian is *registered* in every cell that its support box meets;
its support is the ellipsoid `q(z) = |A (z - mean)|^2 <= cutoff^2`, whose bounding box has
half-widths `cutoff * sqrt(Sigma_jj)` (`Sigma = (A^T A)^-1`; for a diagonal Gaussian simply
`cutoff * scale_j`). Cell coordinates are clipped to the box, so a Gaussian that wandered out of
the box registers in the edge cells it faces and a point outside the box is looked up in the
nearest cell: the local sum is exact (up to the cutoff) for every point.

The table is rebuilt from the current parameters at every call: `stencil^d` candidate cells per
Gaussian, valid ones sorted by cell, then for each cell the first `capacity` Gaussians in it
(their packed parameters gathered once, so that a point reads one contiguous row of
`capacity` entries instead of `capacity` scattered ones). Two things can overflow, both checked:
a support box spanning more than `stencil` cells on some axis (a Gaussian that grew), and a
cell holding more than `capacity` Gaussians (Gaussians that crowded together). The table carries
an `overflow` flag; the PIG turns it into a NaN output, which stops `train.fit` at that step
with the last finite parameters kept (rebuild with `PIG.with_capacity` and continue).

The table depends on the parameters only, never on the point, so under `vmap` over points it is
built once (not batched), and under forward-mode derivatives in `x` it carries no tangent. The
cell assignment is integer arithmetic on `stop_gradient`-ed parameters; gradients flow through
the gathered parameter values only, so they equal the gradients of the truncated dense sum.
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._checks import check_float, check_optional_int


class Neighbours(eqx.Module):
    """How a `PIG` sums its Gaussians at a point: every one (dense, the published method,
    optionally in blocks) or only those within a cutoff, found through a cell list. `None`
    picks the default, resolved by the PIG from its size (`PIG.neighbours` holds the resolved
    sizes).

    - `cutoff`: `None` (dense, default) or `c > 0` in units of sigma: a Gaussian contributes
      only where `|A (z - m)| <= c`. Each dropped term is at most `|w| exp(-c^2/2)` (`c = 5`:
      `3.7e-6 |w|`, `c = 6`: `1.5e-8 |w|`), so 5 is a good choice (see `PIG`).
    - `max_scale`: the largest sigma, a fraction of the side (default `4 * scale`): scales
      are capped smoothly below it, so that the cell list's stencil sized for it holds.
    - `cells`: cells per axis of the unit box (default: a cell side of about the initial
      support radius `cutoff * scale`, at most 4096 in 1D and 256 per axis otherwise).
    - `stencil`: cells per axis a support box may span (default: room for a Gaussian grown to
      `max_scale`).
    - `capacity`: Gaussians per cell (default: the expected count for uniform means,
      `mu = n (h + 2 r)^d`, with a margin for the Poisson fluctuation and for crowding during
      training: `1.25 mu + 6 sqrt(mu) + 8`). A cell that holds more turns the field into NaN
      (`PIG.occupancy`, `PIG.with_capacity`).
    - `block`: Gaussians per block of the dense sum (default `None`: one block). Blocks of
      128 held a 2-core CPU's flow-mixing step at 0.9 GB instead of 2.9 GB and made it 1.33x
      faster; while `points x channels x n_gaussians` is small one block is faster (Helmholtz,
      2560 points x 4 x 400: 1.3x), hence the default.

    Every size is static (a new size is a new compiled program, not new parameters).
    """

    cutoff: float | None = eqx.field(static=True, default=None)
    max_scale: float | None = eqx.field(static=True, default=None)
    cells: int | None = eqx.field(static=True, default=None)
    stencil: int | None = eqx.field(static=True, default=None)
    capacity: int | None = eqx.field(static=True, default=None)
    block: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.cutoff is not None:
            check_float(self.cutoff, "cutoff", "Neighbours", positive=True)
        if self.max_scale is not None:
            check_float(self.max_scale, "max_scale", "Neighbours", positive=True)
        for name in ("cells", "stencil", "capacity", "block"):
            check_optional_int(getattr(self, name), name, "Neighbours")

    def resolve(self, dim: int, n: int, scale: float) -> Neighbours:
        """These settings with every `None` size filled in for `n` Gaussians per channel of
        initial sigma `scale` in `dim` dimensions (`cutoff` and `block` stay as given)."""
        max_scale = 4.0 * scale if self.max_scale is None else float(self.max_scale)
        if not max_scale > scale:
            raise ValueError(f"PIG: `max_scale` must be > `scale` ({scale!r}), got {max_scale!r}")
        radius = min(1.0, (5.0 if self.cutoff is None else float(self.cutoff)) * scale)
        cells = default_cells(dim, radius) if self.cells is None else self.cells
        stencil = self.stencil
        if stencil is None:
            stencil = default_stencil(cells, radius * max_scale / scale)
        capacity = self.capacity
        if capacity is None:
            capacity = default_capacity(n, dim, cells, radius)
        cutoff = None if self.cutoff is None else float(self.cutoff)
        return Neighbours(cutoff, max_scale, cells, stencil, capacity, self.block)


class CellTable(eqx.Module):
    """Per channel and cell, the packed parameters of (at most `capacity`) Gaussians whose
    support box meets the cell; empty slots hold a zero-weight Gaussian.

    - `rows`: `(channels, cells^d, features, capacity)`, features `[mean, inverse scale,
      weight, shear...]` as packed by the PIG (features first, so that each is contiguous).
    - `count`: `(channels, cells^d)`, Gaussians registered per cell (may exceed `capacity`).
    - `overflow`: scalar bool, `True` when some cell or support box did not fit.
    """

    rows: Float[Array, "channels ncells features capacity"]
    count: Int[Array, "channels ncells"]
    overflow: Bool[Array, ""]


def default_cells(dim: int, radius: float) -> int:
    """Cells per axis: a cell side of about the initial support radius (`cutoff * scale`)."""
    return max(1, min(int(math.floor(1.0 / radius)), 4096 if dim == 1 else 256))


def default_stencil(cells: int, radius: float) -> int:
    """Cells per axis a support box of half-width `radius` can meet."""
    return min(cells, int(math.ceil(2 * radius * cells)) + 1)


def default_capacity(n: int, dim: int, cells: int, radius: float) -> int:
    """Expected Gaussians per cell for uniform means, `mu = n * (h + 2 r)^d`, plus a margin for
    the Poisson fluctuation and for crowding during training: `1.25 mu + 6 sqrt(mu) + 8`."""
    frac = min(1.0, 1.0 / cells + 2 * radius) ** dim
    mu = n * frac
    return int(min(n, math.ceil(1.25 * mu + 6 * math.sqrt(mu) + 8)))


def support_halfwidths(inv_scales: Array, shears: Array | None, cutoff: float) -> Array:
    """Half-widths `(..., d)` of the bounding box of `|A (z - m)| <= cutoff`, where
    `A = (I + shear) diag(inv_scales)`: `cutoff * sqrt(Sigma_jj)`, `Sigma = (A^T A)^-1`."""
    if shears is None:
        return cutoff / inv_scales
    d = inv_scales.shape[-1]
    # A^-1 = diag(scales) (I + S)^-1; row j of A^-1 has norm sqrt(Sigma_jj).
    unit = jnp.eye(d, dtype=shears.dtype) + shears
    inv = jnp.linalg.inv(unit)
    a_inv = inv / inv_scales[..., :, None]
    return cutoff * jnp.sqrt(jnp.sum(a_inv**2, axis=-1))


def build(
    packed: Float[Array, "channels features n"],
    means: Float[Array, "channels n dim"],
    halfwidths: Float[Array, "channels n dim"],
    *,
    cells: int,
    stencil: int,
    capacity: int,
) -> CellTable:
    """The `CellTable` for Gaussians with these `means` and support `halfwidths` (unit box).

    `packed` holds each Gaussian's parameters as one column; a zero column is appended as the
    empty slot. `means` and `halfwidths` are only used to place the Gaussians (no gradient)."""
    channels, n, dim = means.shape
    means = jax.lax.stop_gradient(means)
    halfwidths = jax.lax.stop_gradient(halfwidths)
    lo = jnp.clip(jnp.floor((means - halfwidths) * cells), 0, cells - 1).astype(jnp.int32)
    hi = jnp.clip(jnp.floor((means + halfwidths) * cells), 0, cells - 1).astype(jnp.int32)
    span_overflow = jnp.any(hi - lo + 1 > stencil)
    offsets = jnp.asarray(list(itertools.product(range(stencil), repeat=dim)), jnp.int32)
    cell = lo[:, :, None, :] + offsets  # (channels, n, stencil^d, dim)
    valid = jnp.all(cell <= hi[:, :, None, :], axis=-1)
    strides = jnp.asarray([cells**k for k in reversed(range(dim))], jnp.int32)
    n_cells = cells**dim
    flat = jnp.where(valid, jnp.sum(cell * strides, axis=-1), n_cells).reshape(channels, -1)
    n_pairs = flat.shape[-1]
    if (n_cells + 1) * n_pairs < 2**31 - 1:
        # one int32 sort of `cell * n_pairs + pair` (stable by construction): ~5x faster on
        # CPU than argsort, which sorts (key, index) pairs through a comparator
        packed_keys = jax.lax.sort(flat * n_pairs + jnp.arange(n_pairs, dtype=jnp.int32))
        order, keys = packed_keys % n_pairs, packed_keys // n_pairs
    else:
        order = jnp.argsort(flat, axis=-1, stable=True)
        keys = jnp.take_along_axis(flat, order, axis=-1)
    gaussian = order // offsets.shape[0]
    targets = jnp.arange(n_cells + 1, dtype=jnp.int32)
    bounds = jax.vmap(lambda k: jnp.searchsorted(k, targets, side="left"))(keys)
    start, count = bounds[:, :-1], bounds[:, 1:] - bounds[:, :-1]
    slot = start[:, :, None] + jnp.arange(capacity, dtype=jnp.int32)
    filled = jnp.arange(capacity, dtype=jnp.int32) < count[:, :, None]
    slot = jnp.minimum(slot, keys.shape[-1] - 1)
    index = jnp.where(
        filled,
        jnp.take_along_axis(gaussian, slot.reshape(channels, -1), axis=-1).reshape(slot.shape),
        n,
    )
    padded = jnp.concatenate([packed, jnp.zeros_like(packed[:, :, :1])], axis=-1)
    rows = jax.vmap(lambda p, i: jnp.moveaxis(p[:, i], 0, 1))(padded, index)
    overflow = span_overflow | jnp.any(count > capacity)
    return CellTable(rows, count, overflow)


def lookup(z: Float[Array, " dim"], cells: int) -> Int[Array, ""]:
    """The flat index of the cell holding the unit-box point `z` (clipped to the box)."""
    idx = jnp.clip(jnp.floor(jax.lax.stop_gradient(z) * cells), 0, cells - 1).astype(jnp.int32)
    strides = np.asarray([cells**k for k in reversed(range(z.shape[0]))], np.int32)
    return jnp.sum(idx * strides)
