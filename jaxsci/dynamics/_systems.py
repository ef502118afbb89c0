"""ODE systems and discrete maps with known Koopman spectra.

Every system is an `equinox.Module`. Flows subclass `AbstractFlow` and define
`vector_field(t, x, args)` (the diffrax signature, one state in); maps subclass `AbstractMap` and
define `step(x)` (one state in). Batching is `jax.vmap` outside.
"""

import abc
import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray


class AbstractSystem(eqx.Module):
    """A dynamical system on R^dim (continuous flow or discrete map)."""

    dim: eqx.AbstractClassVar[int]


class AbstractFlow(AbstractSystem):
    """A continuous-time system x' = f(x)."""

    @abc.abstractmethod
    def vector_field(self, t, x: Float[Array, " dim"], args=None) -> Float[Array, " dim"]:
        """The right-hand side f(x) at one state (diffrax `ODETerm` signature)."""


class AbstractMap(AbstractSystem):
    """A discrete-time system x_{n+1} = F(x_n)."""

    @abc.abstractmethod
    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """One application of the map at one state."""


class LinearFlow(AbstractFlow):
    """x' = A x. Koopman eigenvalues of the linear observables over time dt: exp(dt eig(A))."""

    matrix: Float[Array, "d d"]
    dim = None  # set per instance in __check_init__'s absence; see `dimension`

    def __check_init__(self):
        if self.matrix.ndim != 2 or self.matrix.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"`matrix` must be square, got shape {self.matrix.shape}.")

    def vector_field(self, t, x, args=None):
        return self.matrix @ x


class LinearMap(AbstractMap):
    """x_{n+1} = A x_n. Eigenvalues of the linear observables: eig(A)."""

    matrix: Float[Array, "d d"]
    dim = None

    def __check_init__(self):
        if self.matrix.ndim != 2 or self.matrix.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"`matrix` must be square, got shape {self.matrix.shape}.")

    def step(self, x):
        return self.matrix @ x


class SlowManifold(AbstractFlow):
    """x' = mu x, y' = lambda (y - x^2).

    The monomials x^a y^b with a + 2b <= d span a Koopman-invariant subspace; over time dt the
    eigenvalues are exp(dt (a mu + b lambda)) (Brunton et al. 2016, PLoS ONE, eq. 9).
    """

    mu: float = -0.1
    lam: float = -1.0
    dim = 2

    def vector_field(self, t, x, args=None):
        return jnp.stack([self.mu * x[0], self.lam * (x[1] - x[0] ** 2)])


class Duffing(AbstractFlow):
    """x'' = -delta x' - alpha x - beta x^3 (default: alpha=-1, beta=1, delta=0.3, the double well).

    Linearised at the wells x = +-1 the eigenvalues are -delta/2 +- i sqrt(2 - delta^2/4).
    Set `delta=0` for the undamped (Hamiltonian) oscillator.
    """

    alpha: float = -1.0
    beta: float = 1.0
    delta: float = 0.3
    dim = 2

    def vector_field(self, t, x, args=None):
        return jnp.stack([x[1], -self.delta * x[1] - self.alpha * x[0] - self.beta * x[0] ** 3])


class Pendulum(AbstractFlow):
    """theta'' = -(g/l) sin(theta) - damping theta'."""

    gravity_over_length: float = 1.0
    damping: float = 0.0
    dim = 2

    def vector_field(self, t, x, args=None):
        return jnp.stack([x[1], -self.gravity_over_length * jnp.sin(x[0]) - self.damping * x[1]])


class VanDerPol(AbstractFlow):
    """x'' = mu (1 - x^2) x' - x."""

    mu: float = 1.0
    dim = 2

    def vector_field(self, t, x, args=None):
        return jnp.stack([x[1], self.mu * (1 - x[0] ** 2) * x[1] - x[0]])


class Lorenz63(AbstractFlow):
    """The Lorenz-63 system with the classical parameters (sigma, rho, beta) = (10, 28, 8/3)."""

    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0
    dim = 3

    def vector_field(self, t, x, args=None):
        return jnp.stack(
            [
                self.sigma * (x[1] - x[0]),
                x[0] * (self.rho - x[2]) - x[1],
                x[0] * x[1] - self.beta * x[2],
            ]
        )


class Roessler(AbstractFlow):
    """The Roessler system (a, b, c) = (0.2, 0.2, 5.7)."""

    a: float = 0.2
    b: float = 0.2
    c: float = 5.7
    dim = 3

    def vector_field(self, t, x, args=None):
        return jnp.stack([-x[1] - x[2], x[0] + self.a * x[1], self.b + x[2] * (x[0] - self.c)])


class CircleRotation(AbstractMap):
    """theta -> theta + omega (mod 2 pi).

    Fourier modes e^{ik theta} are eigenfunctions with eigenvalues e^{ik omega}."""

    omega: float = 1.0
    dim = 1

    def step(self, x):
        return jnp.mod(x + self.omega, 2 * jnp.pi)


class TorusRotation(AbstractMap):
    """(theta_1, theta_2) -> (theta_1 + omega_1, theta_2 + omega_2) (mod 2 pi)."""

    omega1: float = 1.0
    omega2: float = math.sqrt(2.0)
    dim = 2

    def step(self, x):
        return jnp.mod(x + jnp.stack([self.omega1, self.omega2]), 2 * jnp.pi)


class StandardMap(AbstractMap):
    """The Chirikov standard map on the torus [0, 2 pi)^2:
    p' = p + K sin(theta), theta' = theta + p' (mod 2 pi), state (theta, p).

    Area-preserving (Lebesgue measure is invariant), so the Koopman operator is unitary on
    L^2(T^2); for K > 0 it has continuous spectrum, and real Fourier features are orthogonal
    under uniform sampling (a well-conditioned dictionary of any size).
    """

    strength: float = 1.0
    dim = 2

    def step(self, x):
        p = jnp.mod(x[1] + self.strength * jnp.sin(x[0]), 2 * jnp.pi)
        return jnp.stack([jnp.mod(x[0] + p, 2 * jnp.pi), p])


class DoublingMap(AbstractMap):
    """x -> 2x (mod 1) on [0, 1). Lebesgue measure is invariant; the Koopman operator is an
    isometry on L^2 with spectrum the closed unit disc (continuous), so every EDMD eigenvalue inside
    the disc is spurious."""

    dim = 1

    def step(self, x):
        return jnp.mod(2 * x, 1.0)


class LogisticMap(AbstractMap):
    """x -> r x (1 - x)."""

    r: float = 4.0
    dim = 1

    def step(self, x):
        return self.r * x * (1 - x)


class OrnsteinUhlenbeck(AbstractSystem):
    """dX = -theta X dt + sigma dW.

    The stochastic Koopman operator over time dt has eigenvalues exp(-n theta dt), n = 0, 1, ...,
    with Hermite-polynomial eigenfunctions. `transition` samples the exact Gaussian transition.
    """

    theta: float = 1.0
    sigma: float = 1.0
    dim = 1

    def transition(
        self, x: Float[Array, "*batch"], dt: float, *, key: PRNGKeyArray
    ) -> Float[Array, "*batch"]:
        """One exact step:
        X_dt | X_0 = x ~ N(x e^{-theta dt}, sigma^2 (1 - e^{-2 theta dt}) / (2 theta))."""
        decay = jnp.exp(-self.theta * dt)
        std = self.sigma * jnp.sqrt((1 - decay**2) / (2 * self.theta))
        return x * decay + std * jr.normal(key, jnp.shape(x), jnp.result_type(x))

    def stationary_std(self) -> float:
        return self.sigma / (2 * self.theta) ** 0.5


def dimension(system: AbstractSystem) -> int:
    """State dimension of a system (linear systems read it from their matrix)."""
    if isinstance(system, (LinearFlow, LinearMap)):
        return system.matrix.shape[0]
    return system.dim
