"""Boundary, initial, data and normalisation conditions of a `Problem`.

A condition knows where its points live (`sample`) and what should vanish there (`loss`). Point
conditions (Dirichlet, Neumann, Robin, periodic, initial value and velocity, observations) define a
residual at one point and a loss that is its mean square; a normalisation condition is global.
Every condition takes a `component` so that systems of PDEs (vector `u`) fit the same definition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Scalar

from ._domain import AbstractDomain
from ._operators import gradient, time_derivative

Target = Callable[[Array, object], Array] | float


def _select(u, component):
    if component is None:
        return lambda x: jnp.squeeze(u(x))
    return lambda x: u(x)[component]


def _target(value: Target, x, params):
    return value(x, params) if callable(value) else jnp.asarray(value, x.dtype)


class AbstractCondition(eqx.Module):
    """Something that must hold on a sampled set of points, with a loss that vanishes when it does.

    Concrete conditions have a `weight` (their factor in a solver's loss, default 1)."""

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def sample(
        self, key: PRNGKeyArray, domain: AbstractDomain, n: int, method: str = "uniform"
    ) -> Array:
        """Points where the condition is enforced, shape `(n, dim)`, drawn with `method` (as
        `AbstractDomain.sample`; fixed data may ignore `n` and `method`)."""
        raise NotImplementedError

    def loss(self, u, points: Array, params) -> Scalar:
        """The (unweighted) loss of `u` on `points`."""
        raise NotImplementedError


class AbstractPointCondition(AbstractCondition):
    """A condition with a residual at each point; its loss is the mean squared residual."""

    def residual(self, u, x: Array, params) -> Array:
        raise NotImplementedError

    def loss(self, u, points, params):
        r = jax.vmap(lambda x: self.residual(u, x, params))(points)
        return jnp.mean(jnp.abs(r) ** 2)


def _as_faces(faces):
    # a static field must be hashable: `[(0, 0)]` becomes `((0, 0),)`
    return None if faces is None else tuple((int(a), int(side)) for a, side in faces)


class Dirichlet(AbstractPointCondition):
    """`u(x) = value(x, params)` on the spatial boundary (or on the given `faces`)."""

    value: Target = 0.0
    faces: Sequence[tuple[int, int]] | None = eqx.field(
        static=True, default=None, converter=_as_faces
    )
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def sample(self, key, domain, n, method="uniform"):
        return domain.sample_boundary(key, n, self.faces, method=method)

    def residual(self, u, x, params):
        return _select(u, self.component)(x) - _target(self.value, x, params)


class Neumann(AbstractPointCondition):
    """`n . grad u = value(x, params)` on the spatial boundary, `n` the outward normal.

    The face a point lies on is the one it is closest to, so corners pick one face."""

    value: Target = 0.0
    domain: AbstractDomain | None = None
    faces: Sequence[tuple[int, int]] | None = eqx.field(
        static=True, default=None, converter=_as_faces
    )
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def __check_init__(self):
        if self.domain is None:
            raise ValueError("Neumann: pass `domain=` so the outward normal is known")

    def sample(self, key, domain, n, method="uniform"):
        return domain.sample_boundary(key, n, self.faces, method=method)

    def residual(self, u, x, params):
        return _normal_derivative(self.domain, _select(u, self.component), x) - _target(
            self.value, x, params
        )


def _normal_derivative(domain, f, x):
    """`n . grad f(x)`, `n` the outward normal of the face of `domain` nearest to `x` (at a
    corner the first of the nearest faces, lower faces before upper ones)."""
    axes = jnp.asarray(domain.spatial_axes)
    lo = jnp.asarray(domain.lower, x.dtype)[axes]
    hi = jnp.asarray(domain.upper, x.dtype)[axes]
    xs = x[axes]
    dist = jnp.concatenate([xs - lo, hi - xs])
    face = jnp.argmin(dist)
    sign = jnp.where(face < len(axes), -1.0, 1.0).astype(x.dtype)
    normal_axis = face % len(axes)
    g = gradient(f, x)[axes]
    return sign * g[normal_axis]


def _check_faces(faces, domain, where):
    if faces is None:
        return
    for face in faces:
        if face[0] not in domain.spatial_axes or face[1] not in (0, 1):
            raise ValueError(
                f"{where}: `faces` must be (axis, side) pairs with axis in "
                f"{domain.spatial_axes} and side in (0, 1), got {face}"
            )


class Robin(AbstractPointCondition):
    """`a u + b n . grad u = value(x, params)` on the spatial boundary (or on the given
    `faces`), `n` the outward normal; `a = 0, b = 1` is `Neumann`, `a = 1, b = 0` is
    `Dirichlet`.

    **Arguments:**

    - `value`: the data, a number or `value(x, params)`.
    - `a`, `b`: the coefficients of `u` and of its outward normal derivative, finite numbers
      not both zero (an impedance or heat-transfer condition `u_n + h u = h u_inf` is
      `a = h, b = 1, value = h u_inf`).
    - `domain`: the problem's domain (for the outward normal), required.
    - `faces`, `component`, `weight`: as `Neumann`'s. As for `Neumann`, a point's face is the
      one it is closest to, so corners pick one face.
    """

    value: Target = 0.0
    a: float = eqx.field(static=True, default=1.0)
    b: float = eqx.field(static=True, default=1.0)
    domain: AbstractDomain | None = None
    faces: Sequence[tuple[int, int]] | None = eqx.field(
        static=True, default=None, converter=_as_faces
    )
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def __check_init__(self):
        if self.domain is None:
            raise ValueError("Robin: pass `domain=` so the outward normal is known")
        for name in ("a", "b"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ValueError(f"Robin: `{name}` must be a finite number, got {v!r}")
        if self.a == 0 and self.b == 0:
            raise ValueError("Robin: `a` and `b` are both zero: the condition says nothing")
        _check_faces(self.faces, self.domain, "Robin")

    def sample(self, key, domain, n, method="uniform"):
        return domain.sample_boundary(key, n, self.faces, method=method)

    def residual(self, u, x, params):
        f = _select(u, self.component)
        un = _normal_derivative(self.domain, f, x)
        return self.a * f(x) + self.b * un - _target(self.value, x, params)


class Periodic(AbstractPointCondition):
    """`u` (and its first `derivatives` normal derivatives) equal on the two faces of `axis`."""

    axis: int = eqx.field(static=True, default=0)
    derivatives: int = eqx.field(static=True, default=1)
    domain: AbstractDomain | None = None
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def __check_init__(self):
        if self.domain is None:
            raise ValueError("Periodic: pass `domain=` so the period is known")
        if self.axis not in self.domain.spatial_axes:
            raise ValueError(
                f"Periodic: `axis` must be a spatial axis {self.domain.spatial_axes}, "
                f"got {self.axis}"
            )

    def sample(self, key, domain, n, method="uniform"):
        return domain.sample_boundary(key, n, [(self.axis, 0)], method=method)

    def residual(self, u, x, params):
        f = _select(u, self.component)
        shift = (
            jnp.zeros_like(x)
            .at[self.axis]
            .set(self.domain.upper[self.axis] - self.domain.lower[self.axis])
        )
        out = [f(x) - f(x + shift)]
        g = f
        for _ in range(self.derivatives):
            g = _partial_fn(g, self.axis)
            out.append(g(x) - g(x + shift))
        return jnp.stack(out)


def _partial_fn(f, axis):
    def df(x):
        e = jnp.zeros_like(x).at[axis].set(1.0)
        return jax.jvp(f, (x,), (e,))[1]

    return df


class InitialValue(AbstractPointCondition):
    """`u(x, t0) = value(x, params)` on the initial slice."""

    value: Target = 0.0
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def sample(self, key, domain, n, method="uniform"):
        return domain.sample_initial(key, n, method=method)

    def residual(self, u, x, params):
        return _select(u, self.component)(x) - _target(self.value, x, params)


class InitialVelocity(AbstractPointCondition):
    """`u_t(x, t0) = value(x, params)` on the initial slice (second-order-in-time equations)."""

    value: Target = 0.0
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def sample(self, key, domain, n, method="uniform"):
        return domain.sample_initial(key, n, method=method)

    def residual(self, u, x, params):
        return time_derivative(_select(u, self.component), x) - _target(self.value, x, params)


class Observations(AbstractPointCondition):
    """Measured values `u(points[i]) = values[i]`: the data term of an inverse problem.

    Always evaluated on all its points (`sample` ignores `n`). Non-finite data is rejected."""

    points: Float[Array, "m dim"]
    values: Float[Array, " m"] | Float[Array, "m k"]
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def __init__(self, points: ArrayLike, values: ArrayLike, component=None, weight=1.0):
        points, values = jnp.asarray(points), jnp.asarray(values)
        if points.ndim != 2:
            raise ValueError(f"Observations: `points` must have shape (m, dim), got {points.shape}")
        if values.shape[:1] != points.shape[:1]:
            raise ValueError(
                f"Observations: `values` must have leading dimension {points.shape[0]} "
                f"(one per point), got shape {values.shape}"
            )
        if not (
            np.all(np.isfinite(np.asarray(points))) and np.all(np.isfinite(np.asarray(values)))
        ):
            bad = "points" if not np.all(np.isfinite(np.asarray(points))) else "values"
            raise ValueError(f"Observations: `{bad}` contains NaN or inf")
        self.points, self.values = points, values
        self.component, self.weight = component, weight

    def sample(self, key, domain, n, method="uniform"):
        return self.points

    def loss(self, u, points, params):
        pred = jax.vmap(lambda x: u(x) if self.component is None else u(x)[self.component])(points)
        return jnp.mean((jnp.reshape(pred, self.values.shape) - self.values) ** 2)

    def residual(self, u, x, params):
        """The misfit `u(x) - values[i]` at the observation point `x = points[i]` (the datum of
        the nearest observation point, for any other `x`): what the NTK weights and `diagnose`
        differentiate. The loss is evaluated on all the points at once (`loss`)."""
        i = jnp.argmin(jnp.sum((self.points - x) ** 2, axis=-1))
        pred = u(x) if self.component is None else u(x)[self.component]
        return jnp.reshape(pred, self.values.shape[1:]) - self.values[i]


class Normalisation(AbstractCondition):
    """`integral_domain |u|^2 dx = value`, estimated by Monte Carlo on the sampled points.

    The constraint that rules out `u = 0` in an eigenproblem. `domain` fixes the volume."""

    value: float = 1.0
    domain: AbstractDomain | None = None
    component: int | None = eqx.field(static=True, default=None)
    weight: float = 1.0

    def __check_init__(self):
        if self.domain is None:
            raise ValueError("Normalisation: pass `domain=` so the volume is known")

    def sample(self, key, domain, n, method="uniform"):
        # Cell-centred grid: the midpoint rule, second-order accurate for smooth u.
        return domain.sample(key, n, method="grid")

    def loss(self, u, points, params):
        vals = jax.vmap(_select(u, self.component))(points)
        integral = self.domain.volume * jnp.mean(jnp.abs(vals) ** 2)
        return (integral - self.value) ** 2


def check_conditions(
    conditions: AbstractCondition | Sequence[AbstractCondition],
) -> tuple[AbstractCondition, ...]:
    """The conditions as a tuple; a single condition is accepted and wrapped."""
    if isinstance(conditions, AbstractCondition):
        conditions = (conditions,)
    try:
        conditions = tuple(conditions)
    except TypeError:
        raise TypeError(
            f"`conditions` must be a condition or a sequence of conditions, got "
            f"{type(conditions).__name__}"
        ) from None
    for i, c in enumerate(conditions):
        if not isinstance(c, AbstractCondition):
            raise TypeError(f"`conditions[{i}]` must be a condition, got {type(c).__name__}")
    return conditions
