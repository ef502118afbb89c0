"""`solve`: the GP / kernel-collocation solution of a `Problem` on a tensor grid.

The solution is the GP conditional mean written in kernel-coefficient form,
`u(x) = sum_j alpha_j k(x, x_j)` over the grid points `x_j`, with `k` a product over dimensions
of spectral-mixture kernels (Fang et al., ICLR 2024). Collocation asks `L u = f` at the interior
grid points and `u = g` (Dirichlet data) on every face. For a linear operator this is one linear
least-squares problem for `alpha`: its rows are Kronecker products of per-dimension derivative
Gram matrices, one term of `problem.operator` at a time. It is solved with a Tikhonov-filtered
SVD in float64 (`regularisation`, relative to the largest singular value), which is what the
published Adam training converges towards for fixed kernel parameters, in one step. A nonlinear
problem is solved by Gauss-Newton on `alpha`, each step the same filtered least squares on the
linearised residual (forward-mode Jacobian). 2D grids past `max_points` never form the
matrix: linear operators whose terms each differentiate one dimension (Laplacian, advection) go
through a Sylvester solve (`_sylvester.py`), nonlinear ones through Newton-Krylov on grid values
(`_newton_krylov.py`).

Frequencies are not hand-set: each dimension's mixture takes the strongest peaks of the
(zero-padded) spectrum of the source term sampled on the grid (of the boundary data where the
source vanishes, as for advection), plus a zero-frequency component.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, PyTree

from ..pde._conditions import Dirichlet
from ..pde._problem import Problem, relative_l2
from ._kernels import AbstractKernel, Product, SpectralMixture, gram
from ._kronecker import kron_dense, kron_matvec, operator_factors
from ._newton_krylov import newton_krylov
from ._sylvester import dim_operator, sylvester_solve

_gram = eqx.filter_jit(gram)


class GPSolution(eqx.Module):
    """The result of `solve`.

    - `kernel`: the product kernel used.
    - `coefficients`: `alpha`, one per grid point (the mean is `k(x, points) @ alpha`).
    - `points`: the collocation grid, shape `(N, dim)`.
    - `problem`, `params`: the problem solved and its parameters.
    - `history`: per Gauss-Newton step `residual` (root mean square), NumPy arrays.
    - `stats`: `wall_s`, `steps`, `points`, `frequencies` (per dimension), `method`.
    """

    kernel: Product
    coefficients: Array
    points: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    problem: Problem
    params: PyTree
    history: dict[str, np.ndarray]
    stats: dict[str, Any]

    def __call__(self, points: ArrayLike) -> Array:
        """The posterior mean at `points`, shape `(n, dim)`: shape `(n,)`."""
        self.problem.domain.check_points(points, "points")
        points = jnp.asarray(points, self.points.dtype)
        return _mean(self.kernel, self.points, self.coefficients, points)

    def error(self, points: ArrayLike | None = None) -> Array:
        """Relative L2 error against the problem's truth, on a uniform grid of 300 points per
        dimension by default."""
        if points is None:
            # tensor test grid: the mean is (K_test,1 (x) ... (x) K_test,d) alpha
            dom, dtype = self.problem.domain, self.points.dtype
            test = [
                jnp.linspace(lo, hi, 300, dtype=dtype)
                for lo, hi in zip(dom.lower, dom.upper, strict=True)
            ]
            grid = self.points.reshape(*self.shape, len(self.shape))
            axes = [
                grid[(0,) * i + (slice(None),) + (0,) * (len(self.shape) - i - 1)][:, i]
                for i in range(len(self.shape))
            ]
            factors = [
                _gram(k, t, a, 0, 0)
                for k, t, a in zip(self.kernel.kernels, test, axes, strict=True)
            ]
            mean = kron_matvec(factors, self.coefficients)
            points = dom.grid((300,) * len(self.shape), dtype)
            return relative_l2(mean, self.problem.exact_values(points, self.params))
        points = jnp.asarray(points, self.points.dtype)
        return relative_l2(self(points), self.problem.exact_values(points, self.params))


@eqx.filter_jit
def _mean(kernel, grid, alpha, points):
    def one(x):
        return jax.vmap(lambda y: kernel(x, y))(grid) @ alpha

    return jax.lax.map(one, points, batch_size=256)


def warn_if_single(x, name):
    """GP solves need float64: warn on lower precision."""
    if jnp.dtype(x.dtype) in (jnp.float32, jnp.float16, jnp.bfloat16):
        warnings.warn(
            f"`{name}` is {x.dtype}: GP kernel systems are ill-conditioned and only accurate "
            "to ~1e-2 in single precision; enable float64 "
            "(`jax.config.update('jax_enable_x64', True)`).",
            UserWarning,
            stacklevel=3,
        )


def _axes(problem: Problem, grid) -> list[Array]:
    dim = problem.dim
    if isinstance(grid, (int, np.integer)):
        grid = (int(grid),) * dim
    grid = tuple(grid)
    if len(grid) != dim or not all(isinstance(n, (int, np.integer)) and n >= 3 for n in grid):
        raise ValueError(
            f"solve: `grid` must be an int or {dim} ints >= 3 (points per dimension of the "
            f"{dim}-D problem {problem.name!r}), got {grid!r}"
        )
    dtype = jnp.result_type(float)
    return [
        jnp.linspace(lo, hi, n, dtype=dtype)
        for lo, hi, n in zip(problem.domain.lower, problem.domain.upper, grid, strict=True)
    ]


def spectral_frequencies(values: np.ndarray, axes: Sequence[np.ndarray], components: int):
    """The `components` strongest frequencies (cycles per unit) of `values` on a tensor grid,
    per dimension: peaks of the zero-padded FFT magnitude, averaged over the other axes."""
    out = []
    for i, ax in enumerate(axes):
        v = np.moveaxis(values, i, -1)
        v = v - v.mean(axis=-1, keepdims=True)
        n = len(ax)
        pad = 16 * n
        spec = np.abs(np.fft.rfft(v * np.hanning(n), n=pad, axis=-1))
        spec = spec.reshape(-1, spec.shape[-1]).mean(0)
        freqs = np.fft.rfftfreq(pad, d=float(ax[1] - ax[0]))
        peaks = [
            j for j in range(1, len(spec) - 1) if spec[j] >= spec[j - 1] and spec[j] > spec[j + 1]
        ]
        peaks = sorted(peaks, key=lambda j: -spec[j])
        chosen = (
            [freqs[j] for j in peaks if spec[j] > 1e-3 * spec[peaks[0]]][:components]
            if peaks
            else []
        )
        out.append(np.asarray(sorted(chosen)))
    return out


def default_kernel(problem: Problem, axes, components: int = 4, envelope: float = 10.0) -> Product:
    """Per dimension a `SpectralMixture` with frequencies from the source's spectrum (from the
    Dirichlet data on the faces where the source vanishes to rounding, as for advection), a
    zero-frequency component, unit weights and envelope `rho = envelope / (domain length)`."""
    if problem.source is None:
        raise ValueError(
            f"solve: problem {problem.name!r} has no `source` to read frequencies from; pass "
            "`kernel=`"
        )
    mesh = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
    f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(mesh))
    f = f.reshape(tuple(len(a) for a in axes))
    np_axes = [np.asarray(a) for a in axes]
    g = np.asarray(_boundary_values(problem, mesh)).reshape(f.shape) if len(axes) > 1 else None
    # a source at rounding level (1e-14 for advection, from autodiff of the exact solution)
    if g is None or np.max(np.abs(f)) > 1e-10 * max(1.0, float(np.max(np.abs(g)))):
        found = spectral_frequencies(f, np_axes, components)
    else:
        # a homogeneous equation (advection): the solution's frequencies are those of its
        # boundary data; per dimension, the data on the faces along which that dimension varies
        found = []
        for i in range(len(axes)):
            lines = np.moveaxis(g, i, -1).reshape(-1, f.shape[i])
            on_face = np.asarray(_boundary_mask([a for j, a in enumerate(axes) if j != i]))
            rows = lines[on_face]
            found.append(
                spectral_frequencies(rows, [np.arange(len(rows)), np_axes[i]], components)[1]
            )
    kernels = []
    for ax, mu in zip(axes, found, strict=True):
        length = float(ax[-1] - ax[0])
        mu = np.concatenate([[0.0], mu])
        kernels.append(SpectralMixture(jnp.ones(len(mu)), jnp.asarray(mu), envelope / length))
    return Product(kernels)


@jax.jit
def _lstsq(a, b, regularisation):
    # Tikhonov-filtered SVD: the Gram rows are numerically rank deficient, the normal equations
    # would square a condition number that is already ~1e16.
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    filt = s / (s**2 + (regularisation * s[0]) ** 2)
    return vt.T @ (filt * (u.T @ b))


def _boundary_mask(axes):
    masks = [jnp.zeros(len(a), bool).at[0].set(True).at[-1].set(True) for a in axes]
    m = masks[0]
    for mi in masks[1:]:
        m = (m[:, None] | mi[None, :]).reshape(-1)
    return m


def _boundary_values(problem, pts):
    if problem.exact is not None:
        return jax.vmap(lambda x: problem.exact(x, problem.params))(pts)
    for cond in problem.conditions:
        if isinstance(cond, Dirichlet):
            # the residual of the zero field is minus the Dirichlet value
            zero = lambda y: 0.0 * y[0]  # noqa: E731
            return -jax.vmap(lambda x, c=cond, z=zero: c.residual(z, x, problem.params))(pts)
    raise ValueError(f"solve: problem {problem.name!r} has no exact solution or Dirichlet data")


def solve(
    problem: Problem,
    kernel: AbstractKernel | Sequence[AbstractKernel] | None = None,
    grid: int | Sequence[int] = 200,
    *,
    method: str | None = None,
    components: int = 4,
    envelope: float = 10.0,
    regularisation: float = 1e-13,
    steps: int = 20,
    tol: float = 1e-12,
    max_points: int = 2500,
    nugget: float = 1e-8,
) -> GPSolution:
    """Solve `problem` with a GP (kernel-collocation) on a uniform tensor grid.

    **Arguments:**

    - `problem`: a `Problem` with Dirichlet data on every face (from `exact`, or a `Dirichlet`).
    - `kernel`: a 1D kernel (used in every dimension), one per dimension, a `Product`, or `None`
      for spectral mixtures initialised from the source's spectrum.
    - `grid`: points per dimension (an int, or one per dimension), end points included.
    - `method`: `"linear"` (needs `problem.operator`), `"gauss_newton"` (any residual), or
      `None` to choose by whether the problem has an operator.
    - `components`, `envelope`: for the default kernel, the number of spectral peaks and the
      envelope `rho * length`.
    - `regularisation`: Tikhonov filter of the least-squares solve, relative to the largest
      singular value.
    - `steps`, `tol`: Gauss-Newton iterations and stopping tolerance on the step norm ratio.
    - `max_points`: the largest grid the dense path takes in 2D and above; larger 2D grids of
      linear problems whose terms each differentiate one dimension go through
      the Kronecker (fast-diagonalisation) path, `_sylvester.py`, and those of nonlinear
      problems `s1 u_xx + s2 u_yy + F(x, u) = 0` through Newton-Krylov on grid values with the
      fast-diagonalisation preconditioner, `_newton_krylov.py` (`steps`, `tol` as for
      Gauss-Newton).
    - `nugget`: relative nugget of the values-to-coefficients interpolation of that path.

    **Returns:** a `GPSolution`. Float64 is required for accuracy (float32 warns).
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"solve: `problem` must be a Problem, got {type(problem).__name__}")
    if method not in (None, "linear", "gauss_newton"):
        raise ValueError(
            f"solve: `method` must be None, 'linear' or 'gauss_newton', got {method!r}"
        )
    if method is None:
        method = "linear" if problem.operator is not None else "gauss_newton"
    if method == "linear" and problem.operator is None:
        raise ValueError(
            f"solve: problem {problem.name!r} is nonlinear (no `operator`); the linear path "
            "needs `operator`/`source`: use method='gauss_newton'"
        )
    axes = _axes(problem, grid)
    warn_if_single(axes[0], "grid")
    dim = problem.dim
    if kernel is None:
        kernel = default_kernel(problem, axes, components, envelope)
    elif isinstance(kernel, Product):
        pass
    elif isinstance(kernel, AbstractKernel):
        kernel = Product([kernel] * dim)
    else:
        kernel = Product(kernel)
    if kernel.dim != dim:
        raise ValueError(f"solve: `kernel` has {kernel.dim} factors, the problem has dim {dim}")
    n_total = int(np.prod([len(a) for a in axes]))
    kron_terms = _sylvester_terms(problem) if method == "linear" and dim == 2 else None
    if dim > 1 and n_total > max_points and kron_terms is not None:
        return _solve_kronecker(problem, kernel, axes, kron_terms, regularisation, nugget)
    if dim == 2 and n_total > max_points and method == "gauss_newton":
        return _solve_newton_kronecker(problem, kernel, axes, regularisation, nugget, steps, tol)
    if dim > 1 and n_total > max_points:
        raise ValueError(
            f"solve: `grid` has {n_total} points; the dense path takes at most `max_points`="
            f"{max_points} in {dim}-D; the Kronecker paths take 2D problems whose linear terms "
            "each differentiate one dimension (Laplacian, Helmholtz, advection, Allen-Cahn), "
            "not this problem"
        )
    t0 = time.perf_counter()
    pts = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
    bmask = np.asarray(_boundary_mask(axes))
    g = _boundary_values(problem, pts[bmask])
    grams = lambda i, a: _gram(kernel.kernels[i], axes[i], axes[i], a, 0)  # noqa: E731
    kfull = kron_dense([grams(i, 0) for i in range(dim)])
    history: dict[str, list] = {"residual": []}
    if method == "linear":
        op = problem.operator
        lk = sum(
            c * kron_dense(fs) for c, fs in operator_factors(op.orders, op.coefficients, grams)
        )
        f = jax.vmap(lambda x: problem.source(x, problem.params))(pts[~bmask])
        a_int = lk[~bmask]
        scale = jnp.max(jnp.abs(a_int))
        a = jnp.concatenate([a_int / scale, kfull[bmask]])
        b = jnp.concatenate([f / scale, g])
        alpha = _lstsq(a, b, regularisation)
        n_steps = 1
    else:
        interior = pts[~bmask]

        def residual(alpha):
            u = lambda x: jax.vmap(lambda y: kernel(x, y))(pts) @ alpha  # noqa: E731
            r = jax.vmap(lambda x: problem.residual(u, x, problem.params))(interior)
            return jnp.concatenate([r.reshape(-1), kfull[bmask] @ alpha - g])

        res_jac = jax.jit(lambda al: (residual(al), jax.jacfwd(residual)(al)))
        alpha = jnp.zeros(n_total, pts.dtype)
        scale = None
        n_steps = 0
        for _ in range(steps):
            r, j = res_jac(alpha)
            n_int = r.shape[0] - int(bmask.sum())
            if scale is None:
                scale = jnp.max(jnp.abs(j[:n_int]))
            w = jnp.concatenate([jnp.full(n_int, 1 / scale), jnp.ones(r.shape[0] - n_int)])
            history["residual"].append(float(jnp.sqrt(jnp.mean((w * r) ** 2))))
            delta = _lstsq(j * w[:, None], -(w * r), regularisation)
            alpha = alpha + delta
            n_steps += 1
            if float(jnp.linalg.norm(delta)) <= tol * float(jnp.linalg.norm(alpha)):
                break
    alpha = jax.block_until_ready(alpha)
    wall = time.perf_counter() - t0
    stats = {
        "wall_s": wall,
        "steps": n_steps,
        "points": n_total,
        "method": method,
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
    }
    return GPSolution(
        kernel,
        alpha,
        pts,
        tuple(len(a) for a in axes),
        problem,
        problem.params,
        {k: np.asarray(v) for k, v in history.items()},
        stats,
    )


def _sylvester_terms(problem):
    """Per dimension `[(order, coefficient)]` if every term of the operator differentiates at
    most one dimension (zero-order terms go to dimension 0), else None. Odd orders (advection)
    give non-normal one-dimensional operators; `sylvester_solve` checks the conditioning."""
    terms = [[] for _ in range(problem.dim)]
    for a, c in zip(
        problem.operator.orders, np.asarray(problem.operator.coefficients), strict=True
    ):
        nz = [i for i, o in enumerate(a) if o]
        if len(nz) > 1:
            return None
        terms[nz[0] if nz else 0].append((max(a), float(c)))
    return terms


def _solve_kronecker(problem, kernel, axes, terms, regularisation, nugget):
    t0 = time.perf_counter()
    ops = [
        dim_operator(k, ax, t, regularisation, nugget)
        for k, ax, t in zip(kernel.kernels, axes, terms, strict=True)
    ]
    shape = tuple(len(a) for a in axes)
    pts = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    bmask = np.asarray(_boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(_boundary_values(problem, pts[bmask.reshape(-1)]))
    f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts)).reshape(shape)
    u = g.copy()
    u[1:-1, 1:-1] = sylvester_solve(ops[0][0], ops[0][1], ops[1][0], ops[1][1], f[1:-1, 1:-1], g)
    alpha = jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), pts.dtype)
    stats = {
        "wall_s": time.perf_counter() - t0,
        "steps": 1,
        "points": int(np.prod(shape)),
        "method": "kronecker",
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
    }
    return GPSolution(kernel, alpha, pts, shape, problem, problem.params, {}, stats)


def _solve_newton_kronecker(problem, kernel, axes, regularisation, nugget, steps, tol):
    t0 = time.perf_counter()
    ops = [
        dim_operator(k, ax, [(2, 1.0)], regularisation, nugget)
        for k, ax in zip(kernel.kernels, axes, strict=True)
    ]
    shape = tuple(len(a) for a in axes)
    grid = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1)
    pts = grid.reshape(-1, 2)
    bmask = np.asarray(_boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(_boundary_values(problem, pts[bmask.reshape(-1)]))
    interior = grid[1:-1, 1:-1].reshape(-1, 2)
    f = jax.vmap(lambda x: problem.source(x, problem.params))(interior)
    x, history = newton_krylov(problem, interior, ops, g, float(jnp.linalg.norm(f)), steps, tol)
    u = g.copy()
    u[1:-1, 1:-1] = np.asarray(x)
    alpha = jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), pts.dtype)
    stats = {
        "wall_s": time.perf_counter() - t0,
        "steps": len(history["krylov_residual"]),
        "points": int(np.prod(shape)),
        "method": "newton_krylov",
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
    }
    history = {k: np.asarray(v) for k, v in history.items()}
    return GPSolution(kernel, alpha, pts, shape, problem, problem.params, history, stats)
