"""A PIG that puts its Gaussians where the solution needs them (issue 27).

Two options, both off unless asked for:

- **Means drawn from the source** (`pig_from_source`, also `PIG.from_source`): the initial
  means are sampled with density `q(z) = floor + (1 - floor) |f(z)| / mean |f|` over the unit
  box, `f` the residual of the zero field (the source `f` of `L u = f`), and each Gaussian's
  `sigma` is `scale * q(m)^(-1/d)`, the local spacing of that density relative to a uniform one
  (`q = 1`: the PIG's own `scale`).
- **Densification between chunks of training** (`densify`, driven by `Densify.wrap` inside the
  optimiser, or by a loop of your own): as in 3D Gaussian splatting (Kerbl et al. 2023, "3D
  Gaussian Splatting for Real-Time Radiance Field Rendering", sec. 5.2), every `every` steps
  the `fraction` of Gaussians per channel with the smallest `|weight|` are pruned, and as many
  of those with the largest score (the mean norm of the loss gradient with respect to their
  mean since the last event, 3DGS's criterion; or any score, e.g. `residual_scores`) are split:
  the source and the re-placed Gaussian are both drawn from the source Gaussian
  (`m + sigma * N(0, I)`), with `sigma / 1.6` and the source's weight and shears. The number of
  Gaussians never changes, so nothing recompiles; the optimiser's per-parameter state of every
  moved entry (the re-placed Gaussians and the split sources) is reset to zero, as 3DGS does
  for the Gaussians it creates.
"""

from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .._checks import check_float, check_int, check_optional_int
from ._pig import PIG

SPLIT_FACTOR = 1.6  # sigma of each half of a split Gaussian (3DGS's value)
_GAUSSIAN_FIELDS = ("means", "log_scales", "weights", "shears")
_DEFAULT_SCALE = inspect.signature(PIG.__init__).parameters["scale"].default


def _raw_log_scales(sigma: Array, max_scale: float) -> Array:
    """The free parameter `s` with `sigma = max * exp(-softplus(log max - s))` (`PIG`)."""
    sigma = jnp.clip(sigma, 0.0, max_scale * (1 - 1e-3))
    return math.log(max_scale) - jnp.log(jnp.expm1(jnp.log(max_scale / sigma)))


def source_magnitude(problem, points: Float[Array, "n dim"]) -> Float[Array, " n"]:
    """`|f(x)|` at `points`: the norm of the residual of the zero field (for `L u = f`, the
    source), the quantity `pig_from_source` places its means by."""
    shape = () if not problem.n_outputs else (problem.n_outputs,)
    zero = lambda x: jnp.zeros(shape, x.dtype)  # noqa: E731
    r = jax.vmap(lambda x: problem.residual(zero, x, problem.params))(points)
    return jnp.sqrt(jnp.sum(jnp.abs(r.reshape(points.shape[0], -1)) ** 2, axis=-1))


def pig_from_source(
    problem,
    n_gaussians: int,
    *,
    floor: float = 0.25,
    pool: int = 16,
    key: PRNGKeyArray,
    **kwargs,
) -> PIG:
    """A `PIG` for `problem` whose initial means follow the source's magnitude.

    The means of each channel are `n_gaussians` draws from the density
    `q(z) = floor + (1 - floor) |f(z)| / mean|f|` on the unit box of the domain (`f` from
    `source_magnitude`; mean over the pool): a pool of `pool * n_gaussians` uniform points,
    drawn from with probability `q`, each draw moved uniformly within its pool point's share of
    the box (`pool_n^(-1/d)` per side, clipped to the box) so that the draws are continuous.
    `floor` keeps a share of the Gaussians (`floor` of them for a source concentrated in a small
    region) where the source is small, where the solution still needs some. Each Gaussian's
    `sigma` is `scale * q(m)^(-1/d)`: the spacing the density gives there relative to a uniform
    one, clipped to `[scale / 8, max_scale)`. With a zero source (`f = 0` everywhere) the means
    are uniform and every `sigma` is `scale`. Works under `jit` and `vmap` (over keys).

    **Arguments:**

    - `problem`: a `pde.Problem` on a box domain.
    - `n_gaussians`: Gaussians per channel.
    - `floor`: the uniform share of the density, in `[0, 1]` (1: uniform means).
    - `pool`: pool points per Gaussian.
    - `key`: PRNG key.
    - `**kwargs`: the other `PIG` arguments (`channels`, `scale`, `neighbours`, ...), but not
      `init`.

    **Returns:** the `PIG`.
    """
    if "init" in kwargs:
        raise ValueError("pig_from_source: `init` is set by the source; do not pass it")
    check_int(n_gaussians, "n_gaussians", "pig_from_source")
    check_int(pool, "pool", "pig_from_source")
    if not 0.0 <= check_float(floor, "floor", "pig_from_source", non_negative=True) <= 1.0:
        raise ValueError(f"pig_from_source: `floor` must be in [0, 1], got {floor!r}")
    kp, kz, kc, kj = jr.split(key, 4)
    pig = PIG(problem.domain, n_gaussians, key=kp, **kwargs)
    dim, channels, n = pig.in_size, pig.channels, pig.n_gaussians
    lo, hi = jnp.asarray(pig.lower), jnp.asarray(pig.upper)
    size = pool * n
    z = jr.uniform(kz, (size, dim))
    density = _density(problem, lo + z * (hi - lo), None, floor)
    mean_abs = density[1]
    picks = jax.vmap(lambda k: jr.choice(k, size, (n,), p=density[0] / jnp.sum(density[0])))(
        jr.split(kc, channels)
    )
    side = size ** (-1.0 / dim)
    jitter = side * (jr.uniform(kj, (channels, n, dim)) - 0.5)
    means = jnp.clip(z[picks] + jitter, 0.0, 1.0)
    q = _density(problem, lo + means.reshape(-1, dim) * (hi - lo), mean_abs, floor)[0]
    scale = float(kwargs.get("scale", _DEFAULT_SCALE))
    sigma = scale * q.reshape(channels, n, 1) ** (-1.0 / dim)
    sigma = jnp.broadcast_to(jnp.clip(sigma, scale / 8, None), (channels, n, dim))
    log_scales = _raw_log_scales(sigma, pig.max_scale).astype(pig.log_scales.dtype)
    means = means.astype(pig.means.dtype)
    return eqx.tree_at(lambda p: (p.means, p.log_scales), pig, (means, log_scales))


def _density(problem, x, mean_abs, floor):
    """`q = floor + (1 - floor) |f| / mean|f|` at `x` (`mean_abs`: `None` for the mean over
    `x`), and the mean used; `q = 1` where the source is zero everywhere."""
    a = source_magnitude(problem, x)
    mean_abs = jnp.mean(a) if mean_abs is None else mean_abs
    safe = jnp.where(mean_abs > 0, mean_abs, 1.0)
    q = jnp.where(mean_abs > 0, floor + (1.0 - floor) * a / safe, 1.0)
    return q, mean_abs


def gaussian_values(pig: PIG, points: Float[Array, "m dim"]) -> Float[Array, "m channels n"]:
    """`exp(-|A (z - m)|^2 / 2)` of every Gaussian at every point (unit weights), dense."""
    lo, hi = jnp.asarray(pig.lower), jnp.asarray(pig.upper)
    z = (points - lo) / (hi - lo)
    inv = jnp.exp(-pig._log_sigma())

    def one(zp):
        y = (zp - pig.means) * inv
        if pig.shears is not None:
            y = y + jnp.einsum("cnjk,cnk->cnj", jnp.tril(pig.shears, k=-1), y)
        return jnp.exp(-0.5 * jnp.sum(y * y, axis=-1))

    return jax.vmap(one)(z)


def residual_scores(
    pig: PIG, points: Float[Array, "m dim"], residuals: Float[Array, " m"]
) -> Float[Array, "channels n"]:
    """Each Gaussian's share of the residual: `sum_x |r(x)| |w_i| g_i(x)` over `points` (the
    residual-weighted contribution), a score for `densify`."""
    g = gaussian_values(pig, points)
    return jnp.abs(pig.weights) * jnp.einsum("m,mcn->cn", jnp.abs(residuals), g)


def densify(
    pig: PIG, scores: Float[Array, "channels n"], *, key: PRNGKeyArray, fraction: float = 0.05
) -> tuple[PIG, Bool[Array, "channels n"]]:
    """Prune and split at a fixed count: per channel, the `k = max(1, round(fraction n))`
    Gaussians of smallest `|weight|` are re-placed by splitting the `k` others of largest
    `scores` (see the module docstring). Pure, jittable, same shapes in and out.

    **Returns:** the new PIG and a mask of the moved entries (re-placed and split), e.g. to
    reset their optimiser state.
    """
    if not 0.0 < check_float(fraction, "fraction", "densify", positive=True) <= 0.5:
        raise ValueError(f"densify: `fraction` must be in (0, 0.5], got {fraction!r}")
    channels, n, dim = pig.means.shape
    if scores.shape != (channels, n):
        raise ValueError(f"densify: `scores` must have shape {(channels, n)}, got {scores.shape}")
    k = max(1, round(fraction * n))
    sigma = pig.scales
    shears = pig.shears

    def channel(means, log_scales, weights, sig, score, shear, key):
        _, pruned = jax.lax.top_k(-jnp.abs(weights), k)
        masked = score.at[pruned].set(-jnp.inf)
        _, split = jax.lax.top_k(masked, k)
        eps = jr.normal(key, (2, k, dim), means.dtype)
        src_m, src_s = means[split], sig[split]
        new_s = _raw_log_scales(src_s / SPLIT_FACTOR, pig.max_scale).astype(log_scales.dtype)
        means = means.at[split].set(jnp.clip(src_m + src_s * eps[0], 0.0, 1.0))
        means = means.at[pruned].set(jnp.clip(src_m + src_s * eps[1], 0.0, 1.0))
        log_scales = log_scales.at[split].set(new_s).at[pruned].set(new_s)
        weights = weights.at[pruned].set(weights[split])
        if shear is not None:
            shear = shear.at[pruned].set(shear[split])
        moved = jnp.zeros(n, bool).at[split].set(True).at[pruned].set(True)
        return means, log_scales, weights, shear, moved

    keys = jr.split(key, channels)
    means, log_scales, weights, shears, moved = jax.vmap(channel)(
        pig.means, pig.log_scales, pig.weights, sigma, scores, shears, keys
    )
    new = eqx.tree_at(
        lambda p: (p.means, p.log_scales, p.weights), pig, (means, log_scales, weights)
    )
    if shears is not None:
        new = eqx.tree_at(lambda p: p.shears, new, shears)
    return new, moved


def _is_pig(x) -> bool:
    return isinstance(x, PIG)


def _the_pig(tree, what: str) -> PIG:
    pigs = [leaf for leaf in jax.tree_util.tree_leaves(tree, is_leaf=_is_pig) if _is_pig(leaf)]
    if len(pigs) != 1:
        raise ValueError(
            f"Densify: the parameters must hold exactly one PIG (in {what}), found {len(pigs)} "
            "(a flat parameter vector, `flat=True`, holds none: densify a first phase on the "
            "PyTree, as `pinn.solve` runs Adam)"
        )
    return pigs[0]


def _zero_moved(tree, moved: Array):
    """`tree` (an optimiser state) with the moved Gaussians' entries of every PIG-shaped node
    (Adam's `mu` and `nu`, a momentum) set to zero."""

    def reset(node):
        if not _is_pig(node):
            return node
        fields = [f for f in _GAUSSIAN_FIELDS if isinstance(getattr(node, f), jax.Array)]
        values = []
        for f in fields:
            v = getattr(node, f)
            mask = moved.reshape(moved.shape + (1,) * (v.ndim - 2))
            values.append(jnp.where(mask, jnp.zeros_like(v), v))
        return eqx.tree_at(lambda p: [getattr(p, f) for f in fields], node, values)

    return jax.tree_util.tree_map(reset, tree, is_leaf=_is_pig)


class DensifyState(NamedTuple):
    inner: optax.OptState
    count: Array
    scores: Array  # (channels, n): summed gradient norms of the means since the last event
    key: Array


class Densify(eqx.Module):
    """Densification of a `PIG` between chunks of training, as an optax wrapper: every `every`
    steps (until step `until`, `None`: throughout), `densify` with the mean gradient norm of
    each Gaussian's mean since the last event as its score (see the module docstring).

    The wrapper runs inside the jitted training step, so it works with `pinn.solve` and
    `train.fit` as they are (chunks, checkpoints and exact resume, ensembles) and recompiles
    nothing. Since `solve` runs its L-BFGS phase only after its own `pinn.Adam`, give the phase
    its steps:

    ```python
    adam = pinn.Adam()
    opt = pinn.Densify(every=500).wrap(adam.transformation(), key=jr.key(2))
    sol = pinn.solve(problem, pig, opt, key=key, steps=5000, lbfgs=pinn.LBFGSPhase(1250))
    ```

    The parameters must hold exactly one PIG (possibly inside `Constrained`). Moved entries
    get a zero optimiser state (Adam's moments restart for them; the step count, and so the
    learning-rate schedule and bias correction, go on).
    """

    every: int = eqx.field(static=True, default=500)
    fraction: float = eqx.field(static=True, default=0.05)
    until: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_int(self.every, "every", "Densify")
        check_optional_int(self.until, "until", "Densify")
        if not 0.0 < check_float(self.fraction, "fraction", "Densify", positive=True) <= 0.5:
            raise ValueError(f"Densify: `fraction` must be in (0, 0.5], got {self.fraction!r}")

    def wrap(
        self, inner: optax.GradientTransformation, *, key: PRNGKeyArray
    ) -> optax.GradientTransformationExtraArgs:
        """`inner` (e.g. `pinn.Adam().transformation()`) with densification between its steps."""
        if not isinstance(inner, optax.GradientTransformation):
            raise TypeError(
                f"Densify.wrap: `inner` must be an optax transformation, got {type(inner).__name__}"
            )
        if not hasattr(key, "dtype"):
            raise TypeError(f"Densify.wrap: `key` must be a PRNG key (jax.random.key), got {key!r}")
        inner = optax.with_extra_args_support(inner)
        key_data = jr.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key

        def init(params):
            pig = _the_pig(params, "init")
            return DensifyState(
                inner.init(params),
                jnp.zeros((), jnp.int32),
                jnp.zeros(pig.weights.shape, pig.weights.dtype),
                jnp.asarray(key_data),
            )

        def update(grads, state, params=None, **extra):
            if params is None:
                raise ValueError("Densify: the optimiser needs `params` in `update`")
            updates, inner_state = inner.update(grads, state.inner, params, **extra)
            g = _the_pig(grads, "the gradients").means
            scores = state.scores + jnp.sqrt(jnp.sum(g * g, axis=-1)).astype(state.scores.dtype)
            count = state.count + 1
            due = count % self.every == 0
            if self.until is not None:
                due = due & (count <= self.until)

            def event(operands):
                updates, inner_state, scores = operands
                before = _the_pig(params, "the parameters")
                step = _the_pig(updates, "the updates")
                fields = [f for f in _GAUSSIAN_FIELDS if getattr(before, f) is not None]
                after = optax.apply_updates(before, step)
                key = jr.fold_in(jr.wrap_key_data(state.key), count)
                after, moved = densify(after, scores / self.every, key=key, fraction=self.fraction)
                # only the Gaussians' entries change: the update that lands on the densified
                # values (up to rounding); the MLP's update is the inner optimiser's, as is
                step = eqx.tree_at(
                    lambda p: [getattr(p, f) for f in fields],
                    step,
                    [getattr(after, f) - getattr(before, f) for f in fields],
                )
                updates = jax.tree_util.tree_map(
                    lambda n: step if _is_pig(n) else n, updates, is_leaf=_is_pig
                )
                return updates, _zero_moved(inner_state, moved), jnp.zeros_like(scores)

            updates, inner_state, scores = jax.lax.cond(
                due, event, lambda o: o, (updates, inner_state, scores)
            )
            return updates, DensifyState(inner_state, count, scores, state.key)

        return optax.GradientTransformationExtraArgs(init, update)
