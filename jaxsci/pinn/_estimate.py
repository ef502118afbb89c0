"""An a-posteriori error estimate of a trained field that needs no exact solution.

The estimate is one step of defect correction. Write the trained field `u` and the problem's
residual `R` (interior) and condition residuals `B_j`. The error `e = u* - u` of `u` against
the true solution `u*` satisfies, to first order in `e`,

    R'(u)[e] = -R(u)    in the domain,      B_j'(u)[e] = -B_j(u)    on each condition's points,

with `R'(u)` the linearisation of the residual at `u` (exact for a linear problem, Newton's
step for a nonlinear one). The correction `d` is that system solved in least squares on a
tensor Chebyshev basis (`degree` per axis) at points of its own (Chebyshev nodes inside,
Hammersley points moved to Chebyshev spacing on the faces and slices): independent of the
collocation points training used, so a field that fits its own points and is wrong between
them is seen. The estimate is `||d|| / ||u + d||` on a uniform grid, the relative L2 error
`error()` reports, with `u + d` standing for the truth.

For a linear problem `u + d` is the least-squares spectral solution of the PDE, so the
estimate is the distance to it and is as good as the basis resolves the *error* (not the
solution: a field right to 1e-3 leaves an error that is often smooth). `unexplained` =
`||R'(u)[d] + R(u)|| / ||R(u)||` (rows scaled per block, see below) says how much of the
residual the correction could not remove: near 0 the correction is resolved; near 1 the
error lives on scales the basis does not hold and the estimate is a lower bound. It is a
relative one too: where the correction cannot hold the error, `u + d` is about `u`, and a
field blown up between jumps (every activation saturated, its residual exactly 0 at every
point, values to 1.9e5) read 1.2e-3 against a true 3.5e4 (BENCHMARKS.md, "Causal weights in
the L-BFGS phase"), and an error far above 1 reads about 1 (a bump fit that blew up to 132
under a too-large Adam step read 1.00): read an estimate near 1 as "at least 1", and look at
the field's size when it is small.

Numerics: each block of rows (the interior, each condition) is scaled to unit RMS row norm,
so a source of size 1e4 does not drown boundary data of size 1; columns are scaled to unit
norm (second derivatives of degree-`n` Chebyshev polynomials grow as `n^4`); the solve is a
float64 SVD least squares on the host (`rcond` 1e-10). Computing the columns costs one
forward-mode pass of the residual per basis function and point, the field's own evaluation
shared across basis functions (it does not depend on the basis index, so `vmap` leaves it
unbatched).

Not for `jax.jit`: a host-side diagnostic like `PINNSolution.error`. Eigenproblems (the
eigenvalue is part of the unknown) and non-point conditions other than `Observations` are
not handled and give `nan`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_bool, check_int
from ..pde import Observations, Problem
from ..pde._conditions import AbstractPointCondition

DEFAULT_DEGREE = {1: 128, 2: 24, 3: 8}
_TAIL_FROM = 0.85  # the tail: basis functions of degree above this share of the degree


def _chebyshev(s, degree):
    """`T_0(s), ..., T_degree(s)` by the three-term recurrence (smooth at `s = +-1`, unlike
    `cos(n arccos s)`, whose derivative is infinite there)."""

    # a scan, not an unrolled loop: the nested derivatives of an unrolled degree-128
    # recurrence took XLA minutes to compile
    def step(carry, _):
        prev, cur = carry
        return (cur, 2 * s * cur - prev), cur

    _, out = jax.lax.scan(step, (jnp.ones_like(s), s), None, length=degree + 1)
    return jnp.concatenate([jnp.ones_like(s)[None], out[:-1]]) if degree else out[:1] * 0 + 1


class _Basis(eqx.Module):
    """Tensor Chebyshev polynomials on the domain's box, one per multi-index (and component)."""

    lower: jax.Array
    upper: jax.Array
    indices: jax.Array  # (K, dim) multi-indices
    components: jax.Array  # (K,) which output the function lives on (0 for a scalar field)
    degree: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)

    def __call__(self, k, y):
        """Basis function `k` at one point `y`: a scalar, or a one-hot vector for a system."""
        s = 2 * (y - self.lower) / (self.upper - self.lower) - 1
        # T(s_d) does not depend on k: under vmap over k it is computed once per point
        values = jnp.stack([_chebyshev(s[d], self.degree) for d in range(y.shape[0])])
        phi = jnp.prod(values[jnp.arange(y.shape[0]), self.indices[k]])
        if self.n_outputs == 0:
            return phi
        return phi * jax.nn.one_hot(self.components[k], self.n_outputs, dtype=y.dtype)


def _basis(problem: Problem, degree: int, dtype) -> _Basis:
    dim = problem.dim
    grids = np.meshgrid(*[np.arange(degree + 1)] * dim, indexing="ij")
    multi = np.stack([g.ravel() for g in grids], axis=-1)
    n_out = problem.n_outputs
    comps = np.repeat(np.arange(max(n_out, 1)), len(multi))
    multi = np.tile(multi, (max(n_out, 1), 1))
    return _Basis(
        jnp.asarray(problem.domain.lower, dtype),
        jnp.asarray(problem.domain.upper, dtype),
        jnp.asarray(multi),
        jnp.asarray(comps),
        degree,
        n_out,
    )


def _block(residual_at, field, basis, points, chunk):
    """`(A, b)`: `A[i, k]` the linearised residual at `points[i]` in the direction of basis
    function `k`, `b[i]` the residual itself (flattened over equations)."""

    def at(x):
        return jnp.atleast_1d(residual_at(field, x))

    def column(k):
        def perturbed(eps):
            u = lambda y: field(y) + eps * basis(k, y)  # noqa: E731
            return jax.vmap(lambda x: jnp.atleast_1d(residual_at(u, x)))(points)

        return jax.jvp(perturbed, (jnp.zeros((), points.dtype),), (jnp.ones((), points.dtype),))[1]

    b = jax.vmap(at)(points).reshape(-1)
    cols = jax.lax.map(column, jnp.arange(basis.indices.shape[0]), batch_size=chunk)
    return cols.reshape(cols.shape[0], -1).T, b


_block_jit = eqx.filter_jit(_block)


class _Residual(eqx.Module):
    """A residual `(u, x) -> r` as a pytree: the residual function (`problem.residual`, a
    condition's) and the `params` it reads. `_block_jit` then compiles once per problem and
    field structure; a new lambda on every call missed `filter_jit`'s cache and compiled the
    block again for every field estimated (every seed of a run)."""

    fn: object
    params: object
    component: int | None = eqx.field(static=True, default=None)

    def __call__(self, u, x):
        if self.fn is None:  # the field's own value (`Observations`)
            v = u(x)
            return v if self.component is None else v[self.component]
        return self.fn(u, x, self.params)


@eqx.filter_jit
def _correction_at(basis, coef, points):
    """`d(x) = sum_k coef_k phi_k(x)` at each of `points`."""
    ks = jnp.arange(coef.shape[0])

    def one(y):
        phi = jax.vmap(lambda k: basis(k, y))(ks)
        return jnp.tensordot(coef, phi, axes=1)

    return jax.lax.map(one, points, batch_size=256)


def _chebyshev_spaced(points, domain):
    """Each coordinate `t` in [0, 1] moved to `(1 - cos(pi t)) / 2`: polynomial least squares
    on evenly spaced points is unstable at high degree (at degree 128 in 1D the estimate of a
    known error of 3.0 came out 1.9, in float64 too), on Chebyshev-spaced ones it is not. The
    ends 0 and 1 stay put, so points on a face stay on it."""
    lo = jnp.asarray(domain.lower, points.dtype)
    hi = jnp.asarray(domain.upper, points.dtype)
    t = (points - lo) / (hi - lo)
    return lo + (hi - lo) * (1 - jnp.cos(jnp.pi * t)) / 2


def _condition_points(condition, domain, n, dtype):
    # Hammersley points are deterministic (the key is not used): the estimate is a function of
    # the field alone
    key = jax.random.key(0)
    pts = condition.sample(key, domain, n, method="hammersley").astype(dtype)
    return _chebyshev_spaced(pts, domain)


def correction(
    problem: Problem,
    field,
    params=None,
    *,
    degree: int | None = None,
    refine: bool = True,
    chunk: int = 64,
) -> dict:
    """The defect correction of `field` on `problem` (see the module docstring).

    **Arguments:**

    - `problem`: the `Problem` (its `params`, or `params` if given, as trained).
    - `field`: one trained field (not an ensemble).
    - `degree`: Chebyshev degree per axis (default 128 in 1D, 24 in 2D, 8 in 3D, 6 above).
    - `refine`: check that the estimate has converged in the degree: it is computed at 2/3 of
      `degree` too, and the degree grows by 4/3, up to twice `degree`, until two successive
      pairs of degrees agree (each pair within 20%, the finer correction with at most a fifth
      of its norm in its top 15% of degrees). An error the basis does not hold is under-read
      (on a convection fit at beta 30 the estimate was 0.30, 0.58 and 0.78 of the truth at
      degrees 16, 24 and 32), and this is how it shows. One agreeing pair is not enough: two
      under-resolved degrees can agree by chance (a trained convection field at beta 30: 0.37x
      and 0.44x of the truth at degrees 16 and 24, tail 0.15; 0.96x at 48). Costs two to three
      times the estimate at `degree` alone where it has converged there (2D: 16, 24 and 32).
    - `chunk`: basis functions evaluated at once (memory against speed).

    **Returns:** a dict with `estimate` (relative L2 of the correction against `u + d` on a
    uniform grid, at the final degree), `unexplained` (the part of the scaled residual the
    correction leaves), `tail` (the share of the correction's coefficient norm in its top 15%
    of degrees), `degree` (the final one), `resolved` (converged as `refine` says; False
    where the cap came first; `None` without `refine`), `estimates` (`{degree: estimate}` of
    every degree tried), `basis` (number of basis functions) and `points` (rows of the system).
    """
    dim = problem.dim
    degree = DEFAULT_DEGREE.get(dim, 6) if degree is None else degree
    check_int(degree, "degree", "error_estimate", minimum=1)
    check_int(chunk, "chunk", "error_estimate", minimum=1)
    check_bool(refine, "refine", "error_estimate")
    params = problem.params if params is None else params
    nan = {"estimate": math.nan, "unexplained": math.nan, "degree": degree, "basis": 0}
    if problem.eigenvalue is not None:
        return {**nan, "reason": "eigenproblem"}
    bad = [c for c in problem.conditions if not isinstance(c, AbstractPointCondition)]
    if bad:
        return {**nan, "reason": f"condition {type(bad[0]).__name__} is not a point condition"}
    if not refine:
        return {**_at_degree(problem, field, params, degree, chunk), "resolved": None}
    return refined(lambda d: _at_degree(problem, field, params, d, chunk), degree)


def refined(at, degree: int, pairs: int = 2) -> dict:
    """`refine`'s loop over the degrees `round(2 degree / 3)`, `degree`, then up by 4/3 to
    `2 degree`, with `at(d)` the correction's dict at degree `d`: it stops once `pairs`
    successive pairs of degrees agree (`_agree`; one agreeing pair can be chance). `pairs=1`
    is the rule before issue 27's seventeenth session (`experiments/pinn/estimate_degrees.py`
    replays both on recorded degrees)."""
    infos = [at(max(1, round(2 * degree / 3))), at(degree)]
    agreed = [_agree(infos[0], infos[1])]
    cap = 2 * degree

    def converged():
        return len(agreed) >= pairs and all(agreed[-pairs:])

    while not converged() and infos[-1]["degree"] < cap:
        infos.append(at(min(cap, math.ceil(4 * infos[-1]["degree"] / 3))))
        agreed.append(_agree(infos[-2], infos[-1]))
    return {
        **infos[-1],
        "resolved": converged(),
        "estimates": {i["degree"]: i["estimate"] for i in infos},
    }


def _agree(a: dict, b: dict, rel: float = 0.2, floor: float = 1e-7, tail: float = 0.2) -> bool:
    """Converged from `a` to `b`: the two estimates within `rel` of each other and at most
    `tail` of the finer correction's norm in its top 15% of degrees, or both below `floor` (a
    relative error no trained field is judged by). Agreement alone is not enough: two
    under-resolved corrections can agree by chance (0.43 and 0.49 of a known error at degrees
    21 and 32, tails 0.49 and 0.32; resolved, the tail was 0.16 or less, in 1D, in
    `tests/test_pinn_estimate.py`'s cases). A basis far too coarse can also agree with itself
    on an over-estimate (17.8x and 20x at degrees 11 and 16): the safe side."""
    x, y = a["estimate"], b["estimate"]
    if max(x, y) < floor:
        return True
    return abs(x - y) <= rel * max(x, y) and b["tail"] <= tail


def _at_degree(problem: Problem, field, params, degree: int, chunk: int) -> dict:
    """The correction at one degree: the least squares of the module docstring."""
    dim = problem.dim
    leaves = jax.tree_util.tree_leaves(eqx.filter(field, eqx.is_inexact_array))
    dtype = leaves[0].dtype if leaves else jnp.result_type(float)
    basis = _basis(problem, degree, dtype)
    n_basis = basis.indices.shape[0]
    # twice as many interior rows as unknowns (a full cell-centred grid), and per condition
    # about four points per basis function along its face
    per_axis = math.ceil((2 * n_basis) ** (1 / dim))
    interior = problem.domain.grid((per_axis,) * dim, dtype=dtype, cell_centred=True)
    interior = _chebyshev_spaced(interior, problem.domain)  # Chebyshev nodes of the first kind
    blocks = [_block_jit(_Residual(problem.residual, params), field, basis, interior, chunk)]
    n_face = 4 * (degree + 1) ** max(dim - 1, 0)
    for c in problem.conditions:
        if isinstance(c, Observations):
            pts = c.points.astype(dtype)
            A, b = _block_jit(_Residual(None, None, c.component), field, basis, pts, chunk)
            b = b - jnp.ravel(c.values)
        else:
            pts = _condition_points(c, problem.domain, n_face * 2, dtype)
            A, b = _block_jit(_Residual(c.residual, params), field, basis, pts, chunk)
        blocks.append((A, b))
    As, bs = [], []
    for A, b in blocks:
        A, b = np.asarray(A, np.float64), np.asarray(b, np.float64)
        scale = np.sqrt(np.mean(np.sum(A**2, axis=1))) or 1.0
        As.append(A / scale)
        bs.append(b / scale)
    A, b = np.concatenate(As), np.concatenate(bs)
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    coef, *_ = np.linalg.lstsq(A / norms, -b, rcond=1e-10)
    coef = coef / norms
    unexplained = np.linalg.norm(As[0] @ coef + bs[0]) / max(np.linalg.norm(bs[0]), 1e-300)
    # the share of the correction in its top 15% of degrees: small where it is resolved
    top = np.max(np.asarray(basis.indices), axis=1) > _TAIL_FROM * degree
    tail = np.linalg.norm(coef[top]) / max(np.linalg.norm(coef), 1e-300)
    grid_axis = {1: 1001, 2: 101, 3: 31}.get(dim, 9)
    grid = problem.domain.grid((grid_axis,) * dim, dtype=dtype)
    u = np.asarray(jax.vmap(field)(grid), np.float64)
    d = np.asarray(_correction_at(basis, jnp.asarray(coef, dtype), grid), np.float64)
    d = d.reshape(u.shape)
    estimate = np.linalg.norm(d) / max(np.linalg.norm(u + d), 1e-300)
    return {
        "estimate": float(estimate),
        "unexplained": float(unexplained),
        "tail": float(tail),
        "degree": degree,
        "basis": int(n_basis),
        "points": int(A.shape[0]),
    }
