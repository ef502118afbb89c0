"""Newton-Krylov on tensor-grid values, for nonlinear 2D problems (`NewtonKrylov`, the
solver in `_solvers/newton_krylov.py`, runs it).

The unknowns are the interior grid values `X` (Dirichlet data fixed on the faces). Each
dimension contributes the one-dimensional collocation operator of its second derivative on
values, `u_dd = A_d X + E_d G` (`dim_operator`, the same operator the linear Kronecker path
uses), so the Laplacian on values is the Sylvester map `A_1 X + X A_2^T` plus boundary terms,
never an `N x N` matrix. The residual `problem.residual(u, x)` is read through the local jet of
the discrete field at each interior point: `u` is passed as the quadratic
`v + (y - x)^T g + (y - x)^T diag(h) (y - x) / 2` whose value and second derivatives are the
discrete ones, so the residual (written with autodiff operators) sees exactly the discrete
`u`, `u_xx`, `u_yy`; its derivatives with respect to `(v, g, h)` are the pointwise coefficients
of the linearisation. The path takes residuals whose second-order part is `s_1 u_xx + s_2 u_yy`
with constant `s_d` and that do not depend on first or mixed derivatives (Allen-Cahn,
reaction-diffusion); anything else raises.

Each Newton step `J d = -r`, `J d = s_1 A_1 d + s_2 d A_2^T + c o d` (`c = dR/du` pointwise), is
solved by restarted GMRES preconditioned with the exact fast-diagonalisation solve of the
constant-coefficient part `s_1 A_1 d + s_2 d A_2^T + mean(c) d` (one eigendecomposition per
dimension, `A_d = W_d diag(l_d) W_d^{-1}`). The nonlinear term is of order zero against the
second-order part, so the preconditioned operator is the identity plus a compact perturbation
and GMRES needs few iterations. The first step starts from `X = 0`, where `c` is constant for
a polynomial nonlinearity and the preconditioner is exact: it is the linear solve.

The entries of `A_d` reach ~1e12 on 200-point grids (spectral-mixture kernels with
frequencies near the Nyquist limit), so the residual cannot be computed below ~1e-8 relative to
the source in float64; GMRES and Newton stop at that floor. A residual that rises before it, or
steps that run out, are reported as `RESULTS.not_converged` (`newton_krylov`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._results import RESULTS

# the residual of a double-precision Sylvester map with ~1e12 entries: see the module docstring
_FLOOR = 1e-8


def fast_diagonalisation(a1, a2, max_condition: float = 1e8):
    """Eigendecompositions `(l_1, W_1, W_1^{-1}, l_2, W_2, W_2^{-1})` of the two (non-symmetric)
    factors of a Sylvester map. Raises if an eigenvector matrix is worse conditioned than
    `max_condition` (the fast-diagonalisation solve would lose that factor in accuracy)."""
    out = []
    for i, a in enumerate((a1, a2)):
        lam, w = np.linalg.eig(np.asarray(a))
        cond = np.linalg.cond(w)
        if not np.isfinite(cond) or cond > max_condition:
            raise ValueError(
                f"solve: the collocation operator of dimension {i} has an eigenvector matrix "
                f"of condition {cond:.1e} > {max_condition:.0e}; fast diagonalisation is unsafe"
            )
        out += [jnp.asarray(lam), jnp.asarray(w), jnp.asarray(np.linalg.inv(w))]
    return tuple(out)


def sylvester_inverse(fd, r, s1, s2, shift):
    """`X` with `s1 A_1 X + s2 X A_2^T + shift X = r`, from `fast_diagonalisation` factors."""
    l1, w1, w1i, l2, w2, w2i = fd
    z = w1i @ r.astype(w1i.dtype) @ w2i.T
    z = z / (s1 * l1[:, None] + s2 * l2[None, :] + shift)
    return jnp.real(w1 @ z @ w2.T)


def _local_residual(problem):
    """`(x, jet) -> residual` with `jet = (v, g_1, g_2, h_11, h_22, h_12)` the value, gradient
    and Hessian of the quadratic passed to `problem.residual` as the field."""

    def res(x, jet):
        v, g, h = jet[0], jet[1:3], jet[3:6]
        hess = jnp.array([[h[0], h[2]], [h[2], h[1]]])

        def field(y):
            d = y - x
            return v + g @ d + 0.5 * d @ hess @ d

        return problem.residual(field, x, problem.params)

    return res


def residual_and_coefficients(problem, points, values, uxx, uyy):
    """Pointwise residual and its derivatives with respect to the jet `(v, g, h)` at interior
    `points` (flattened), given the discrete value and pure second derivatives there."""
    res = _local_residual(problem)
    z = jnp.zeros_like(values)
    jets = jnp.stack([values, z, z, uxx, uyy, z], -1)
    r = jax.vmap(res)(points, jets)
    coeffs = jax.vmap(jax.grad(res, argnums=1))(points, jets)
    return r, coeffs


def newton_step(a1, a2, fd, r, c, s1, s2, *, tol=1e-10, restart=40, maxiter=10):
    """The Newton step `d` of `s1 A_1 d + s2 d A_2^T + c o d = -r` by preconditioned GMRES.

    **Returns:** `(d, relative)`, `relative = |J d + r| / |r|` (JAX's GMRES reports no status).
    """
    shift = jnp.mean(c)

    def matvec(d):
        return s1 * (a1 @ d) + s2 * (d @ a2.T) + c * d

    d, _ = jax.scipy.sparse.linalg.gmres(
        matvec,
        -r,
        M=lambda v: sylvester_inverse(fd, v, s1, s2, shift),
        tol=tol,
        atol=0.0,
        restart=restart,
        maxiter=maxiter,
        solve_method="batched",
    )
    return d, jnp.linalg.norm(matvec(d) + r) / jnp.linalg.norm(r)


def newton_krylov(problem, points, ops, boundary, source_scale, steps, tol):
    """Newton-Krylov on the interior values of a 2D tensor grid.

    **Arguments:** `points` the interior points `(m_1 * m_2, 2)`, `ops` the per-dimension
    `(A, E, P)` of `dim_operator` for `u_dd`, `boundary` the full-grid Dirichlet values,
    `source_scale` the norm used to make residuals relative (`None`: the first residual's, for
    a problem with no separate source), `steps`, `tol` the Newton limits.

    **Returns:** `(X, history, result, detail)`: `history` with the relative residual norm
    of each iterate (`residual`) and the relative residual of each GMRES solve
    (`krylov_residual`); `result` `RESULTS.successful` when the residual reached the floor
    (`_FLOOR`) or a step changed the values by at most `tol` relative, `not_converged` when
    the residual rose first (the better iterate is kept) or `steps` ran out, `nonfinite`
    (with the last finite iterate) when a residual or step was not finite; `detail` says
    which, in a sentence.
    """
    (a1, e1, _), (a2, e2, _) = ops
    a1, a2 = jnp.asarray(a1), jnp.asarray(a2)
    g = jnp.asarray(boundary)
    bx = jnp.asarray(e1) @ g[jnp.array([0, -1]), 1:-1]
    by = g[1:-1][:, jnp.array([0, -1])] @ jnp.asarray(e2).T
    shape = (a1.shape[0], a2.shape[0])
    fd = fast_diagonalisation(a1, a2)

    @jax.jit
    def linearise(x):
        uxx, uyy = a1 @ x + bx, x @ a2.T + by
        r, co = residual_and_coefficients(
            problem, points, x.reshape(-1), uxx.reshape(-1), uyy.reshape(-1)
        )
        return r.reshape(shape), co

    step = jax.jit(newton_step, static_argnames=("restart", "maxiter"))
    x = previous = jnp.zeros(shape, a1.dtype)
    history: dict[str, list] = {"residual": [], "krylov_residual": []}
    s1 = s2 = None
    for k in range(steps):
        r, co = linearise(x)
        if not (bool(jnp.all(jnp.isfinite(r))) and bool(jnp.all(jnp.isfinite(co)))):
            detail = f"the residual or its linearisation at Newton step {k} is not finite"
            return previous, history, RESULTS.nonfinite, detail
        if s1 is None:
            s1, s2 = _second_order_coefficients(problem, co)
        if source_scale is None:
            source_scale = float(jnp.linalg.norm(r)) or 1.0
        rel = float(jnp.linalg.norm(r)) / source_scale
        history["residual"].append(rel)
        if rel <= _FLOOR:
            return x, history, RESULTS.successful, ""
        if len(history["residual"]) > 1 and rel > history["residual"][-2]:
            # keep the better iterate: Newton stalled above the floor this path assumes
            detail = (
                f"the residual rose at Newton step {k}, from {history['residual'][-2]:.1e} "
                f"to {rel:.1e} relative to the source, above the rounding floor {_FLOOR:.0e}"
            )
            return previous, history, RESULTS.not_converged, detail
        c = co[:, 0].reshape(shape)
        d, krylov = step(a1, a2, fd, r, c, s1, s2)
        if not bool(jnp.all(jnp.isfinite(d))):
            return x, history, RESULTS.nonfinite, f"the Newton step {k} is not finite"
        history["krylov_residual"].append(float(krylov))
        previous, x = x, x + d
        if float(jnp.linalg.norm(d)) <= tol * float(jnp.linalg.norm(x)):
            r, _ = linearise(x)
            history["residual"].append(float(jnp.linalg.norm(r)) / source_scale)
            return x, history, RESULTS.successful, ""
    detail = f"Newton reached its {steps} steps with the residual above {_FLOOR:.0e}"
    return x, history, RESULTS.not_converged, detail


def _second_order_coefficients(problem, co):
    """`(s1, s2)` of the residual's `s1 u_xx + s2 u_yy`, from its first linearisation; raises
    if the residual is not of the form this path takes."""
    scale = float(jnp.max(jnp.abs(co)))
    if float(jnp.max(jnp.abs(co[:, jnp.array([1, 2, 5])]))) > 1e-12 * scale:
        raise ValueError(
            f"solve: the residual of {problem.name!r} depends on first or mixed derivatives; "
            "the Kronecker Newton path takes `s1 u_xx + s2 u_yy + F(x, u)` only (a linear "
            "equation given as a `pde.LinearOperator` takes the linear Kronecker path)"
        )
    s1, s2 = float(jnp.mean(co[:, 3])), float(jnp.mean(co[:, 4]))
    if float(jnp.ptp(co[:, 3])) > 1e-10 * abs(s1) or float(jnp.ptp(co[:, 4])) > 1e-10 * abs(s2):
        raise ValueError(
            f"solve: the second-order coefficients of {problem.name!r} vary in space; the "
            "Kronecker Newton path needs them constant"
        )
    return s1, s2
