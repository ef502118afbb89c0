"""`Problem`: one PDE definition shared by every solver (PINN, PIG, GP)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_int
from ._conditions import AbstractCondition, check_conditions
from ._domain import AbstractDomain
from ._operators import LinearOperator

Residual = Callable[[Callable, Array, PyTree], Array]


class Problem(eqx.Module):
    """A PDE on a domain: residual, conditions, parameters, and the exact solution when known.

    The residual is written for one point against the field `u` with jaxsci's operators, e.g.
    Poisson `-u'' = f`:

    ```python
    def residual(u, x, params):
        return -laplacian(u, x) - f(x)
    ```

    It returns a scalar, or a vector of equations for a system. Conditions (`Dirichlet`,
    `Neumann`, `Periodic`, `InitialValue`, `InitialVelocity`, `Observations`, `Normalisation`)
    say what holds on the boundary, the initial slice, measured data or globally.

    `params` is a PyTree of arrays the residual, conditions and exact solution read (a wave
    speed, a potential depth, an eigenvalue): a family of problems is a `vmap` over `params`, and
    an inverse problem or an eigenproblem learns some of them (`solve(..., learn=...)`).

    When the PDE is linear with constant coefficients, `operator` (a `LinearOperator`) and
    `source` make it inspectable: the residual is then `operator(u, x) - source(x, params)`, and
    the GP solver reads the operator's terms to work with Kronecker structure.

    **Arguments:**

    - `domain`: an `Interval`, `Box` or `SpaceTime`.
    - `residual`: `residual(u, x, params)`; optional when `operator` is given.
    - `conditions`: a sequence of conditions (or one condition).
    - `exact`: `exact(x, params)`, the solution at one point, if known.
    - `params`: PyTree of parameters (a dict is usual).
    - `operator`, `source`: the linear form `L u = f`, if the PDE has one.
    - `n_outputs`: 0 for a scalar field, `k` for a field with `k` components (a system).
    - `reference`: a host function `reference(points) -> values` giving the truth computed by a
      classical solver (Cole-Hopf, spectral), used for error reports when `exact` is absent.
    - `eigenvalue`: for an eigenproblem, the name of the entry of `params` holding the
      eigenvalue; the solution is then defined up to sign, and solvers learn that entry.
    - `name`: label used in reports.
    """

    domain: AbstractDomain
    residual: Residual
    conditions: tuple[AbstractCondition, ...]
    exact: Callable[[Array, PyTree], Array] | None
    params: PyTree
    operator: LinearOperator | None
    source: Callable[[Array, PyTree], Array] | None
    reference: Callable[[np.ndarray], np.ndarray] | None = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    eigenvalue: str | None = eqx.field(static=True)
    exact_eigenvalue: float | None = eqx.field(static=True)
    name: str = eqx.field(static=True)

    def __init__(
        self,
        domain: AbstractDomain,
        residual: Residual | None = None,
        conditions: AbstractCondition | Sequence[AbstractCondition] = (),
        exact: Callable | None = None,
        params: PyTree = None,
        operator: LinearOperator | None = None,
        source: Callable | None = None,
        n_outputs: int = 0,
        reference: Callable | None = None,
        eigenvalue: str | None = None,
        exact_eigenvalue: float | None = None,
        name: str = "problem",
    ):
        if not isinstance(domain, AbstractDomain):
            raise TypeError(f"Problem: `domain` must be a domain, got {type(domain).__name__}")
        if residual is None and operator is None:
            raise ValueError("Problem: give a `residual`, or an `operator` (and `source`)")
        if operator is not None:
            if not isinstance(operator, LinearOperator):
                raise TypeError("Problem: `operator` must be a LinearOperator")
            if operator.dim != domain.dim:
                raise ValueError(
                    f"Problem: `operator` acts in dim {operator.dim}, "
                    f"the domain has dim {domain.dim}"
                )
            if residual is None:
                residual = LinearResidual(operator, source)
        _check_residual(residual)
        n_outputs = check_int(n_outputs, "n_outputs", "Problem", minimum=0)
        self.domain = domain
        self.residual = residual
        self.conditions = check_conditions(conditions)
        self.exact = exact
        self.params = {} if params is None else params
        self.operator = operator
        self.source = source
        if eigenvalue is not None and (
            not isinstance(self.params, dict) or eigenvalue not in self.params
        ):
            raise ValueError(f"Problem: `eigenvalue` {eigenvalue!r} must name an entry of `params`")
        self.reference = reference
        self.n_outputs = n_outputs
        self.eigenvalue = eigenvalue
        self.exact_eigenvalue = None if exact_eigenvalue is None else float(exact_eigenvalue)
        self.name = name

    @property
    def dim(self) -> int:
        return self.domain.dim

    def residuals(self, u, points: Float[Array, "n dim"], params: PyTree | None = None) -> Array:
        """The residual at each of `points`, shape `(n,)` or `(n, equations)`."""
        self.domain.check_points(points, "points")
        params = self.params if params is None else params
        return jax.vmap(lambda x: self.residual(u, x, params))(points)

    @property
    def has_truth(self) -> bool:
        return self.exact is not None or self.reference is not None

    def exact_values(
        self, points: Float[ArrayLike, "n dim"], params: PyTree | None = None
    ) -> Array:
        """The true solution at `points` (any array-like): `exact` if known in closed form, else
        the classical `reference`; raises if the problem has neither."""
        self.domain.check_points(points, "points")
        points = jnp.asarray(points)
        if self.exact is not None:
            params = self.params if params is None else params
            return jax.vmap(lambda x: self.exact(x, params))(points)
        if self.reference is not None:
            return jnp.asarray(self.reference(np.asarray(points, dtype=np.float64)), points.dtype)
        raise ValueError(f"Problem {self.name!r} has no exact or reference solution")

    def replace_params(self, **updates: Any) -> Problem:
        """A copy with some entries of the `params` dict replaced (unknown names are an error)."""
        if not isinstance(self.params, dict):
            raise TypeError("replace_params: `params` is not a dict")
        unknown = set(updates) - set(self.params)
        if unknown:
            raise ValueError(
                f"replace_params: unknown parameter(s) {sorted(unknown)}; "
                f"{self.name!r} has {sorted(self.params)}"
            )
        new = dict(self.params)
        new.update({k: jnp.asarray(v) for k, v in updates.items()})
        return eqx.tree_at(lambda p: p.params, self, new)


def _check_residual(residual):
    """`residual` must be callable as `residual(u, x, params)`: refuse anything else here, not
    deep inside `vmap` on first use."""
    expected = "`residual(u, x, params)` (the field, one point, the problem's params)"
    if not callable(residual):
        raise TypeError(
            f"Problem: `residual` must be a function {expected}, got {type(residual).__name__} "
            f"{residual!r}"
        )
    try:
        sig = inspect.signature(residual)
    except (TypeError, ValueError):  # builtins and some C callables: nothing to check
        return
    try:
        sig.bind(None, None, None)
    except TypeError as e:
        raise TypeError(
            f"Problem: `residual` must take three arguments, {expected}; "
            f"`{getattr(residual, '__name__', type(residual).__name__)}{sig}` cannot ({e})"
        ) from None


class LinearResidual(eqx.Module):
    """The residual `operator(u, x) - source(x, params)` of a linear PDE."""

    operator: LinearOperator
    source: Callable[[Array, PyTree], Array] | None

    def __call__(self, u, x, params):
        lu = self.operator(lambda y: jnp.squeeze(u(y)), x)
        return lu if self.source is None else lu - self.source(x, params)


def relative_l2(prediction: Array, truth: Array) -> Array:
    """`||prediction - truth||_2 / ||truth||_2` over all entries."""
    prediction, truth = jnp.asarray(prediction), jnp.asarray(truth)
    if prediction.shape != truth.shape:
        raise ValueError(
            f"relative_l2: `prediction` shape {prediction.shape} != `truth` shape {truth.shape}"
        )
    return jnp.linalg.norm((prediction - truth).ravel()) / jnp.linalg.norm(truth.ravel())
