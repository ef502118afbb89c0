"""The Kronecker (fast-diagonalisation) path of `solve` for linear operators on tensor grids.

`tensor_solve` is the linear path in any dimension (`Kronecker`); `dim_operator` and
`sylvester_solve` below are its 2D form on values, which `NewtonKrylov` builds on.

Each term of the operator differentiates at most one dimension (Laplacian, advection, a
reaction term), so on the interior grid values `X` the collocation equations are a Sylvester
equation `A_1 X + X A_2^T = R`. Each `A_d` is the one-dimensional collocation operator of its
dimension: the inverse of the map "interior source -> interior values" of the 1D kernel solve
(Tikhonov-filtered SVD of the 1D collocation matrix, as in the dense path), and `E_d` carries
the Dirichlet data of the two end points. With `A_d = W_d diag(l_d) W_d^{-1}` (one eigen-
decomposition per dimension),
`X = W_1 [(W_1^{-1} R W_2^{-T}) / (l_1,i + l_2,j)] W_2^T`: O(n^3) per dimension, never the
N x N matrix. In d dimensions the same holds with one eigendecomposition per dimension
(`tensor_solve`, which works with `M_d = A_d^{-1}` and forms no inverse). Kernel coefficients
for evaluation anywhere come from the grid values (`_solvers/kronecker.py`,
`coefficients_of_values`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from ._kernels import gram

_gram = jax.jit(gram, static_argnums=(3, 4))


def _filtered_pinv(a, regularisation):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    filt = s / (s**2 + (regularisation * s[0]) ** 2)
    return (vt.T * filt) @ u.T


def solution_operator(kernel, axis, terms, regularisation):
    """`(M, H)` of one dimension: the interior values of the 1D collocation solution for an
    interior source `f` and end-point data `g` are `M f + H g`. `M` (`(n-2) x (n-2)`) is the
    inverse of the 1D operator on values, a smoothing map with eigenvalues `~1 / k^2`; `H`
    (`(n-2) x 2`) lifts the end-point data. Both come from the Tikhonov-filtered SVD of the
    square 1D collocation matrix (interior rows `L K` scaled to unit size, end rows `K`)."""
    n = axis.shape[0]
    k = np.asarray(_gram(kernel, axis, axis, 0, 0))
    lk = sum(c * np.asarray(_gram(kernel, axis, axis, o, 0)) for o, c in terms)
    interior = np.arange(1, n - 1)
    scale = np.max(np.abs(lk[interior]))
    full = np.concatenate([lk[interior] / scale, k[[0, n - 1]]])
    coefficients = _filtered_pinv(full, regularisation)  # (f_int / scale, g) -> alpha
    values = k @ coefficients  # (f_int / scale, g) -> values
    return values[1:-1, : n - 2] / scale, values[1:-1, n - 2 :]


class AxisOperator(NamedTuple):
    """One dimension of the Kronecker path with any end conditions (`axis_operator`).

    - `m`, `h`: `(M, H)` as `solution_operator`'s, on the points where the equation is asked
      along this dimension (`pde`) and the condition rows (`conditions`, positions on the axis).
    - `pde`: the slice of those points (`1:-1` with a condition at both ends, `1:` with one at
      the lower end only, a free upper end).
    - `conditions`: the positions of the condition rows (`[0, -1]`, `[0]` or `[-1]`).
    - `extrapolation`, `lift`: the values at the condition ends from the values on `pde` and
      the conditions' data, `v_ends = extrapolation v_pde + lift data` (the 1D system read
      backwards: `f = M^{-1} (v_pde - H data)`)."""

    m: np.ndarray
    h: np.ndarray
    pde: slice
    conditions: list[int]
    extrapolation: np.ndarray
    lift: np.ndarray


def axis_operator(kernel, axis, terms, regularisation, ends) -> AxisOperator:
    """The 1D collocation operator of one dimension with per-end conditions `ends = (lower,
    upper)`: each `None` (a free end: the equation is asked there, as at the final time of an
    initial-value problem) or `(a, b)`, the row `a K + b s D K` (`s` the outward sign, `-1` at
    the lower end; `(1, 0)` a value row, `(0, 1)` a Neumann row). The square 1D system (the
    equation rows scaled to unit size as in `solution_operator`, each derivative row by its
    largest entry) is solved by the same Tikhonov-filtered SVD."""
    n = axis.shape[0]
    k = np.asarray(_gram(kernel, axis, axis, 0, 0))
    lk = sum(c * np.asarray(_gram(kernel, axis, axis, o, 0)) for o, c in terms)
    lo = 0 if ends[0] is None else 1
    hi = n if ends[1] is None else n - 1
    pde = np.arange(lo, hi)
    scale = np.max(np.abs(lk[pde]))
    kd = None
    rows, weights, positions = [], [], []
    for pos, end, sign in ((0, ends[0], -1.0), (n - 1, ends[1], 1.0)):
        if end is None:
            continue
        a, b = end
        if b == 0.0:
            row, w = a * k[pos], 1.0
        else:
            if kd is None:
                kd = np.asarray(_gram(kernel, axis, axis, 1, 0))
            row = a * k[pos] + b * sign * kd[pos]
            w = 1.0 / np.max(np.abs(row))
        rows.append(row * w)
        weights.append(w)
        positions.append(pos)
    full = np.concatenate([lk[pde] / scale, np.stack(rows)])
    values = k @ _filtered_pinv(full, regularisation)
    vf = values[:, : len(pde)] / scale  # source -> values
    vb = values[:, len(pde) :] * np.asarray(weights)  # condition data -> values
    m, h = vf[pde], vb[pde]
    extrapolation = np.linalg.solve(m.T, vf[positions].T).T
    lift = vb[positions] - extrapolation @ h
    conditions = [p if p == 0 else -1 for p in positions]
    return AxisOperator(m, h, slice(lo, hi if hi < n else None), conditions, extrapolation, lift)


def dim_operator(kernel, axis, terms, regularisation, nugget=1e-8):
    """`(A, E, P)` of one dimension: the interior collocation operator on values `A`, its
    boundary-data columns `E` (two end points), and the filtered pseudo-inverse `P` of `K`. The
    same construction serves first-order terms (advection): `A` is then non-normal, and
    `sylvester_solve` checks the conditioning of its eigenvectors. (`NewtonKrylov` needs `A`
    itself; the linear path, `tensor_solve`, works with `solution_operator`'s `M = A^{-1}`.)"""
    minv, h = solution_operator(kernel, axis, terms, regularisation)
    a = np.linalg.inv(minv)
    # values -> coefficients: GP interpolation with a nugget (relative to the largest eigenvalue)
    # matched to the error of the grid values: with 1e-14 a 4e-5 error on Q2's grid values is
    # amplified to O(1) between the points; 1e-8 keeps the test error at the grid error
    k = np.asarray(_gram(kernel, axis, axis, 0, 0))
    w, v = np.linalg.eigh(k)
    return a, -a @ h, (v / (w + nugget * w.max())) @ v.T


def _along(a, t, i):
    """`a` applied to axis `i` of the tensor `t`."""
    return np.moveaxis(np.tensordot(a, t, axes=([1], [i])), 0, i)


def tensor_solve(operators, rhs, boundary, max_condition=1e8, layouts=None, direct=None):
    """Interior values `U` of the d-dimensional collocation solution with source `rhs` (on the
    interior grid) and Dirichlet data `boundary` (the full grid; interior entries ignored),
    from the per-dimension `(M_d, H_d)` of `solution_operator`.

    On values the equations are `sum_d A_d U (along d) + E_d G_d = F` with `A_d = M_d^{-1}`
    (`sylvester_solve` in 2D). Multiplied by `M_1 (x) ... (x) M_D` they become
    `sum_d (prod_{e != d} M_e along e) U = (prod_e M_e) F + sum_d (H_d along d,
    prod_{e != d} M_e along e) G_d` (as `M_d E_d = -H_d`), and with `M_d = W_d diag(mu_d)
    W_d^{-1}` each eigen-coefficient is
    `u = [prod_e mu_e f + sum_d prod_{e != d} mu_e b_d] / sum_d prod_{e != d} mu_e`.
    Nothing is inverted but the eigenvector matrices: the 2D path before formed `A_d` by
    inverting `M_d` (condition ~1e12 on 200 points) and `E_d = -A_d H_d` (a product that
    cancels to a small one). With the 1D filter at 1e-11 the grid values gained from this
    form: 1.2e-6 -> 4.3e-8 on zoo_dirichlet_data_2d, 1.5e-6 -> 7.6e-8 on zoo_multiscale_2d,
    9.1e-6 -> 5.8e-6 on gp_q2 (at 1e-13 the filter's rounding dominates either way).
    Non-symmetric `M_d` (first-order terms) lose `prod_d cond(W_d)`; refused past
    `max_condition`, as is a sum of eigenvalue products that reaches zero. Complex arithmetic
    only where an eigenvalue is complex.

    Other end conditions (`axis_operator`): `layouts[d] = (pde, conditions)` says where the
    equation is asked along dimension d (`rhs` is on the product of those slices) and where the
    condition data lie (`boundary` holds each face's data: values, or the data of a Neumann or
    Robin row); `None` is Dirichlet everywhere (`(1:-1, [0, -1])`). `direct`: a dimension with
    a free end (time, with a condition at t = 0 only), not diagonalised: the first-derivative
    operator with one condition is far from normal (the continuous one, a Volterra operator,
    has no eigenvalues at all), so its eigenvectors are refused by `max_condition` past a few
    points. The others are diagonalised and, per eigen-index `k` of theirs, one system
    `(den_k M_t + prod_k I) u_k = M_t (prod_k f_k + sum_s others_s,k b_s,k) + prod_k b_t,k`
    (the equations multiplied by every `M_d`, as above) is solved along `t`: `O(N n_t^2)`.
    """
    d = len(operators)
    if layouts is None:
        layouts = [(slice(1, -1), [0, -1])] * d
    space = [i for i in range(d) if i != direct]
    eigs = {i: np.linalg.eig(operators[i][0]) for i in space}  # real when every eigenvalue is
    winv = {i: np.linalg.inv(eigs[i][1]) for i in space}
    cond = float(np.prod([np.linalg.cond(eigs[i][1]) for i in space]))
    # `mu_d` broadcast along dimension d; `others[d]` = prod_{e != d} mu_e (over `space`)
    mus = {i: eigs[i][0].reshape([-1 if e == i else 1 for e in range(d)]) for i in space}
    others = {}
    for i in space:
        p = np.ones((1,) * d)
        for e in space:
            if e != i:
                p = p * mus[e]
        others[i] = p
    den = sum(others.values())
    # the eigenvalues of the operator on values, sum_d 1 / mu_d, as `sylvester_solve` checks them
    gap = np.abs(sum(1.0 / mus[i] for i in space))
    if direct is not None:
        gap = np.ones(1)  # each system along `direct` is checked by its solve
    if not np.isfinite(cond) or cond > max_condition or gap.min() < 1e-14 * gap.max():
        raise ValueError(
            f"solve: the Kronecker (fast-diagonalisation) solve is ill-conditioned: eigenvector "
            f"condition {cond:.1e} (limit {max_condition:.0e}), smallest eigenvalue sum "
            f"{gap.min():.1e} of largest {gap.max():.1e}"
        )
    dtype = np.result_type(*winv.values())

    def hat(t):
        for i in space:
            t = _along(winv[i], t, i)
        return t

    def face_data(i):
        # the data on the condition faces normal to dimension i, on the equation points of
        # the others, lifted along i
        face = boundary[tuple(slice(None) if e == i else layouts[e][0] for e in range(d))]
        face = np.take(face, layouts[i][1], axis=i)
        return _along(operators[i][1], face, i)

    num = others[space[0]] * mus[space[0]] * hat(rhs.astype(dtype))
    for i in space:
        num = num + others[i] * hat(face_data(i).astype(dtype))
    if direct is None:
        u = num / den
    else:
        m_t = operators[direct][0]
        prod = others[space[0]] * mus[space[0]]
        num = _along(m_t, num, direct) + prod * hat(face_data(direct).astype(dtype))
        u = _direct_solve(m_t, np.broadcast_to(den, prod.shape), prod, num, direct)
    for i in space:
        u = _along(eigs[i][1], u, i)
    return np.real(u)


def _direct_solve(m_t, den, prod, num, axis, chunk=4096):
    """`u_k = (den_k M_t + prod_k I)^{-1} num_k` along `axis` for every other index `k`."""
    n_t = m_t.shape[0]
    b = np.moveaxis(num, axis, -1)
    shape = b.shape
    b = b.reshape(-1, n_t)
    dk = np.moveaxis(den, axis, -1).reshape(-1)
    pk = np.moveaxis(prod, axis, -1).reshape(-1)
    out = np.empty_like(b)
    eye = np.eye(n_t)
    for s in range(0, b.shape[0], chunk):
        sl = slice(s, s + chunk)
        a = dk[sl, None, None] * m_t[None] + pk[sl, None, None] * eye[None]
        try:
            out[sl] = np.linalg.solve(a, b[sl][..., None])[..., 0]
        except np.linalg.LinAlgError as e:
            raise ValueError(
                "solve: the Kronecker solve along the time dimension met a singular system"
            ) from e
    return np.moveaxis(out.reshape(shape), -1, axis)


def sylvester_solve(a1, e1, a2, e2, rhs, boundary, max_condition=1e8):
    """Interior values `X` with `A1 X + X A2^T + E1 Gx + Gy E2^T = rhs` for full-grid
    `boundary` values (interior entries ignored)."""
    gx = boundary[[0, -1], 1:-1]
    gy = boundary[1:-1][:, [0, -1]]
    r = rhs - e1 @ gx - gy @ e2.T
    l1, w1 = np.linalg.eig(a1)
    l2, w2 = np.linalg.eig(a2)
    # non-symmetric factors (first-order terms): the solve loses cond(W_1) cond(W_2) and
    # max|l| / min|l_1,i + l_2,j| in accuracy; refuse what float64 cannot carry
    cond = np.linalg.cond(w1) * np.linalg.cond(w2)
    gap = np.abs(l1[:, None] + l2[None, :])
    if not np.isfinite(cond) or cond > max_condition or gap.min() < 1e-14 * gap.max():
        raise ValueError(
            f"solve: the Kronecker (fast-diagonalisation) solve is ill-conditioned: eigenvector "
            f"condition {cond:.1e} (limit {max_condition:.0e}), smallest eigenvalue sum "
            f"{gap.min():.1e} of largest {gap.max():.1e}"
        )
    z = np.linalg.solve(w1, r)
    z = np.linalg.solve(w2, z.T).T
    z = z / (l1[:, None] + l2[None, :])
    x = w1 @ z @ w2.T
    return np.real(x)
