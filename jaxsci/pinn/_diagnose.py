"""`diagnose`: what a user looks at when a physics-informed fit fails.

For each term of the loss (the PDE residual, each point condition) at a set of points of its
own, with `r_t(theta)` the term's residuals there (one entry per point and equation) and
`J_t = dr_t / dtheta` their Jacobian in the field's parameters:

- the **empirical NTK** of the term, `K_t = J_t J_t^T` (Jacot et al.; Wang, Yu & Perdikaris,
  "When and why PINNs fail to train: a neural tangent kernel perspective", JCP 2022): its
  eigenvalues (descending) say at which rates gradient flow can reduce that term's residual
  along each direction; a spectrum that falls by many decades, or a term whose trace is a tiny
  fraction of the total, is a term gradient descent barely moves;
- its trace and the weights Wang et al. assign from the traces, `sum_s tr(K_s) / tr(K_t)`
  (their Algorithm 1: each term's weight makes its NTK trace equal to the total);
- the term's loss `mean(r_t^2)` (what `pinn.solve` minimises, before weights) and the norm of
  its gradient `(2 / m) J_t^T r_t`;
- the residual map: the PDE residual on the evaluation grid (1D and 2D; its RMS and largest
  value with where it is in any dimension), and the per-term losses along training from
  `solution.history`.

One figure holds the spectra, the loss curves and the residual map.

Derivatives are taken in the field's parameters only (not in learned problem parameters);
causal weighting of the residual is not applied (the plain residual is shown). Not for
`jax.jit`: a host-side diagnostic, like `PINNSolution.error`.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._checks import check_int
from .._precision import full_precision
from ..pde._conditions import AbstractPointCondition


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` measured; every dict is keyed by the loss term's name (`"residual"`,
    then each condition as in `solution.history`: `"dirichlet0"`, `"neumann1"`, ...).

    - `points`: residual entries per term (points x equations).
    - `eigenvalues`: the term's empirical NTK eigenvalues, descending.
    - `trace`: `tr(K_t)`; `trace_ratio`: `tr(K_t) / sum_s tr(K_s)`.
    - `ntk_weights`: `sum_s tr(K_s) / tr(K_t)` (Wang, Yu & Perdikaris, Algorithm 1).
    - `loss`: `mean(r_t^2)`; `grad_norm`: the norm of its gradient in the field's parameters.
    - `residual_rms`, `residual_max`, `residual_argmax`: the PDE residual on the evaluation
      grid and where its largest absolute value is.
    - `skipped`: conditions that are not point conditions (e.g. a normalisation), by name.
    - `figure`: the PNG written, or `None`.
    """

    points: dict[str, int]
    eigenvalues: dict[str, np.ndarray]
    trace: dict[str, float]
    trace_ratio: dict[str, float]
    ntk_weights: dict[str, float]
    loss: dict[str, float]
    grad_norm: dict[str, float]
    residual_rms: float
    residual_max: float
    residual_argmax: np.ndarray
    skipped: tuple[str, ...]
    figure: str | None

    def lines(self) -> list[str]:
        """One line per term, for a person."""
        out = []
        for t, ev in self.eigenvalues.items():
            if self.trace[t] == 0:
                out.append(
                    f"{t}: loss {self.loss[t]:.2e}, NTK zero: the field's parameters do not "
                    "move this term (imposed exactly by the field, or independent of it)"
                )
                continue
            rank = int(np.sum(ev > 1e-6 * ev[0]))
            out.append(
                f"{t}: loss {self.loss[t]:.2e}, |grad| {self.grad_norm[t]:.2e}, NTK trace "
                f"{self.trace[t]:.2e} ({100 * self.trace_ratio[t]:.1f}% of all), largest "
                f"eigenvalue {ev[0]:.2e}, {rank} of {len(ev)} above 1e-6 of it, weight "
                f"{self.ntk_weights[t]:.2e}"
            )
        out.append(
            f"PDE residual on the grid: RMS {self.residual_rms:.2e}, max {self.residual_max:.2e} "
            f"at {np.array2string(self.residual_argmax, precision=3)}"
        )
        return out


def _term_points(problem, n_interior, n_condition, dtype):
    """`[(name, residual_at(u, x, params), points)]`: the PDE residual and each point
    condition, at deterministic (Hammersley) points; non-point conditions are skipped."""
    key = jax.random.key(0)
    domain = problem.domain

    def sample(draw):  # jitted: sampling a box's faces op by op compiled for ~10 s
        return jax.jit(draw)(key).astype(dtype)

    interior = sample(lambda k: domain.sample(k, n_interior, method="hammersley"))
    terms = [("residual", problem.residual, interior)]
    skipped = []
    for i, c in enumerate(problem.conditions):
        name = f"{c.name}{i}"
        if not isinstance(c, AbstractPointCondition):
            skipped.append(name)
            continue
        # an `Observations` condition samples its own points, whatever `n_condition`
        pts = sample(lambda k, c=c: c.sample(k, domain, n_condition, method="hammersley"))
        terms.append((name, c.residual, pts))
    return terms, tuple(skipped)


def term_jacobian(residual_at, field, params, points):
    """`(r, J)`: the term's residuals at `points`, flattened, and their Jacobian in the field's
    inexact array leaves (flattened). Pure and jit-friendly: `solve`'s `NTKWeighting` calls it
    inside the training step, `diagnose` on the host."""
    dynamic, static = eqx.partition(field, eqx.is_inexact_array)
    flat, unravel = ravel_pytree(dynamic)

    def residuals(theta):
        u = eqx.combine(unravel(theta), static)
        return jax.vmap(lambda x: jnp.ravel(residual_at(u, x, params)))(points).reshape(-1)

    return residuals(flat), jax.jacrev(residuals)(flat)


_jacobian = eqx.filter_jit(term_jacobian)


def mean_ntk_trace(residual_at, field, params, points):
    """`tr(J J^T) / m`: the trace of the term's empirical NTK at `points` per residual entry
    (`m` entries), the sum of its squared Jacobian entries (no `m x m` kernel is formed)."""
    r, jac = term_jacobian(residual_at, field, params, points)
    return jnp.sum(jac**2) / r.shape[0]


@eqx.filter_jit
def _pde_residual(problem, field, params, points):
    return jax.vmap(lambda x: jnp.linalg.norm(jnp.ravel(problem.residual(field, x, params))))(
        points
    )


@full_precision
def diagnose(
    solution,
    *,
    n_interior: int = 256,
    n_condition: int = 64,
    per_axis: int | None = None,
    path: str | None = None,
) -> Diagnosis:
    """Diagnose a trained `PINNSolution` (see the module docstring).

    **Arguments:**

    - `solution`: one solution (of an ensemble: `solution.member(i)`).
    - `n_interior`, `n_condition`: points for the PDE residual's and each condition's NTK
      (Hammersley points; an `Observations` condition uses its own points). The NTK is
      `m x m` for `m` points times equations.
    - `per_axis`: points per axis of the residual map's uniform grid (default 1001 in 1D, 101
      in 2D, 21 in 3D, 7 above).
    - `path`: where to write the figure (PNG); `None` writes none.

    **Returns:** a `Diagnosis`.
    """
    if getattr(solution, "members", None) is not None:
        raise ValueError(
            f"diagnose: `solution` is an ensemble of {solution.members} members: pass "
            "`solution.member(i)`"
        )
    check_int(n_interior, "n_interior", "diagnose")
    check_int(n_condition, "n_condition", "diagnose")
    problem, field, params = solution.problem, solution.field, solution.params
    leaves = jax.tree_util.tree_leaves(eqx.filter(field, eqx.is_inexact_array))
    if not leaves:
        raise ValueError("diagnose: the field has no trainable (inexact array) parameters")
    dtype = leaves[0].dtype
    terms, skipped = _term_points(problem, n_interior, n_condition, dtype)
    points, eigenvalues, trace, loss, grad_norm = {}, {}, {}, {}, {}
    for name, residual_at, pts in terms:
        r, jac = _jacobian(residual_at, field, params, pts)
        r, jac = np.asarray(r, np.float64), np.asarray(jac, np.float64)
        ntk = jac @ jac.T
        points[name] = r.shape[0]
        eigenvalues[name] = np.clip(np.linalg.eigvalsh(ntk)[::-1], 0.0, None)
        trace[name] = float(np.trace(ntk))
        loss[name] = float(np.mean(r**2))
        grad_norm[name] = float(np.linalg.norm(2.0 / r.shape[0] * jac.T @ r))
    total = sum(trace.values())
    trace_ratio = {t: v / total if total > 0 else float("nan") for t, v in trace.items()}
    ntk_weights = {t: total / v if v > 0 else float("inf") for t, v in trace.items()}
    per_axis = per_axis or {1: 1001, 2: 101, 3: 21}.get(problem.dim, 7)
    check_int(per_axis, "per_axis", "diagnose", minimum=2)
    grid = solution.evaluation_points(per_axis)
    res = np.asarray(_pde_residual(problem, field, params, jnp.asarray(grid, dtype)), np.float64)
    i = int(np.argmax(res))
    figure = None
    if path is not None:
        figure = _plot(path, solution, eigenvalues, np.asarray(grid), res)
    return Diagnosis(
        points,
        eigenvalues,
        trace,
        trace_ratio,
        ntk_weights,
        loss,
        grad_norm,
        float(np.sqrt(np.mean(res**2))),
        float(res[i]),
        np.asarray(grid)[i],
        skipped,
        figure,
    )


def _plot(path, solution, eigenvalues, grid, res) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for t, ev in eigenvalues.items():
        ax.semilogy(np.arange(1, len(ev) + 1), np.maximum(ev, 1e-300), label=t)
    ax.set(xlabel="index", ylabel="NTK eigenvalue", title="empirical NTK spectrum per term")
    ax.legend()
    ax = axes[1]
    history = solution.history or {}
    for t in eigenvalues:
        if t in history and np.size(history[t]) > 0:
            ax.semilogy(np.asarray(history[t]).reshape(-1), label=t)
    ax.set(xlabel="step", ylabel="loss term", title="loss terms along training")
    if ax.lines:
        ax.legend()
    ax = axes[2]
    dim = grid.shape[1]
    if dim == 1:
        ax.semilogy(grid[:, 0], np.maximum(res, 1e-300))
        ax.set(xlabel="x", ylabel="|residual|")
    elif dim == 2:
        n = round(np.sqrt(grid.shape[0]))
        im = ax.imshow(
            np.log10(np.maximum(res.reshape(n, n), 1e-300)).T,
            origin="lower",
            extent=[grid[:, 0].min(), grid[:, 0].max(), grid[:, 1].min(), grid[:, 1].max()],
            aspect="auto",
        )
        fig.colorbar(im, ax=ax, label="log10 |residual|")
    else:
        ax.hist(np.log10(np.maximum(res, 1e-300)), bins=40)
        ax.set(xlabel="log10 |residual|", ylabel="grid points")
    ax.set_title("PDE residual on the evaluation grid")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
