"""HiPPO as online function approximation: the basis functions of each measure, and the state
that a sequence leaves in the HiPPO memory as it streams in."""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.linalg
from jaxtyping import Array, Float

from .._checks import check_int
from ._discretise import discretise
from ._hippo import _check_measure, _hippo_numpy


def _legendre(n, t):
    # Bonnet's recurrence, stable on [-1, 1]
    ps = [jnp.ones_like(t), t]
    for k in range(1, n - 1):
        ps.append(((2 * k + 1) * t * ps[k] - k * ps[k - 1]) / (k + 1))
    return jnp.stack(ps[:n])


def _laguerre(n, x):
    ps = [jnp.ones_like(x), 1 - x]
    for k in range(1, n - 1):
        ps.append(((2 * k + 1 - x) * ps[k] - k * ps[k - 1]) / (k + 1))
    return jnp.stack(ps[:n])


def hippo_basis(measure: str, n: int, x: Float[Array, ""]) -> Float[Array, " n"]:
    """The functions that the HiPPO state coordinates multiply, at one point of the window.

    The input history is reconstructed from a state `c` as `u ~ basis @ c`:

    - `"legs"`: `x = s / t` in [0, 1] (the whole history is the window), `sqrt(2k+1) P_k(2x - 1)`.
    - `"legt"`: `x = s - (t - 1)` in [0, 1] (unit window, `x = 1` is now), same polynomials.
    - `"fout"`: `x` as for LegT; `1, 0, sqrt2 cos(2 pi x), sqrt2 sin(2 pi x), ...`.
    - `"lagt"`: `x = t - s >= 0`, the age of the sample; Laguerre polynomials `L_k(x)`.

    **Arguments:** `measure`, `n` (state size), `x` a scalar.

    **Returns:** shape `(n,)`, in the dtype of `x`.
    """
    measure = _check_measure(measure, "hippo_basis")
    n = check_int(n, "n", "hippo_basis")
    x = jnp.asarray(x)
    if x.ndim != 0:
        raise ValueError(f"`x` must be a scalar (vmap outside), got shape {x.shape}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.zeros(()).dtype)
    k = jnp.arange(n, dtype=x.dtype)
    if measure in ("legs", "legt"):
        return jnp.sqrt(2 * k + 1) * _legendre(n, 2 * x - 1)
    if measure == "lagt":
        return _laguerre(n, x)
    freq = 2 * jnp.pi * jnp.floor(k / 2)
    vals = jnp.where(
        k % 2 == 0, jnp.sqrt(2.0) * jnp.cos(freq * x), jnp.sqrt(2.0) * jnp.sin(freq * x)
    )
    return vals.at[0].set(1.0).at[1 % n].set(0.0 if n > 1 else 1.0).astype(x.dtype)


def hippo_memory(
    measure: str, n: int, u: Float[Array, " length"], *, dt: float | None = None
) -> Float[Array, "length n"]:
    """The HiPPO state after each sample of a sequence: the online projection of its history.

    - `"legs"` is time-varying, `c'(t) = A c / t + B u / t`, and scale-invariant, so `dt` is not
      used: sample `k` (1-based) is at time `k` and the state after it projects the history on
      `[0, k]`. Each step is a trapezoidal rule (see the comment in the code); `I - A/(2k-1)` is
      lower triangular, so a step is one triangular solve.
    - The translated measures are time-invariant; the state is the zero-order-hold recurrence
      with step `dt` (required), exact for piecewise-constant input. The window is one time
      unit, i.e. `1 / dt` samples.

    Reconstruct the history from `states[k]` with `hippo_basis`.

    **Arguments:** `measure`, `n`, `u` (one scalar sequence; vmap over channels), `dt`.

    **Returns:** the states, shape `(length, n)`, in the dtype of `u`.
    """
    measure = _check_measure(measure, "hippo_memory")
    n = check_int(n, "n", "hippo_memory")
    u = jnp.asarray(u)
    if u.ndim != 1:
        raise ValueError(f"`u` must be one sequence of shape (length,), got {u.shape}.")
    if not jnp.issubdtype(u.dtype, jnp.floating):
        raise TypeError(f"`u` must be floating, got {u.dtype}.")
    a_np, b_np = _hippo_numpy(measure, n)
    a, b = jnp.asarray(a_np, u.dtype), jnp.asarray(b_np, u.dtype)
    eye = jnp.eye(n, dtype=u.dtype)
    if measure == "legs":
        # Sample k (1-based) is u at time k. The first state is the exact projection of a
        # constant, c_1 = u_1 e_0 (A e_0 = -B, so e_0 is the constant's coefficient vector); the
        # steps after it are the trapezoidal rule at the midpoint t = k - 1/2 with the input
        # averaged over the step:
        #   (I - A/(2k-1)) c_k = (I + A/(2k-1)) c_{k-1} + B (u_{k-1} + u_k) / (2k-1),
        # which keeps constants exact and is second order (Gu et al. 2020, appendix B.3, use
        # the same bilinear rule with the step 1/k).
        def step(c, inp):
            k, u_prev, u_k = inp
            h = 1 / (2 * k - 1)
            rhs = c + h * (a @ c) + h * b * (u_prev + u_k)
            c = jsl.solve_triangular(eye - h * a, rhs, lower=True)
            return c, c

        c1 = jnp.zeros(n, u.dtype).at[0].set(u[0])
        ks = jnp.arange(2, u.shape[0] + 1, dtype=u.dtype)
        rest = jax.lax.scan(step, c1, (ks, u[:-1], u[1:]))[1]
        return jnp.concatenate([c1[None], rest])
    if dt is None:
        raise ValueError(f"`dt` is required for the time-invariant measure {measure!r}.")
    if isinstance(dt, jax.core.Tracer):
        abar, bbar = discretise(a, b, jnp.asarray(dt, u.dtype), method="zoh")
    else:
        # a concrete step: discretise on the host in float64 (Van Loan's augmented exponential),
        # then round once to the input's precision
        aug = np.zeros((n + 1, n + 1))
        aug[:n, :n], aug[:n, n] = a_np, b_np
        e = scipy.linalg.expm(float(dt) * aug)
        abar, bbar = jnp.asarray(e[:n, :n], u.dtype), jnp.asarray(e[:n, n], u.dtype)

    def step_ti(c, uk):
        c = abar @ c + bbar * uk
        return c, c

    return jax.lax.scan(step_ti, jnp.zeros(n, u.dtype), u)[1]
