"""Teacher-forced training of DSR models, through `jaxsci.train.fit`.

One training step samples `batch_size` windows of `sequence_length + 1` points from the
training trajectories, runs the model along each window with forcing, and takes the mean
squared error of the one-step predictions of the observed units. Two forcings:

- `GeneralizedTeacherForcing` (Hess et al. 2023, eq. 6): after each step the observed units
  become `(1 - alpha) F(z~)_{1:N} + alpha x_t`. With `alpha=None` it is adaptive, as the
  authors' "product upper bound" with annealing (GTF-shPLRNN `training.jl`): every
  `update_interval` steps an estimate `max(0, 1 - 1/G)` is made from the model (gradients
  stopped), `G` the largest over a batch of the geometric mean along the window of the
  Jacobian's spectral norm at the data-inferred states (the smallest forcing that bounds the
  Jacobian product, hence the gradients; Hess et al. Thm. 1); `alpha` starts at
  `initial_alpha` (1) and jumps up to a larger estimate, else decays towards it,
  `alpha <- decay alpha + (1 - decay) estimate`.
- `SparseTeacherForcing` (Mikhaeil et al. 2022; the AL-RNN paper's training): every `interval`
  steps the observed units are replaced by the data (`alpha = 1`), free running between.

The optimiser is RAdam with the learning rate decaying exponentially from `learning_rate` to
`final_learning_rate` over the run (the authors' settings). The step is jitted once and scanned
in chunks by `train.fit`, so a whole run is one compilation.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_float, check_int
from .._precision import full_precision
from .._results import RESULTS, raise_if_failed
from ..train import Loop, fit
from ._models import AbstractDSRModel


class AbstractForcing(eqx.Module):
    """How the data enters a training window."""


class GeneralizedTeacherForcing(AbstractForcing):
    """GTF: `z~_t = (1 - alpha) F(z~_{t-1}) + alpha x_t` on the observed units; `alpha=None`:
    adaptive (product upper bound), else the constant in [0, 1]."""

    alpha: float | None = eqx.field(static=True, default=None)
    initial_alpha: float = eqx.field(static=True, default=1.0)
    decay: float = eqx.field(static=True, default=0.999)
    update_interval: int = eqx.field(static=True, default=5)

    def __check_init__(self):
        where = "GeneralizedTeacherForcing"
        for name in ("alpha", "initial_alpha", "decay"):
            value = getattr(self, name)
            if value is not None and not 0 <= check_float(value, name, where) <= 1:
                raise ValueError(f"{where}: `{name}` must be in [0, 1], got {value}")
        check_int(self.update_interval, "update_interval", where)


class SparseTeacherForcing(AbstractForcing):
    """Identity teacher forcing every `interval` steps (free running in between)."""

    interval: int = eqx.field(static=True, default=16)

    def __check_init__(self):
        check_int(self.interval, "interval", "SparseTeacherForcing")


def _product_bound_alpha(model: AbstractDSRModel, windows):
    """`max(0, 1 - 1/G)`, `G` the max over windows of the geometric mean of ||J(z^_t)||_2."""
    model = jax.lax.stop_gradient(model)
    states = jax.vmap(jax.vmap(model.initial_state))(windows)
    norms = jax.vmap(jax.vmap(lambda z: jnp.linalg.norm(jax.jacfwd(model.step)(z), 2)))(states)
    g = jnp.max(jnp.exp(jnp.mean(jnp.log(norms), axis=1)))
    return jnp.maximum(0.0, 1 - 1 / g)


@full_precision
def forced_forecast(model: AbstractDSRModel, warmup, n_steps: int):
    """`n_steps` forecast after the observations `warmup`: identity teacher forcing along
    `warmup` (the observed units set to the data after every step, which fills the unobserved
    ones), then the free run; the first forecast point follows `warmup[-1]`."""
    k = model.observed_size

    def forced(z, x):
        return model.step(z).at[:k].set(x), None

    z = jax.lax.scan(forced, model.initial_state(warmup[0]), warmup[1:])[0]
    return model.rollout(z, n_steps)[:, :k]


@full_precision
def forced_predictions(
    model: AbstractDSRModel, window: Float[Array, "time observed"], forcing: AbstractForcing, alpha
) -> Float[Array, "time-1 observed"]:
    """The one-step predictions of the observed units along one window under `forcing`
    (`alpha`: GTF's forcing strength, ignored by sparse forcing)."""
    n = model.observed_size
    z0 = model.initial_state(window[0])

    def body(z, inp):
        x, t = inp
        z = model.step(z)
        pred = z[:n]
        if isinstance(forcing, GeneralizedTeacherForcing):
            forced = (1 - alpha) * pred + alpha * x
        else:
            forced = jnp.where((t + 1) % forcing.interval == 0, x, pred)
        return z.at[:n].set(forced), pred

    steps = jnp.arange(window.shape[0] - 1)
    return jax.lax.scan(body, z0, (window[1:], steps))[1]


class _Windows(eqx.Module):
    sequence_length: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    noise: float = eqx.field(static=True)

    def __call__(self, data, key):
        """`(targets, forcing signals)`: `batch_size` random windows of the trajectories."""
        n_traj, length, _ = data.shape
        kt, ks, kn = jr.split(key, 3)
        traj = jr.randint(kt, (self.batch_size,), 0, n_traj)
        start = jr.randint(ks, (self.batch_size,), 0, length - self.sequence_length)
        idx = start[:, None] + jnp.arange(self.sequence_length + 1)[None]
        windows = data[traj[:, None], idx]
        inputs = windows
        if self.noise > 0:  # observation noise on the forcing signal (the authors' option)
            inputs = windows + self.noise * jr.normal(kn, windows.shape, windows.dtype)
        return windows, inputs


class _Loss(eqx.Module):
    forcing: AbstractForcing
    windows: _Windows
    regularization: float = eqx.field(static=True)

    def __call__(self, model, extra, key):
        windows, inputs = self.windows(extra["data"], key)
        alpha = extra["alpha"]
        preds = jax.vmap(lambda w: forced_predictions(model, w, self.forcing, alpha))(inputs)
        loss = jnp.mean((preds - windows[:, 1:]) ** 2)
        if self.regularization > 0:
            loss = loss + self.regularization * model.penalty()
        return loss, {"alpha": alpha}


class _AnnealAlpha(eqx.Module):
    """The adaptive GTF `alpha`: a product-bound estimate every `update_interval` steps."""

    forcing: GeneralizedTeacherForcing
    windows: _Windows

    def __call__(self, model, extra, key, step):
        f = self.forcing

        def update(alpha):
            estimate = _product_bound_alpha(model, self.windows(extra["data"], key)[1])
            estimate = estimate.astype(alpha.dtype)
            annealed = f.decay * alpha + (1 - f.decay) * estimate
            return jnp.where(estimate > alpha, estimate, annealed)

        alpha = jax.lax.cond(
            (step + 1) % f.update_interval == 0, update, lambda a: a, extra["alpha"]
        )
        return {**extra, "alpha": alpha}


@functools.lru_cache(maxsize=64)
def _radam(lr, lr_end, steps, decay_interval) -> optax.GradientTransformation:
    """RAdam on `_learning_rate_schedule`: one object per setting, so that `reconstruct` calls
    with equal settings share the compiled step (a new optax object is a new static part of
    `train.Step`, and `fit` would compile again)."""
    return optax.radam(_learning_rate_schedule(lr, lr_end, steps, decay_interval))


def _learning_rate_schedule(lr, lr_end, steps, decay_interval):
    """Exponential decay from `lr` to `lr_end` over `steps`: at every step, or held for
    `decay_interval` steps at a time (`lr (lr_end / lr)^(k floor(step / k) / steps)`, PyTorch's
    `ExponentialLR` stepped once per epoch of `k` batches)."""
    if decay_interval is None:
        return optax.exponential_decay(lr, transition_steps=steps, decay_rate=lr_end / lr)
    k = check_int(decay_interval, "decay_interval", "reconstruct")
    return optax.exponential_decay(
        lr, transition_steps=k, decay_rate=(lr_end / lr) ** (k / steps), staircase=True
    )


class Reconstruction(eqx.Module):
    """What `reconstruct` returns: the trained `model`, the per-step `history` (`loss`,
    `alpha`), `stats` (`train.fit`'s) and the `result` code."""

    model: AbstractDSRModel
    history: dict[str, np.ndarray]
    stats: dict
    result: RESULTS = eqx.field(static=True, default=RESULTS.successful)


@full_precision
def reconstruct(
    model: AbstractDSRModel,
    data: Float[Array, "... time observed"],
    *,
    forcing: AbstractForcing = GeneralizedTeacherForcing(),  # noqa: B008 (immutable)
    steps: int,
    key: PRNGKeyArray,
    sequence_length: int = 200,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    final_learning_rate: float = 1e-5,
    decay_interval: int | None = None,
    noise: float = 0.0,
    regularization: float = 0.0,
    loop: Loop = Loop(),
    throw: bool = True,
) -> Reconstruction:
    """Train a DSR model on trajectories by teacher forcing.

    **Arguments:**

    - `model`: a `ShallowPLRNN`, `ALRNN` (any `AbstractDSRModel`).
    - `data`: `(time, observed)` or `(trajectories, time, observed)`, standardised as the user
      wants it modelled.
    - `forcing`: `GeneralizedTeacherForcing(alpha=None)` (adaptive GTF, default) or
      `SparseTeacherForcing(interval)`.
    - `steps`: optimiser steps (the papers' epochs times batches per epoch).
    - `key`: PRNG key (windows and noise of step `k` use `fold_in(key, k)`).
    - `sequence_length`, `batch_size`: windows per step and their length in steps.
    - `learning_rate`, `final_learning_rate`: RAdam's rate, decayed exponentially between them.
    - `decay_interval`: `None` (default) decays the rate at every step; an integer `k` holds
      it for `k` steps at a time (a staircase: the authors' PyTorch AL-RNN decays once per
      epoch of 50 batches, `decay_interval=50`); the rate of step `s` is then
      `learning_rate (final/learning_rate)^(k floor(s / k) / steps)`, `final_learning_rate`
      being reached just after the last step, as with PyTorch's `ExponentialLR`.
    - `noise`: standard deviation of Gaussian noise added to the forcing signal.
    - `regularization`: `lambda` of the L2 penalty `lambda model.penalty()` added to the loss
      (the GTF paper's `lat_model_regularization`, 1e-5 in its Lorenz-63 settings; the
      history's `loss` includes it).
    - `loop`: `train.Loop` (chunks, checkpoint, resume, progress).
    - `throw`: raise `jaxsci.SolveFailed` on a non-finite step (else see `result`).

    **Returns:** a `Reconstruction`.
    """
    where = "reconstruct"
    if not isinstance(model, AbstractDSRModel):
        raise TypeError(
            f"{where}: `model` must be a jaxsci.dsr model (ShallowPLRNN, ALRNN), got "
            f"{type(model).__name__}"
        )
    if not isinstance(forcing, AbstractForcing):
        raise TypeError(
            f"{where}: `forcing` must be GeneralizedTeacherForcing or SparseTeacherForcing, got "
            f"{type(forcing).__name__}"
        )
    data = jnp.asarray(data)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3 or data.shape[-1] != model.observed_size:
        raise ValueError(
            f"{where}: `data` must have shape (time, {model.observed_size}) or (trajectories, "
            f"time, {model.observed_size}), got {data.shape}"
        )
    steps = check_int(steps, "steps", where)
    sequence_length = check_int(sequence_length, "sequence_length", where)
    if sequence_length >= data.shape[1]:
        raise ValueError(
            f"{where}: `sequence_length` {sequence_length} must be shorter than the data "
            f"({data.shape[1]} points)"
        )
    batch_size = check_int(batch_size, "batch_size", where)
    lr = check_float(learning_rate, "learning_rate", where, positive=True)
    lr_end = check_float(final_learning_rate, "final_learning_rate", where, positive=True)
    noise = check_float(noise, "noise", where, non_negative=True)
    regularization = check_float(regularization, "regularization", where, non_negative=True)
    if decay_interval is not None:
        decay_interval = check_int(decay_interval, "decay_interval", where)
    optimizer = _radam(lr, lr_end, steps, decay_interval)
    windows = _Windows(sequence_length, batch_size, noise)
    adaptive = isinstance(forcing, GeneralizedTeacherForcing) and forcing.alpha is None
    if isinstance(forcing, GeneralizedTeacherForcing):
        alpha0 = forcing.initial_alpha if adaptive else forcing.alpha
    else:
        alpha0 = 1.0
    extra = {"data": data, "alpha": jnp.asarray(alpha0, data.dtype)}
    result = fit(
        _Loss(forcing, windows, regularization),
        model,
        optimizer,
        steps=steps,
        key=key,
        extra=extra,
        update_extra=_AnnealAlpha(forcing, windows) if adaptive else None,
        loop=loop,
        throw=False,
    )
    rec = Reconstruction(result.params, result.history, result.stats, result.result)
    detail = f"first at step {result.stats['failed_step']}"
    return raise_if_failed(where, rec.result, detail, rec, throw)
