"""Domains: intervals, boxes and space x time cylinders, with their samplers.

Every domain is an axis-aligned box in R^d. A space-time domain keeps time as the *last*
coordinate, so a point is `x = (x_1, ..., x_d, t)` and the residual of an evolution equation
reads `time_derivative(u, x)` off that last axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_int

_METHODS = ("uniform", "halton", "hammersley", "latin", "grid")


def _as_bounds(lower, upper, name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    lower = tuple(float(v) for v in np.atleast_1d(np.asarray(lower, dtype=float)))
    upper = tuple(float(v) for v in np.atleast_1d(np.asarray(upper, dtype=float)))
    if len(lower) != len(upper):
        raise ValueError(
            f"{name}: `lower` and `upper` must have the same length, "
            f"got {len(lower)} and {len(upper)}"
        )
    if len(lower) == 0:
        raise ValueError(f"{name}: needs at least one coordinate")
    for lo, hi in zip(lower, upper, strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"{name}: expected finite bounds with lower < upper, got [{lo}, {hi}]")
    return lower, upper


class AbstractDomain(eqx.Module):
    """An axis-aligned box `[lower, upper]` in R^dim; when `time_dependent`, the last axis is time.

    Sampling methods take an explicit `key` and return points of shape `(n, dim)`.
    """

    lower: eqx.AbstractVar[tuple[float, ...]]
    upper: eqx.AbstractVar[tuple[float, ...]]
    time_dependent: eqx.AbstractVar[bool]

    @property
    def dim(self) -> int:
        return len(self.lower)

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        return tuple(range(self.dim - 1)) if self.time_dependent else tuple(range(self.dim))

    @property
    def time_axis(self) -> int | None:
        return self.dim - 1 if self.time_dependent else None

    @property
    def volume(self) -> float:
        return float(np.prod(np.subtract(self.upper, self.lower)))

    def _scale(self, unit: Array) -> Array:
        lo = jnp.asarray(self.lower, unit.dtype)
        hi = jnp.asarray(self.upper, unit.dtype)
        return lo + unit * (hi - lo)

    def sample(
        self, key: PRNGKeyArray | None, n: int, method: str = "uniform", dtype=None
    ) -> Float[Array, "n dim"]:
        """`n` collocation points in the interior.

        **Arguments:**

        - `key`: PRNG key (unused by `method="grid"`).
        - `n`: number of points (for `"grid"`, rounded down to a full tensor grid).
        - `method`: `"uniform"` (i.i.d.), `"halton"` (Halton sequence with a random
          Cranley-Patterson shift), `"hammersley"` (the Hammersley set, deterministic: radical
          inverses in bases 2, 3, ... on the first axes and i / (n + 1) on the last, i.e. time;
          DeepXDE's default), `"latin"` (Latin hypercube) or `"grid"` (cell-centred grid).
        - `dtype`: floating dtype; defaults to JAX's default float.
        """
        n = check_int(n, "n", "sample")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        if method == "grid":
            per = max(int(math.floor(n ** (1.0 / self.dim) + 1e-9)), 1)
            return self.grid((per,) * self.dim, dtype=dtype, cell_centred=True)
        return self._scale(_unit_points(key, n, self.dim, method, dtype))

    def grid(
        self, shape: Sequence[int], dtype=None, cell_centred: bool = False
    ) -> Float[Array, "n dim"]:
        """Tensor-product grid with `shape[i]` points along axis `i`, flattened to `(prod, dim)`.

        Endpoints are included unless `cell_centred`. Points are in C order (last axis fastest),
        so `values.reshape(shape)` recovers the grid.
        """
        if isinstance(shape, np.ndarray | jax.Array):
            shape = np.asarray(shape).tolist()
        shape = tuple(shape) if np.ndim(shape) else (shape,)
        shape = tuple(check_int(s, "shape", "grid") for s in shape)
        if len(shape) != self.dim:
            raise ValueError(f"grid: `shape` must have {self.dim} entries, got {len(shape)}")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        axes = []
        for lo, hi, s in zip(self.lower, self.upper, shape, strict=True):
            if cell_centred:
                axes.append(lo + (jnp.arange(s, dtype=dtype) + 0.5) * (hi - lo) / s)
            else:
                axes.append(jnp.linspace(lo, hi, s, dtype=dtype))
        mesh = jnp.meshgrid(*axes, indexing="ij")
        return jnp.stack([m.reshape(-1) for m in mesh], axis=-1)

    def sample_boundary(
        self,
        key: PRNGKeyArray,
        n: int,
        faces: Sequence[tuple[int, int]] | None = None,
        dtype=None,
        method: str = "uniform",
    ) -> Float[Array, "n dim"]:
        """`n` points on the spatial boundary (for space-time: `x` on a face, `t` free).

        `faces` restricts to a list of `(axis, side)` pairs, `side` 0 for `lower` and 1 for
        `upper`; by default every face of every spatial axis. With `method="uniform"` faces are
        chosen at random with probability proportional to their area (in 1D, the two end
        points equally); with any other `method` of `sample`, each face gets its share of `n`
        by area (largest remainders) and its points come from that method on the face's free
        coordinates, so a low-discrepancy set covers the boundary evenly.
        """
        n = check_int(n, "n", "sample_boundary")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        faces = self.boundary_faces if faces is None else tuple(tuple(f) for f in faces)
        for axis, side in faces:
            if axis not in self.spatial_axes or side not in (0, 1):
                raise ValueError(
                    f"sample_boundary: bad face {(axis, side)}; expected (axis, side) with axis in "
                    f"{self.spatial_axes} and side in (0, 1)"
                )
        widths = np.subtract(self.upper, self.lower)
        areas = np.array([np.prod(np.delete(widths, a)) if self.dim > 1 else 1.0 for a, _ in faces])
        if method != "uniform":
            share = n * areas / areas.sum()
            counts = np.floor(share).astype(int)
            counts[np.argsort(counts - share)[: n - counts.sum()]] += 1  # largest remainders
            keys = jr.split(key, len(faces))
            parts = [
                self._on_slice(k, c, a, self.upper[a] if side else self.lower[a], method, dtype)
                for (a, side), k, c in zip(faces, keys, counts, strict=True)
                if c > 0
            ]
            return jnp.concatenate(parts)
        kface, kpts = jr.split(key)
        which = jr.choice(kface, len(faces), (n,), p=jnp.asarray(areas / areas.sum()))
        pts = self._scale(jr.uniform(kpts, (n, self.dim), dtype))
        face_axis = jnp.asarray([a for a, _ in faces])[which]
        face_value = jnp.asarray([self.upper[a] if s else self.lower[a] for a, s in faces], dtype)[
            which
        ]
        onehot = jax.nn.one_hot(face_axis, self.dim, dtype=bool)
        return jnp.where(onehot, face_value[:, None], pts)

    @property
    def boundary_faces(self) -> tuple[tuple[int, int], ...]:
        return tuple((a, s) for a in self.spatial_axes for s in (0, 1))

    def sample_initial(
        self, key: PRNGKeyArray, n: int, dtype=None, method: str = "uniform"
    ) -> Float[Array, "n dim"]:
        """`n` points on the initial slice `t = t0` (time-dependent domains only), drawn with
        `method` (as `sample`) in the spatial coordinates."""
        if not self.time_dependent:
            raise ValueError("sample_initial: the domain is not time-dependent")
        n = check_int(n, "n", "sample_initial")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        if method == "uniform":  # the stream earlier runs drew: their seeds still reproduce
            pts = self._scale(jr.uniform(key, (n, self.dim), dtype))
            return pts.at[:, -1].set(self.lower[-1])
        return self._on_slice(key, n, self.dim - 1, self.lower[-1], method, dtype)

    def _on_slice(self, key, n, axis, value, method, dtype):
        """`n` points with coordinate `axis` fixed at `value`, the others by `method`."""
        if method == "grid":
            raise ValueError(
                "`method` 'grid' is for interior points; boundary and initial points take "
                "'uniform', 'halton', 'hammersley' or 'latin'"
            )
        free = _unit_points(key, n, self.dim - 1, method, dtype)
        unit = jnp.insert(free, axis, 0.0, axis=1)
        return self._scale(unit).at[:, axis].set(value)

    def check_points(self, x, name: str = "x") -> None:
        """Raise a `ValueError` unless `x` has shape `(n, dim)` (static check)."""
        shape = jnp.shape(x)
        if len(shape) != 2 or shape[-1] != self.dim:
            raise ValueError(f"`{name}` must have shape (n, {self.dim}), got {shape}")


class Interval(AbstractDomain):
    """The interval `[lower, upper]`."""

    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    time_dependent: bool = eqx.field(static=True)

    def __init__(self, lower: float, upper: float):
        self.lower, self.upper = _as_bounds(lower, upper, "Interval")
        if len(self.lower) != 1:
            raise ValueError("Interval: `lower` and `upper` must be scalars")
        self.time_dependent = False


class Box(AbstractDomain):
    """The box `[lower_1, upper_1] x ... x [lower_d, upper_d]`."""

    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    time_dependent: bool = eqx.field(static=True)

    def __init__(self, lower: Sequence[float], upper: Sequence[float]):
        self.lower, self.upper = _as_bounds(lower, upper, "Box")
        self.time_dependent = False


class SpaceTime(AbstractDomain):
    """The cylinder `space x [t0, t1]`; points are `(x_1, ..., x_d, t)`."""

    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    time_dependent: bool = eqx.field(static=True)

    def __init__(self, space: Interval | Box, t0: float, t1: float):
        if not isinstance(space, (Interval, Box)):
            raise TypeError(
                f"SpaceTime: `space` must be an Interval or Box, got {type(space).__name__}"
            )
        (t0,), (t1,) = _as_bounds(t0, t1, "SpaceTime (time interval)")
        self.lower = space.lower + (t0,)
        self.upper = space.upper + (t1,)
        self.time_dependent = True


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def _unit_points(key, n: int, dim: int, method: str, dtype) -> Array:
    """`n` points in [0, 1)^dim by `method` (every method of `sample` but "grid")."""
    if method not in _METHODS or method == "grid":
        raise ValueError(f"sample: unknown `method` {method!r}; expected one of {_METHODS}")
    if dim == 0:  # the end points of an interval: nothing left to draw
        return jnp.zeros((n, 0), dtype)
    if method == "hammersley":
        # radical inverses on the first dim - 1 axes, the evenly spaced i / (n + 1) on the last
        even = jnp.arange(1, n + 1, dtype=dtype)[:, None] / (n + 1)
        return jnp.concatenate([_halton(n, dim - 1, dtype), even], axis=1)
    if key is None:
        raise ValueError(f"sample: `key` is required for method={method!r}")
    if method == "uniform":
        return jr.uniform(key, (n, dim), dtype)
    if method == "halton":
        return (_halton(n, dim, dtype) + jr.uniform(key, (dim,), dtype)) % 1.0
    keys = jr.split(key, dim + 1)  # "latin"
    cols = [
        (jr.permutation(k, n).astype(dtype) + jr.uniform(keys[-1], (n,), dtype)) / n
        for k in keys[:-1]
    ]
    return jnp.stack(cols, axis=-1)


def _halton(n: int, dim: int, dtype) -> Array:
    """First `n` points (skipping 0) of the Halton sequence in [0, 1)^dim, computed on the host."""
    if dim > len(_PRIMES):
        raise ValueError(f"halton sampling supports dim <= {len(_PRIMES)}, got {dim}")
    idx = np.arange(1, n + 1)
    out = np.zeros((n, dim))
    for d in range(dim):
        b, f, i = _PRIMES[d], 1.0, idx.copy()
        r = np.zeros(n)
        while np.any(i > 0):
            f /= b
            r += f * (i % b)
            i //= b
        out[:, d] = r
    return jnp.asarray(out, dtype)
