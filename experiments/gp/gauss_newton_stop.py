"""Gauss-Newton's stopping rule, per step: the residual, the change of the grid values and the
true error, on the dense nonlinear rows and the overdetermined (Neumann/Robin) ones.

    python -m experiments.gp.gauss_newton_stop --rows NL1 GPA1 GPA2 GPV1 ZNL16 ZNL24 ZNL30 \
        GPV2 --steps 40 --default                          # gauss_newton_stop.json
    python -m experiments.gp.gauss_newton_stop --rows GPA1-400 GPA2-400 --steps 40 --default \
        --variant published_grids                          # the catalogue's grids (400)
    python -m experiments.gp.gauss_newton_stop --rows ZNL12 --steps 20 --default \
        --variant small_grid

For each row the real solver (`gp.GaussNewton(steps=--steps, tol=1e-300)`, float64, the
default kernel; NL1 the kernel of `test_solve_nonlinear_1d`) runs past every exit: its
overdetermined stall exit (`STALL`) is switched off and each step's increment is recorded as
it leaves `filtered_lstsq`, so that the iterate after every step is known. The true error of
each is measured (relative L2 on the 300-per-dimension test grid, `GPSolution.error`), and
that of the geometric (Aitken) extrapolation of the last step, `alpha + delta q / (1 - q)`:
where the values head if the last rate held. The table then
says where each stopping rule stops on that trajectory, and the error there: `current` (the
solver's: a change of the values <= tol, and the stall exit of an overdetermined system),
`tail` (the candidate: the geometric tail `c_k q / (1 - q)`, `q = c_k / c_{k-1}`, at most
tol) and `tail_guarded` (both). `--default` also runs `gp.solve(problem, kernel, grid=n,
throw=False)` as a user calls it (the solver's own exits, not replayed).

Writes `experiments/results/gp/gauss_newton_stop[_<variant>].json` after every row. Wall
times are upper bounds: the machine (2 cores) was shared with other long jobs.
"""

from __future__ import annotations

import argparse
import math
import time
from unittest import mock

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from jaxsci import gp, pde  # noqa: E402
from jaxsci.gp._solvers import gauss_newton as gn  # noqa: E402


def nonlinear_1d() -> pde.Problem:
    """The problem of `tests/test_gp.py::test_solve_nonlinear_1d`: `u'' + u (u^2 - 1) = f` on
    `[0, 2]`, `u = sin(8 x)`, Dirichlet."""

    def exact(x, p):
        return jnp.sin(8 * x[0])

    def source(x, p):
        u = lambda y: exact(y, p)  # noqa: E731
        return pde.laplacian(u, x) + u(x) * (u(x) ** 2 - 1)

    return pde.Problem(
        pde.Interval(0.0, 2.0),
        residual=lambda u, x, p: pde.laplacian(u, x) + u(x) * (u(x) ** 2 - 1) - source(x, p),
        source=source,
        conditions=[pde.Dirichlet(exact)],
        exact=exact,
        name="test_solve_nonlinear_1d",
    )


# id: (problem, grid, kernel); the test's row uses the test's kernel
ENVELOPE_6 = gp.DefaultKernel(envelope=6.0)
ROWS = {
    "ZNL12": ("zoo_nonlinear_2d", 12, None),
    "ZNL16": ("zoo_nonlinear_2d", 16, None),
    "ZNL24": ("zoo_nonlinear_2d", 24, None),
    "ZNL30": ("zoo_nonlinear_2d", 30, None),
    "ZNL24-narrow": ("zoo_nonlinear_2d", 24, gp.DefaultKernel(spread=None)),
    "GPA1": ("gp_a1", 300, None),
    "GPA2": ("gp_a2", 300, None),
    "GPA1-400": ("gp_a1", 400, None),
    "GPA2-400": ("gp_a2", 400, None),
    "GPV1": ("gp_variable_1d", 100, None),
    "GPV2": ("gp_variable_2d", 24, None),
    "NL1": ("nonlinear_1d", 60, ENVELOPE_6),
}
TOL = 3e-8  # the default `tol` (`_solvers/base.py`)


def get_problem(name):
    return nonlinear_1d() if name == "nonlinear_1d" else pde.get_problem(name)


def trajectory(problem, n, kernel, steps):
    """The solution after the last step, the per-step history, and the true error after each
    step, with every exit but the step limit switched off."""
    deltas = []
    real = gn.filtered_lstsq

    def recorded(a, b, regularisation):
        delta = real(a, b, regularisation)
        deltas.append(delta)
        return delta

    solver = gp.GaussNewton(steps=steps, tol=1e-300)
    with (
        mock.patch.object(gn, "filtered_lstsq", recorded),
        mock.patch.object(gn, "STALL", math.inf),
    ):
        t0 = time.perf_counter()
        sol = gp.solve(problem, kernel, grid=n, solver=solver, throw=False)
        wall = time.perf_counter() - t0
    alpha = jnp.zeros_like(sol.coefficients)
    errors = []
    for delta in deltas:
        alpha = alpha + delta
        errors.append(float(eqx.tree_at(lambda s: s.coefficients, sol, alpha).error()))
    history = {k: [float(v) for v in sol.history[k]] for k in ("residual", "change")}
    return sol, history, errors, wall, deltas


def replay(stop, history, overdetermined, tol=TOL):
    """(steps, converged) where the rule `stop(residuals, changes, overdetermined, tol)` ends
    the recorded run: called as the solver calls it, after each step's residual (before the
    step: the stall exit) and after each step's change."""
    res, ch = history["residual"], history["change"]
    for k in range(len(ch)):
        if stop(res[: k + 1], ch[:k], overdetermined, tol, before_step=True):
            return k, True
        if stop(res[: k + 1], ch[: k + 1], overdetermined, tol, before_step=False):
            return k + 1, True
    return len(ch), False


def current_rule(res, ch, overdetermined, tol, before_step):
    """The solver's rule (`gauss_newton._gauss_newton`): a step that changes the values by at
    most `tol`; for an overdetermined system also a residual that fell by less than 10%."""
    if before_step:
        return overdetermined and len(res) >= 3 and res[-1] > gn.STALL * res[-2]
    return ch[-1] <= tol


def _tail(ch):
    """The geometric tail `c_k q / (1 - q)`, `q = c_k / c_{k-1}`: infinite where `q >= 1`."""
    if len(ch) < 2:
        return math.inf
    q = ch[-1] / ch[-2]
    return ch[-1] * q / (1 - q) if q < 1 else math.inf


def tail_rule(res, ch, overdetermined, tol, before_step):
    """The candidate: the remaining movement the last two changes imply is at most `tol`."""
    if before_step:
        return overdetermined and len(res) >= 3 and res[-1] > gn.STALL * res[-2]
    return _tail(ch) <= tol


def tail_guarded_rule(res, ch, overdetermined, tol, before_step):
    """The candidate with the current rule as a guard: the last change at most `tol` and the
    remaining movement it implies at most `tol`."""
    if before_step:
        return overdetermined and len(res) >= 3 and res[-1] > gn.STALL * res[-2]
    return ch[-1] <= tol and _tail(ch) <= tol


RULES = {"current": current_rule, "tail": tail_rule, "tail_guarded": tail_guarded_rule}


def _scales(kernel):
    return [[round(float(s), 3) for s in np.exp(np.asarray(k.log_scales))] for k in kernel.kernels]


def run_row(rid, steps, default):
    name, n, kernel = ROWS[rid]
    problem = get_problem(name)
    sol, history, errors, wall, deltas = trajectory(problem, n, kernel, steps)
    ch = history["change"]
    rates = [ch[k] / ch[k - 1] for k in range(1, len(ch))]
    row = {
        "id": rid,
        "problem": name,
        "grid": n,
        "points": int(sol.stats["points"]),
        "steps_run": len(ch),
        "residual": history["residual"],
        "change": ch,
        "rate": rates,
        "error": errors,
        "trajectory_s": wall,
    }
    # the Aitken (geometric) extrapolation of the last step: where the values head if the
    # last rate held, alpha + delta q / (1 - q)
    q = rates[-1]
    if q < 1:
        extrapolated = sol.coefficients + deltas[-1] * q / (1 - q)
        row["error_extrapolated"] = float(
            eqx.tree_at(lambda s: s.coefficients, sol, extrapolated).error()
        )
    row["scales"] = _scales(sol.kernel)
    for label, rule in RULES.items():
        stop, ok = replay(rule, history, overdetermined_of(problem, n, kernel))
        row[label] = {
            "steps": stop,
            "result": "successful" if ok else "not_converged",
            "error": errors[stop - 1] if stop else None,
        }
    if default:
        t0 = time.perf_counter()
        d = gp.solve(problem, kernel, grid=n, throw=False)
        row["default_call"] = {
            "steps": int(d.stats["steps"]),
            "result": str(d.result),
            "error": float(d.error()),
            "change_last": float(d.history["change"][-1]),
            "wall_s": time.perf_counter() - t0,
        }
    return row


def overdetermined_of(problem, n, kernel):
    """Whether the collocation asks more conditions than it has unknowns (Neumann/Robin faces:
    their points ask the equation too), as `_gauss_newton` decides it."""
    from jaxsci.gp._collocation import derivative_faces

    return bool(derivative_faces(problem))


def _fmt(x):
    return "-" if x is None else f"{x:.1e}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--default", action="store_true", help="also the default gp.solve call")
    parser.add_argument("--variant", default="")
    args = parser.parse_args()
    rows = []
    for rid in args.rows:
        row = run_row(rid, args.steps, args.default)
        rows.append(row)
        print(f"\n{rid}: {row['problem']} at {row['grid']} ({row['points']} points)")
        print(" step   residual     change     rate      error")
        for k in range(row["steps_run"]):
            rate = row["rate"][k - 1] if k else None
            print(
                f" {k + 1:4d}  {row['residual'][k]:.2e}  {row['change'][k]:.2e}  "
                f"{_fmt(rate):>7}  {row['error'][k]:.2e}"
            )
        if "error_extrapolated" in row:
            print(f" extrapolated from the last step: error {row['error_extrapolated']:.1e}")
        for label in (*RULES, "default_call"):
            if label in row:
                r = row[label]
                print(f" {label}: {r['steps']} steps, {r['result']}, error {_fmt(r['error'])}")
        write_result(
            "gp/gauss_newton_stop",
            {"args": vars(args), "tol": TOL, "rows": rows},
            variant=args.variant,
        )


if __name__ == "__main__":
    main()
