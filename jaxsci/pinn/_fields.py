"""Neural fields for physics-informed training: MLPs with optional input embeddings (Fourier
features, exact periodicity), random weight factorisation, and exact constraints via output
transforms. Every field maps one point `x` of shape `(dim,)` to a scalar (or a `(k,)` vector
when `out_size=k`); `vmap` over points outside."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import _is_int, check_bool, check_choice, check_float, check_int
from ..pde import InitialValue
from ..pde._conditions import _target

_ACTIVATIONS = {
    "tanh": jnp.tanh,
    "sin": jnp.sin,
    "gelu": jax.nn.gelu,
    "swish": jax.nn.swish,
    "relu": jax.nn.relu,
}


class AbstractField(eqx.Module):
    """A trainable function of one point: `field(x) -> scalar` (or `(out_size,)`)."""

    def __call__(self, x: Float[Array, " dim"]) -> Array:
        raise NotImplementedError


class AbstractEmbedding(eqx.Module):
    """A fixed or trainable map of a point to features fed to an MLP; `out_size` is its width."""

    out_size: eqx.AbstractVar[int]

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " features"]:
        raise NotImplementedError


class FourierFeatures(AbstractEmbedding):
    """`x -> [cos(2 pi B x), sin(2 pi B x)]` with `B ~ N(0, scale^2)` fixed (not trained);
    with `include_input=True`, `x -> [x, cos(2 pi B x), sin(2 pi B x)]`.

    Tancik et al. 2020; Wang, Wang & Perdikaris 2021 for PINNs. A larger `scale` lets the MLP
    represent higher frequencies (the multi-scale Poisson problem needs `scale ~ 10`+).
    `include_input` keeps the point itself beside its features. The scale is in cycles per unit
    along each axis, so `|B|` grows like `scale * sqrt(dim)`; the default `scale=None` is
    `1 / sqrt(in_size)`, one cycle per unit along each feature's direction on average, in any
    dimension. On the zoo's 3D Poisson row (unit cube, MLP 32 x 4) `scale=1` failed (0.25, and
    0.26 with the input kept) where `scale=0.5` reached 5.8e-4 (BENCHMARKS.md, "Fourier
    features: the scale per dimension").

    `lengths`: the domain's side along each axis, e.g. `np.subtract(problem.domain.upper,
    problem.domain.lower)`; the frequencies are then in cycles per side (`B[:, j] /
    lengths[j]`), so the features see the domain as a unit box. On the zoo's convection row
    (`x` in `[0, 2 pi]`) features per unit failed (0.97-1.13) where features per side reached
    1.6e-2-4.2e-2 (BENCHMARKS.md, "Fourier features per domain side")."""

    frequencies: Float[Array, "features dim"]
    out_size: int = eqx.field(static=True)
    include_input: bool = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        n_features: int = 64,
        scale: float | None = None,
        *,
        include_input: bool = False,
        lengths: Sequence[float] | None = None,
        key: PRNGKeyArray,
    ):
        check_int(in_size, "in_size", "FourierFeatures")
        check_int(n_features, "n_features", "FourierFeatures")
        check_bool(include_input, "include_input", "FourierFeatures")
        if scale is None:
            scale = in_size**-0.5
        scale = check_float(scale, "scale", "FourierFeatures", positive=True)
        frequencies = scale * jr.normal(key, (n_features, in_size))
        if lengths is not None:
            lengths = np.asarray(lengths, dtype=float) if _numbers(lengths) else None
            if lengths is None or lengths.shape != (in_size,) or not np.all(lengths > 0):
                raise ValueError(
                    f"FourierFeatures: `lengths` must be {in_size} positive numbers (the "
                    "domain's side along each axis)"
                )
            frequencies = frequencies / jnp.asarray(lengths, frequencies.dtype)
        self.frequencies = frequencies
        self.include_input = include_input
        self.out_size = 2 * n_features + (in_size if include_input else 0)

    def __call__(self, x):
        z = 2 * jnp.pi * jax.lax.stop_gradient(self.frequencies).astype(x.dtype) @ x
        features = [jnp.cos(z), jnp.sin(z)]
        return jnp.concatenate([x, *features] if self.include_input else features)


def _numbers(values) -> bool:
    """Whether `values` is a flat sequence (or 1D array) of finite real numbers."""
    try:
        a = np.asarray(values)
    except (TypeError, ValueError):
        return False
    return a.ndim == 1 and a.dtype.kind in "iuf" and bool(np.all(np.isfinite(a)))


def _box(domain, owner: str, expected: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A box domain's `lower` and `upper` as float tuples, or a clear error naming `owner`'s
    argument (`expected` says what it accepts) when `domain` is not a box."""
    lower, upper = getattr(domain, "lower", None), getattr(domain, "upper", None)
    if lower is None or upper is None or not (_numbers(lower) and _numbers(upper)):
        raise TypeError(f"{owner}: {expected}, got {type(domain).__name__}")
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    if lo.shape != hi.shape or not lo.size or not np.all(hi > lo):
        raise ValueError(f"{owner}: the domain must have lower < upper, got {lower}, {upper}")
    return tuple(float(v) for v in lo), tuple(float(v) for v in hi)


class PeriodicEmbedding(AbstractEmbedding):
    """Replace each coordinate in `axes` by `cos(k w x), sin(k w x)`, `k = 1..harmonics`,
    `w = 2 pi / period`: any field built on it is exactly periodic in those coordinates
    (Dong & Ni 2021). Other coordinates pass through unchanged."""

    axes: tuple[int, ...] = eqx.field(static=True)
    periods: tuple[float, ...] = eqx.field(static=True)
    harmonics: int = eqx.field(static=True)
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)

    def __init__(
        self, in_size: int, axes: Sequence[int], periods: Sequence[float], harmonics: int = 1
    ):
        check_int(in_size, "in_size", "PeriodicEmbedding")
        axes, periods = tuple(int(a) for a in axes), tuple(float(p) for p in periods)
        if len(axes) != len(periods):
            raise ValueError("PeriodicEmbedding: `axes` and `periods` must have the same length")
        if any(not 0 <= a < in_size for a in axes):
            raise ValueError(f"PeriodicEmbedding: `axes` must lie in [0, {in_size}), got {axes}")
        check_int(harmonics, "harmonics", "PeriodicEmbedding")
        self.axes, self.periods, self.harmonics, self.in_size = axes, periods, harmonics, in_size
        self.out_size = in_size - len(axes) + 2 * harmonics * len(axes)

    def __call__(self, x):
        keep = [x[i] for i in range(self.in_size) if i not in self.axes]
        feats = [jnp.stack(keep)] if keep else []
        k = jnp.arange(1, self.harmonics + 1, dtype=x.dtype)
        for a, p in zip(self.axes, self.periods, strict=True):
            z = k * (2 * jnp.pi / p) * x[a]
            feats += [jnp.cos(z), jnp.sin(z)]
        return jnp.concatenate(feats)


class Linear(eqx.Module):
    """Dense layer `W x + b`, optionally with random weight factorisation `W = diag(exp(s)) V`
    (Wang et al. 2022, "Random weight factorization improves the training of continuous neural
    representations"), which lets each neuron learn its own scale."""

    weight: Float[Array, "out in"]
    bias: Float[Array, " out"]
    log_scale: Float[Array, " out"] | None

    def __init__(self, in_size, out_size, *, key, factorisation: tuple[float, float] | None = None):
        kw, ks = jr.split(key)
        # Glorot-normal initialisation, the usual choice for tanh PINNs.
        w = jr.normal(kw, (out_size, in_size)) * math.sqrt(2.0 / (in_size + out_size))
        self.bias = jnp.zeros((out_size,))
        if factorisation is None:
            self.weight, self.log_scale = w, None
        else:
            mean, std = factorisation
            s = mean + std * jr.normal(ks, (out_size,))
            self.weight, self.log_scale = w / jnp.exp(s)[:, None], s

    def __call__(self, x):
        w = (
            self.weight
            if self.log_scale is None
            else jnp.exp(self.log_scale)[:, None] * self.weight
        )
        return w.astype(x.dtype) @ x + self.bias.astype(x.dtype)


class MLP(AbstractField):
    """A multilayer perceptron field, with an optional input embedding.

    **Arguments:**

    - `in_size`: dimension of a point, or the problem's domain (`problem.domain`, any box with
      `lower` and `upper`). Given the domain, the default `embedding` is
      `FourierFeatures(dim, 64, lengths=<the domain's sides>)` at its default scale `1 /
      sqrt(dim)`: features per domain side, so the field sees every domain as a unit box
      (drawn from `jax.random.fold_in(key, 7)`). On the zoo's 15 user problems (MLP 32 x 4,
      2000 Adam + 1250 L-BFGS steps, three seeds) these features reached 1e-2 on 13 / 13 / 12
      rows within 120 s where the plain MLP reached 11, and the convection row at beta 30
      1.6e-2-4.2e-2 where the plain MLP and features per unit failed (BENCHMARKS.md, "Fourier
      features per domain side" and "The MLP given the domain"). For a plain MLP pass
      `problem.dim`.
    - `out_size`: `"scalar"` (default) or the number of components of a vector field.
    - `width`, `depth`: hidden width (32) and number of hidden layers (4). Given the domain,
      32 x 4 at `pinn.solve`'s default budget (2000 + 1250 steps) reached 1e-2 on 12-13 of
      the zoo's 15 rows within 120 s on one core of this project's CPU; 64 x 4 at 5000 + 1250
      took 480-1100 s a solve and ended within 2x of it on 11 rows, lower on two-tone (3.9x)
      and convection at beta 30 (2.3x), higher on 3D Poisson and the boundary layer
      (BENCHMARKS.md, "The defaults since issue 27: 32 wide, 2000 + 1250 steps", and "The MLP
      given the domain").
    - `activation`: `"tanh"` (default), `"sin"`, `"gelu"`, `"swish"` or `"relu"`.
    - `embedding`: a `FourierFeatures` or `PeriodicEmbedding` applied to `x` first; `None`:
      none for a dimension, features per domain side for a domain (above).
    - `factorisation`: `(mean, std)` of the log-scales for random weight factorisation
      (`(1.0, 0.1)` in the paper), or `None` for plain weights.
    - `key`: PRNG key.
    """

    layers: tuple[Linear, ...]
    embedding: AbstractEmbedding | None
    activation: str = eqx.field(static=True)
    in_size: int = eqx.field(static=True)
    out_size: int | str = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int | str = "scalar",
        width: int = 32,
        depth: int = 4,
        activation: str = "tanh",
        embedding: AbstractEmbedding | None = None,
        factorisation: tuple[float, float] | None = None,
        *,
        key: PRNGKeyArray,
    ):
        if not _is_int(in_size):
            lower, upper = _box(
                in_size,
                "MLP",
                "`in_size` must be a positive int (the dimension of a point) or a domain with "
                "finite `lower` and `upper` (e.g. `problem.domain`)",
            )
            sides = tuple(hi - lo for lo, hi in zip(lower, upper, strict=True))
            in_size = len(sides)
            if embedding is None:
                embedding = FourierFeatures(in_size, lengths=sides, key=jr.fold_in(key, 7))
        check_int(in_size, "in_size", "MLP")
        check_int(width, "width", "MLP")
        check_int(depth, "depth", "MLP")
        if out_size != "scalar":
            check_int(out_size, "out_size", "MLP")
        check_choice(activation, "activation", sorted(_ACTIVATIONS), "MLP")
        if embedding is not None and not isinstance(embedding, AbstractEmbedding):
            raise TypeError("MLP: `embedding` must be a FourierFeatures or PeriodicEmbedding")
        feat = in_size if embedding is None else embedding.out_size
        sizes = [feat] + [width] * depth + [1 if out_size == "scalar" else out_size]
        keys = jr.split(key, len(sizes) - 1)
        self.layers = tuple(
            Linear(a, b, key=k, factorisation=factorisation)
            for a, b, k in zip(sizes[:-1], sizes[1:], keys, strict=True)
        )
        self.embedding, self.activation = embedding, activation
        self.in_size, self.out_size = in_size, out_size

    def __call__(self, x):
        if x.shape != (self.in_size,):
            raise ValueError(f"MLP: expected one point of shape ({self.in_size},), got {x.shape}")
        act = _ACTIVATIONS[self.activation]
        h = x if self.embedding is None else self.embedding(x)
        for layer in self.layers[:-1]:
            h = act(layer(h))
        out = self.layers[-1](h)
        return out[0] if self.out_size == "scalar" else out


class Constrained(AbstractField):
    """`x -> transform(x, field(x))`: a field that satisfies some conditions exactly.

    Use `dirichlet_transform` for zero boundary values on a box, or any function of
    `(x, value)`, e.g. `lambda x, v: g(x) + x[-1] * v` for an exact initial condition."""

    field: AbstractField
    transform: Callable[[Array, Array], Array] = eqx.field(static=True)

    def __call__(self, x):
        return self.transform(x, self.field(x))


class _DirichletTransform(eqx.Module):
    """`(x, v) -> v * prod_i (x_i - a_i)(b_i - x_i) / ((b_i - a_i)/2)^2`. A module of static
    numbers, not a closure: equal transforms compare equal, so repeated solves share their
    compiled step."""

    axes: tuple[int, ...] = eqx.field(static=True)
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)

    def __call__(self, x, v):
        d = jnp.ones((), x.dtype)
        for a, a_lo, a_hi in zip(self.axes, self.lower, self.upper, strict=True):
            d = d * (x[a] - a_lo) * (a_hi - x[a]) / ((a_hi - a_lo) / 2) ** 2
        return d * v


def dirichlet_transform(domain, axes: Sequence[int] | None = None):
    """Output transform `v -> v * prod_i (x_i - a_i)(b_i - x_i) / ((b_i - a_i)/2)^2` that makes a
    field vanish on the faces of the given spatial `axes` of `domain` (default: all)."""
    axes = tuple(int(a) for a in (domain.spatial_axes if axes is None else axes))
    return _DirichletTransform(
        axes, tuple(domain.lower[a] for a in axes), tuple(domain.upper[a] for a in axes)
    )


class _InitialTransform(eqx.Module):
    """`(x, v) -> u0(x) + (t - t0) / (t1 - t0) * v`, `u0` the problem's initial value. Static
    numbers only (the problem's parameters as Python numbers), so equal transforms compare
    equal and repeated solves share their compiled step."""

    value: Callable = eqx.field(static=True)
    time_axis: int = eqx.field(static=True)
    t0: float = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    params: tuple = eqx.field(static=True)  # (treedef, leaves as nested tuples)

    def __call__(self, x, v):
        treedef, leaves = self.params
        params = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a, x.dtype) for a in leaves])
        u0 = _target(self.value, x, params)
        scale = (x[self.time_axis] - self.t0) / (self.t1 - self.t0)
        return jnp.reshape(u0, jnp.shape(v)) + scale * v


def initial_transform(problem):
    """Output transform `v -> u0(x) + (t - t0) / (t1 - t0) v` that gives a field the initial value
    of `problem` (its one `InitialValue` condition, scalar field) exactly; train it without that
    condition. A second-order-in-time problem's `InitialVelocity` still needs its loss term."""
    axis = problem.domain.time_axis
    if axis is None:
        raise ValueError(f"initial_transform: problem {problem.name!r} is not time-dependent")
    initial = [c for c in problem.conditions if isinstance(c, InitialValue)]
    if len(initial) != 1 or initial[0].component is not None:
        raise ValueError(
            f"initial_transform: problem {problem.name!r} needs exactly one `InitialValue` "
            f"condition on a scalar field, has {len(initial)}"
        )
    leaves, treedef = jax.tree_util.tree_flatten(problem.params)
    frozen = tuple(_frozen(np.asarray(a).tolist()) for a in leaves)
    return _InitialTransform(
        initial[0].value,
        axis,
        float(problem.domain.lower[axis]),
        float(problem.domain.upper[axis]),
        (treedef, frozen),
    )


def _frozen(a):
    return tuple(_frozen(b) for b in a) if isinstance(a, list) else a
