"""Tensor grids: the collocation axes of a problem, its boundary points, recognising a concrete
point set as a C-order tensor grid, and the mean on such a grid by Kronecker matvec.

On a tensor grid of evaluation points with axes `t_1, ..., t_d` the kernel matrix against the
collocation grid (axes `x_1, ..., x_d`) is `K(t_1, x_1) (x) ... (x) K(t_d, x_d)`, so the mean
`K alpha` costs d contractions (O(n_eval sum_i n_i)) instead of O(n_eval N) kernel evaluations.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..pde._conditions import Dirichlet
from ._kernels import gram
from ._kronecker import kron_matvec

_gram = eqx.filter_jit(gram)


def grid_axes(problem, grid, where: str = "solve") -> list[Array]:
    """Uniform axes (end points included) of `grid` points per dimension of `problem`."""
    dim = problem.dim
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        grid = (int(grid),) * dim
    grid = tuple(grid) if isinstance(grid, (tuple, list)) else (grid,)
    if len(grid) != dim or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 3 for n in grid
    ):
        raise ValueError(
            f"{where}: `grid` must be an int or {dim} ints >= 3 (points per dimension of the "
            f"{dim}-D problem {problem.name!r}), got {grid!r}"
        )
    dtype = jnp.result_type(float)
    return [
        jnp.linspace(lo, hi, n, dtype=dtype)
        for lo, hi, n in zip(problem.domain.lower, problem.domain.upper, grid, strict=True)
    ]


def mesh(axes) -> Array:
    """The `(N, dim)` points of a tensor grid in C order (last axis fastest)."""
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))


def boundary_mask(axes) -> Array:
    """True at the grid points on a face (first or last point of some axis), C order."""
    masks = [jnp.zeros(len(a), bool).at[0].set(True).at[-1].set(True) for a in axes]
    m = masks[0]
    for mi in masks[1:]:
        m = (m[:, None] | mi[None, :]).reshape(-1)
    return m


def boundary_values(problem, pts) -> Array:
    """Dirichlet data at `pts`: the exact solution, else the first `Dirichlet` condition."""
    if problem.exact is not None:
        return jax.vmap(lambda x: problem.exact(x, problem.params))(pts)
    for cond in problem.conditions:
        if isinstance(cond, Dirichlet):
            # the residual of the zero field is minus the Dirichlet value
            zero = lambda y: 0.0 * y[0]  # noqa: E731
            return -jax.vmap(lambda x, c=cond, z=zero: c.residual(z, x, problem.params))(pts)
    raise ValueError(f"solve: problem {problem.name!r} has no exact solution or Dirichlet data")


def tensor_axes(points) -> list[np.ndarray] | None:
    """The axes of `points` if they are a concrete C-order tensor grid (as `Domain.grid` makes),
    else None (traced points, scattered points, a grid in another order)."""
    if isinstance(points, jax.core.Tracer):
        return None
    p = np.asarray(points)
    if p.ndim != 2 or p.shape[0] == 0:
        return None
    n, dim = p.shape
    axes, stride = [], n
    for i in range(dim):
        # axis i varies with stride prod(n_{i+1}, ...): read its values off the first points
        col = p[:, i]
        changes = np.flatnonzero(col[1:] != col[:-1])
        step = int(changes[0]) + 1 if changes.size else n
        size = stride // step if stride % step == 0 else 0
        if size < 1:
            return None
        axes.append(col[:stride:step][:size])
        stride = step
    if stride != 1 or int(np.prod([len(a) for a in axes])) != n:
        return None
    if not np.array_equal(np.asarray(mesh([jnp.asarray(a) for a in axes])), p):
        return None
    return axes


def collocation_axes(points, shape) -> list[Array]:
    """The axes of a collocation grid stored as `(N, dim)` points of the given shape."""
    grid = points.reshape(*shape, len(shape))
    d = len(shape)
    return [grid[(0,) * i + (slice(None),) + (0,) * (d - i - 1)][:, i] for i in range(d)]


def kron_mean(kernel, eval_axes, axes, alpha) -> Array:
    """The mean `(K(t_1, x_1) (x) ... (x) K(t_d, x_d)) alpha` on the tensor grid of `eval_axes`
    (C order), for a `Product` kernel with coefficients `alpha` on the grid of `axes`."""
    factors = [
        _gram(k, jnp.asarray(t, alpha.dtype), x, 0, 0)
        for k, t, x in zip(kernel.kernels, eval_axes, axes, strict=True)
    ]
    return kron_matvec(factors, alpha)
