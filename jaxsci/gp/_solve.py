"""`solve`: the GP / kernel-collocation solution of a `Problem` on a tensor grid.

The solution is the GP conditional mean written in kernel-coefficient form, `u(x) = sum_j alpha_j
k(x, x_j)` over the grid points `x_j`, with `k` a product over dimensions of spectral-mixture
kernels (Fang et al., ICLR 2024). Collocation asks `L u = f` at the interior grid points and, on
the boundary points, `u = g` on Dirichlet faces, `du/dn = h` on Neumann faces and `a u + b du/dn =
h` on Robin faces (`_collocation.boundary_system`). How `alpha` is found is a solver object
(`_solvers/`, one file per path, as lineax's `_solver/`): `Dense` (one Tikhonov-filtered
least-squares solve of the formed system, linear problems), `GaussNewton` (the same solve on the
linearised residual, any problem), `Kronecker` (linear problems, grids of any dimension) and
`NewtonKrylov` (nonlinear, 2D) past `AutoSolver.max_points`, on grid values, never an `N x N`
matrix. `AutoSolver` (the default) picks
one; `AutoSolver().select(problem, axes)` says which. Kernel parameters can be trained first
(`TrainKernel`, `_train.py`): the paper's joint Adam, or Adam on the kernel with the exact solve
inside. Each option object holds its defaults and their reasons once.

Frequencies are not hand-set: each dimension's mixture takes the strongest peaks of the
(zero-padded) spectrum of the source term sampled on the grid (`DefaultKernel`, `_spectrum.py`).
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
from .._precision import full_precision
from .._results import RESULTS, raise_if_failed
from ..pde._conditions import Normalisation, Observations
from ..pde._problem import Problem
from ..train import Loop
from ._collocation import Coefficients, derivative_faces, face_name, kernel_gram
from ._grid import boundary_mask, grid_axes, mesh
from ._kernels import AbstractKernel, Product, _AbstractMixture
from ._options import DefaultKernel, TrainKernel
from ._solution import GPSolution
from ._solvers.auto import AutoSolver
from ._solvers.base import AbstractSolver
from ._solvers.dense import Dense
from ._solvers.gauss_newton import GaussNewton
from ._solvers.kronecker import Kronecker
from ._train import train_kernel


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


@full_precision
def solve(
    problem: Problem,
    kernel: AbstractKernel | Sequence[AbstractKernel] | DefaultKernel | None = None,
    grid: int | Sequence[int] | None = None,
    *,
    solver: AbstractSolver | AutoSolver | None = None,
    train: TrainKernel | None = None,
    tol: float | None = None,
    loop: Loop | None = None,
    throw: bool = True,
) -> GPSolution:
    """Solve `problem` with a GP (kernel-collocation) on a uniform tensor grid.

    **Arguments:**

    - `problem`: a `Problem` with a `Dirichlet`, `Neumann` or `Robin` condition on every face
      of the grid box (a face no condition speaks about takes Dirichlet data from `exact`);
      Neumann and Robin faces on the linear paths (`Dense`, `Kronecker`) and `GaussNewton`,
      without `train`; on the Kronecker path the last time of an initial-value problem (an
      `InitialValue`, no condition at the end, first order in time) is free, the equation
      asked there. Any other condition on a face (`Periodic`, `InitialVelocity`) is refused,
      and so are data inside the domain (`Observations`, `Normalisation`) and systems.
    - `kernel`: a 1D kernel (used in every dimension), one per dimension, a `Product`, or a
      `DefaultKernel` (spectral mixtures from the source's spectrum); `None` is
      `DefaultKernel()`.
    - `grid`: points per dimension (an int, or one per dimension), end points included;
      `None` is 200 (with `tol`: the first grid of the refinement, `None` a coarse one).
    - `solver`: a solver path, `Dense()`, `GaussNewton()`, `Kronecker()` or `NewtonKrylov()`
      with its settings, or an `AutoSolver` that picks one by the problem and the grid; `None`
      is `AutoSolver()`.
    - `train`: `TrainKernel(...)` to train the kernel parameters first (dense paths only),
      `None` to keep the kernel.
    - `tol`: a target relative L2 error. `None` solves once on `grid`; a number refines the
      grid (by 1.5 per dimension, up to a budget) until the a-posteriori error estimate is at
      or below a third of it (the estimate's safety factor), `gp.solve_to_tolerance`, whose
      result is `RESULTS.tolerance_not_met` where the budget came first. Not with `train`.
    - `loop`: how kernel training runs its Adam steps (`train.Loop`: chunk size, a checkpoint
      file to write after every chunk and to `resume` from, progress); `None` is
      `Loop(chunk_size=min(steps, 500))`. Only with `train`.
    - `throw`: raise `jaxsci.SolveFailed` (its `.solution` holds this solution) when the
      result is not `RESULTS.successful`; `False` returns the solution with its `result`.

    **Returns:** a `GPSolution` whose `result` is `RESULTS.successful`, `not_converged`
    (Gauss-Newton or Newton-Krylov stopped at `steps` before `tol`, or Newton-Krylov's
    residual rose above its rounding floor) or `nonfinite` (non-finite coefficients, a
    non-finite Newton step, or kernel training stopped at a non-finite step: the last finite
    state is kept). `stats["method"]` names the path taken (`"linear"`, `"gauss_newton"`,
    `"kronecker"`, `"newton_krylov"`; with `"+exact"` or `"+adam"` after kernel training).
    Float64 is required for accuracy (float32 warns).

    **Example:** `gp.solve(problem, grid=400, solver=gp.GaussNewton(steps=40))`.
    """
    _check_arguments(problem, solver, train, loop, throw)
    if tol is not None:
        if train is not None:
            raise ValueError("solve: `tol` refines the grid with a fixed kernel: pass `train=None`")
        from ._tolerance import solve_to_tolerance  # it calls `solve`

        return solve_to_tolerance(
            problem, tol, kernel=kernel, grid=grid, solver=solver, throw=throw
        )
    axes = grid_axes(problem, 200 if grid is None else grid)
    warn_if_single(axes[0], "grid")
    kernel = _product_kernel(problem, kernel, axes)
    auto = AutoSolver() if solver is None else solver
    chosen = auto.select(problem, axes) if isinstance(auto, AutoSolver) else auto
    _check_faces(problem, axes, auto, chosen, train)
    if train is not None:
        _check_training(axes, auto, chosen)
    t0 = time.perf_counter()
    history: dict[str, Any] = {}
    extra_stats: dict[str, Any] = {}
    result, detail = RESULTS.successful, ""
    if train is None:
        out = chosen.solve(problem, kernel, axes)
    else:
        kernel, out, trained = _trained_solve(problem, kernel, axes, chosen, train, loop)
        history.update(_kernel_history(kernel, trained.history))
        extra_stats = _kernel_stats(kernel, trained.stats)
        failed = trained.stats["failed_step"]
        if failed is not None:
            result = RESULTS.nonfinite
            detail = (
                f"kernel training met a non-finite loss or gradient at Adam step {failed}; "
                "the kernel of the last finite step was used"
            )
    alpha = jax.block_until_ready(out.alpha)
    wall = time.perf_counter() - t0
    history.update(out.history)
    if result is RESULTS.successful:
        result, detail = out.result, out.detail
    if result is RESULTS.successful and not bool(jnp.all(jnp.isfinite(alpha))):
        result, detail = RESULTS.nonfinite, "the coefficients are not finite"
    method = chosen.method if train is None else f"{chosen.method}+{train.mode}"
    stats = {
        "wall_s": wall,
        "steps": out.steps,
        "points": int(np.prod([len(a) for a in axes])),
        "method": method,
        "converged": out.converged,
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
        **extra_stats,
    }
    history = {k: np.asarray(v) for k, v in history.items()}
    shape = tuple(len(a) for a in axes)
    solution = GPSolution(
        kernel, alpha, mesh(axes), shape, problem, problem.params, history, stats, result
    )
    return raise_if_failed("gp.solve", result, detail, solution, throw)


def _check_arguments(problem, solver, train, loop, throw) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"solve: `problem` must be a Problem, got {type(problem).__name__}")
    if solver is not None and not isinstance(solver, AbstractSolver | AutoSolver):
        raise TypeError(
            "solve: `solver` must be gp.Dense, gp.GaussNewton, gp.Kronecker, "
            f"gp.NewtonKrylov, gp.AutoSolver or None, got {type(solver).__name__} {solver!r}"
        )
    if train is not None and not isinstance(train, TrainKernel):
        raise TypeError(
            f"solve: `train` must be a gp.TrainKernel or None, got {type(train).__name__} {train!r}"
        )
    if loop is not None and not isinstance(loop, Loop):
        raise TypeError(f"solve: `loop` must be a train.Loop or None, got {type(loop).__name__}")
    if loop is not None and train is None:
        raise ValueError("solve: `loop` drives kernel training: pass `train=gp.TrainKernel(...)`")
    check_bool(throw, "throw", "solve")
    if problem.n_outputs:
        raise ValueError(
            f"solve: the GP solves scalar problems; problem {problem.name!r} has "
            f"{problem.n_outputs} outputs (a system): use pinn.solve"
        )
    ignored = [
        type(c).__name__ for c in problem.conditions if isinstance(c, Observations | Normalisation)
    ]
    if ignored:
        raise ValueError(
            f"solve: the GP collocation takes conditions on the faces of the box; problem "
            f"{problem.name!r} has {', '.join(ignored)} (data inside the domain: an inverse "
            "problem or a normalisation), which it would ignore: use pinn.solve (`learn=`)"
        )
    if train is not None and train.mode == "exact" and problem.operator is None:
        raise ValueError(
            f"solve: `train` mode 'exact' solves the linear system for every kernel; problem "
            f"{problem.name!r} is nonlinear (no `operator`): use gp.TrainKernel('adam')"
        )


def _product_kernel(problem, kernel, axes) -> Product:
    """`kernel` as a checked `Product` with one factor per dimension."""
    dim = problem.dim
    if kernel is None:
        kernel = DefaultKernel()
    if isinstance(kernel, DefaultKernel):
        kernel = kernel(problem, axes)
    elif isinstance(kernel, Product):
        pass
    elif isinstance(kernel, AbstractKernel):
        kernel = Product([kernel] * dim)
    else:
        kernel = Product(kernel)
    if kernel.dim != dim:
        raise ValueError(f"solve: `kernel` has {kernel.dim} factors, the problem has dim {dim}")
    _check_kernel(kernel)
    return kernel


def _check_faces(problem, axes, solver, chosen, train) -> None:
    """Every face has a condition the collocation takes (`face_conditions` raises naming the
    face otherwise); Neumann and Robin faces on the dense and Kronecker paths, without kernel
    training (whose loss holds Dirichlet data only, `_train.py`)."""
    dfaces = derivative_faces(problem)
    if not dfaces:
        return
    face, cond = next(iter(dfaces.items()))
    kind, face = type(cond).__name__, face_name(problem, face)
    if train is not None:
        raise ValueError(
            f"solve: `train` fits Dirichlet data only; problem {problem.name!r} has a {kind} "
            f"condition on face {face}: pass `train=None`"
        )
    if isinstance(chosen, Dense | GaussNewton | Kronecker):
        return
    n_points = int(np.prod([len(a) for a in axes]))
    why = (
        f"`grid` has {n_points} points, more than `max_points`={solver.max_points}, and "
        if isinstance(solver, AutoSolver)
        else ""
    )
    raise ValueError(
        f"solve: problem {problem.name!r} has a {kind} condition on face {face}; {why}"
        f"gp.{type(chosen).__name__} takes Dirichlet faces only: use a grid the dense paths "
        "take, or solver=gp.Dense() / gp.GaussNewton() (linear problems: gp.Kronecker())"
    )


def _check_training(axes, solver, chosen) -> None:
    """Kernel training differentiates the dense system: the dense paths only."""
    if isinstance(chosen, Dense | GaussNewton):
        return
    n_points = int(np.prod([len(a) for a in axes]))
    if isinstance(solver, AutoSolver):
        raise ValueError(
            f"solve: `train` takes the dense path only: `grid` has {n_points} points, "
            f"more than `max_points`={solver.max_points}"
        )
    raise ValueError(
        f"solve: `train` takes the dense paths only (gp.Dense, gp.GaussNewton), not "
        f"gp.{type(chosen).__name__}"
    )


def _trained_solve(problem, kernel, axes, solver, train: TrainKernel, loop=None):
    """Kernel training (`_train.py`), then the coefficients of the trained kernel:
    `(kernel, Coefficients, train.fit's result)`."""
    pts = mesh(axes)
    bmask = np.asarray(boundary_mask(axes))
    init_values = None
    if train.mode == "adam":
        # the paper starts the values anywhere; the exact solve of the initial kernel is
        # where its Adam run would head for these kernel parameters
        start = solver.solve(problem, kernel, axes)
        init_values = kernel_gram(kernel, axes) @ start.alpha
    kernel, values, trained = train_kernel(
        problem, kernel, axes, pts, bmask, train, init_values, loop
    )
    if train.mode == "adam":
        out = _coefficients_of_values(kernel, axes, values, train.jitter, trained.stats["steps"])
    else:
        out = solver.solve(problem, kernel, axes)
    return kernel, out, trained


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
