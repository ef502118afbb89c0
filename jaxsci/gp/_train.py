"""Kernel-parameter training (Fang et al., ICLR 2024, sec. 4 and eq. 10), on `train.fit`.

The paper's loss, for solution values `U` on the collocation grid and kernel parameters
(frequencies, scales, log mixture weights):

    loss = fit_weight * (mean(r^2) / f_scale^2 + mean((U_b - g)^2) / g_scale^2)
           + (0.5 U^T K^{-1} U + 0.5 log det K + sum_q log w_q) / N

with `r = (L K) K^{-1} U - f` the equation residual at the interior points (`problem.residual`
for nonlinear problems), `U_b - g` the boundary misfit, `-log N(U | 0, K)` the GP prior on the
values and `sum_q log w_q` the Jeffreys prior `p(w) ~ 1/w` on every mixture weight: it pulls
every weight towards zero, and only components whose frequencies the solution needs are held
up by the prior term (pruning). Dividing the prior terms by `N` keeps one `fit_weight` for any
grid. `K` carries a jitter relative to its largest diagonal entry (float64).

- `"adam"`: the paper. Adam on `(U, kernel)` jointly; the mean is `k(x, X) K^{-1} U`. `solve`
  starts `U` at the exact solve of the initial kernel.
- `"exact"` (linear problems): `U` is not a parameter but the collocation solve for the
  current kernel, `U = K alpha(kernel)`; Adam moves the kernel only, on the same loss evaluated
  there, where the fit terms vanish: what remains is the GP prior of the solution values
  (their marginal likelihood) and the Jeffreys prior.

  The collocation system is numerically singular (Gram rows; singular values down to ~1e-16
  of the largest). An LU solve of it (as before) returns coefficients dominated by rounding in
  its null directions, and `U^T K^{-1} U` then measures that rounding amplified by `1 /
  jitter`: the loss and its gradient were noise of order one, different on every LAPACK
  build (OpenBLAS's Haswell and SkylakeX kernels pruned different components). Training
  therefore solves the Tikhonov problem `min |A alpha - b|^2 + (jitter |A|_F)^2 |alpha|^2`
  (`tikhonov_lstsq`: QR of the stacked matrix, condition ~1 / jitter, differentiable), the
  regularised solve `solve` itself makes, with one relative level, `jitter`, below which the
  kernel's spectrum is treated as rounding both in `alpha` and in `K`. The loss is then a
  smooth function of the kernel (central differences match its gradient to ~1e-3) and
  the same to ~1e-8 on every build. The final solve after training is the filtered SVD of
  `solve`.

Adam runs with a cosine decay of the step size to a tenth, in `train.fit` chunks; per step the
history records the loss, the fit and prior terms, and every component's log weight and
frequency.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..train import Loop, fit
from ._collocation import collocation_system, tikhonov_lstsq
from ._grid import boundary_values
from ._kernels import _AbstractMixture, gram
from ._kronecker import kron_dense, operator_factors
from ._options import TrainKernel


class _Data(eqx.Module):
    axes: list
    points: jax.Array
    interior: jax.Array  # indices
    boundary: jax.Array  # indices
    f: jax.Array | None
    g: jax.Array
    f_scale: jax.Array
    g_scale: jax.Array


def _grams(kernel, axes):
    return lambda i, a: gram(kernel.kernels[i], axes[i], axes[i], a, 0)


def _jeffreys(kernel):
    return sum(jnp.sum(k.log_weights) for k in kernel.kernels if isinstance(k, _AbstractMixture))


def _cholesky(kfull, jitter):
    n = kfull.shape[0]
    return jnp.linalg.cholesky(kfull + jitter * jnp.max(jnp.diag(kfull)) * jnp.eye(n))


def _prior(values, kfull, jitter, chol=None):
    chol = _cholesky(kfull, jitter) if chol is None else chol
    alpha = jax.scipy.linalg.cho_solve((chol, True), values)
    return 0.5 * values @ alpha + jnp.sum(jnp.log(jnp.diag(chol))), alpha


def make_loss(problem, mode, fit_weight, jitter):
    """`loss_fn(params, data, key) -> (loss, metrics)` for `train.fit`; `params` is the kernel
    (`"exact"`) or `(values, kernel)` (`"adam"`)."""
    op = problem.operator

    def loss_fn(params, data, key):
        del key
        kernel = params if mode == "exact" else params[1]
        grams = _grams(kernel, data.axes)
        dim = len(data.axes)
        kfull = kron_dense([grams(i, 0) for i in range(dim)])
        n = kfull.shape[0]
        lk = (
            sum(c * kron_dense(fs) for c, fs in operator_factors(op.orders, op.coefficients, grams))
            if op is not None
            else None
        )
        if mode == "exact":
            a, b = collocation_system(lk[data.interior], kfull[data.boundary], data.f, data.g)
            values = kfull @ tikhonov_lstsq(a, b, jitter)
            prior, _ = _prior(values, kfull, jitter)
            # the fit terms vanish at the collocation solve up to its regularisation; evaluated
            # in floating point they would only measure the conditioning of the system
            fitted = jnp.zeros((), values.dtype)
        else:
            values = params[0]
            prior, alpha = _prior(values, kfull, jitter)
            if op is not None:
                r = (lk @ alpha)[data.interior] - data.f
            else:
                u = lambda x: jax.vmap(lambda y: kernel(x, y))(data.points) @ alpha  # noqa: E731
                pts = data.points[data.interior]
                r = jax.vmap(lambda x: problem.residual(u, x, problem.params))(pts).reshape(-1)
            misfit = values[data.boundary] - data.g
            fitted = jnp.mean((r / data.f_scale) ** 2) + jnp.mean((misfit / data.g_scale) ** 2)
        jeff = _jeffreys(kernel)
        loss = fit_weight * fitted + (prior + jeff) / n
        metrics = {"fit": fitted, "prior": prior / n}
        for d, k in enumerate(kernel.kernels):
            if isinstance(k, _AbstractMixture):
                for q in range(k.log_weights.shape[0]):
                    metrics[f"log_weight_{d}_{q}"] = k.log_weights[q]
                    metrics[f"frequency_{d}_{q}"] = k.frequencies[q]
        return loss, metrics

    return loss_fn


def training_data(problem, axes, points, bmask) -> _Data:
    """The fixed data of the training loss: grid, interior and boundary indices, source and
    Dirichlet values and their scales."""
    bmask = np.asarray(bmask)
    interior, boundary = np.flatnonzero(~bmask), np.flatnonzero(bmask)
    g = boundary_values(problem, points[boundary])
    if problem.source is not None:
        f = jax.vmap(lambda x: problem.source(x, problem.params))(points[interior])
    else:
        f = None
    f_scale = jnp.maximum(jnp.max(jnp.abs(f)), 1.0) if f is not None else jnp.asarray(1.0)
    g_scale = jnp.maximum(jnp.max(jnp.abs(g)), 1.0)
    return _Data(
        list(axes), points, jnp.asarray(interior), jnp.asarray(boundary), f, g, f_scale, g_scale
    )


def train_kernel(
    problem, kernel, axes, points, bmask, options: TrainKernel, values=None, loop=None
):
    """Train `kernel` (and the grid values `values`, mode `"adam"`) with Adam through
    `train.fit`, as `options` says, driven by `loop` (`None`: chunks of up to 500 steps, no
    checkpoint). Returns `(kernel, values or None, fit's TrainResult)`; a
    non-finite step stops training with the last finite parameters (`fit(throw=False)`: the
    caller reports it)."""
    mode, steps = options.mode, options.steps
    data = training_data(problem, axes, points, bmask)
    loss_fn = make_loss(problem, mode, options.fit_weight, options.jitter)
    params = kernel if mode == "exact" else (values, kernel)
    result = fit(
        loss_fn,
        params,
        optax.adam(optax.cosine_decay_schedule(options.step_size, steps, alpha=0.1)),
        steps=steps,
        key=jax.random.key(0),
        extra=data,
        loop=Loop(chunk_size=min(steps, 500)) if loop is None else loop,
        throw=False,
    )
    trained = result.params
    kernel = trained if mode == "exact" else trained[1]
    values = None if mode == "exact" else trained[0]
    return kernel, values, result
