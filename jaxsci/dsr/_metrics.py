"""The metrics of dynamical-systems reconstruction and chaotic forecasting.

- `state_space_divergence` (D_stsp): the Kullback-Leibler divergence `KL(p_true || p_gen)`
  between the occupation histograms of two trajectories, `n_bins` bins per dimension over the
  true trajectory's range, Laplace-smoothed with `alpha = 1e-5` (Brenner et al. 2022, ICML;
  `state_space_divergence_binning` in DurstewitzLab/ALRNN-DSR `alrnn_python/metrics.py`). The
  authors' Python drops the points of the first bin of every dimension (`coordinates > 0`)
  and the true maximum; here every point of the true range is counted (the maximum goes in
  the last bin), as their Julia code does.
- `state_space_divergence_gmm`: the same divergence between Gaussian mixtures with one
  component of variance `scaling` per time point, by Monte Carlo (Hershey & Olsen 2007), for
  higher dimensions (GTF-shPLRNN `stsp_measure.jl`), computed in log space.
- `power_spectrum_distance` (D_H): the mean over dimensions of the Hellinger distance
  `sqrt(1 - sum sqrt(p q))` between the standardised series' power spectra, each smoothed by a
  Gaussian of standard deviation `smoothing` bins (scipy's `gaussian_filter1d`: reflect
  padding, radius `round(4 sigma)`) and normalised (ALRNN-DSR `power_spectrum_error`).
- `smape`: `100 * mean(2 |x - y| / (|x| + |y|))`, in [0, 200] (dysts' `smape(scaled=False)`).
- `valid_prediction_time`: the first time the sMAPE of the forecast so far (the prefix up to
  that step) exceeds `threshold` (30, as Gilpin 2023, Phys. Rev. Research 5, 043252, and its
  benchmark code), in steps, or in Lyapunov times given `dt` and the maximal Lyapunov exponent.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_float, check_int


def _pair(x_true, x_gen, where, same_length=False):
    x_true, x_gen = jnp.asarray(x_true), jnp.asarray(x_gen)
    if x_true.ndim != 2 or x_gen.ndim != 2 or x_true.shape[1] != x_gen.shape[1]:
        raise ValueError(
            f"{where}: `x_true` and `x_gen` must be (time, dim) arrays of the same dim, got "
            f"{x_true.shape} and {x_gen.shape}"
        )
    if same_length and x_true.shape != x_gen.shape:
        raise ValueError(
            f"{where}: `x_true` and `x_gen` must have the same shape, got {x_true.shape} and "
            f"{x_gen.shape}"
        )
    return x_true, x_gen


def _histogram(x, lo, hi, n_bins):
    idx = jnp.floor(n_bins * (x - lo) / (hi - lo)).astype(jnp.int32)
    idx = jnp.where(x == hi, n_bins - 1, idx)  # the true maximum belongs to the last bin
    inside = jnp.all((idx >= 0) & (idx < n_bins), axis=1)
    flat = jnp.sum(jnp.clip(idx, 0, n_bins - 1) * n_bins ** jnp.arange(x.shape[1])[::-1], 1)
    return jnp.zeros(n_bins ** x.shape[1], x.dtype).at[flat].add(inside.astype(x.dtype))


def state_space_divergence(
    x_true: Float[Array, "time dim"], x_gen: Float[Array, "time2 dim"], *, n_bins: int = 30
) -> Array:
    """D_stsp by binning: `KL(p_true || p_gen)` of Laplace-smoothed occupation histograms,
    `n_bins` per dimension over the true trajectory's range (memory `n_bins ** dim`: use
    `state_space_divergence_gmm` beyond about 5 dimensions). NaN when no generated point falls
    in the range. Jit-compatible."""
    where = "state_space_divergence"
    x_true, x_gen = _pair(x_true, x_gen, where)
    n_bins = check_int(n_bins, "n_bins", where)
    if n_bins ** x_true.shape[1] > 2**27:
        raise ValueError(
            f"{where}: {n_bins}^{x_true.shape[1]} bins is too many; use "
            "state_space_divergence_gmm for this dimension"
        )
    lo, hi = x_true.min(0), x_true.max(0)
    alpha = 1e-5
    h_true, h_gen = _histogram(x_true, lo, hi, n_bins), _histogram(x_gen, lo, hi, n_bins)
    size = h_true.shape[0]
    p = (h_true + alpha) / (h_true.sum() + alpha * size)
    q = (h_gen + alpha) / (h_gen.sum() + alpha * size)
    kl = jnp.sum(p * jnp.log(p / q))
    return jnp.where(h_gen.sum() > 0, kl, jnp.nan)


def state_space_divergence_gmm(
    x_true: Float[Array, "time dim"],
    x_gen: Float[Array, "time dim"],
    *,
    scaling: float = 1.0,
    n_samples: int = 1000,
    max_time: int = 10000,
    key: PRNGKeyArray,
) -> Array:
    """D_stsp between Gaussian mixtures (one component of variance `scaling` at each of the
    first `max_time` points of each trajectory), estimated with `n_samples` draws from the
    true mixture: `mean(log p(s) - log q(s))`."""
    where = "state_space_divergence_gmm"
    x_true, x_gen = _pair(x_true, x_gen, where)
    scaling = check_float(scaling, "scaling", where, positive=True)
    n_samples = check_int(n_samples, "n_samples", where)
    t = min(check_int(max_time, "max_time", where), x_true.shape[0], x_gen.shape[0])
    x_true, x_gen = x_true[:t], x_gen[:t]
    kt, kn = jr.split(key)
    sigma = math.sqrt(scaling)
    centres = x_true[jr.randint(kt, (n_samples,), 0, t)]
    samples = centres + sigma * jr.normal(kn, centres.shape, x_true.dtype)

    def log_mixture(mu):
        d2 = jnp.sum((samples[:, None] - mu[None]) ** 2, -1) / scaling
        # the normalisation is the same for both mixtures and cancels
        return jax.nn.logsumexp(-0.5 * d2, axis=1) - jnp.log(t)

    return jnp.mean(log_mixture(x_true) - log_mixture(x_gen))


def _gaussian_filter(x, sigma):
    radius = int(4.0 * sigma + 0.5)
    k = jnp.arange(-radius, radius + 1, dtype=x.dtype)
    w = jnp.exp(-0.5 * (k / sigma) ** 2)
    w = w / w.sum()
    # scipy's "reflect" is numpy's "symmetric" (the edge sample repeated); a radius longer
    # than the series reflects several times, as scipy does
    xp = jnp.pad(x, radius, mode="symmetric")
    return jnp.convolve(xp, w, mode="valid")


def _spectrum(x, smoothing):
    x = (x - x.mean()) / x.std()
    ps = jnp.abs(jnp.fft.rfft(x)) ** 2 * 2 / x.shape[0]
    if smoothing > 0:
        ps = _gaussian_filter(ps, smoothing)
    return ps / ps.sum()


def power_spectrum_distance(
    x_true: Float[Array, "time dim"], x_gen: Float[Array, "time dim"], *, smoothing: float = 20.0
) -> Array:
    """D_H: the mean over dimensions of the Hellinger distance between smoothed, normalised
    power spectra of the standardised series (same length). Jit-compatible."""
    where = "power_spectrum_distance"
    x_true, x_gen = _pair(x_true, x_gen, where, same_length=True)
    smoothing = check_float(smoothing, "smoothing", where, non_negative=True)

    def one(a, b):
        p, q = _spectrum(a, smoothing), _spectrum(b, smoothing)
        return jnp.sqrt(jnp.maximum(1 - jnp.sum(jnp.sqrt(p * q)), 0.0))

    return jnp.mean(jax.vmap(one, in_axes=1)(x_true, x_gen))


def _pointwise_smape(x_true, x_pred):
    return 100 * jnp.mean(
        2 * jnp.abs(x_true - x_pred) / (jnp.abs(x_true) + jnp.abs(x_pred) + 1e-10), axis=-1
    )


def smape(x_true: Float[Array, "time dim"], x_pred: Float[Array, "time dim"]) -> Array:
    """Symmetric mean absolute percentage error, `100 mean(2|x - y| / (|x| + |y|))` over time
    and dimensions, in [0, 200]."""
    x_true, x_pred = _pair(x_true, x_pred, "smape", same_length=True)
    return jnp.mean(_pointwise_smape(x_true, x_pred))


def valid_prediction_time(
    x_true: Float[Array, "time dim"],
    x_pred: Float[Array, "time dim"],
    *,
    threshold: float = 30.0,
    dt: float = 1.0,
    lyapunov_exponent: float | None = None,
) -> Array:
    """The valid prediction time (Gilpin 2023): the number of leading steps over which the
    forecast's sMAPE stays at most `threshold`, times `dt`, times `lyapunov_exponent` when
    given (then in Lyapunov times).

    The sMAPE at step `t` is that of the whole prefix `0..t` (time and dimensions), as in the
    author's benchmark code (williamgilpin/dysts_data, `benchmark_results/scripts/utils.py`:
    the rolling sMAPE of prefixes, and the first index where it exceeds the threshold), not of
    step `t` alone: the pointwise ratio `|x - y| / (|x| + |y|)` jumps to 1 wherever a coordinate
    of standardised data crosses zero, which ends a good forecast at its first crossing. A
    non-finite prediction ends the valid time at its step. The whole horizon if never exceeded."""
    where = "valid_prediction_time"
    x_true, x_pred = _pair(x_true, x_pred, where, same_length=True)
    threshold = check_float(threshold, "threshold", where, positive=True)
    dt = check_float(dt, "dt", where, positive=True)
    err = _pointwise_smape(x_true, x_pred)
    prefix = jnp.cumsum(err) / jnp.arange(1, err.shape[0] + 1, dtype=err.dtype)
    bad = ~(prefix <= threshold)  # NaN counts as exceeded
    steps = jnp.where(jnp.any(bad), jnp.argmax(bad), err.shape[0])
    scale = dt * (
        1.0
        if lyapunov_exponent is None
        else check_float(lyapunov_exponent, "lyapunov_exponent", where, positive=True)
    )
    return steps * scale
