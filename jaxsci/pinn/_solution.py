"""`PINNSolution`: the trained field, its problem, history, statistics and result code."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, PyTree

from .._precision import full_precision
from .._results import RESULTS
from ..pde import Problem, relative_l2
from ._estimate import correction
from ._fields import AbstractField


def evaluation_points(problem: Problem, per_axis: int | None = None) -> Array:
    """The uniform grid `PINNSolution.error` evaluates on: `per_axis` points per axis (default
    1001 in 1D, 201 in 2D, 41 in 3D, 11 above)."""
    per_axis = per_axis or {1: 1001, 2: 201, 3: 41}.get(problem.dim, 11)
    return problem.domain.grid((per_axis,) * problem.dim)


def solution_error(pred: Array, true: Array, problem: Problem) -> Array:
    """Relative L2 error of `pred` against `true`; for an eigenproblem, up to the sign."""
    err = relative_l2(pred, true)
    return err if problem.eigenvalue is None else jnp.minimum(err, relative_l2(-pred, true))


class PINNSolution(eqx.Module):
    """The result of `solve`.

    - `field`: the trained field (final iterate, or the last finite one if training failed).
    - `params`: the problem parameters after training (learned entries updated).
    - `problem`: the problem solved, with `params` in place.
    - `history`: per-step `loss`, each loss term and each learned scalar parameter (its
      trajectory, under the parameter's name; `name[i]` per entry of a small array parameter),
      as NumPy arrays.
    - `stats`: `steps`, `wall_s`, `steps_per_s`, `compile_s`, `failed_step`, and `phases`
      (each phase's own stats; `lbfgs_skipped` names why an L-BFGS phase did not run).
    - `result`: a `jaxsci.RESULTS` code: `successful`, or `nonfinite` when training stopped at
      a non-finite step (`stats["failed_step"]`; the field is the last finite one).
    - `points`: the interior collocation points at the end (moved by adaptive resampling).
    - `members`: the number of ensemble members (`solve(..., ensemble=True)`), else `None`.
      Every array of an ensemble solution carries a leading member axis; `sol(points)` and
      `sol.error()` then give one result per member, and `sol.member(i)` the single solution
      of member `i`.

    A solution is an `equinox.Module` holding arrays, so it is not a hashable static argument:
    jit code that takes it (or `sol.field`) as an argument, `eqx.filter_jit(lambda s, x: s(x))`,
    rather than `jax.jit(sol)`.
    """

    field: AbstractField
    params: PyTree
    problem: Problem
    points: Array
    history: dict[str, np.ndarray]
    stats: dict[str, Any]
    learned: tuple[str, ...] = eqx.field(static=True, default=())
    members: int | None = eqx.field(static=True, default=None)
    result: RESULTS = eqx.field(static=True, default=RESULTS.successful)

    @full_precision
    def __call__(self, points: ArrayLike) -> Array:
        """The field at `points`, shape `(n, dim)` (any array-like): shape `(n, ...)`, or
        `(members, n, ...)` for an ensemble."""
        self.problem.domain.check_points(points, "points")
        points = jnp.asarray(points)
        if self.members is not None:
            return eqx.filter_vmap(lambda f: jax.vmap(f)(points))(self.field)
        return jax.vmap(self.field)(points)

    def member(self, i: int) -> PINNSolution:
        """The single-field `PINNSolution` of ensemble member `i` (history and stats included)."""
        if self.members is None:
            raise ValueError(
                "member: this solution is not an ensemble (`solve(..., ensemble=True)`)"
            )
        if (
            isinstance(i, bool)
            or not isinstance(i, (int, np.integer))
            or not -self.members <= i < self.members
        ):
            raise ValueError(f"member: `i` must be an int in [0, {self.members}), got {i!r}")
        take = lambda a: a[i] if eqx.is_array(a) else a  # noqa: E731
        params = dict(self.params) if isinstance(self.params, dict) else self.params
        if self.learned:
            params.update({n: params[n][i] for n in self.learned})
        problem = (
            self.problem
            if not self.learned
            else eqx.tree_at(lambda p: p.params, self.problem, params)
        )
        history = {k: np.asarray(v)[i] for k, v in self.history.items()}
        return PINNSolution(
            jax.tree_util.tree_map(take, self.field),
            params,
            problem,
            self.points[i],
            history,
            dict(self.stats),
            self.learned,
            None,
            self.result,
        )

    def evaluation_points(self, per_axis: int | None = None) -> Array:
        return evaluation_points(self.problem, per_axis)

    @full_precision
    def error(self, points: ArrayLike | None = None) -> float | np.ndarray:
        """Relative L2 error of the field against the problem's exact (or reference) solution on
        `points` (default: a uniform grid). For an eigenproblem, up to the sign of `u`. An
        ensemble gives a NumPy array of one error per member."""
        if self.members is not None:
            return np.asarray([self.member(i).error(points) for i in range(self.members)])
        points = self.evaluation_points() if points is None else points
        pred = self(points)
        true = self.problem.exact_values(points, self.params).reshape(pred.shape)
        return float(solution_error(pred, true, self.problem))

    @full_precision
    def error_estimate(
        self, degree: int | None = None, details: bool = False, refine: bool = True
    ) -> float | np.ndarray | dict:
        """An estimate of `error()` that needs no exact solution: the relative L2 size of the
        defect correction `d` that removes the residual of the linearised problem on a
        Chebyshev basis, `||d|| / ||u + d||` (see `jaxsci.pinn._estimate`).

        On the zoo (BENCHMARKS.md, "The zoo"), it tracks the true error of trained fields from
        1e-4 to failed fits above 1 (up to 1.2 there; a fit that blew up to 132 reads about 1,
        see `jaxsci.pinn._estimate`). `details=True` returns the dict of `_estimate.correction`
        (`estimate`, `unexplained`: the share of the residual the basis could not remove, near
        1 meaning the estimate is a lower bound; `degree`, `resolved`, `estimates`, `basis`,
        `points`). `degree`: the Chebyshev degree per axis (default 128 in 1D, 24 in 2D, 8 in
        3D). `refine`: raise the degree (up to twice) until the estimates at three successive
        degrees agree, each to the next within 20% (`resolved`), so an error the basis does
        not hold is not under-read. `nan` for an
        eigenproblem. An ensemble gives one estimate per member (a NumPy array; a list of dicts
        with `details`). A host-side computation (not for `jax.jit`), seconds to tens of
        seconds on a CPU."""
        if self.members is not None:
            out = [
                self.member(i).error_estimate(degree, details, refine) for i in range(self.members)
            ]
            return out if details else np.asarray(out)
        info = correction(self.problem, self.field, self.params, degree=degree, refine=refine)
        return info if details else info["estimate"]

    def rayleigh_quotient(self, per_axis: int = 20000) -> float:
        """For an eigenproblem whose residual is `H u - E u` with `H` symmetric, the Rayleigh
        quotient `<u, H u> / <u, u>` of the trained field (midpoint rule on a grid of
        `per_axis` cells per axis). Its error is second order in the error of `u`, so it is
        usually a sharper eigenvalue estimate than the trained parameter; it is computed from
        the residual with the eigenvalue set to zero."""
        name = self.problem.eigenvalue
        if name is None:
            raise ValueError(
                f"rayleigh_quotient: problem {self.problem.name!r} is not an eigenproblem"
            )
        dom = self.problem.domain
        pts = dom.sample(None, per_axis**dom.dim, method="grid", dtype=self.points.dtype)
        params = {**self.params, name: jnp.zeros_like(self.params[name])}
        hu = jax.vmap(lambda x: self.problem.residual(self.field, x, params))(pts)
        u = jax.vmap(self.field)(pts)
        return float(jnp.sum(u * hu) / jnp.sum(u * u))
