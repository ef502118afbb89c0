"""Physics-Informed Gaussians (Kang et al., "PIG: Physics-Informed Gaussians as Adaptive
Parametric Mesh Representations", ICLR 2025): a field made of trainable Gaussians feeding a
tiny MLP.

Notation (paper -> code): `mu_i` -> `means`, `sigma_i` -> `scales`, `w_i` ->
`weights`, `k` -> `channels`, `N` -> `n_gaussians`, `FE(x)` -> `PIG.features`, the rotation of
the full-covariance variant -> `shears` (a unit lower-triangular factor, see below).
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_choice, check_float, check_int, check_optional_int
from . import _pig_cells as cells_
from ._fields import _ACTIVATIONS, AbstractField, Linear, _box
from ._pig_cells import Neighbours

_COVARIANCES = ("diagonal", "full")
_INITS = ("uniform", "grid")
_PIG_ACTIVATIONS = ("tanh", "sin")


def _setting(name: str, doc: str) -> property:
    """A read-only property of `PIG` that is the setting `name` of its `neighbours`."""
    return property(lambda pig: getattr(pig.neighbours, name), doc=doc)


class PIG(AbstractField):
    r"""A Physics-Informed Gaussian field: `u(x) = MLP(FE(x))`, with the Gaussian embedding

    `FE(x)_c = sum_i w_{c,i} exp(-|A_{c,i} (z - m_{c,i})|^2 / 2)`, `c = 1..channels`,

    where `z` is `x` mapped to the unit box of the domain, `m_{c,i}` the means,
    `A = (I + S) diag(1/sigma)` (`S = 0` for `covariance="diagonal"`; a trainable strictly
    lower-triangular `S` for `"full"`, which with the scales spans every covariance) and the MLP
    has one hidden layer (`hidden` units, tanh or sine). Means, scales, shears, weights and the
    MLP all train. As in the paper each channel has its own set of `n_gaussians` Gaussians.

    **Local evaluation.** With `Neighbours(cutoff=None)` (the default) every point is evaluated
    against every Gaussian (the published method). With a cutoff `c`, a Gaussian contributes to
    `FE(x)` only where `|A (z - m)| <= c`, found through a cell list rebuilt from the current means
    at every call (`jaxsci/pinn/_pig_cells.py`): the cost per point is `capacity` Gaussians per
    channel instead of `n_gaussians`. The truncation error is bounded term by term: each dropped
    term is at most `|w_{c,i}| exp(-c^2/2)`, so `|FE_c(x) - FE_c^dense(x)| <= exp(-c^2/2) sum_i
    |w_{c,i}|` (`c = 5`: `3.7e-6 sum |w|`; `c = 6`: `1.5e-8 sum |w|`), and a `k`-th derivative of a
    dropped term along a unit direction is at most `|w| H_k(c) exp(-c^2/2) / sigma_min^k` with
    `H_1(c) = c`, `H_2(c) = c^2 - 1`. Inside the cutoff the sum is the dense one term by term, so
    values, `x`-derivatives of any order and parameter gradients are the dense ones up to these
    bounds. The truncated field jumps by at most the value bound where a point crosses a Gaussian's
    cutoff; training does not see the jump (residuals are taken pointwise).

    **Dense evaluation in blocks.** With `Neighbours(block=...)`, the dense sum runs over the
    Gaussians in blocks of about `block` (a `lax.scan`, each block rematerialised in the backward
    pass), so that its working memory is `points x block` instead of `points x n_gaussians`: the
    same terms, summed in a different order (equal to rounding). Use it when `points x channels x
    n_gaussians` is large: on a 2-core CPU, with 6144 points and 4 x 1000 Gaussians, the one-block
    backward pass held GBs of point-Gaussian intermediates and spent much of its time allocating and
    paging them in; blocks of 128 made a flow-mixing step 1.33x faster (peak memory 2.9 -> 0.9 GB)
    and a nonlinear-diffusion step 2.3x (5.5 -> 0.9 GB; `experiments/pig/step_variants.py`). While
    the product is small the one-block sum is faster (Helmholtz, 2560 points x 4 x 400: 1.3x), so
    one block is the default.

    The cell list has static sizes (`Neighbours`: `cells` per axis, `stencil` cells per axis a
    support box may span, `capacity` Gaussians per cell; defaults sized from `n_gaussians`, `scale`
    and the cutoff). If a call finds more, the field returns NaN (so `pinn.solve` stops at that
    step, keeping the last finite parameters): check with `PIG.occupancy` and rebuild with
    `PIG.with_capacity`.

    **Arguments:**

    - `domain`: the problem's domain (anything with `lower`, `upper`); inputs are taken in its
      coordinates and mapped to the unit box inside the field.
    - `n_gaussians`: Gaussians per channel (`N`).
    - `channels`: number of Gaussian sets / embedding features (`k = 4` in the paper).
    - `hidden`: width of the MLP's hidden layer (16 in the paper).
    - `activation`: `"tanh"` (default) or `"sin"`.
    - `scale`: initial `sigma` as a fraction of the domain's side, per axis (the paper's
      Helmholtz and flow-mixing runs use 0.05; about the mean spacing `N^(-1/d)` is a good start).
    - `covariance`: `"diagonal"` (default) or `"full"`.
    - `init`: means `"uniform"` over the domain (default) or on a `"grid"` (`N` a `d`-th power).
    - `weight_std`: standard deviation of the initial weights (default 0.01, as in the paper).
    - `out_size`: `"scalar"` (default) or the number of components of a vector field.
    - `neighbours`: how the Gaussians are summed, a `Neighbours` (the cutoff, the largest
      `sigma` `max_scale`, the cell-list sizes, the dense sum's `block`); `None` is `Neighbours()`,
      the dense sum of the paper. Scales are `sigma = max_scale * exp(-softplus(log(max_scale) -
      s))` of a free parameter `s`: positive, smooth, `~exp(s)` well below the cap, never above
      it, so the cell list's stencil holds.
    - `key`: PRNG key.

    **Example:**

    ```python
    problem = pde.get_problem("helmholtz_2d")
    local = pinn.Neighbours(cutoff=5.0)
    field = pinn.PIG(problem.domain, 1600, scale=0.03, neighbours=local, key=jr.key(0))
    sol = pinn.solve(problem, field, optax.adam(1e-2), key=jr.key(1), steps=5000)
    # an ensemble: fields = eqx.filter_vmap(lambda k: pinn.PIG(problem.domain, 400, key=k))(keys)
    ```
    """

    means: Float[Array, "channels n dim"]
    log_scales: Float[Array, "channels n dim"]
    weights: Float[Array, "channels n"]
    shears: Float[Array, "channels n dim dim"] | None
    hidden_layer: Linear
    output_layer: Linear
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    in_size: int = eqx.field(static=True)
    out_size: int | str = eqx.field(static=True)
    neighbours: Neighbours  # resolved sizes, no arrays (swapped by `with_capacity`)

    def __init__(
        self,
        domain,
        n_gaussians: int,
        channels: int = 4,
        hidden: int = 16,
        activation: str = "tanh",
        scale: float = 0.05,
        covariance: str = "diagonal",
        init: str = "uniform",
        weight_std: float = 0.01,
        out_size: int | str = "scalar",
        neighbours: Neighbours | None = None,
        *,
        key: PRNGKeyArray,
    ):
        lower, upper = _box(
            domain, "PIG", "`domain` must have finite `lower` and `upper` (e.g. `problem.domain`)"
        )
        dim = len(lower)
        check_int(n_gaussians, "n_gaussians", "PIG")
        check_int(channels, "channels", "PIG")
        check_int(hidden, "hidden", "PIG")
        if out_size != "scalar":
            check_int(out_size, "out_size", "PIG")
        check_choice(activation, "activation", _PIG_ACTIVATIONS, "PIG")
        check_choice(covariance, "covariance", _COVARIANCES, "PIG")
        check_choice(init, "init", _INITS, "PIG")
        check_float(scale, "scale", "PIG", positive=True)
        check_float(weight_std, "weight_std", "PIG", non_negative=True)
        neighbours = Neighbours() if neighbours is None else neighbours
        if not isinstance(neighbours, Neighbours):
            raise TypeError(
                f"PIG: `neighbours` must be a pinn.Neighbours, got {type(neighbours).__name__}"
            )
        neighbours = neighbours.resolve(dim, n_gaussians, scale)
        max_scale = neighbours.max_scale

        km, kw, kh, ko = jr.split(key, 4)
        if init == "uniform":
            means = jr.uniform(km, (channels, n_gaussians, dim))
        else:
            per = round(n_gaussians ** (1.0 / dim))
            if per**dim != n_gaussians:
                raise ValueError(
                    f"PIG: `init='grid'` needs `n_gaussians` to be a {dim}-th power, "
                    f"got {n_gaussians}"
                )
            axis = (jnp.arange(per) + 0.5) / per
            grid = jnp.stack(jnp.meshgrid(*([axis] * dim), indexing="ij"), -1).reshape(-1, dim)
            means = jnp.broadcast_to(grid, (channels, n_gaussians, dim))
        self.means = means
        # invert sigma = max * exp(-softplus(log max - s)) at sigma = scale
        gap = math.log(max_scale / scale)
        raw = math.log(max_scale) - math.log(math.expm1(gap))
        self.log_scales = jnp.full((channels, n_gaussians, dim), raw)
        self.weights = weight_std * jr.normal(kw, (channels, n_gaussians))
        self.shears = jnp.zeros((channels, n_gaussians, dim, dim)) if covariance == "full" else None
        out = 1 if out_size == "scalar" else out_size
        self.hidden_layer = Linear(channels, hidden, key=kh)
        self.output_layer = Linear(hidden, out, key=ko)
        self.lower, self.upper = lower, upper
        self.activation, self.in_size, self.out_size = activation, dim, out_size
        self.neighbours = neighbours

    def __check_init__(self):
        if self.means.ndim != 3 or self.means.shape[-1] != self.in_size:
            raise ValueError(
                f"PIG: `means` must have shape (channels, n, {self.in_size}), "
                f"got {self.means.shape}"
            )
        check_int(self.means.shape[1], "n_gaussians", "PIG")
        if not isinstance(self.neighbours, Neighbours) or self.neighbours.capacity is None:
            raise TypeError("PIG: `neighbours` must be a resolved pinn.Neighbours")

    @classmethod
    def from_source(cls, problem, n_gaussians: int, *, key: PRNGKeyArray, **kwargs) -> PIG:
        """A PIG for `problem` with its means drawn where the source `|f|` is large (plus a
        uniform `floor`) and each `sigma` from the local density: `pig_from_source` in
        `jaxsci/pinn/_pig_adapt.py`, which takes the same arguments."""
        from ._pig_adapt import pig_from_source

        return pig_from_source(problem, n_gaussians, key=key, **kwargs)

    # ------------------------------------------------------------------ properties

    @property
    def n_gaussians(self) -> int:
        return self.means.shape[-2]

    @property
    def channels(self) -> int:
        return self.means.shape[-3]

    # the `Neighbours` settings, resolved, read through the PIG
    cutoff = _setting("cutoff", "The cutoff in units of sigma (`None`: dense).")
    max_scale = _setting("max_scale", "The largest `sigma`, a fraction of the side.")
    block = _setting("block", "Gaussians per block of the dense sum (`None`: one block).")
    cells = _setting("cells", "Cells per axis of the cell list.")
    stencil = _setting("stencil", "Cells per axis a Gaussian's support box may span.")
    capacity = _setting("capacity", "Gaussians per cell the cell list holds.")

    @property
    def scales(self) -> Array:
        """`sigma` in unit-box coordinates, `(channels, n, dim)` (in `(0, max_scale)`)."""
        return jnp.exp(self._log_sigma())

    def _log_sigma(self) -> Array:
        top = math.log(self.max_scale)
        return top - jax.nn.softplus(top - self.log_scales)

    def physical_means(self) -> Array:
        """The means in the problem's coordinates, `(channels, n, dim)`."""
        lo, hi = jnp.asarray(self.lower), jnp.asarray(self.upper)
        return lo + self.means * (hi - lo)

    def physical_scales(self) -> Array:
        """`sigma` in the problem's coordinates, `(channels, n, dim)` (diagonal part)."""
        return self.scales * (jnp.asarray(self.upper) - jnp.asarray(self.lower))

    # ------------------------------------------------------------------ evaluation

    def __call__(self, x: Float[Array, " dim"]) -> Array:
        return self.evaluate(x)

    def evaluate(self, x: Float[Array, " dim"], *, dense: bool = False) -> Array:
        """`u(x)`; `dense=True` forces the every-Gaussian reference evaluation."""
        act = _ACTIVATIONS[self.activation]
        h = act(self.hidden_layer(self.features(x, dense=dense)))
        out = self.output_layer(h)
        return out[0] if self.out_size == "scalar" else out

    def features(self, x: Float[Array, " dim"], *, dense: bool = False) -> Float[Array, " k"]:
        """The Gaussian embedding `FE(x)`, one value per channel."""
        if x.shape != (self.in_size,):
            raise ValueError(f"PIG: expected one point of shape ({self.in_size},), got {x.shape}")
        lo = jnp.asarray(self.lower, x.dtype)
        hi = jnp.asarray(self.upper, x.dtype)
        z = (x - lo) / (hi - lo)
        packed = self._packed(x.dtype)
        if dense or self.cutoff is None:
            return jax.vmap(lambda rows: _dense_sum(rows, z, self.in_size, self.block))(packed)
        table = self.cell_table(x.dtype)
        cell = cells_.lookup(z, self.cells)
        rows = table.rows[:, cell]
        fe = jax.vmap(lambda r: _embed(r, z, self.in_size, self.cutoff))(rows)
        return jnp.where(table.overflow, jnp.nan, fe)

    def cell_table(self, dtype=None) -> cells_.CellTable:
        """The cell list of the current parameters (see `jaxsci/pinn/_pig_cells.py`)."""
        if self.cutoff is None:
            raise ValueError("PIG.cell_table: this PIG is dense (`cutoff=None`)")
        dtype = self.means.dtype if dtype is None else dtype
        inv = jnp.exp(-self._log_sigma())
        half = cells_.support_halfwidths(inv, self._strict_shears(), self.cutoff)
        return cells_.build(
            self._packed(dtype),
            self.means,
            half,
            cells=self.cells,
            stencil=self.stencil,
            capacity=self.capacity,
        )

    def occupancy(self) -> dict:
        """How full the cell list is now: `max_count` (largest Gaussians per cell), `capacity`,
        `overflow` (bool), over every member of an ensemble. Concrete values: call outside
        `jit`."""
        table = self._tables()
        return {
            "max_count": int(jnp.max(table.count)),
            "capacity": self.capacity,
            "overflow": bool(jnp.any(table.overflow)),
        }

    def with_capacity(self, capacity: int | None = None, margin: float = 1.25) -> PIG:
        """The same PIG with a new `capacity` (default: `margin` times the current largest
        count per cell, at most `n_gaussians`) and a `stencil` that fits the current largest
        support box. Concrete: call outside `jit` (e.g. between two `pinn.solve` calls)."""
        check_optional_int(capacity, "capacity", "PIG.with_capacity")
        if self.cutoff is None:
            return self
        half = cells_.support_halfwidths(
            jnp.exp(-self._log_sigma()), self._strict_shears(), self.cutoff
        )
        span = int(jnp.max(jnp.ceil(2 * half * self.cells))) + 1
        stencil = min(self.cells, max(self.stencil, span + 1))
        new = self._with_sizes(stencil=stencil)
        if capacity is None:
            most = int(jnp.max(new._tables().count))
            capacity = max(1, min(self.n_gaussians, math.ceil(margin * most)))
        return new._with_sizes(capacity=capacity)

    # ------------------------------------------------------------------ internals

    def _with_sizes(self, **sizes) -> PIG:
        """This PIG with other cell-list sizes, its parameters unchanged (`dataclasses.replace`
        builds the new `Neighbours` through its constructor, which checks them)."""
        neighbours = dataclasses.replace(self.neighbours, **sizes)
        return eqx.tree_at(lambda pig: pig.neighbours, self, neighbours)

    def _tables(self) -> cells_.CellTable:
        """`cell_table()`, vmapped over the leading axes of an ensemble (`filter_vmap`-built)."""
        fn = PIG.cell_table
        for _ in range(self.means.ndim - 3):
            fn = eqx.filter_vmap(fn)
        return fn(self)

    def _strict_shears(self):
        if self.shears is None:
            return None
        return jnp.tril(self.shears, k=-1)

    def _packed(self, dtype) -> Array:
        """Each Gaussian as one column `[mean, 1/sigma, weight, shear (strict lower, flat)]`:
        shape `(channels, features, n)`."""
        parts = [self.means, jnp.exp(-self._log_sigma()), self.weights[..., None]]
        if self.shears is not None:
            rows, cols = jnp.tril_indices(self.in_size, k=-1)
            parts.append(self.shears[..., rows, cols])
        return jnp.swapaxes(jnp.concatenate(parts, axis=-1), -1, -2).astype(dtype)


def _embed(rows: Array, z: Array, dim: int, cutoff: float | None) -> Array:
    """`sum_i w_i exp(-q_i / 2)` over the packed Gaussians `rows` (one channel, features
    first: `(features, n)`) at `z`, with `q_i = |(I + S_i)((z - m_i) / sigma_i)|^2`; terms with
    `q_i > cutoff^2` dropped. Features-first keeps each quantity contiguous over Gaussians."""
    means, inv, w = rows[:dim], rows[dim : 2 * dim], rows[2 * dim]
    y = (z[:, None] - means) * inv
    if rows.shape[0] > 2 * dim + 1:
        shear = rows[2 * dim + 1 :]
        r, c = jnp.tril_indices(dim, k=-1)
        # y_j += sum_{k<j} S_jk y_k (strict lower triangle, row-major)
        y = y + jnp.zeros_like(y).at[r].add(shear * y[c])
    q = jnp.sum(y * y, axis=0)
    g = jnp.exp(-0.5 * q)
    if cutoff is not None:
        g = jnp.where(q <= cutoff * cutoff, g, 0.0)
    return jnp.sum(w * g)


def _dense_sum(rows: Array, z: Array, dim: int, block: int | None) -> Array:
    """`_embed` over every Gaussian, in `ceil(n / block)` equal blocks scanned in sequence with
    each block rematerialised in the backward pass (working memory `block` terms per point, not
    `n`). Padding columns are zero: weight 0, so their terms are 0 (and finite: `q = 0`)."""
    n = rows.shape[-1]
    if block is None or n <= block:
        return _embed(rows, z, dim, None)
    k = -(-n // block)
    size = -(-n // k)
    rows = jnp.pad(rows, ((0, 0), (0, k * size - n)))
    blocks = jnp.moveaxis(rows.reshape(rows.shape[0], k, size), 1, 0)
    body = jax.checkpoint(lambda acc, r: (acc + _embed(r, z, dim, None), None))
    return jax.lax.scan(body, jnp.zeros((), rows.dtype), blocks)[0]
