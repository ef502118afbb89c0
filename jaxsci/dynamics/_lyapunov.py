"""Lyapunov spectra (QR / Benettin method) and attractor dimensions.

The Lyapunov exponents are the growth rates of a set of tangent vectors carried along a
trajectory and re-orthonormalised by a QR decomposition after every interval (Benettin et al.
1980, Meccanica 15; Shimada & Nagashima 1979): with `Q_k R_k = J_k Q_{k-1}`, where `J_k` is the
Jacobian of the flow over the interval `dt` (of the map, for a map),

    lambda_i = lim (1 / (K dt)) sum_{k <= K} log |R_k[i, i]|.

For a flow the tangent vectors solve the variational equation `Y' = Df(x) Y` beside `x' = f(x)`
(one diffrax solve per interval, `Df` by `jax.jacfwd`); for a map `J_k = DF(x_{k-1})`. The
estimate converges like `1/sqrt(K dt)` (chaotic fluctuations): average over initial states with
`jax.vmap` to tighten it.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_float, check_int, check_optional_int
from ._systems import AbstractFlow, AbstractMap, dimension


def _interval_flow(system: AbstractFlow, dt, rtol, atol):
    """`(x, Y) -> (x(dt), Y(dt))` for the system and its variational equation."""

    def field(t, state, args):
        x, y = state
        dx, jy = jax.vmap(
            lambda col: jax.jvp(lambda z: system.vector_field(t, z, args), (x,), (col,)),
            in_axes=1,
            out_axes=(None, 1),
        )(y)
        return dx, jy

    term = diffrax.ODETerm(field)
    controller = diffrax.PIDController(rtol=rtol, atol=atol)

    def advance(x, y):
        sol = diffrax.diffeqsolve(
            term,
            diffrax.Tsit5(),
            t0=0.0,
            t1=dt,
            dt0=dt / 4,
            y0=(x, y),
            stepsize_controller=controller,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=4096,
        )
        return sol.ys[0][0], sol.ys[1][0]

    return advance


def lyapunov_spectrum(
    system: AbstractFlow | AbstractMap,
    initial_state: Float[Array, " dim"],
    *,
    n_steps: int,
    dt: float = 1.0,
    transient: int = 0,
    n_exponents: int | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-8,
) -> Float[Array, " n_exponents"]:
    """The Lyapunov spectrum by the QR (Benettin) method, largest first.

    **Arguments:**

    - `system`: an `AbstractFlow` (`vector_field(t, x, args)`) or `AbstractMap` (`step(x)`).
    - `initial_state`: one state (`vmap` over several); the result follows its dtype.
    - `n_steps`: QR intervals averaged over (for a flow, total time `n_steps * dt`).
    - `dt`: the interval between QR steps (flows; ignored for maps, whose interval is one
      iteration).
    - `transient`: intervals run first without counting (to land on the attractor).
    - `n_exponents`: how many exponents (the `k` largest; default all `dim`).
    - `rtol`, `atol`: the ODE tolerances of each interval's solve (flows).

    **Returns:** the `n_exponents` exponents (per unit time for a flow, per iteration for a
    map), sorted in decreasing order.

    Jit-compatible; the time step and counts are static.
    """
    where = "lyapunov_spectrum"
    if not isinstance(system, (AbstractFlow, AbstractMap)):
        raise TypeError(
            f"{where}: `system` must be an AbstractFlow or AbstractMap, got {type(system).__name__}"
        )
    dim = dimension(system)
    n_steps = check_int(n_steps, "n_steps", where)
    transient = check_int(transient, "transient", where, minimum=0)
    k = check_optional_int(n_exponents, "n_exponents", where, maximum=dim) or dim
    x0 = jnp.asarray(initial_state)
    if x0.shape != (dim,):
        raise ValueError(f"{where}: `initial_state` must have shape ({dim},), got {x0.shape}")
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        raise TypeError(f"{where}: `initial_state` must be floating point, got {x0.dtype}")
    dtype = x0.dtype
    if isinstance(system, AbstractFlow):
        dt = check_float(dt, "dt", where, positive=True)
        advance = _interval_flow(system, jnp.asarray(dt, dtype), rtol, atol)
        interval = dt
    else:

        def advance(x, y):
            x1, jy = jax.vmap(lambda c: jax.jvp(system.step, (x,), (c,)), 1, (None, 1))(y)
            return x1, jy

        interval = 1.0
    y0 = jnp.eye(dim, k, dtype=dtype)

    def warm(x, _):
        return advance(x, y0)[0], None

    x0 = jax.lax.scan(warm, x0, None, length=transient)[0] if transient else x0

    def body(carry, _):
        x, y, total = carry
        x, y = advance(x, y)
        q, r = jnp.linalg.qr(y)
        # sign-fix so that the diagonal of R is positive: Q stays continuous
        signs = jnp.sign(jnp.diagonal(r))
        signs = jnp.where(signs == 0, 1, signs)
        return (x, q * signs, total + jnp.log(jnp.abs(jnp.diagonal(r)))), None

    init = (x0, y0, jnp.zeros(k, dtype))
    (_, _, total), _ = jax.lax.scan(body, init, None, length=n_steps)
    return jnp.sort(total / (n_steps * interval))[::-1]


def kaplan_yorke_dimension(spectrum: Float[Array, " n"]) -> Array:
    """The Kaplan-Yorke (Lyapunov) dimension `j + sum_{i<=j} lambda_i / |lambda_{j+1}|`, `j`
    the largest index whose partial sum is non-negative (Kaplan & Yorke 1979). Equals `0` when
    `lambda_1 < 0` and `n` when every partial sum is non-negative.

    **Arguments:** `spectrum` (any order; sorted here). **Returns:** a scalar."""
    spectrum = jnp.asarray(spectrum)
    if spectrum.ndim != 1 or spectrum.shape[0] < 1:
        raise ValueError(
            f"kaplan_yorke_dimension: `spectrum` must be a non-empty vector, got shape "
            f"{spectrum.shape}"
        )
    lam = jnp.sort(spectrum)[::-1]
    partial = jnp.cumsum(lam)
    n = lam.shape[0]
    j = jnp.sum(partial >= 0)  # count of non-negative partial sums (they decrease past lambda>0)
    nxt = lam[jnp.minimum(j, n - 1)]
    frac = jnp.where(j > 0, partial[jnp.maximum(j - 1, 0)], 0.0) / jnp.abs(nxt)
    return jnp.where(j >= n, float(n), j + frac)


def correlation_dimension(
    points: Float[Array, "n dim"],
    *,
    n_radii: int = 20,
    quantiles: tuple[float, float] = (0.001, 0.05),
) -> Array:
    """The Grassberger-Procaccia correlation dimension of a point cloud (Grassberger &
    Procaccia 1983, Phys. Rev. Lett. 50, 346): the slope of `log C(r)` against `log r`, with
    `C(r)` the fraction of pairs closer than `r`, fitted by least squares over `n_radii`
    log-spaced radii between the given quantiles of the pair distances (the scaling region
    of a well-sampled attractor; a few thousand points give about two digits).

    **Arguments:** `points` `(n, dim)` (O(n^2) memory: subsample long trajectories),
    `n_radii`, `quantiles` (lower, upper, in (0, 1)). **Returns:** a scalar."""
    where = "correlation_dimension"
    points = jnp.asarray(points)
    if points.ndim != 2 or points.shape[0] < 10:
        raise ValueError(f"{where}: `points` must have shape (n >= 10, dim), got {points.shape}")
    n_radii = check_int(n_radii, "n_radii", where, minimum=2)
    lo, hi = quantiles
    if not 0 < lo < hi < 1:
        raise ValueError(
            f"{where}: `quantiles` must satisfy 0 < lower < upper < 1, got {quantiles}"
        )
    n = points.shape[0]
    d2 = jnp.sum((points[:, None] - points[None]) ** 2, -1)
    iu = jnp.triu_indices(n, 1)
    dist = jnp.sort(jnp.sqrt(d2[iu]))
    m = dist.shape[0]
    ends = dist[jnp.array([int(lo * (m - 1)), int(hi * (m - 1))])]
    r = jnp.exp(jnp.linspace(jnp.log(ends[0]), jnp.log(ends[1]), n_radii))
    c = jnp.searchsorted(dist, r) / m  # the fraction of pairs closer than r
    x, y = jnp.log(r), jnp.log(c)
    x, y = x - x.mean(), y - y.mean()
    return jnp.sum(x * y) / jnp.sum(x * x)
