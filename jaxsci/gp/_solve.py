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
matrix (`_kronecker_solve.py`). Kernel parameters can be trained first (`train_kernel=`,
`_train.py`): the paper's joint Adam, or Adam on the kernel with the exact solve inside.

Frequencies are not hand-set: each dimension's mixture takes the strongest peaks of the
(zero-padded) spectrum of the source term sampled on the grid (of the boundary data where the
source vanishes, as for advection), plus a zero-frequency component.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_bool
from .._results import RESULTS, raise_if_failed
from ..pde._problem import Problem
from ._collocation import Coefficients, dense_solve, kernel_gram
from ._grid import boundary_mask, grid_axes, mesh
from ._kernels import AbstractKernel, Product, _AbstractMixture
from ._kronecker_solve import solve_newton_krylov, solve_sylvester, sylvester_terms
from ._solution import GPSolution
from ._spectrum import default_kernel
from ._train import train_kernel as train_kernel_fn


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


_TRAIN_MODES = (None, "exact", "adam")


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
    tol: float = 3e-8,
    max_points: int = 2500,
    nugget: float = 1e-8,
    train_kernel: str | None = None,
    kernel_steps: int = 200,
    learning_rate: float | None = None,
    fit_weight: float = 1e4,
    jitter: float = 1e-10,
    throw: bool = True,
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
    - `steps`, `tol`: the Gauss-Newton (or Newton-Krylov) step limit, and the tolerance it
      stops at: a step that changes the solution values on the grid by at most `tol`
      relative (Newton-Krylov also stops when its residual reaches its rounding floor). The
      coefficients are not measured: below the Tikhonov filter they drift for ever while the
      values they give settle (`_collocation.py`). The default sits a few times above the
      rounding floor of that change (3e-9 to 1e-8 on `gp_a1` and the tests' problems, on
      every OpenBLAS kernel tried), so that where it stops does not depend on rounding.
    - `max_points`: the largest grid the dense path takes in 2D and above; larger 2D grids of
      linear problems whose terms each differentiate one dimension go through
      the Kronecker (fast-diagonalisation) path, `_kronecker_solve.py`, and those of nonlinear
      problems `s1 u_xx + s2 u_yy + F(x, u) = 0` through Newton-Krylov on grid values with the
      fast-diagonalisation preconditioner (`steps`, `tol` as for Gauss-Newton).
    - `nugget`: relative nugget of the values-to-coefficients interpolation of that path.
    - `train_kernel`: `None` (keep the kernel), `"exact"` (linear problems: Adam on the kernel
      parameters, the loss of Fang et al. evaluated at the exact collocation solve for those
      parameters, then the final solve) or `"adam"` (the paper: Adam on the grid values and the
      kernel parameters jointly, from the exact solve of the initial kernel). See `_train.py`.
      Dense path only (1D, and 2D grids up to `max_points`).
    - `kernel_steps`, `learning_rate`: Adam steps and initial step size (cosine decay to a
      tenth) of that training (`jaxsci.train.fit`); the step size defaults to 5e-2 for
      `"exact"` and 1e-3 for `"adam"` (whose grid values start at the exact solve).
    - `fit_weight`, `jitter`: the weight of the boundary and equation fit against the GP and
      Jeffreys priors (per grid point) in the training loss, and the relative level below
      which training treats the kernel's spectrum as rounding (the jitter of `K` and the
      Tikhonov level of its collocation solve).
    - `throw`: raise `jaxsci.SolveFailed` (its `.solution` holds this solution) when the
      result is not `RESULTS.successful`; `False` returns the solution with its `result`.

    **Returns:** a `GPSolution` whose `result` is `RESULTS.successful`, `not_converged`
    (Gauss-Newton or Newton-Krylov stopped at `steps` before `tol`, or Newton-Krylov's
    residual rose above its rounding floor) or `nonfinite` (non-finite coefficients, a
    non-finite Newton step, or kernel training stopped at a non-finite step: the last finite
    state is kept). Float64 is required for accuracy (float32 warns).
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"solve: `problem` must be a Problem, got {type(problem).__name__}")
    if method not in (None, "linear", "gauss_newton"):
        raise ValueError(
            f"solve: `method` must be None, 'linear' or 'gauss_newton', got {method!r}"
        )
    if train_kernel not in _TRAIN_MODES:
        raise ValueError(
            f"solve: `train_kernel` must be None, 'exact' or 'adam', got {train_kernel!r}"
        )
    if train_kernel is not None and (
        isinstance(kernel_steps, bool) or not isinstance(kernel_steps, int) or kernel_steps < 1
    ):
        raise ValueError(f"solve: `kernel_steps` must be a positive int, got {kernel_steps!r}")
    check_bool(throw, "throw", "solve")
    if method is None:
        method = "linear" if problem.operator is not None else "gauss_newton"
    if method == "linear" and problem.operator is None:
        raise ValueError(
            f"solve: problem {problem.name!r} is nonlinear (no `operator`); the linear path "
            "needs `operator`/`source`: use method='gauss_newton'"
        )
    if train_kernel == "exact" and problem.operator is None:
        raise ValueError(
            f"solve: `train_kernel='exact'` solves the linear system for every kernel; problem "
            f"{problem.name!r} is nonlinear (no `operator`): use train_kernel='adam'"
        )
    axes = grid_axes(problem, grid)
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
    _check_kernel(kernel)
    n_total = int(np.prod([len(a) for a in axes]))
    kron_terms = sylvester_terms(problem) if method == "linear" and dim == 2 else None
    if train_kernel is not None and dim > 1 and n_total > max_points:
        raise ValueError(
            f"solve: `train_kernel` takes the dense path only: `grid` has {n_total} points, "
            f"more than `max_points`={max_points}"
        )
    t0 = time.perf_counter()
    pts = mesh(axes)
    shape = tuple(len(a) for a in axes)
    history: dict[str, Any] = {}
    extra_stats: dict[str, Any] = {}
    result, detail = RESULTS.successful, ""
    if dim > 1 and n_total > max_points and kron_terms is not None:
        path = "kronecker"
        out = solve_sylvester(problem, kernel, axes, kron_terms, regularisation, nugget)
    elif dim == 2 and n_total > max_points and method == "gauss_newton":
        path = "newton_krylov"
        out = solve_newton_krylov(problem, kernel, axes, regularisation, nugget, steps, tol)
    elif dim > 1 and n_total > max_points:
        raise ValueError(
            f"solve: `grid` has {n_total} points; the dense path takes at most `max_points`="
            f"{max_points} in {dim}-D; the Kronecker paths take 2D problems whose linear terms "
            "each differentiate one dimension (Laplacian, Helmholtz, advection, Allen-Cahn), "
            "not this problem"
        )
    else:
        path = method if train_kernel is None else f"{method}+{train_kernel}"
        bmask = np.asarray(boundary_mask(axes))
        if train_kernel is not None:
            kernel, values, trained = _train(
                problem, kernel, axes, pts, bmask, method, train_kernel, kernel_steps,
                learning_rate, fit_weight, jitter, tol,
            )  # fmt: skip
            history.update(_kernel_history(kernel, trained.history))
            extra_stats = _kernel_stats(kernel, trained.stats)
            failed = trained.stats["failed_step"]
            if failed is not None:
                result = RESULTS.nonfinite
                detail = (
                    f"kernel training met a non-finite loss or gradient at Adam step {failed}; "
                    "the kernel of the last finite step was used"
                )
        if train_kernel == "adam":
            out = _coefficients_of_values(kernel, axes, values, jitter, trained.stats["steps"])
        else:
            out = dense_solve(problem, kernel, axes, pts, bmask, method, regularisation, steps, tol)
    alpha = jax.block_until_ready(out.alpha)
    wall = time.perf_counter() - t0
    history.update(out.history)
    if result is RESULTS.successful:
        result, detail = out.result, out.detail
    if result is RESULTS.successful and not bool(jnp.all(jnp.isfinite(alpha))):
        result, detail = RESULTS.nonfinite, "the coefficients are not finite"
    stats = {
        "wall_s": wall,
        "steps": out.steps,
        "points": n_total,
        "method": path,
        "converged": out.converged,
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
        **extra_stats,
    }
    history = {k: np.asarray(v) for k, v in history.items()}
    solution = GPSolution(
        kernel, alpha, pts, shape, problem, problem.params, history, stats, result
    )
    return raise_if_failed("gp.solve", result, detail, solution, throw)


def _train(problem, kernel, axes, pts, bmask, method, mode, steps, lr, fit_weight, jitter, tol):
    """Kernel training (`_train.py`): `(kernel, grid values or None, train.fit's result)`."""
    init_values = None
    if mode == "adam":
        # the paper starts the values anywhere; the exact solve of the initial kernel is
        # where its Adam run would head for these kernel parameters
        start = dense_solve(problem, kernel, axes, pts, bmask, method, 1e-13, 20, tol)
        init_values = kernel_gram(kernel, axes) @ start.alpha
    if lr is None:
        lr = 5e-2 if mode == "exact" else 1e-3
    return train_kernel_fn(
        problem, kernel, axes, pts, bmask, mode, steps, lr, fit_weight, jitter, init_values
    )


def _kernel_history(kernel, khist):
    """The per-step training history: the loss, and per mixture dimension `d` the weights and
    frequencies, one column per component."""
    out = {"kernel_loss": khist["loss"]}
    for d, k in enumerate(kernel.kernels):
        if isinstance(k, _AbstractMixture):
            q = k.log_weights.shape[0]
            out[f"weights_{d}"] = np.exp(
                np.stack([khist[f"log_weight_{d}_{j}"] for j in range(q)], -1)
            )
            out[f"frequencies_{d}"] = np.stack([khist[f"frequency_{d}_{j}"] for j in range(q)], -1)
    return out


def _kernel_stats(kernel, fit_stats):
    """The trained kernel's weights and scales (per dimension) and the training's steps."""
    return {
        "kernel_steps": fit_stats["steps"],
        "kernel_failed_step": fit_stats["failed_step"],
        "weights": [np.exp(np.asarray(getattr(k, "log_weights", []))) for k in kernel.kernels],
        "scales": [np.exp(np.asarray(getattr(k, "log_scales", []))) for k in kernel.kernels],
    }


def _coefficients_of_values(kernel, axes, values, jitter, steps) -> Coefficients:
    """`alpha = (K + jitter max(diag K) I)^{-1} U` for the grid values `U` of the paper's
    joint training."""
    kfull = kernel_gram(kernel, axes)
    n = kfull.shape[0]
    chol = jnp.linalg.cholesky(kfull + jitter * jnp.max(jnp.diag(kfull)) * jnp.eye(n))
    alpha = jax.scipy.linalg.cho_solve((chol, True), values)
    return Coefficients(alpha, steps, True, RESULTS.successful, "", {})


def _check_kernel(kernel: Product):
    # kernels built by the constructors are checked there; parameters set by hand
    # (`eqx.tree_at`) or loaded are not
    for i, k in enumerate(kernel.kernels):
        for name in ("log_scales", "log_lengthscale", "log_weights", "log_variance"):
            v = getattr(k, name, None)
            if v is not None and not bool(jnp.all(jnp.isfinite(v))):
                raise ValueError(
                    f"solve: `kernel` factor {i} ({type(k).__name__}) has non-positive or "
                    f"non-finite `{name.removeprefix('log_')}`: {np.exp(np.asarray(v))}"
                )
        freqs = getattr(k, "frequencies", None)
        if freqs is not None and not bool(jnp.all(jnp.isfinite(freqs))):
            raise ValueError(f"solve: `kernel` factor {i} has non-finite `frequencies`")
